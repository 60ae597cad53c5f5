"""Enrolment: a coordinator brings a patient into the team, with the consents they gave."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from muli.models.consent import CONSENT_SCOPES, Consent, ConsentChange
from muli.models.people import Admission, Agency, Patient, TeamMembership
from muli.patient import profile, programme, record
from muli.platform.context import Ctx
from muli.platform.errors import Conflict, ValidationFailed
from muli.platform.pagination import Page, keyset
from muli.platform.words import N_
from muli.trust import access, accounts, audit, audit_words, national_id


@dataclass
class ConsentGiven:
    agency_id: uuid.UUID
    scopes: list[str]


@dataclass
class Enrolment:
    display_name: str
    national_id: str
    team_id: uuid.UUID
    admissions_last_12_months: list[date] = field(default_factory=list)
    consents: list[ConsentGiven] = field(default_factory=list)
    trusted_contact_id: uuid.UUID | None = None
    phone: str | None = None  # the patient's own number for "Ring meg" (+47 and 8 digits)
    # The coordinator confirms that the team judges the patient to meet the programme's
    # criteria (the portal's tick, the API's `criteria_confirmed: true`): without it nothing
    # is enrolled, and the confirmation is in the audit trail with the enrolment.
    criteria_confirmed: bool = False


# The criteria are the team's judgement, not a count the software checks (an admission abroad,
# a report not yet registered): every door asks the coordinator to confirm it, in these words.
CRITERIA_NOT_CONFIRMED = N_(
    "Confirm that the team judges the patient to meet the programme's criteria, or do not enrol."
)


def enrol(ctx: Ctx, data: Enrolment) -> tuple[Patient, str]:
    """Create the patient, their baseline admissions and consents; answer the activation code."""
    team = access.coordinator_of(ctx, data.team_id)
    if data.criteria_confirmed is not True:
        raise ValidationFailed("criteria_confirmed", CRITERIA_NOT_CONFIRMED)
    nid = data.national_id.strip()
    if not national_id.is_valid(nid):
        raise ValidationFailed("national_id", "Not a valid national identity number.")
    phone = profile.normalise_phone(data.phone)
    index = ctx.keys.blind_index(nid)
    # Enrolment never tells a coordinator who is a patient on another team. The person in
    # front of them is enrolled on their team exactly as a new person would be (a record and
    # an activation code of its own; the national id is unique per team, not across teams),
    # and the other team is told nothing. The overlap goes to the privacy officer instead: an
    # `enrolment.elsewhere` security event on the new record names the other record, and is
    # resolved with the patient (who may be moving between teams, or on two). Only a patient
    # the coordinator can already see (on one of their own teams) answers 409.
    same_person = ctx.session.scalars(select(Patient).where(Patient.national_id_index == index)).all()
    if any(p.team_id in ctx.actor.team_ids for p in same_person):
        raise Conflict("This person is already a patient on your teams.", code="already-enrolled")
    today = ctx.now().date()
    for i, admitted in enumerate(data.admissions_last_12_months):
        if admitted > today:
            raise ValidationFailed(f"admissions_last_12_months.{i}", "An admission cannot be in the future.")
    agencies = access.team_agency_ids(ctx, team.id)
    asked = programme.consent_scopes_of(programme.for_team(ctx, team))
    for i, given in enumerate(data.consents):
        if given.agency_id not in agencies or ctx.session.get(Agency, given.agency_id) is None:
            raise ValidationFailed(f"consents.{i}.agency_id", "Not an agency on this team.")
        for j, scope in enumerate(given.scopes):
            if scope not in asked:
                raise ValidationFailed(
                    f"consents.{i}.scopes.{j}", "One of: %(values)s.", {"values": ", ".join(asked)}
                )
    if data.trusted_contact_id is not None:
        on_team = ctx.session.get(TeamMembership, (team.id, data.trusted_contact_id))
        if on_team is None:
            raise ValidationFailed("trusted_contact_id", "The trusted contact must be on the team.")

    patient = Patient(
        team_id=team.id,
        national_id_index=index,
        enrolled_on=today,
        enrolled_by_id=ctx.actor.staff_id,
        trusted_contact_id=data.trusted_contact_id,
    )
    ctx.keys.seal(patient, "display_name", data.display_name.strip())
    ctx.keys.seal(patient, "national_id", nid)
    ctx.keys.seal(patient, "phone", phone)
    ctx.session.add(patient)
    ctx.session.flush()
    for admitted in sorted(data.admissions_last_12_months):
        admission = Admission(patient_id=patient.id, admitted_on=admitted, recorded_by_id=ctx.actor.staff_id)
        record.seal_admission(ctx.keys, admission, "PAM", False)
        ctx.session.add(admission)
    now = ctx.now()
    for given in data.consents:
        for scope in sorted(set(given.scopes)):
            ctx.session.add(
                Consent(
                    patient_id=patient.id,
                    agency_id=given.agency_id,
                    scope=scope,
                    state="granted",
                    changed_at=now,
                )
            )
            ctx.session.add(
                ConsentChange(
                    patient_id=patient.id,
                    agency_id=given.agency_id,
                    scope=scope,
                    state="granted",
                    changed_at=now,
                    changed_by_account_id=ctx.actor.account_id,
                )
            )
    code = accounts.issue_activation_code(ctx, patient)
    audit.record(
        ctx.session,
        ctx.actor,
        "patient.enrol",
        patient_id=patient.id,
        resource="patient",
        resource_id=patient.id,
    )
    audit.record(
        ctx.session,
        ctx.actor,
        "patient.criteria_confirmed",
        patient_id=patient.id,
        resource="patient",
        resource_id=patient.id,
    )
    if data.consents:
        audit.record(ctx.session, ctx.actor, "consent.grant", patient_id=patient.id, resource="consent")
    for other in same_person:
        audit.record(
            ctx.session,
            ctx.actor,
            "enrolment.elsewhere",
            outcome="review",
            patient_id=patient.id,
            resource="patient",
            resource_id=other.id,
            reason=audit_words.REASON_ELSEWHERE,
        )
    return patient, code


def patient_view(ctx: Ctx, patient: Patient) -> dict:
    """A patient as the team's list shows them, the name opened."""
    return {
        "id": patient.id,
        "display_name": ctx.keys.open(patient, "display_name"),
        "team_id": patient.team_id,
        "status": patient.status,
        "enrolled_on": patient.enrolled_on,
        "trusted_contact_id": patient.trusted_contact_id,
        "trusted_contact": patient.trusted_contact,
        "account_id": patient.account_id,
        "activated": patient.account_id is not None,
    }


def list_team_patients(ctx: Ctx, *, cursor: str | None, limit: int):
    """The patients of the actor's teams, newest enrolment first."""
    access.require_clinical_staff(ctx)
    query = select(Patient).where(Patient.team_id.in_(ctx.actor.team_ids))
    page = keyset(ctx.session, query, ctx.keys, Patient.created_at, Patient.id, cursor=cursor, limit=limit)
    audit.record(ctx.session, ctx.actor, "patient.list", resource="patient")
    return Page([patient_view(ctx, p) for p in page.items], page.next_cursor)


def consent_scopes(ctx: Ctx | None = None, team=None) -> tuple[str, ...]:
    """The consent scopes enrolment asks for: the team's programme's (every scope without one)."""
    if ctx is None:
        return CONSENT_SCOPES
    return programme.consent_scopes_of(programme.for_team(ctx, team))
