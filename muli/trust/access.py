"""The one access policy: may this actor do this to this patient's data?

Every door (API, portal, CLI) asks here. Staff reach only their own teams' patients, and
clinical content only in the scopes the patient granted their agency — and only in scopes the
programme of the patient's team still names (`programme_scopes`) — or in the scopes a
break-the-glass window was opened for (crisis plan, contact history, shared diary; see
`EMERGENCY_SCOPES`). Privacy officers and admins see no clinical content. A refusal to
reach another patient or team is marked (`refused`) and recorded as a security event
when it becomes the answer (`muli.trust.refusals`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select

from muli.models.consent import CONSENT_SCOPES, Consent, EmergencyAccess
from muli.models.people import CLINICAL_ROLES, Patient, Staff, Team, TeamMembership
from muli.models.programme import Programme
from muli.platform.context import Ctx
from muli.platform.errors import ConsentRequired, Forbidden, MuliError, NotFound, NotOnTeam
from muli.trust.refusals import Refusal

E = TypeVar("E", bound=MuliError)


@dataclass(frozen=True)
class Grant:
    """Access given for one patient; `emergency` marks access without consent."""

    patient: Patient
    emergency: bool = False


def refused(
    ctx: Ctx,
    error: E,
    *,
    patient_id: uuid.UUID | None = None,
    resource: str | None = None,
    resource_id: object = None,
) -> E:
    """Mark `error` as a refused attempt to reach another patient or team (or a place the
    actor's role may not go): if it becomes the answer, the web layer records it as the
    security event `access.refused` (`muli.trust.refusals`). `patient_id` only when the
    target is an existing patient; the answer is the same either way."""
    target = None if resource_id is None else str(resource_id)
    error.refusal = Refusal(ctx.actor, patient_id, resource, target)
    return error


def own_patient(ctx: Ctx) -> Patient:
    """The patient behind a patient actor."""
    actor = ctx.actor
    if not actor.is_patient or actor.patient_id is None:
        raise refused(ctx, Forbidden("Only a patient can do this."))
    patient = ctx.session.get(Patient, actor.patient_id)
    if patient is None:
        raise NotFound()
    return patient


def require_clinical_staff(ctx: Ctx) -> None:
    if not ctx.actor.is_staff or ctx.actor.role not in CLINICAL_ROLES:
        raise refused(ctx, Forbidden("Only clinical staff on the team can do this."))


def require_role(ctx: Ctx, *roles: str) -> None:
    if not ctx.actor.is_staff or ctx.actor.role not in roles:
        raise refused(ctx, Forbidden("Your role does not allow this."))


def team_patient(ctx: Ctx, patient_id: uuid.UUID) -> Patient:
    """A patient on one of the actor's teams; anyone else's patient does not exist (404)."""
    require_clinical_staff(ctx)
    patient = ctx.session.get(Patient, patient_id)
    if patient is None or patient.team_id not in ctx.actor.team_ids:
        raise refused(
            ctx,
            NotFound("No such patient on your teams."),
            patient_id=patient.id if patient else None,
            resource="patient",
            resource_id=patient_id,
        )
    return patient


def programme_scopes(ctx: Ctx, team_id: uuid.UUID | None) -> frozenset[str]:
    """The consent scopes the team's programme names. A consent under any other scope (granted
    before an import dropped it) gives nothing: it is kept, and shown to the patient as no
    longer in use, but access is only ever granted through what the programme asks for. A team
    without a programme row runs MULI's template, which asks for every scope."""
    team = ctx.session.get(Team, team_id) if team_id is not None else None
    row = ctx.session.get(Programme, team.programme_id) if team is not None and team.programme_id else None
    if row is None:
        return frozenset(CONSENT_SCOPES)
    return frozenset(row.definition["consent_scopes"])


def consented_scopes(ctx: Ctx, patient_id: uuid.UUID, agency_id: uuid.UUID | None) -> set[str]:
    """The scopes the patient granted the agency that their team's programme still names."""
    patient = ctx.session.get(Patient, patient_id)
    if patient is None:
        return set()
    rows = ctx.session.scalars(
        select(Consent.scope).where(
            Consent.patient_id == patient_id,
            Consent.agency_id == agency_id,
            Consent.state == "granted",
        )
    )
    return set(rows) & programme_scopes(ctx, patient.team_id)


def _active_windows(ctx: Ctx, patient_id: uuid.UUID):
    now = ctx.now()
    return (
        select(EmergencyAccess)
        .where(
            EmergencyAccess.patient_id == patient_id,
            EmergencyAccess.staff_id == ctx.actor.staff_id,
            EmergencyAccess.starts_at <= now,
            EmergencyAccess.ends_at > now,
        )
        .order_by(EmergencyAccess.ends_at.desc())
    )


def active_emergency_access(
    ctx: Ctx, patient_id: uuid.UUID, scope: str | None = None
) -> EmergencyAccess | None:
    """My open break-the-glass window on the patient (the one that opens `scope`, if named)."""
    for window in ctx.session.scalars(_active_windows(ctx, patient_id)):
        if scope is None or scope in window.scope_set:
            return window
    return None


def emergency_scopes(ctx: Ctx, patient_id: uuid.UUID) -> set[str]:
    """What my open break-the-glass windows on the patient open: only the scopes asked for."""
    found: set[str] = set()
    for window in ctx.session.scalars(_active_windows(ctx, patient_id)):
        found |= window.scope_set
    return found


def staff_patient(ctx: Ctx, patient_id: uuid.UUID, scope: str | None) -> Grant:
    """Clinical access to one scope of a patient (`None`: the overview, any consent will do).

    404 outside the actor's teams; 403 `consent-required` without consent or emergency access.
    """
    patient = team_patient(ctx, patient_id)
    scopes = consented_scopes(ctx, patient.id, ctx.actor.agency_id)
    if (scope is None and scopes) or scope in scopes:
        return Grant(patient)
    # Break the glass opens the overview and the scopes it was opened for, nothing else.
    if active_emergency_access(ctx, patient.id, scope) is not None:
        return Grant(patient, emergency=True)
    raise ConsentRequired(
        "The patient has not given your agency consent for this. Emergency access is possible with a reason."
    )


def visible_scopes(ctx: Ctx, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """Per patient: the scopes my agency was given (those the programme of the patient's team
    still names), and those my open break-the-glass windows opened. Two queries for a whole
    list (and one per team for its programme), for pages that show something about many
    patients."""
    ids = set(patient_ids)
    found: dict[uuid.UUID, set[str]] = {pid: set() for pid in ids}
    if not ids or ctx.actor.agency_id is None:
        return found
    named: dict[uuid.UUID, frozenset[str]] = {}
    for pid, scope, team_id in ctx.session.execute(
        select(Consent.patient_id, Consent.scope, Patient.team_id)
        .join(Patient, Patient.id == Consent.patient_id)
        .where(
            Consent.patient_id.in_(ids), Consent.agency_id == ctx.actor.agency_id, Consent.state == "granted"
        )
    ):
        if team_id not in named:
            named[team_id] = programme_scopes(ctx, team_id)
        if scope in named[team_id]:
            found[pid].add(scope)
    now = ctx.now()
    for window in ctx.session.scalars(
        select(EmergencyAccess).where(
            EmergencyAccess.patient_id.in_(ids),
            EmergencyAccess.staff_id == ctx.actor.staff_id,
            EmergencyAccess.starts_at <= now,
            EmergencyAccess.ends_at > now,
        )
    ):
        found[window.patient_id] |= window.scope_set
    return found


def coordinator_of(ctx: Ctx, team_id: uuid.UUID) -> Team:
    """A team the actor coordinates: enrolment, meetings and the rota are theirs."""
    require_role(ctx, "coordinator")
    team = ctx.session.get(Team, team_id)
    if team is None or team_id not in ctx.actor.team_ids:
        raise refused(ctx, NotOnTeam("You are not on this team."), resource="team", resource_id=team_id)
    return team


def member_of(ctx: Ctx, team_id: uuid.UUID) -> Team:
    """A team the actor works on (any clinical role); other teams do not exist (404)."""
    require_clinical_staff(ctx)
    team = ctx.session.get(Team, team_id)
    if team is None or team_id not in ctx.actor.team_ids:
        raise refused(ctx, NotFound("No such team."), resource="team", resource_id=team_id)
    return team


def require_privacy_officer(ctx: Ctx) -> None:
    require_role(ctx, "privacy_officer")


def team_agency_ids(ctx: Ctx, team_id: uuid.UUID) -> set[uuid.UUID]:
    """The agencies working on a team: those that employ its members."""
    return set(
        ctx.session.scalars(
            select(Staff.agency_id)
            .join(TeamMembership, TeamMembership.staff_id == Staff.id)
            .where(TeamMembership.team_id == team_id)
        )
    )
