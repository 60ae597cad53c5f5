"""The morning hand-over: everything after hours since the last working day ended, per patient."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select

from muli.contact import on_call
from muli.contact import requests as contact_requests
from muli.models.contact import ContactEscalation, ContactRequest
from muli.platform.context import Ctx
from muli.trust import access, audit


def window(team, day: date) -> tuple[datetime, datetime]:
    """From the end of the last working day before `day` to the start of `day`'s office hours.

    On a day without office hours (weekend, holiday) the window runs to the end of that day.
    """
    tz = on_call.zone(team)
    opening = on_call.office_intervals(team, day)
    if opening:
        until = opening[0][0]
    else:
        until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    since = on_call.last_office_close_before(team, until)
    if since is None:
        since = datetime.combine(day - timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return since, until


def handover(ctx: Ctx, team_id: uuid.UUID, day: date | None = None) -> dict:
    """Every request and escalation in the after-hours window before `day` (default today), per patient."""
    team = access.member_of(ctx, team_id)
    day = day or ctx.now().astimezone(on_call.zone(team)).date()
    since, until = window(team, day)
    escalated_ids = select(ContactEscalation.request_id).where(
        ContactEscalation.occurred_at >= since, ContactEscalation.occurred_at < until
    )
    requests = list(
        ctx.session.scalars(
            select(ContactRequest)
            .where(
                ContactRequest.team_id == team.id,
                or_(
                    (ContactRequest.created_at >= since) & (ContactRequest.created_at < until),
                    ContactRequest.id.in_(escalated_ids),
                ),
            )
            .order_by(ContactRequest.created_at, ContactRequest.id)
        )
    )
    steps = contact_requests.escalations(ctx, [r.id for r in requests])
    patients: dict[uuid.UUID, dict] = {}
    for request in requests:
        entry = patients.get(request.patient_id)
        if entry is None:
            grant = _grant(ctx, request.patient_id)
            entry = patients[request.patient_id] = {
                "patient": {
                    "id": request.patient.id,
                    "display_name": ctx.keys.open(request.patient, "display_name"),
                },
                "content_visible": grant is not None,
                "requests": [],
                "_grant": grant,
            }
        view = contact_requests.base_view(ctx, request)
        view.pop("emergency_numbers")
        view["closed_by"] = contact_requests._person(request.closed_by)
        view["close_note"] = ctx.keys.open(request, "close_note") if entry["_grant"] else None
        view["escalations"] = [
            {"kind": s.kind, "level": s.level, "occurred_at": s.occurred_at, "notified": s.notified}
            for s in steps.get(request.id, [])
        ]
        entry["requests"].append(view)
    for patient_id, entry in patients.items():
        grant = entry.pop("_grant")
        audit.record(
            ctx.session,
            ctx.actor,
            "contact_request.handover",
            patient_id=patient_id,
            resource="contact_request",
            emergency=bool(grant and grant.emergency),
        )
    return {
        "team_id": team.id,
        "date": day,
        "since": since,
        "until": until,
        "patients": list(patients.values()),
    }


def _grant(ctx: Ctx, patient_id: uuid.UUID):
    try:
        return access.staff_patient(ctx, patient_id, "contact_requests")
    except access.ConsentRequired:
        return None
