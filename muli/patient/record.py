"""The patient's record as a whole: the access log, the export, the staff overview,
admissions and break-the-glass access."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_, select

from muli.models.audit import AuditEvent
from muli.models.consent import CONSENT_SCOPES, EMERGENCY_DEFAULT, EMERGENCY_SCOPES, EmergencyAccess
from muli.models.people import Admission, Patient
from muli.patient import consent as consent_service
from muli.patient import diary, mastery, plans
from muli.patient.consent import record_access
from muli.patient.profile import trusted_contact
from muli.platform.context import Ctx
from muli.platform.crypto import KeyRing
from muli.platform.errors import ValidationFailed
from muli.platform.pagination import Page
from muli.trust import access, audit, audit_review, refusals

SCHEMA_VERSION = 1
MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 500

# Other capabilities add their part of the export here: fn(ctx, patient) -> (key, value).
EXPORT_SECTIONS: list[Callable] = []
# ... and of the staff overview: fn(ctx, patient, visible_scopes) -> (key, value).
OVERVIEW_SECTIONS: list[Callable] = []


# --- the access log ------------------------------------------------------------------------


def by_others(patient: Patient):
    # A refused attempt read nothing, and its actor may be another patient: it is for the
    # privacy officer only (muli/trust/refusals.py), never in the patient's own log.
    return select(AuditEvent).where(
        AuditEvent.patient_id == patient.id,
        or_(AuditEvent.actor_account_id.is_(None), AuditEvent.actor_account_id != patient.account_id),
        AuditEvent.action != refusals.ACTION,
    )


def _log_items(ctx: Ctx, events) -> list[dict]:
    reasons = audit_review.emergency_reasons(ctx, events)
    return [_log_item(ev, reasons.get(ev.seq)) for ev in events]


def _log_item(ev: AuditEvent, reason: str | None) -> dict:
    return {
        "at": ev.occurred_at,
        "who": {
            # Never a patient's name: the log holds no events of the patient's own, so a patient
            # acting here is another one (an event from before 0045 may still hold the name).
            "name": None if ev.actor_kind == "patient" else ev.actor_name,
            "agency": ev.actor_agency_name,
            "role": ev.actor_role,
            "kind": ev.actor_kind,
        },
        "action": ev.action,
        "resource": ev.resource,
        "resource_id": ev.resource_id,
        "outcome": ev.outcome,
        "emergency": ev.emergency,
        "reason": reason if ev.emergency else None,
    }


def access_log(ctx: Ctx, *, cursor: str | None, limit: int) -> Page:
    """Every read or change of my data by anyone but me, newest first, from the audit trail."""
    patient = access.own_patient(ctx)
    # Newest first by time (keyset on occurred_at, seq), as the privacy officer's search reads
    # it: the recent months' partitions first, every month's only when they hold no full page.
    page = audit_review.newest_first(ctx, by_others(patient), from_=None, to=None, cursor=cursor, limit=limit)
    audit.record(ctx.session, ctx.actor, "access_log.read", patient_id=patient.id, resource="audit_event")
    return Page(_log_items(ctx, page.items), page.next_cursor)


# --- the export ----------------------------------------------------------------------------


def seal_admission(keys: KeyRing, admission: Admission, facility: str, involuntary: bool) -> None:
    """Encrypt where the stay was and whether it was involuntary into the admission."""
    keys.seal(admission, "facility", facility)
    keys.seal(admission, "involuntary", "1" if involuntary else "0")


def admission_details(keys: KeyRing, admission: Admission) -> tuple[str | None, bool]:
    """The admission's facility and involuntary flag, decrypted."""
    return keys.open(admission, "facility"), keys.open(admission, "involuntary") == "1"


def _admission(keys: KeyRing, a: Admission) -> dict:
    facility, involuntary = admission_details(keys, a)
    return {
        "id": a.id,
        "admitted_on": a.admitted_on,
        "discharged_on": a.discharged_on,
        "facility": facility,
        "involuntary": involuntary,
        "recorded_at": a.created_at,
    }


def admission_rows(ctx: Ctx, patient_id: uuid.UUID) -> list[Admission]:
    """A patient's admissions, oldest first (the caller checks access and audits)."""
    return list(
        ctx.session.scalars(
            select(Admission)
            .where(Admission.patient_id == patient_id)
            .order_by(Admission.admitted_on, Admission.id)
        )
    )


def _admissions(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    return [_admission(ctx.keys, a) for a in admission_rows(ctx, patient_id)]


def _emergency_accesses(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    rows = ctx.session.scalars(
        select(EmergencyAccess)
        .where(EmergencyAccess.patient_id == patient_id)
        .order_by(EmergencyAccess.starts_at)
    )
    return [
        {"id": e.id, "starts_at": e.starts_at, "ends_at": e.ends_at, "reason": ctx.keys.open(e, "reason")}
        for e in rows
    ]


def export(ctx: Ctx) -> dict:
    """Everything about me, decrypted, in one document (right of access and portability)."""
    patient = access.own_patient(ctx)
    log = ctx.session.scalars(by_others(patient).order_by(AuditEvent.seq)).all()
    document = {
        "schema_version": SCHEMA_VERSION,
        "exported_at": ctx.now(),
        "patient": {
            "id": patient.id,
            "display_name": ctx.keys.open(patient, "display_name"),
            "national_id": ctx.keys.open(patient, "national_id"),
            "status": patient.status,
            "enrolled_on": patient.enrolled_on,
            "team": {"id": patient.team.id, "name": patient.team.name},
            "trusted_contact": trusted_contact(patient),
        },
        "crisis_plan": {"versions": plans.all_versions(ctx, patient.id, "crisis")},
        "mastery_plan": {
            "versions": plans.all_versions(ctx, patient.id, "mastery"),
            "strategy_uses": mastery.all_strategy_uses(ctx, patient.id),
        },
        "diary": diary.all_entries(ctx, patient.id),
        "consents": consent_service.state_of(ctx, patient),
        "admissions": _admissions(ctx, patient.id),
        "emergency_accesses": _emergency_accesses(ctx, patient.id),
        "access_log": _log_items(ctx, log),
    }
    for section in EXPORT_SECTIONS:
        key, value = section(ctx, patient)
        if value is not None:  # None: the section has nothing to say about this patient
            document[key] = value
    audit.record(ctx.session, ctx.actor, "patient.export", patient_id=patient.id, resource="patient")
    return document


# --- the staff side ------------------------------------------------------------------------


def overview(ctx: Ctx, patient_id: uuid.UUID) -> dict:
    """What the team sees of a patient: only the parts the patient consented to for my agency."""
    grant = access.staff_patient(ctx, patient_id, None)
    patient = grant.patient
    consented = access.consented_scopes(ctx, patient.id, ctx.actor.agency_id)
    window = access.active_emergency_access(ctx, patient.id)
    # Break the glass adds only the scopes it was opened for (default: the crisis plan).
    visible = consented | (access.emergency_scopes(ctx, patient.id) if window is not None else set())
    emergency = window is not None and bool(visible - consented)
    record_access(ctx, access.Grant(patient, emergency), "patient.overview", "patient", patient.id)
    result = {
        "patient": {
            "id": patient.id,
            "display_name": ctx.keys.open(patient, "display_name"),
            "status": patient.status,
            "enrolled_on": patient.enrolled_on,
            "team": {"id": patient.team.id, "name": patient.team.name},
        },
        "trusted_contact": trusted_contact(patient),
        "consent": {
            "my_agency_scopes": sorted(consented),
            "emergency_access_until": window.ends_at if window else None,
            "emergency_scopes": sorted(visible - consented),
            "agencies": consent_service.state_of(ctx, patient)["consents"],
        },
        "withheld": sorted(set(CONSENT_SCOPES) - visible),
        "crisis_plan": plans.current_summary(ctx, patient.id, "crisis") if "crisis_plan" in visible else None,
        "mastery_plan": plans.current_summary(ctx, patient.id, "mastery")
        if "mastery_plan" in visible
        else None,
        "diary_points": diary.shared_points(ctx, patient.id) if "shared_diary" in visible else None,
        "admissions": _admissions(ctx, patient.id),
    }
    for section in OVERVIEW_SECTIONS:
        key, value = section(ctx, patient, visible)
        result[key] = value
    return result


@dataclass
class NewAdmission:
    admitted_on: date
    facility: str
    involuntary: bool = False
    discharged_on: date | None = None


def admissions(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    """A patient's admissions, newest first."""
    grant = access.staff_patient(ctx, patient_id, None)
    record_access(ctx, grant, "admission.list", "admission")
    return list(reversed(_admissions(ctx, grant.patient.id)))


def record_admission(ctx: Ctx, patient_id: uuid.UUID, data: NewAdmission) -> dict:
    """Record an admission to the acute ward (the outcome the team is measured on)."""
    grant = access.staff_patient(ctx, patient_id, None)
    today = ctx.now().date()
    if data.admitted_on > today:
        raise ValidationFailed("admitted_on", "An admission cannot be in the future.")
    if data.discharged_on is not None and data.discharged_on < data.admitted_on:
        raise ValidationFailed("discharged_on", "Discharge cannot come before admission.")
    facility = data.facility.strip()
    if not facility:
        raise ValidationFailed("facility", "Name the facility.")
    admission = Admission(
        patient_id=grant.patient.id,
        admitted_on=data.admitted_on,
        discharged_on=data.discharged_on,
        recorded_by_id=ctx.actor.staff_id,
        created_at=ctx.now(),
    )
    seal_admission(ctx.keys, admission, facility, data.involuntary)
    ctx.session.add(admission)
    ctx.session.flush()
    record_access(ctx, grant, "admission.create", "admission", admission.id)
    return _admission(ctx.keys, admission)


def emergency_scopes_of(requested: list[str] | tuple[str, ...] | None) -> list[str]:
    """The scopes asked for, in a stable order; none named means the crisis plan only."""
    chosen = set(requested or EMERGENCY_DEFAULT)
    for i, scope in enumerate(requested or ()):
        if scope not in EMERGENCY_SCOPES:
            raise ValidationFailed(
                f"scopes.{i}", "One of: %(values)s.", {"values": ", ".join(EMERGENCY_SCOPES)}
            )
    return [s for s in EMERGENCY_SCOPES if s in chosen]


def start_emergency_access(
    ctx: Ctx, patient_id: uuid.UUID, reason: str, scopes: list[str] | tuple[str, ...] | None = None
) -> dict:
    """Break the glass: a time-boxed grant without consent, with a reason, shown to the patient.

    It opens only what is needed now: some of EMERGENCY_SCOPES (the crisis plan, the contact
    history, the shared diary), the crisis plan alone unless more is asked for. The window
    records its scopes; the audit event names them after the window's reference.
    """
    patient = access.team_patient(ctx, patient_id)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationFailed("reason", "Say why, in at least %(n)d characters.", {"n": MIN_REASON_CHARS})
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailed("reason", "At most %(n)d characters.", {"n": MAX_REASON_CHARS})
    opened = emergency_scopes_of(scopes)
    now = ctx.now()
    window = EmergencyAccess(
        scopes=" ".join(opened),
        staff_id=ctx.actor.staff_id,
        patient_id=patient.id,
        starts_at=now,
        ends_at=now + timedelta(minutes=ctx.settings.emergency_access_minutes),
        created_at=now,
    )
    ctx.keys.seal(window, "reason", reason)
    ctx.session.add(window)
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "emergency_access.start",
        patient_id=patient.id,
        resource="emergency_access",
        resource_id=window.id,
        emergency=True,
        reason=audit_review.emergency_ref(window.id, opened),
    )
    return {
        "id": window.id,
        "patient_id": patient.id,
        "starts_at": now,
        "ends_at": window.ends_at,
        "reason": reason,
        "scopes": opened,
    }
