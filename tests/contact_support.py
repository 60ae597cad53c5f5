"""Helpers shared by the contact-request tests: shifts, requests, and reading the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from muli.extensions import db
from muli.models.contact import ContactEscalation, ContactMessage, ContactRequest
from muli.models.on_call import OnCallShift
from muli.models.outbox import OutboxMessage

# Saturday 21 November 2026, 01:40 in Oslo: the night of scenario 1.
SATURDAY_NIGHT = datetime(2026, 11, 21, 0, 40, tzinfo=UTC)
# Wednesday 18 November 2026, 10:00 in Oslo: office hours.
WEDNESDAY_MORNING = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def put_on_call(app, team, staff, starts: datetime, ends: datetime, level: str = "primary") -> None:
    with app.app_context():
        db.session.add(
            OnCallShift(team_id=team.id, staff_id=staff.id, starts_at=starts, ends_at=ends, level=level)
        )
        db.session.commit()


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def ask(client, patient, body: dict | None = None, **headers):
    """The patient asks to talk to someone; answers the response."""
    body = body if body is not None else {"kind": "call_me", "urgency": "crisis"}
    return client.post(
        "/api/v1/me/contact-requests", json=body, headers={**patient.headers, **key(), **headers}
    )


def rows(app, model, **where) -> list:
    with app.app_context():
        query = select(model).filter_by(**where)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def outbox(app) -> list[OutboxMessage]:
    return rows(app, OutboxMessage)


def requests(app) -> list[ContactRequest]:
    return rows(app, ContactRequest)


def escalations(app, request_id) -> list[ContactEscalation]:
    return rows(app, ContactEscalation, request_id=uuid.UUID(str(request_id)))


def message_rows(app, request_id) -> list[ContactMessage]:
    return rows(app, ContactMessage, request_id=uuid.UUID(str(request_id)))
