"""Escalation: nobody may leave a request unseen.

Rules, per request, as of `now`:
1. open and not acknowledged within the team's window: the backup on call and the
   coordinators are alerted (level 1);
2. still open one window later: the patient is told, in the request's state and a
   message, to call 116 117 (or 113), and the whole team is alerted (level 2);
3. acknowledged but not closed 12 hours after: the responder is reminded.

Each step happens exactly once even with several workers: a step is claimed by a
conditional UPDATE that only matches the row in its old state (`escalation_level = old`,
`remind_at` still due), so of two workers exactly one sees rowcount 1. On PostgreSQL the
candidates are read `FOR UPDATE SKIP LOCKED`, so workers share the work instead of
queueing on each other's rows; SQLite serialises writers with BEGIN IMMEDIATE. The
`contact_escalation` table has a unique (request, kind) as a last line of defence.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from muli.contact import notifications, on_call
from muli.contact import requests as contact_requests
from muli.models.contact import ContactEscalation, ContactRequest, queue_changed
from muli.models.people import Staff
from muli.platform.context import SYSTEM, Ctx
from muli.trust import audit

BATCH = 20
# A busy database (SQLite's one writer, a PostgreSQL lock timeout) makes a batch fail; it is
# simply tried again: the claims make a retried batch do nothing twice.
RETRIES = 20


@dataclass
class PassReport:
    backup: int = 0
    team: int = 0
    reminder: int = 0

    @property
    def total(self) -> int:
        return self.backup + self.team + self.reminder


def _due(ctx: Ctx, query):
    if ctx.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return ctx.session.execute(query.limit(BATCH)).all()


def run_pass(ctx: Ctx, *, now: datetime | None = None, commit: Callable[[], None]) -> PassReport:
    """One pass of the rules as of `now` (default the clock); commits after each batch."""
    ctx = ctx.acting_as(SYSTEM)
    now = now or ctx.now()
    report = PassReport()
    escalate = (
        select(ContactRequest.id, ContactRequest.escalation_level, ContactRequest.escalate_at)
        .where(ContactRequest.state == "open", ContactRequest.escalate_at <= now)
        .order_by(ContactRequest.escalate_at, ContactRequest.id)
    )
    remind = (
        select(ContactRequest.id)
        .where(ContactRequest.state == "acknowledged", ContactRequest.remind_at <= now)
        .order_by(ContactRequest.remind_at, ContactRequest.id)
    )
    for query, step in (
        (escalate, lambda r: _escalate(ctx, r.id, r.escalation_level, r.escalate_at, now)),
        (remind, lambda r: _remind(ctx, r.id, now)),
    ):
        while True:
            rows, done = _batch(ctx, commit, query, step)
            for kind in done:
                setattr(report, kind, getattr(report, kind) + 1)
            if not rows or not done:
                break
    return report


def _batch(ctx: Ctx, commit: Callable[[], None], query, step) -> tuple[list, list[str]]:
    """Claim and handle one batch in one transaction; answers the rows seen and the steps taken."""
    for attempt in range(RETRIES):
        try:
            rows = _due(ctx, query)
            done = [kind for kind in (step(row) for row in rows) if kind]
            commit()
        except OperationalError:
            ctx.session.rollback()
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # noqa: S311 - jitter, not secrecy
            continue
        # Let another worker take the database between batches (SQLite's lock is not fair).
        time.sleep(0.01)
        return rows, done
    raise RuntimeError("the database stayed busy; the next pass will try again")


def _claim(ctx: Ctx, request_id: uuid.UUID, where, values) -> bool:
    changed = ctx.rows_changed(
        update(ContactRequest)
        .where(ContactRequest.id == request_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return changed == 1


def _escalate(ctx: Ctx, request_id: uuid.UUID, level: int, due_at: datetime, now: datetime) -> str | None:
    if level >= 2:
        return None
    request = ctx.session.get_one(ContactRequest, request_id)
    window = timedelta(minutes=request.acknowledge_within_minutes)
    new_level = level + 1
    # The second window runs from the first deadline, not from when the worker got round to it.
    next_at = due_at + window if new_level == 1 else None
    won = _claim(
        ctx,
        request_id,
        (ContactRequest.state == "open", ContactRequest.escalation_level == level),
        {"escalation_level": new_level, "escalate_at": next_at, "escalated_at": now},
    )
    if not won:
        return None
    ctx.session.refresh(request)
    queue_changed(ctx.session, request.team_id)
    team = request.patient.team
    recipients: list[Staff | None]
    if new_level == 1:
        kind = "backup"
        backup = on_call.availability(ctx, team, now).backup
        recipients = [backup, *contact_requests.team_staff(ctx, team.id, ("coordinator",))]
    else:
        kind = "team"
        contact_requests._add_message(ctx, request, "system", contact_requests.ESCALATION_ADVICE, at=now)
        recipients = list(contact_requests.team_staff(ctx, team.id))
        notifications.enqueue_patient(ctx, request.patient, "escalated", request.id, request.id)
    sent = notifications.enqueue(ctx, recipients, f"escalation-{kind}", request.id)
    ctx.session.add(
        ContactEscalation(request_id=request.id, kind=kind, level=new_level, occurred_at=now, notified=sent)
    )
    audit.record(
        ctx.session,
        ctx.actor,
        f"contact_request.escalate.{kind}",
        patient_id=request.patient_id,
        resource="contact_request",
        resource_id=request.id,
    )
    ctx.session.flush()
    return kind


def _remind(ctx: Ctx, request_id: uuid.UUID, now: datetime) -> str | None:
    won = _claim(
        ctx,
        request_id,
        (ContactRequest.state == "acknowledged", ContactRequest.remind_at <= now),
        {"remind_at": None},
    )
    if not won:
        return None
    request = ctx.session.get_one(ContactRequest, request_id, populate_existing=True)
    sent = notifications.enqueue(ctx, [request.acknowledged_by], "reminder", request.id)
    ctx.session.add(
        ContactEscalation(
            request_id=request.id,
            kind="reminder",
            level=request.escalation_level,
            occurred_at=now,
            notified=sent,
        )
    )
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.remind",
        patient_id=request.patient_id,
        resource="contact_request",
        resource_id=request.id,
    )
    ctx.session.flush()
    return "reminder"
