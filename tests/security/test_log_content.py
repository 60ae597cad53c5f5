"""Logs free of health text (issue 15): neither what requests log nor a database error logged
with its traceback carries what a patient wrote."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from muli.extensions import db
from muli.platform import log
from tests.contact_support import SATURDAY_NIGHT


@pytest.fixture
def care(world, clock):
    clock.set(SATURDAY_NIGHT)
    return world.care_team()


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_requests_that_carry_health_text_log_none_of_it(client, care, caplog):
    marker = f"MARKER-LOG-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    patient = {**care.patient.headers, **key()}
    sent = [
        client.post(
            "/api/v1/me/contact-requests",
            json={"kind": "chat", "urgency": "talk", "message": marker},
            headers=patient,
        ),
        client.post("/api/v1/me/diary", json={"text": marker}, headers={**patient, **key()}),
        # Refused input and a replay take other paths through the app; they log no more.
        client.post("/api/v1/me/diary", json={"text": marker, "mood": "bad"}, headers=care.patient.headers),
        client.post(
            "/api/v1/me/contact-requests",
            json={"kind": "chat", "urgency": "talk", "message": marker},
            headers=patient,
        ),
    ]
    assert [r.status_code for r in sent] == [201, 201, 422, 201]
    assert any(r.name == "muli.request" for r in caplog.records)  # the request log was captured
    assert marker not in caplog.text


def app_log(app, emit) -> str:
    """What `emit()` logs, in the app's own log format (`log.configure` installs it)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log.formatter())
    logging.getLogger().addHandler(handler)
    try:
        emit()
    finally:
        logging.getLogger().removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("broken", ["check", "unique"])
def test_a_database_error_logged_with_its_traceback_quotes_no_value(app, broken):
    """What the error handlers log (`unhandled error`, `database unavailable at commit`,
    `worker pass failed`) with the traceback: the statement, never the values bound to it
    (`hide_parameters`) nor the values the database quotes back (PostgreSQL's DETAIL)."""
    marker = f"MARKER-PARAM-{uuid.uuid4().hex}"
    insert = text("INSERT INTO agency (id, name, kind) VALUES (:id, :name, :kind)")

    def emit():
        with app.app_context():
            try:
                if broken == "unique":
                    db.session.execute(insert, {"id": uuid.uuid4().hex, "name": marker, "kind": "dps"})
                kind = "no-such-kind" if broken == "check" else "dps"
                db.session.execute(insert, {"id": uuid.uuid4().hex, "name": marker, "kind": kind})
            except IntegrityError:
                logging.getLogger("muli.api").exception("unhandled error")
            finally:
                db.session.rollback()

    logged = app_log(app, emit)
    assert '"unhandled error"' in logged and "INSERT INTO agency" in logged and "IntegrityError" in logged
    assert marker not in logged
