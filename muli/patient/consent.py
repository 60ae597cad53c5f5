"""Consent: what the patient lets each agency of their team see, with its full history.

The access policy (muli.trust.access) reads the `consent` rows on every request, so a withdrawal
here takes effect on the very next staff request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from muli.models.consent import CONSENT_SCOPES, CONSENT_STATES, Consent, ConsentChange
from muli.models.people import Agency, Staff
from muli.platform.context import Ctx
from muli.platform.errors import ValidationFailed
from muli.trust import access, audit
from muli.trust.access import team_agency_ids
from muli.trust.audit_review import emergency_ref


@dataclass(frozen=True)
class ConsentSetting:
    agency_id: uuid.UUID
    scope: str
    state: str


def record_access(ctx: Ctx, grant: access.Grant, action: str, resource: str, resource_id=None) -> None:
    """Audit a staff read or change under `grant`; emergency access names its window."""
    reason = None
    if grant.emergency:
        window = access.active_emergency_access(ctx, grant.patient.id)
        reason = emergency_ref(window.id) if window is not None else None
    audit.record(
        ctx.session,
        ctx.actor,
        action,
        patient_id=grant.patient.id,
        resource=resource,
        resource_id=resource_id,
        emergency=grant.emergency,
        reason=reason,
    )


def _agencies(ctx: Ctx, patient) -> list[Agency]:
    """The team's agencies, plus any agency the patient still has a consent row for."""
    ids = team_agency_ids(ctx, patient.team_id)
    ids |= set(ctx.session.scalars(select(Consent.agency_id).where(Consent.patient_id == patient.id)))
    if not ids:
        return []
    return list(ctx.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)))


def _changed_by(ctx: Ctx, patient, account_id: uuid.UUID | None) -> dict:
    if account_id is None:
        return {"kind": "system", "name": None, "agency": None}
    if account_id == patient.account_id:
        return {"kind": "patient", "name": ctx.keys.open(patient, "display_name"), "agency": None}
    staff = ctx.session.scalars(select(Staff).where(Staff.account_id == account_id)).first()
    if staff is None:
        return {"kind": "system", "name": None, "agency": None}
    return {"kind": "staff", "name": staff.display_name, "agency": staff.agency.name}


def scopes_of(ctx: Ctx, patient) -> tuple[str, ...]:
    """The consent scopes the patient's programme asks for (MULI: all five), as the access
    policy reads them."""
    named = access.programme_scopes(ctx, patient.team_id)
    return tuple(s for s in CONSENT_SCOPES if s in named)


def state_of(ctx: Ctx, patient) -> dict:
    """Every agency x scope of the programme with its state (never granted counts as
    withdrawn), and the history. A scope the programme does not ask for is listed only where
    it is still granted (given before the team's programme changed), marked `in_use: false`:
    it gives no access (`access.programme_scopes`), and nothing the patient decided vanishes
    from their screen; they may withdraw it, and it is in use again if the programme asks for
    the scope again."""
    rows = {
        (c.agency_id, c.scope): c
        for c in ctx.session.scalars(select(Consent).where(Consent.patient_id == patient.id))
    }
    agencies = _agencies(ctx, patient)
    names = {a.id: a.name for a in agencies}
    asked = scopes_of(ctx, patient)
    current = []
    for agency in agencies:
        for scope in CONSENT_SCOPES:
            row = rows.get((agency.id, scope))
            if scope not in asked and (row is None or row.state != "granted"):
                continue
            current.append(
                {
                    "agency_id": agency.id,
                    "agency_name": agency.name,
                    "scope": scope,
                    "state": row.state if row else "withdrawn",
                    "changed_at": row.changed_at if row else None,
                    "in_use": scope in asked,
                }
            )
    changes = ctx.session.scalars(
        select(ConsentChange)
        .where(ConsentChange.patient_id == patient.id)
        .order_by(ConsentChange.changed_at.desc(), ConsentChange.id)
    )
    history = [
        {
            "agency_id": ch.agency_id,
            "agency_name": names.get(ch.agency_id) or _agency_name(ctx, ch.agency_id),
            "scope": ch.scope,
            "state": ch.state,
            "changed_at": ch.changed_at,
            "changed_by": _changed_by(ctx, patient, ch.changed_by_account_id),
        }
        for ch in changes
    ]
    return {"consents": current, "history": history}


def _agency_name(ctx: Ctx, agency_id: uuid.UUID) -> str | None:
    agency = ctx.session.get(Agency, agency_id)
    return agency.name if agency else None


def my_consents(ctx: Ctx) -> dict:
    """GET /me/consents."""
    patient = access.own_patient(ctx)
    audit.record(ctx.session, ctx.actor, "consent.read", patient_id=patient.id, resource="consent")
    return state_of(ctx, patient)


def set_my_consents(ctx: Ctx, settings: list[ConsentSetting]) -> dict:
    """Grant or withdraw per agency and scope; unlisted pairs stay as they are. Each change audited."""
    patient = access.own_patient(ctx)
    allowed = {a.id for a in _agencies(ctx, patient)}
    asked = scopes_of(ctx, patient)
    seen = set()
    for i, s in enumerate(settings):
        if s.agency_id not in allowed:
            raise ValidationFailed(f"consents.{i}.agency_id", "Not an agency on your team.")
        # Only what the programme asks for is granted; anything may be withdrawn.
        if s.scope not in CONSENT_SCOPES or (s.scope not in asked and s.state == "granted"):
            raise ValidationFailed(f"consents.{i}.scope", "One of: %(values)s.", {"values": ", ".join(asked)})
        if s.state not in CONSENT_STATES:
            raise ValidationFailed(
                f"consents.{i}.state", "One of: %(values)s.", {"values": ", ".join(CONSENT_STATES)}
            )
        if (s.agency_id, s.scope) in seen:
            raise ValidationFailed(f"consents.{i}", "This agency and scope are listed twice.")
        seen.add((s.agency_id, s.scope))
    now = ctx.now()
    for s in settings:
        row = ctx.session.scalars(
            select(Consent)
            .where(
                Consent.patient_id == patient.id, Consent.agency_id == s.agency_id, Consent.scope == s.scope
            )
            .with_for_update()
        ).first()
        if row is None and s.state == "withdrawn":
            continue  # never granted: nothing to withdraw
        if row is not None and row.state == s.state:
            continue
        if row is None:
            row = Consent(patient_id=patient.id, agency_id=s.agency_id, scope=s.scope, state=s.state)
            ctx.session.add(row)
        row.state, row.changed_at = s.state, now
        ctx.session.add(
            ConsentChange(
                patient_id=patient.id,
                agency_id=s.agency_id,
                scope=s.scope,
                state=s.state,
                changed_at=now,
                changed_by_account_id=ctx.actor.account_id,
            )
        )
        audit.record(
            ctx.session,
            ctx.actor,
            "consent.grant" if s.state == "granted" else "consent.withdraw",
            patient_id=patient.id,
            resource="consent",
            resource_id=f"{s.agency_id}:{s.scope}",
        )
    ctx.session.flush()
    return state_of(ctx, patient)
