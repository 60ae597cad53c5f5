"""Admissions from the hospital's record system: a FHIR R4 Bundle of Encounter resources.

A record system (an integration client with the scope `admissions:write`, `muli.trust.
integration`) posts a Bundle (`transaction`, `batch` or `collection`) of Encounters. Each is
validated by the FHIR model library (R4B models), then by MULI's rules: an inpatient class
(v3 ActCode IMP or ACUTE), a status the stay can have (in-progress, onleave, finished), a
period that starts (and, when finished, ends) on a day, not in the future, the facility
(`location[0].location.display`), voluntary or involuntary (`type`, MULI's code), an
identifier, and a patient enrolled on the client's team, found by national id through the
blind index (`subject.identifier`, or `subject.reference` to a Patient entry of the bundle
that carries it). Anything wrong refuses the whole bundle: 422 naming each entry's field.

Idempotent by `Encounter.identifier` (its system and value, kept only as a keyed hash): the
same identifier again updates the admission it made, or changes nothing, never a second
admission. The admission is stored exactly as staff record one (facility and involuntary
sealed), so the outcomes read it like any other; each created or changed one is audited.
The mapping: docs/fhir/encounter.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pydantic
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from muli.models.people import Admission, Patient, Team
from muli.patient import record
from muli.patient.fhir_codes import (
    DNR_SYSTEM,
    FNR_SYSTEM,
    SYS_ADMISSION_BASIS,
    V3_ACT_CODE,
)
from muli.platform.context import Ctx
from muli.platform.errors import Conflict, Forbidden, ValidationFailed
from muli.trust import audit, integration, national_id

if TYPE_CHECKING:
    from fhir.resources.R4B.encounter import Encounter

SCOPE = "admissions:write"
BUNDLE_TYPES = ("transaction", "batch", "collection")
INPATIENT_CLASSES = ("IMP", "ACUTE")
STATUSES = ("in-progress", "onleave", "finished")
NATIONAL_ID_SYSTEMS = (FNR_SYSTEM, DNR_SYSTEM)
MAX_ENTRIES = 500
MAX_FACILITY_CHARS = 200
_SOURCE = "fhir-encounter"


@dataclass
class _Stay:
    entry: int
    source_key: str
    patient: Patient
    admitted_on: date
    discharged_on: date | None
    facility: str
    involuntary: bool


class _Refused(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _models():
    """The FHIR model library, loaded on the first bundle (not in every web process)."""
    from fhir.resources.R4B import bundle, encounter

    return SimpleNamespace(Bundle=bundle.Bundle, Encounter=encounter.Encounter)


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    error = ValidationFailed(next(iter(errors)), "The bundle was refused; nothing was stored.")
    error.errors = errors
    error.detail = "The bundle was refused; nothing was stored. Each wrong field is named in errors."
    return error


def _model_errors(error: pydantic.ValidationError, prefix: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in error.errors():
        field = prefix + ".".join(str(part) for part in item["loc"]) or "_"
        found.setdefault(field, []).append(str(item["msg"]))
    return found


def _day(value: object, zone: ZoneInfo) -> date | None:
    """A FHIR date or dateTime as the day it fell on in the team's time zone."""
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else None
    if isinstance(value, date):
        return value
    return None  # a year or a month alone: not a day


def _national_id(encounter: Encounter, patients: dict[str, Any]) -> str:
    subject = encounter.subject
    if subject is None:
        raise _Refused("subject", "Name the patient by national id (subject.identifier).")
    identifiers = []
    if subject.identifier is not None:
        identifiers.append(subject.identifier)
    if subject.reference:
        named = patients.get(subject.reference)
        if named is None:
            raise _Refused("subject.reference", "No Patient entry in the bundle has this fullUrl.")
        identifiers += named.identifier or []
    for identifier in identifiers:
        if identifier.system in NATIONAL_ID_SYSTEMS and identifier.value:
            nid = identifier.value.strip()
            if not national_id.is_valid(nid):
                raise _Refused("subject.identifier.value", "Not a valid national identity number.")
            return nid
    raise _Refused("subject.identifier", f"A national id is needed (system {FNR_SYSTEM} or {DNR_SYSTEM}).")


def _stay(ctx: Ctx, i: int, encounter: Encounter, patients: dict[str, Any], zone: ZoneInfo) -> _Stay:
    ids = [x for x in encounter.identifier or [] if x.system and x.value]
    if not ids:
        raise _Refused("identifier", "An identifier (system and value) is needed: it makes a resend safe.")
    source_key = ctx.keys.keyed_hash(_SOURCE, f"{ids[0].system}|{ids[0].value}")
    klass = encounter.class_fhir
    if klass is None or klass.system != V3_ACT_CODE or klass.code not in INPATIENT_CLASSES:
        raise _Refused("class", f"An inpatient stay: {V3_ACT_CODE} code IMP or ACUTE.")
    if encounter.status not in STATUSES:
        raise _Refused("status", f"One of: {', '.join(STATUSES)}.")
    period = encounter.period
    admitted = _day(period.start, zone) if period is not None else None
    if admitted is None:
        raise _Refused("period.start", "The day the stay began is needed.")
    discharged = _day(period.end, zone) if period is not None and period.end is not None else None
    if period is not None and period.end is not None and discharged is None:
        raise _Refused("period.end", "A day, or a time with its time zone.")
    if encounter.status == "finished" and discharged is None:
        raise _Refused("period.end", "A finished stay needs the day it ended.")
    today = ctx.now().astimezone(zone).date()
    if admitted > today:
        raise _Refused("period.start", "An admission cannot be in the future.")
    if discharged is not None and discharged < admitted:
        raise _Refused("period.end", "Discharge cannot come before admission.")
    locations = encounter.location or []
    facility = (locations[0].location.display or "").strip() if locations else ""
    if not facility:
        raise _Refused("location.0.location.display", "Name the facility.")
    if len(facility) > MAX_FACILITY_CHARS:
        raise _Refused("location.0.location.display", f"At most {MAX_FACILITY_CHARS} characters.")
    bases = {
        coding.code
        for concept in encounter.type or []
        for coding in concept.coding or []
        if coding.system == SYS_ADMISSION_BASIS
    }
    if len(bases) != 1 or not bases <= {"voluntary", "involuntary"}:
        raise _Refused("type", f"Say voluntary or involuntary: one coding of {SYS_ADMISSION_BASIS}.")
    nid = _national_id(encounter, patients)
    patient = ctx.session.scalars(
        select(Patient).where(
            Patient.national_id_index == ctx.keys.blind_index(nid),
            Patient.team_id.in_(ctx.actor.team_ids),
        )
    ).first()
    if patient is None:
        # The same answer whether the person is a patient elsewhere or nowhere.
        raise _Refused("subject", "No patient with this national id is enrolled on the team.")
    return _Stay(i, source_key, patient, admitted, discharged, facility, bases == {"involuntary"})


def _read(ctx: Ctx, body: dict) -> tuple[str, list[_Stay]]:
    try:
        bundle = _models().Bundle.model_validate(body)
    except pydantic.ValidationError as error:
        raise _invalid(_model_errors(error))
    except (ValueError, TypeError, KeyError, LookupError) as error:  # an unknown resourceType
        raise _invalid({"entry": [f"Not a valid FHIR resource: {type(error).__name__}."]})
    if bundle.type not in BUNDLE_TYPES:
        raise ValidationFailed("type", "One of: %(values)s.", {"values": ", ".join(BUNDLE_TYPES)})
    entries = bundle.entry or []
    if not entries:
        raise ValidationFailed("entry", "The bundle holds no Encounter.")
    if len(entries) > MAX_ENTRIES:
        raise ValidationFailed("entry", "At most %(n)d entries in one bundle.", {"n": MAX_ENTRIES})
    patients = {
        e.fullUrl: e.resource
        for e in entries
        if e.fullUrl and e.resource is not None and e.resource.get_resource_type() == "Patient"
    }
    team = ctx.session.get(Team, next(iter(ctx.actor.team_ids)))
    zone = ZoneInfo(team.time_zone if team is not None else "Europe/Oslo")
    errors: dict[str, list[str]] = {}
    stays: list[_Stay] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        resource = entry.resource
        kind = resource.get_resource_type() if resource is not None else None
        if kind == "Patient":
            continue
        if not isinstance(resource, _models().Encounter):
            errors[f"entry.{i}.resource"] = ["Only Encounter resources (and the Patients they name)."]
            continue
        try:
            stay = _stay(ctx, i, resource, patients, zone)
        except _Refused as refused:
            errors[f"entry.{i}.resource.{refused.field}"] = [refused.message]
            continue
        if stay.source_key in seen:
            errors[f"entry.{i}.resource.identifier"] = [
                f"The same identifier as entry {seen[stay.source_key]}."
            ]
            continue
        seen[stay.source_key] = i
        stays.append(stay)
    if not stays and not errors:
        raise ValidationFailed("entry", "The bundle holds no Encounter.")
    if errors:
        raise _invalid(errors)
    return bundle.type, stays


def _store(ctx: Ctx, stay: _Stay) -> tuple[Admission, str]:
    admission = ctx.session.scalars(
        select(Admission)
        .where(Admission.patient_id == stay.patient.id, Admission.source_key == stay.source_key)
        .with_for_update()
    ).first()
    if admission is not None:
        before = (
            admission.admitted_on,
            admission.discharged_on,
            *record.admission_details(ctx.keys, admission),
        )
        after = (stay.admitted_on, stay.discharged_on, stay.facility, stay.involuntary)
        if before == after:
            return admission, "unchanged"
        admission.admitted_on, admission.discharged_on = stay.admitted_on, stay.discharged_on
        record.seal_admission(ctx.keys, admission, stay.facility, stay.involuntary)
        outcome = "updated"
    else:
        admission = Admission(
            patient_id=stay.patient.id,
            admitted_on=stay.admitted_on,
            discharged_on=stay.discharged_on,
            recorded_by_id=None,
            source_key=stay.source_key,
            created_at=ctx.now(),
        )
        record.seal_admission(ctx.keys, admission, stay.facility, stay.involuntary)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(admission)
        except IntegrityError:
            # The same Encounter arrived in a request running at this moment (PostgreSQL:
            # both found none); that one made the admission, this one may resend.
            raise Conflict("The same encounter is being stored by another request; send it again.")
        outcome = "created"
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "admission.import",
        patient_id=stay.patient.id,
        resource="admission",
        resource_id=admission.id,
    )
    return admission, outcome


def import_encounters(ctx: Ctx, body: dict) -> str:
    """Store the bundle's admissions (all or none); answers a FHIR response Bundle whose
    entries say, in order, what became of each Encounter."""
    if ctx.actor.kind != integration.ACTOR_KIND or len(ctx.actor.team_ids) != 1:
        raise Forbidden("Only an integration client sends admissions.")
    kind, stays = _read(ctx, body)
    statuses = {"created": "201 Created", "updated": "200 OK", "unchanged": "200 OK"}
    answer_entries = []
    for stay in stays:
        admission, outcome = _store(ctx, stay)
        answer_entries.append(
            {
                "response": {
                    "status": statuses[outcome],
                    "location": f"Encounter/{admission.id}",
                    "outcome": {
                        "resourceType": "OperationOutcome",
                        "issue": [
                            {"severity": "information", "code": "informational", "diagnostics": outcome}
                        ],
                    },
                }
            }
        )
    response = _models().Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "transaction-response" if kind == "transaction" else "batch-response",
            "entry": answer_entries,
        }
    )
    return response.model_dump_json(exclude_none=True)
