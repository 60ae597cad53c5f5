"""FHIR code systems and identifier systems MULI uses, apart from the model library: the
admissions import and the routes name them without loading the FHIR models (~25 MB per
process), which are imported only when a Bundle is built or read (`fhir`, `fhir_admissions`)."""

from __future__ import annotations

MEDIA_TYPE = "application/fhir+json"

# Norwegian identifier systems (no-basis; Direktoratet for e-helse's OIDs).
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"  # fødselsnummer (also synthetic test numbers)
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"  # D-nummer
HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"  # Helsepersonellregisteret (not held by MULI)
ORGNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"  # Enhetsregisteret (not held by MULI)
NO_BASIS = "http://hl7.no/fhir/StructureDefinition/"

# MULI's own systems, for what no national code system covers.
MULI = "urn:muli:fhir:"
SYS_PATIENT = MULI + "patient"
SYS_AGENCY = MULI + "agency"
SYS_STAFF = MULI + "staff"
SYS_ADMISSION = MULI + "admission"
SYS_PLAN = MULI + "plan-version"
SYS_PLAN_SECTION = MULI + "plan-section"
SYS_CONSENT_SCOPE = MULI + "consent-scope"
SYS_AGENCY_KIND = MULI + "agency-kind"
SYS_STAFF_ROLE = MULI + "staff-role"
SYS_ADMISSION_BASIS = MULI + "admission-legal-status"  # voluntary / involuntary
SYS_CONTACT_KIND = MULI + "contact-kind"
SYS_AUDIT_ACTION = MULI + "audit-action"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
AUDIT_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
