"""The patient's own profile: who they are, their team, their trusted person, the emergency numbers."""

from __future__ import annotations

import re
from collections.abc import Callable

from muli.models.contact import queue_changed
from muli.models.people import Patient, Team
from muli.platform.context import Ctx
from muli.platform.errors import ValidationFailed
from muli.trust import access, audit

_NORWEGIAN = re.compile(r"^\+47\d{8}$")

# Always shown, never removable: AMK (medical emergency) and legevakt (emergency GP service).
NATIONAL_EMERGENCY_NUMBERS = (
    {"number": "113", "label": "Medisinsk nødhjelp (AMK)", "kind": "emergency"},
    {"number": "116 117", "label": "Legevakt", "kind": "emergency_gp"},
)


def emergency_numbers(team: Team | None) -> list[dict]:
    """113, 116 117 and the team's own numbers, in that order."""
    numbers = [dict(n) for n in NATIONAL_EMERGENCY_NUMBERS]
    if team is not None:
        if team.phone:
            numbers.append({"number": team.phone, "label": f"{team.name} (dagtid)", "kind": "team"})
        if team.on_call_phone:
            numbers.append(
                {"number": team.on_call_phone, "label": f"{team.name} (vakt)", "kind": "team_on_call"}
            )
    return numbers


def normalise_phone(raw: str | None, field: str = "phone") -> str | None:
    """A Norwegian number as `+47` and 8 digits; `+47`, `0047` or nothing in front, spaces,
    dashes, dots and brackets ignored. Empty means no number. Anything else is a 422 naming
    `field`. Kept simple on purpose: no check of the number series."""
    if raw is None or not raw.strip():
        return None
    phone = re.sub(r"[\s\-().]", "", raw)
    if phone.startswith("0047"):
        phone = "+" + phone[2:]
    if re.fullmatch(r"\d{8}", phone):
        phone = "+47" + phone
    if not _NORWEGIAN.match(phone):
        raise ValidationFailed(field, "Not a Norwegian phone number: use +47 and 8 digits.")
    return phone


def phone_of(ctx: Ctx, patient: Patient) -> str | None:
    """The patient's own number (decrypted); the caller audits the read with what it belongs to."""
    return ctx.keys.open(patient, "phone")


def set_phone(ctx: Ctx, raw: str | None) -> None:
    """The patient changes (or, with an empty value, removes) their own number. Audited."""
    patient = access.own_patient(ctx)
    phone = normalise_phone(raw)
    ctx.keys.seal(patient, "phone", phone)
    ctx.session.flush()
    queue_changed(ctx.session, patient.team_id)  # the queue shows the patient's number
    audit.record(
        ctx.session,
        ctx.actor,
        "profile.phone.change" if phone else "profile.phone.remove",
        patient_id=patient.id,
        resource="patient",
        resource_id=patient.id,
    )


def trusted_contact(patient) -> dict | None:
    """The named person on the team who knows the patient's story."""
    person = patient.trusted_contact
    if person is None:
        return None
    return {"name": person.display_name, "agency": person.agency.name, "phone": person.phone}


def profile(ctx: Ctx, availability: Callable[[Ctx, Team], dict]) -> dict:
    """GET /me: the patient, their team, trusted contact and emergency numbers.

    ``availability`` answers who is on call for the team (the contact room's
    ``on_call.availability_view``), passed in so the patient room needs no contact import.
    """
    patient = access.own_patient(ctx)
    audit.record(
        ctx.session,
        ctx.actor,
        "profile.read",
        patient_id=patient.id,
        resource="patient",
        resource_id=patient.id,
    )
    return {
        "id": patient.id,
        "display_name": ctx.keys.open(patient, "display_name"),
        "phone": phone_of(ctx, patient),
        "team": {"id": patient.team.id, "name": patient.team.name},
        "trusted_contact": trusted_contact(patient),
        "emergency_numbers": emergency_numbers(patient.team),
        "availability": availability(ctx, patient.team),
    }
