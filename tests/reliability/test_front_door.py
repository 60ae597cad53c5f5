"""Issue 13: a front door slow clients cannot exhaust, and `make run` that runs everything.

The web server is started exactly as `make run` starts it: the Procfile's `web:` line, run
by a shell with $PORT set (here a free port) and the virtualenv first on PATH, as
scripts/run-demo.sh does under honcho; its own instance directory. Before (gunicorn gthread,
2 workers x 4 threads) about 8 half-open connections stopped contact requests being answered.

- 200 half-open connections (request line and one header, then silence), kept at 200 for
  60 s (one the server closes is opened again at once), and 16 authenticated contact
  requests whose 50-byte body gets one byte every 3 s (the app would read those bodies: a
  server that handed them to threads would have 16 threads waiting, more than it has): 20
  contact requests from 20 patients meanwhile, each 201 within 2 s. The server closes the
  half-open ones at its header deadline and the stalled ones at its whole-request deadline
  (serve.py).
- `scripts/run-demo.sh` (what `make run` runs after set-up) starts web, worker and mail
  sink; a contact request becomes an email in the instance's mail/ folder; one SIGINT to
  the runner's process group (what Ctrl-C does) stops all three.
- Production's front door (PostgreSQL pass only, like the multi-host run): nginx from
  deploy/nginx-muli.conf in front of gunicorn 2 x 4, the same kind of slow clients.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
import statistics
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests

import serve
from muli.models.base import utcnow
from tests.conftest import database_kind
from tests.contact_support import put_on_call
from tests.reliability.cluster import Nginx
from tests.reliability.live import (
    BIN,
    CONTACT_REQUEST,
    ROOT,
    Server,
    environment,
    free_port,
    kill_group,
)
from tests.reliability.slow_clients import SlowClients

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

HOLD = 60  # seconds the slow clients are held
HALF_OPEN = 200
STALLED = 16  # more than the server's threads: each one holding a thread would starve the rest
REQUESTS = 20
ANSWER_WITHIN = 2.0  # seconds, each contact request


def procfile(name: str) -> str:
    """The command of one Procfile line."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name}: line in the Procfile")


def demo_env(env: dict) -> dict:
    """What scripts/run-demo.sh adds to the environment of the Procfile's processes."""
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def night(app, world):
    """No office hours, Ola on call for the next hour, and a patient for every request."""
    team = world.team(office_hours={})
    ola = world.staff(team, name="Ola Vakt")
    now = utcnow()
    put_on_call(app, team, ola, now - timedelta(minutes=5), now + timedelta(hours=1))
    return team


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        if proc.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"the server did not come up:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def web(app, tmp_path):
    """The Procfile's web process on a free port, in a process group of its own."""
    port = free_port()
    log = tmp_path / "web.log"
    env = demo_env(environment(app, tmp_path, PORT=str(port)))
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", procfile("web")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        yield url, port, proc, log
    finally:
        kill_group(proc)


def _ask(url: str, patient) -> tuple[int, float]:
    """One contact request on a new connection: its status and how long the answer took."""
    headers = {**patient.headers, "Idempotency-Key": str(uuid.uuid4())}
    started = time.monotonic()
    try:
        response = requests.post(
            url + "/api/v1/me/contact-requests", json=CONTACT_REQUEST, headers=headers, timeout=10
        )
    except requests.RequestException:
        return -1, time.monotonic() - started
    return response.status_code, time.monotonic() - started


def _as(patient):
    """Headers for a stalled body: the patient's token and a key of its own each time."""
    return lambda: {**patient.headers, "Idempotency-Key": str(uuid.uuid4())}


def test_slow_clients_do_not_starve_contact_requests_on_the_make_run_server(world, night, web):
    url, port, proc, log = web
    patients = [world.patient(night, name=f"Pasient {n}") for n in range(REQUESTS + 2)]
    # One request first, not counted: a fresh process's first request pays for its imports and
    # its first database connection; the 2 s bound is about slow clients, not a cold start.
    assert _ask(url, patients[REQUESTS + 1])[0] == 201
    slow = SlowClients(port, HALF_OPEN, STALLED, HOLD, stalled_headers=_as(patients[0])).start()
    started = time.monotonic()
    answers: list[tuple[int, float, int]] = []
    try:
        assert slow.held == HALF_OPEN, f"only {slow.held} of {HALF_OPEN} connections opened"
        spacing = (HOLD - 4) / REQUESTS
        for n, patient in enumerate(patients[:REQUESTS]):
            # Spread over the hold: before, during and after the server's deadlines close them.
            time.sleep(max(0.0, started + 2 + n * spacing - time.monotonic()))
            held = slow.held
            status, took = _ask(url, patient)
            answers.append((status, took, held))
        slow.wait()
    finally:
        slow.stop()
    after = _ask(url, patients[REQUESTS])
    statuses = [status for status, _, _ in answers]
    times = [took for _, took, _ in answers]
    stalls = [
        (round(s.closed_after, 1) if s.closed_after else None, s.sent, s.received[:40]) for s in slow.stalls
    ]
    print(
        f"\nfront door ({database_kind()}): {HALF_OPEN} half-open connections held {HOLD} s "
        f"({slow.opened} opened, {slow.closed_by_server} closed by the server, connect errors "
        f"{slow.connect_errors}, answers to them {set(slow.answered)}), {STALLED} stalled bodies; "
        f"{REQUESTS} contact requests: statuses {statuses}, seconds median "
        f"{statistics.median(times):.3f} max {max(times):.3f}, half-open held at each "
        f"{[held for _, _, held in answers]}; stalled bodies (closed after s, bytes sent, "
        f"received): {stalls}; afterwards {after[0]} in {after[1]:.3f} s"
    )
    assert statuses == [201] * REQUESTS, answers
    assert max(times) < ANSWER_WITHIN, answers
    # The harness really held them: nearly every request went in while all 200 waited.
    assert sum(held >= HALF_OPEN - 10 for _, _, held in answers) >= REQUESTS - 3, answers
    assert slow.connect_errors == 0
    # The header deadline closed the half-open ones (each at least once in 60 s) ...
    assert slow.closed_by_server >= HALF_OPEN
    # ... and the whole-request deadline the stalled bodies, none of which was answered as
    # if complete: they were still dripping (1 byte / 3 s, under the idle limit) when closed.
    for stall in slow.stalls:
        assert stall.closed_after is not None, stalls
        assert serve.REQUEST_SECONDS - 2 <= stall.closed_after <= serve.REQUEST_SECONDS + 15, stalls
        assert b"201" not in stall.received
    assert after[0] == 201
    assert proc.poll() is None, log.read_text(errors="replace")[-2000:]


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def test_make_run_starts_web_worker_and_mail_sink_and_one_ctrl_c_stops_them(app, world, night, tmp_path):
    """scripts/run-demo.sh (the end of `make run`) with a temporary instance directory and
    free ports: the web app answers, a contact request becomes an email the worker sends
    to the sink, which keeps it in <instance>/mail/; SIGINT to the runner's process group
    (a terminal's Ctrl-C) stops all three."""
    patient = world.patient(night, name="Kari Testesen")
    port, smtp_port = free_port(), free_port()
    env = environment(app, tmp_path, MULI_DEMO_PORT=str(port), MULI_DEMO_SMTP_PORT=str(smtp_port))
    env.pop("PORT", None)
    output = tmp_path / "honcho.log"
    with open(output, "ab") as out:
        runner = subprocess.Popen(
            [str(ROOT / "scripts" / "run-demo.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    mail = tmp_path / "mail"
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, runner, output)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:  # the sink answers
            assert smtp.noop()[0] == 250
        status, _ = _ask(url, patient)
        assert status == 201
        deadline = time.monotonic() + 30  # the worker passes every 5 s
        while time.monotonic() < deadline and not list(mail.glob("*.eml")):
            time.sleep(0.2)
        kept = list(mail.glob("*.eml"))
        assert kept, f"no email reached {mail}:\n{_read(output)[-3000:]}"
        assert "Message-ID: <" in kept[0].read_text()
        pids = {name: int(pid) for name, pid in re.findall(r"(\w+)\.1 started \(pid=(\d+)\)", _read(output))}
        assert set(pids) == {"web", "worker", "mail"}, _read(output)

        os.killpg(runner.pid, signal.SIGINT)
        runner.wait(timeout=20)
    finally:
        if runner.poll() is None:
            kill_group(runner)
    text = _read(output)
    print(f"\nmake run's processes, then Ctrl-C:\n{text[-2500:]}")
    for name in ("web", "worker", "mail"):
        assert f"{name}.1 stopped (rc=0)" in text, text  # its own clean exit, not a kill
        with pytest.raises(ProcessLookupError):  # nothing left in its process group
            os.killpg(pids[name], 0)
    assert "SIGKILL" not in text, "a process had to be killed: it did not stop on SIGTERM"
    assert "mail to staff" in text and "worker stopped" in text and "front door stopped" in text, text
    with pytest.raises(OSError):
        requests.get(url + "/healthz", timeout=2)


@pytest.mark.skipif(
    database_kind() != "postgresql", reason="production's layout: PostgreSQL, as the multi-host run"
)
def test_nginx_keeps_slow_clients_away_from_gunicorn(app, world, night, tmp_path):
    """Production's front door: deploy/nginx-muli.conf in front of gunicorn (2 x 4 gthread,
    which alone starved at about 8 half-open connections). 64 half-open and 16 stalled
    bodies held 11.5 s; contact requests through nginx meanwhile, each within 2 s; nginx
    itself closes the half-open ones at client_header_timeout (10 s)."""
    patients = [world.patient(night, name=f"Pasient {n}") for n in range(5)]
    env = environment(app, tmp_path, MULI_ENV="production", MULI_TRUSTED_PROXIES="1")
    server = Server(env, tmp_path / "gunicorn.log")
    nginx = None
    slow = None
    try:
        server.start()
        nginx = Nginx(tmp_path, [f"127.0.0.1:{server.port}"])
        nginx.start()
        assert _ask(nginx.url, patients.pop())[0] == 201  # warm-up, not counted
        # HSTS from the template, once (the app's production copy is hidden by nginx).
        hsts = requests.get(nginx.url + "/healthz", timeout=10).raw.headers.getlist(
            "Strict-Transport-Security"
        )
        assert hsts == ["max-age=31536000; includeSubDomains"], hsts
        slow = SlowClients(nginx.port, 64, 16, 11.5, stalled_headers=_as(patients[0])).start()
        answers = []
        for patient in patients:
            time.sleep(2)
            answers.append(_ask(nginx.url, patient))
        slow.wait()
    finally:
        if slow is not None:
            slow.stop()
        if nginx is not None:
            nginx.kill()
        server.kill()
    print(
        f"\nnginx front door: 64 half-open + 16 stalled bodies; contact requests {answers}; "
        f"half-open closed by nginx {slow.closed_by_server}, answers {set(slow.answered)}"
    )
    assert [status for status, _ in answers] == [201] * len(patients), answers
    assert max(took for _, took in answers) < ANSWER_WITHIN, answers
    assert slow.closed_by_server >= 64  # client_header_timeout
