"""Recorded outcome indicators: what a programme measures that the software cannot compute
(MULI vold: police contacts, violent incidents reported, days in custody).

Staff record each occurrence on the patient page, as they record admissions: with any consent
the patient gave their agency. Which indicator and how many are sealed, each at one length,
so the stored row does not tell a police contact from a day in custody.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from muli.models.people import Patient
from muli.models.programme import IndicatorEvent
from muli.patient import programme, record
from muli.patient.consent import record_access
from muli.platform.context import Ctx
from muli.platform.crypto import KeyRing
from muli.platform.errors import ValidationFailed
from muli.trust import access

KEY_WIDTH = 40  # indicator keys are at most 40 characters (programme.SECTION_KEY_RE)
COUNT_WIDTH = 6
MAX_COUNT = 999_999
EARLIEST = date(1900, 1, 1)


@dataclass(frozen=True)
class NewIndicatorEvent:
    indicator: str
    occurred_on: date
    count: int = 1


def seal(keys: KeyRing, event: IndicatorEvent, indicator: str, count: int) -> None:
    keys.seal(event, "indicator", indicator.ljust(KEY_WIDTH))
    keys.seal(event, "count", str(count).rjust(COUNT_WIDTH, "0"))


def details(keys: KeyRing, event: IndicatorEvent) -> tuple[str, int]:
    """The indicator's key and the count, opened (the one place they are)."""
    return (keys.open(event, "indicator") or "").strip(), int(keys.open(event, "count") or "0")


def recorded_indicators(definition: dict) -> list[dict]:
    return [i for i in definition["indicators"] if i["source"] == "recorded"]


def _as_dict(keys: KeyRing, event: IndicatorEvent) -> dict:
    indicator, count = details(keys, event)
    return {"id": event.id, "indicator": indicator, "occurred_on": event.occurred_on, "count": count}


def record_event(ctx: Ctx, patient_id: uuid.UUID, data: NewIndicatorEvent) -> dict:
    """One occurrence of an indicator the patient's programme records."""
    grant = access.staff_patient(ctx, patient_id, None)
    definition = programme.for_team(ctx, grant.patient.team)
    known = {i["key"] for i in recorded_indicators(definition)}
    if data.indicator not in known:
        raise ValidationFailed("indicator", "Not an indicator this patient's programme records.")
    if not EARLIEST <= data.occurred_on <= ctx.now().date():
        raise ValidationFailed("occurred_on", "Not in the future.")
    if not 1 <= data.count <= MAX_COUNT:
        raise ValidationFailed("count", "From 1 to %(n)d.", {"n": MAX_COUNT})
    event = IndicatorEvent(
        patient_id=grant.patient.id,
        occurred_on=data.occurred_on,
        recorded_by_id=ctx.actor.staff_id,
        created_at=ctx.now(),
    )
    seal(ctx.keys, event, data.indicator, data.count)
    ctx.session.add(event)
    ctx.session.flush()
    record_access(ctx, grant, "indicator_event.create", "indicator_event", event.id)
    return _as_dict(ctx.keys, event)


def patient_events(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    """The patient's recorded indicator events, newest first (with any consent, audited)."""
    grant = access.staff_patient(ctx, patient_id, None)
    rows = ctx.session.scalars(
        select(IndicatorEvent)
        .where(IndicatorEvent.patient_id == grant.patient.id)
        .order_by(IndicatorEvent.occurred_on.desc(), IndicatorEvent.id)
    ).all()
    record_access(ctx, grant, "indicator_event.read", "indicator_event")
    return [_as_dict(ctx.keys, e) for e in rows]


def events_of(ctx: Ctx, patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[tuple[date, str, int]]]:
    """Per patient: (date, indicator, count) of every recorded event. No access check and no
    audit: the callers (outcomes, the agenda) do both."""
    out: dict[uuid.UUID, list[tuple[date, str, int]]] = {pid: [] for pid in patient_ids}
    if not out:
        return out
    for event in ctx.session.scalars(
        select(IndicatorEvent)
        .where(IndicatorEvent.patient_id.in_(list(out)))
        .order_by(IndicatorEvent.occurred_on)
    ):
        indicator, count = details(ctx.keys, event)
        out[event.patient_id].append((event.occurred_on, indicator, count))
    return out


def team_patient_ids(ctx: Ctx, team_id: uuid.UUID) -> list[uuid.UUID]:
    return list(ctx.session.scalars(select(Patient.id).where(Patient.team_id == team_id)))


def _export_section(ctx: Ctx, patient: Patient) -> tuple[str, list | None]:
    """The patient's own export holds what was recorded about them (nothing for a programme
    that records no indicators and a patient with none, so MULI's export is as before)."""
    rows = events_of(ctx, [patient.id])[patient.id]
    if not rows and not recorded_indicators(programme.for_team(ctx, patient.team)):
        return "indicator_events", None
    return "indicator_events", [{"occurred_on": d, "indicator": k, "count": n} for d, k, n in rows]


record.EXPORT_SECTIONS.append(_export_section)
