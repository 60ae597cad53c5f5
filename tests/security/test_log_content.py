"""Logs free of health text (issue 15): neither what requests log nor a database error logged
with its traceback carries what a patient wrote."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from muli.extensions import db
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


def test_a_database_error_logged_with_its_traceback_names_no_value(app, caplog):
    """The app's engine hides bound parameters from its errors' messages, which the error
    handlers log with the traceback (`database unavailable at commit`, `unhandled error`)."""
    marker = f"MARKER-PARAM-{uuid.uuid4().hex}"
    log = logging.getLogger("muli.api")
    with app.app_context():
        try:
            db.session.execute(
                text("INSERT INTO agency (id, name, kind) VALUES (:id, :name, :kind)"),
                {"id": uuid.uuid4().hex, "name": marker, "kind": "no-such-kind"},
            )
        except IntegrityError:
            log.exception("unhandled error")
        finally:
            db.session.rollback()
    assert "unhandled error" in caplog.text and "INSERT INTO agency" in caplog.text
    assert marker not in caplog.text
