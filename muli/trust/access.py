"""The one access policy: may this actor do this to this patient's data?

Every door (API, portal, CLI) asks here. Staff reach only their own teams' patients, and
clinical content only in the scopes the patient granted their agency, or during a
break-the-glass window. Privacy officers and admins see no clinical content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from muli.models.consent import Consent, EmergencyAccess
from muli.models.people import CLINICAL_ROLES, Patient, Staff, Team, TeamMembership
from muli.platform.context import Ctx
from muli.platform.errors import ConsentRequired, Forbidden, NotFound, NotOnTeam


@dataclass(frozen=True)
class Grant:
    """Access given for one patient; `emergency` marks access without consent."""

    patient: Patient
    emergency: bool = False


def own_patient(ctx: Ctx) -> Patient:
    """The patient behind a patient actor."""
    actor = ctx.actor
    if not actor.is_patient or actor.patient_id is None:
        raise Forbidden("Only a patient can do this.")
    patient = ctx.session.get(Patient, actor.patient_id)
    if patient is None:
        raise NotFound()
    return patient


def require_clinical_staff(ctx: Ctx) -> None:
    if not ctx.actor.is_staff or ctx.actor.role not in CLINICAL_ROLES:
        raise Forbidden("Only clinical staff on the team can do this.")


def require_role(ctx: Ctx, *roles: str) -> None:
    if not ctx.actor.is_staff or ctx.actor.role not in roles:
        raise Forbidden("Your role does not allow this.")


def team_patient(ctx: Ctx, patient_id: uuid.UUID) -> Patient:
    """A patient on one of the actor's teams; anyone else's patient does not exist (404)."""
    require_clinical_staff(ctx)
    patient = ctx.session.get(Patient, patient_id)
    if patient is None or patient.team_id not in ctx.actor.team_ids:
        raise NotFound("No such patient on your teams.")
    return patient


def consented_scopes(ctx: Ctx, patient_id: uuid.UUID, agency_id: uuid.UUID | None) -> set[str]:
    rows = ctx.session.scalars(
        select(Consent.scope).where(
            Consent.patient_id == patient_id,
            Consent.agency_id == agency_id,
            Consent.state == "granted",
        )
    )
    return set(rows)


def active_emergency_access(ctx: Ctx, patient_id: uuid.UUID) -> EmergencyAccess | None:
    now = ctx.now()
    return ctx.session.scalars(
        select(EmergencyAccess)
        .where(
            EmergencyAccess.patient_id == patient_id,
            EmergencyAccess.staff_id == ctx.actor.staff_id,
            EmergencyAccess.starts_at <= now,
            EmergencyAccess.ends_at > now,
        )
        .limit(1)
    ).first()


def staff_patient(ctx: Ctx, patient_id: uuid.UUID, scope: str | None) -> Grant:
    """Clinical access to one scope of a patient (`None`: the overview, any consent will do).

    404 outside the actor's teams; 403 `consent-required` without consent or emergency access.
    """
    patient = team_patient(ctx, patient_id)
    scopes = consented_scopes(ctx, patient.id, ctx.actor.agency_id)
    if (scope is None and scopes) or scope in scopes:
        return Grant(patient)
    if active_emergency_access(ctx, patient.id) is not None:
        return Grant(patient, emergency=True)
    raise ConsentRequired(
        "The patient has not given your agency consent for this. Emergency access is possible with a reason."
    )


def coordinator_of(ctx: Ctx, team_id: uuid.UUID) -> Team:
    """A team the actor coordinates: enrolment, meetings and the rota are theirs."""
    require_role(ctx, "coordinator")
    team = ctx.session.get(Team, team_id)
    if team is None or team_id not in ctx.actor.team_ids:
        raise NotOnTeam("You are not on this team.")
    return team


def member_of(ctx: Ctx, team_id: uuid.UUID) -> Team:
    """A team the actor works on (any clinical role); other teams do not exist (404)."""
    require_clinical_staff(ctx)
    team = ctx.session.get(Team, team_id)
    if team is None or team_id not in ctx.actor.team_ids:
        raise NotFound("No such team.")
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
