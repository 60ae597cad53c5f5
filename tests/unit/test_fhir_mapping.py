"""The FHIR mapping's pieces that need no database: identifier systems, plan sections."""

from __future__ import annotations

from fhir.resources.R4B.careplan import CarePlan

from muli.patient import fhir


def test_a_d_number_gets_the_d_number_system_and_everything_else_the_fodselsnummer_one():
    assert fhir.national_id_system("41018012345") == fhir.DNR_SYSTEM
    assert fhir.national_id_system("71018012345") == fhir.DNR_SYSTEM
    assert fhir.national_id_system("01018012345") == fhir.FNR_SYSTEM
    assert fhir.national_id_system("31818012345") == fhir.FNR_SYSTEM  # synthetic (month + 80)


def test_any_section_of_a_plan_becomes_activities_coded_with_its_key():
    # A programme's own section (issue 18, item 1) comes through like the built-in ones.
    document = {
        "what_helps": "musikk",
        "warning_signs": [{"sign": "søvnløs", "action": "ring Ola"}],
        "programme_section": ["første", "andre"],
        "empty": [],
        "blank": "",
    }
    activities = fhir._activities(document)
    coded = [(a["detail"]["code"]["coding"][0]["code"], a["detail"]["description"]) for a in activities]
    assert coded == [
        ("what_helps", "musikk"),
        ("warning_signs", "sign: søvnløs\naction: ring Ola"),
        ("programme_section", "første"),
        ("programme_section", "andre"),
    ]
    CarePlan.model_validate(
        {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "subject": {"reference": "urn:uuid:x"},
            "activity": activities,
        }
    )
