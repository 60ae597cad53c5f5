"""The patient's record as a FHIR R4 Bundle (the export, in the standard the health service reads).

Every resource is built and validated by the maintained model library (`fhir.resources`, its
R4B models: wire-compatible with R4 for every resource used here) and serialised by it; no
hand-made dict leaves this module unvalidated. The mapping, element by element, and where it
departs from the Norwegian base profiles (no-basis), is in `docs/fhir/`.

The patient's own export (`my_bundle`) holds what `GET /me/export` holds that FHIR has a
resource for; staff (`staff_bundle`) get the parts the patient consented to for their
agency, as in the overview, and never the access log. Both are audited once per export.
This is the one domain module besides the admissions import (`fhir_admissions`) that knows
the library.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.communicationrequest import CommunicationRequest
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.resource import Resource
from sqlalchemy import select

from muli.models.audit import AuditEvent
from muli.models.contact import ContactMessage, ContactRequest
from muli.models.people import Agency, Patient, Staff
from muli.patient import consent as consent_service
from muli.patient import plans, record
from muli.patient.consent import record_access
from muli.patient.fhir_codes import (
    AUDIT_SOURCE_TYPE,
    AUDIT_TYPE,
    CONSENT_SCOPE_SYSTEM,
    DNR_SYSTEM,
    FNR_SYSTEM,
    LOINC,
    MULI,
    NO_BASIS,
    SYS_ADMISSION,
    SYS_ADMISSION_BASIS,
    SYS_AGENCY,
    SYS_AGENCY_KIND,
    SYS_AUDIT_ACTION,
    SYS_CONSENT_SCOPE,
    SYS_CONTACT_KIND,
    SYS_PATIENT,
    SYS_PLAN,
    SYS_PLAN_SECTION,
    SYS_STAFF,
    SYS_STAFF_ROLE,
    V3_ACT_CODE,
    V3_ACT_REASON,
    V3_PARTICIPATION,
    V3_PARTICIPATION_MODE,
)
from muli.patient.fhir_codes import (
    HPR_SYSTEM as HPR_SYSTEM,
)
from muli.patient.fhir_codes import (
    MEDIA_TYPE as MEDIA_TYPE,
)
from muli.patient.fhir_codes import (
    ORGNR_SYSTEM as ORGNR_SYSTEM,
)
from muli.platform.context import Ctx
from muli.trust import access, audit, audit_words

# Where a MULI id is turned into a stable FHIR id for something that has none of its own.
_NS = uuid.UUID("9b0f2a56-4a83-4d51-9d8e-1f7c3a0e6b21")

PLAN_STATUS = {"current": "active", "proposed": "draft", "declined": "revoked", "superseded": "revoked"}
REQUEST_STATUS = {"open": "active", "acknowledged": "active", "closed": "completed", "cancelled": "revoked"}
AUDIT_ACTION_CODE = {"read": "R", "change": "U", "contact": "E", "consent": "E", "audit": "R"}


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def _ref(rid: str, display: str | None = None) -> dict:
    out = {"reference": f"urn:uuid:{rid}"}
    if display:
        out["display"] = display
    return out


def _instant(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


def national_id_system(nid: str) -> str:
    """A D-number's first digit is 4-7 (day + 40); every other number is a fødselsnummer."""
    return DNR_SYSTEM if nid[:1] in "4567" else FNR_SYSTEM


class _Builder:
    """Collects the resources of one bundle, each validated by its model as it is added."""

    def __init__(self, ctx: Ctx, patient: Patient):
        self.ctx = ctx
        self.patient = patient
        self.patient_ref = _ref(str(patient.id), ctx.keys.open(patient, "display_name"))
        self.entries: list[tuple[str, Resource]] = []
        self.seen: set[str] = set()

    def add(self, model: type[Resource], data: dict) -> str:
        rid = data["id"]
        if rid not in self.seen:
            self.seen.add(rid)
            self.entries.append((rid, model.model_validate(data)))
        return rid

    # --- who -------------------------------------------------------------------------------

    def organization(self, agency: Agency) -> dict:
        rid = self.add(
            Organization,
            {
                "resourceType": "Organization",
                "id": str(agency.id),
                "meta": {"profile": [NO_BASIS + "no-basis-Organization"]},
                "identifier": [{"system": SYS_AGENCY, "value": str(agency.id)}],
                "active": True,
                "type": [_concept(SYS_AGENCY_KIND, agency.kind)],
                "name": agency.name,
            },
        )
        return _ref(rid, agency.name)

    def practitioner_role(self, staff: Staff) -> dict:
        org = self.organization(staff.agency)
        rid = self.add(
            PractitionerRole,
            {
                "resourceType": "PractitionerRole",
                "id": str(staff.id),
                "meta": {"profile": [NO_BASIS + "no-basis-PractitionerRole"]},
                "identifier": [{"system": SYS_STAFF, "value": str(staff.id)}],
                "active": staff.account.disabled_at is None if staff.account else True,
                "practitioner": {"display": staff.display_name},
                "organization": org,
                "code": [_concept(SYS_STAFF_ROLE, staff.role)],
            },
        )
        return _ref(rid, f"{staff.display_name} ({staff.agency.name})")

    # --- the patient -----------------------------------------------------------------------

    def patient_resource(self) -> None:
        p = self.patient
        nid = self.ctx.keys.open(p, "national_id") or ""
        data: dict = {
            "resourceType": "Patient",
            "id": str(p.id),
            "meta": {"profile": [NO_BASIS + "no-basis-Patient"]},
            "identifier": [
                {"use": "official", "system": national_id_system(nid), "value": nid},
                {"use": "secondary", "system": SYS_PATIENT, "value": str(p.id)},
            ],
            "active": p.status == "active",
            "name": [{"text": self.ctx.keys.open(p, "display_name")}],
        }
        phone = self.ctx.keys.open(p, "phone")
        if phone:
            data["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
        if p.trusted_contact is not None:
            data["generalPractitioner"] = [self.practitioner_role(p.trusted_contact)]
        self.add(FhirPatient, data)

    def consents(self) -> None:
        state = consent_service.state_of(self.ctx, self.patient)
        for c in state["consents"]:
            agency = self.ctx.session.get(Agency, c["agency_id"])
            if agency is None:
                continue
            org = self.organization(agency)
            granted = c["state"] == "granted"
            data: dict = {
                "resourceType": "Consent",
                "id": _id(self.patient.id, "consent", agency.id, c["scope"]),
                # A scope the team's programme no longer names gives no access (the access
                # policy ignores it): the directive is kept, but not in force.
                "status": "active" if c["in_use"] else "inactive",
                "scope": _concept(CONSENT_SCOPE_SYSTEM, "patient-privacy", "Privacy Consent"),
                "category": [_concept(LOINC, "59284-0", "Patient Consent")],
                "patient": self.patient_ref,
                "policyRule": _concept(V3_ACT_CODE, "OPTIN" if granted else "OPTOUT"),
                "provision": {
                    "type": "permit" if granted else "deny",
                    "actor": [
                        {
                            "role": _concept(V3_PARTICIPATION, "IRCP", "information recipient"),
                            "reference": org,
                        }
                    ],
                    "code": [_concept(SYS_CONSENT_SCOPE, c["scope"])],
                },
            }
            if c["changed_at"] is not None:
                data["dateTime"] = _instant(c["changed_at"])
            self.add(FhirConsent, data)

    def care_plans(self, kind: str) -> None:
        title = {"crisis": "Kriseplan", "mastery": "Mestringsplan"}[kind]
        for v in plans.all_versions(self.ctx, self.patient.id, kind):
            n = v["version"]
            data: dict = {
                "resourceType": "CarePlan",
                "id": _id(self.patient.id, kind, n),
                "identifier": [{"system": SYS_PLAN, "value": f"{self.patient.id}/{kind}/{n}"}],
                "status": PLAN_STATUS.get(v["status"], "unknown"),
                "intent": "plan",
                "category": [_concept(SYS_PLAN_SECTION, kind, title)],
                "title": f"{title} v{n}",
                "subject": self.patient_ref,
                "created": _instant(v["written_at"]),
                "author": {"display": _author(v["written_by"])},
                "activity": _activities(v["document"]),
            }
            if v.get("based_on_version"):
                data["replaces"] = [_ref(_id(self.patient.id, kind, v["based_on_version"]))]
            reviewed = v.get("last_reviewed_with_team_on")
            if reviewed:
                data["note"] = [{"text": f"last_reviewed_with_team_on: {_day(reviewed)}"}]
            if not data["activity"]:
                del data["activity"]
            self.add(CarePlan, data)

    def encounters(self) -> None:
        for a in record.admission_rows(self.ctx, self.patient.id):
            self.add(Encounter, encounter_data(self.ctx, self.patient, a))

    def contact_requests(self) -> None:
        rows = self.ctx.session.scalars(
            select(ContactRequest)
            .where(ContactRequest.patient_id == self.patient.id)
            .order_by(ContactRequest.created_at, ContactRequest.id)
        )
        for r in rows:
            data: dict = {
                "resourceType": "CommunicationRequest",
                "id": str(r.id),
                "identifier": [{"system": MULI + "contact-request", "value": str(r.id)}],
                "status": REQUEST_STATUS[r.state],
                "category": [_concept(SYS_CONTACT_KIND, r.kind)],
                "priority": "stat" if r.urgency == "crisis" else "routine",
                "medium": [_concept(V3_PARTICIPATION_MODE, "PHONE" if r.kind == "call_me" else "WRITTEN")],
                "subject": self.patient_ref,
                "requester": self.patient_ref,
                "authoredOn": _instant(r.created_at),
            }
            responder = r.acknowledged_by or r.routed_staff
            if responder is not None:
                data["recipient"] = [self.practitioner_role(responder)]
            phone = self.ctx.keys.open(r, "callback_phone")
            if phone:
                data["payload"] = [{"contentString": f"callback_phone: {phone}"}]
            if r.outcome:
                data["statusReason"] = _concept(MULI + "contact-outcome", r.outcome)
            self.add(CommunicationRequest, data)
            messages = self.ctx.session.scalars(
                select(ContactMessage)
                .where(ContactMessage.request_id == r.id)
                .order_by(ContactMessage.created_at, ContactMessage.id)
            )
            for m in messages:
                sender = (
                    self.practitioner_role(m.author_staff)
                    if m.author_staff is not None
                    else self.patient_ref
                    if m.author_kind == "patient"
                    else {"display": "MULI"}
                )
                self.add(
                    Communication,
                    {
                        "resourceType": "Communication",
                        "id": str(m.id),
                        "basedOn": [_ref(str(r.id))],
                        "status": "completed",
                        "subject": self.patient_ref,
                        "sent": _instant(m.created_at),
                        "sender": sender,
                        "payload": [{"contentString": self.ctx.keys.open(m, "body") or ""}],
                    },
                )

    def audit_events(self) -> None:
        for ev in self.ctx.session.scalars(record.by_others(self.patient).order_by(AuditEvent.seq)):
            kind = audit_words.kind_of(ev.action) or "read"
            # A patient acting here is another patient (the patient's own events are not in
            # it): named by kind, never by name (an event from before 0045 may hold one).
            name = "Patient" if ev.actor_kind == "patient" else ev.actor_name
            who = {"display": " / ".join(x for x in (name, ev.actor_agency_name) if x) or "MULI"}
            data: dict = {
                "resourceType": "AuditEvent",
                "id": str(ev.id),
                "type": {"system": AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"},
                "subtype": [
                    {
                        "system": SYS_AUDIT_ACTION,
                        "code": ev.action,
                        "display": audit_words.describe(ev.action),
                    }
                ],
                "action": AUDIT_ACTION_CODE.get(kind, "E"),
                "recorded": _instant(ev.occurred_at),
                "outcome": "0" if ev.outcome == "ok" else "4",
                "agent": [
                    {
                        "who": who,
                        "requestor": True,
                        **({"role": [{"text": ev.actor_role}]} if ev.actor_role else {}),
                    }
                ],
                "source": {
                    "observer": {"display": "MULI"},
                    "type": [{"system": AUDIT_SOURCE_TYPE, "code": "4", "display": "Application Server"}],
                },
                "entity": [
                    {
                        "what": self.patient_ref,
                        "description": " ".join(x for x in (ev.resource, ev.resource_id) if x) or None,
                    }
                ],
            }
            if ev.emergency:
                data["purposeOfEvent"] = [_concept(V3_ACT_REASON, "ETREAT", "Emergency Treatment")]
            if data["entity"][0]["description"] is None:
                del data["entity"][0]["description"]
            self.add(FhirAuditEvent, data)

    def bundle(self) -> Bundle:
        now = self.ctx.now()
        return Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "id": str(uuid.uuid4()),
                "type": "collection",
                "timestamp": _instant(now),
                "entry": [
                    {
                        "fullUrl": f"urn:uuid:{rid}",
                        "resource": resource.model_dump(mode="json", exclude_none=True),
                    }
                    # The patient first: the bundle is about them.
                    for rid, resource in sorted(
                        self.entries, key=lambda e: e[1].get_resource_type() != "Patient"
                    )
                ],
            }
        )


def _author(written_by: dict) -> str:
    name = written_by.get("name") or written_by.get("kind") or ""
    return f"{name} ({written_by['agency']})" if written_by.get("agency") else name


def _item_text(item: object) -> str:
    if isinstance(item, dict):
        return "\n".join(f"{k}: {v}" for k, v in item.items() if v not in (None, "", [], {}) and k != "id")
    return str(item)


def _activities(document: dict) -> list[dict]:
    """Each section of a plan (whatever its sections are: they come from the plan data, so a
    programme's own sections come through), each item an activity coded with its section."""
    out = []
    for key, value in (document or {}).items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            text = _item_text(item).strip()
            if not text:
                continue
            out.append(
                {
                    "detail": {
                        "code": _concept(SYS_PLAN_SECTION, key),
                        "status": "unknown",
                        "description": text,
                    }
                }
            )
    return out


def encounter_data(ctx: Ctx, patient: Patient, admission) -> dict:
    """One admission as a FHIR Encounter (the import reads the same shape back)."""
    facility, involuntary = record.admission_details(ctx.keys, admission)
    nid = ctx.keys.open(patient, "national_id") or ""
    period = {"start": _day(admission.admitted_on)}
    if admission.discharged_on is not None:
        period["end"] = _day(admission.discharged_on)
    basis = "involuntary" if involuntary else "voluntary"
    return {
        "resourceType": "Encounter",
        "id": str(admission.id),
        "identifier": [{"system": SYS_ADMISSION, "value": str(admission.id)}],
        "status": "finished" if admission.discharged_on is not None else "in-progress",
        "class": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "type": [_concept(SYS_ADMISSION_BASIS, basis)],
        "subject": {
            "reference": f"urn:uuid:{patient.id}",
            "identifier": {"system": national_id_system(nid), "value": nid},
            "display": ctx.keys.open(patient, "display_name"),
        },
        "period": period,
        "location": [{"location": {"display": facility or ""}}],
    }


def _to_json(bundle: Bundle) -> str:
    return bundle.model_dump_json(exclude_none=True)


def my_bundle(ctx: Ctx) -> str:
    """Everything about me that FHIR has a resource for, as one Bundle (audited once)."""
    patient = access.own_patient(ctx)
    b = _Builder(ctx, patient)
    b.patient_resource()
    b.consents()
    b.care_plans("crisis")
    b.care_plans("mastery")
    b.encounters()
    b.contact_requests()
    b.audit_events()
    bundle = b.bundle()
    audit.record(ctx.session, ctx.actor, "patient.export_fhir", patient_id=patient.id, resource="patient")
    return _to_json(bundle)


def staff_bundle(ctx: Ctx, patient_id: uuid.UUID) -> str:
    """A patient's record for staff: what the patient consented to for my agency (or what my
    open break-the-glass window opened), never the access log. Audited once, emergency marked."""
    grant = access.staff_patient(ctx, patient_id, None)
    patient = grant.patient
    consented = access.consented_scopes(ctx, patient.id, ctx.actor.agency_id)
    window = access.active_emergency_access(ctx, patient.id)
    visible = consented | (access.emergency_scopes(ctx, patient.id) if window is not None else set())
    emergency = window is not None and bool(visible - consented)
    b = _Builder(ctx, patient)
    b.patient_resource()
    b.consents()
    if "crisis_plan" in visible:
        b.care_plans("crisis")
    if "mastery_plan" in visible:
        b.care_plans("mastery")
    b.encounters()
    if "contact_requests" in visible:
        b.contact_requests()
    bundle = b.bundle()
    record_access(ctx, access.Grant(patient, emergency), "patient.export_fhir", "patient", patient.id)
    return _to_json(bundle)
