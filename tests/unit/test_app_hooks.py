"""muli.app.MuliFlask: Flask's `ensure_sync`, its answer remembered for plain functions only."""

from __future__ import annotations

import functools
import logging

import pytest

from muli.app import MuliFlask


class View:
    def get(self):
        return "plain"

    async def aget(self):
        return "async"


def plain():
    return "plain"


async def coroutine():
    return "async"


def _app() -> MuliFlask:
    app = MuliFlask(__name__)
    # Flask wraps a coroutine function here (with its async extra); the marker shows it did.
    app.async_to_sync = lambda func: ("made sync", func)  # type: ignore[method-assign]
    return app


def test_plain_functions_are_given_back_as_they_are_every_time():
    app = _app()
    bound = View().get
    partial = functools.partial(plain)
    for _ in range(3):
        assert app.ensure_sync(plain) is plain
        assert app.ensure_sync(partial) is partial
        assert app.ensure_sync(bound) is bound
    assert app.ensure_sync(View().get)() == "plain"  # another instance's method: itself
    assert app.ensure_sync(len) is len  # not weakly referable: Flask's answer each time


@pytest.mark.parametrize(
    "make",
    [lambda: coroutine, lambda: View().aget, lambda: functools.partial(coroutine)],
    ids=["function", "method", "partial"],
)
def test_coroutine_functions_always_go_to_flasks_async_to_sync(make):
    app = _app()
    app.ensure_sync(plain)
    app.ensure_sync(View().get)
    for _ in range(3):
        func = make()
        assert app.ensure_sync(func) == ("made sync", func)


def test_the_app_is_a_muli_flask(app):
    assert isinstance(app, MuliFlask)
    assert app.ensure_sync(plain) is plain


def test_each_answer_is_logged_with_its_request_id_when_info_is_on(client, caplog):
    caplog.set_level(logging.INFO, logger="muli.request")
    answer = client.get("/healthz")
    lines = [rec for rec in caplog.records if rec.name == "muli.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", "/healthz", 200)
    assert isinstance(line.ms, float) and line.ms >= 0
    assert line.request_id == answer.headers["X-Request-ID"]  # the same id, made once
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


def test_no_request_line_when_info_is_off(client, caplog):
    caplog.set_level(logging.WARNING, logger="muli.request")
    assert (
        client.get("/healthz", headers={"X-Request-ID": "req-87654321"}).headers["X-Request-ID"]
        == "req-87654321"
    )
    assert not [rec for rec in caplog.records if rec.name == "muli.request"]
