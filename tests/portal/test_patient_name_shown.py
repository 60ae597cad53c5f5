"""The portal shows who wrote a plan version and who acted in the audit log by the patient's
name, opened from the patient's row: neither the version nor the event holds it any more
(tests/security/test_patient_name_at_rest.py)."""

from __future__ import annotations

from tests.security.test_patient_name_at_rest import _patient_acts_and_writes_plans
from tests.security.test_patient_name_at_rest import care as care
from tests.security.test_patient_name_at_rest import name as name


def test_the_plan_versions_name_the_patient_who_wrote_them(client, care, name, portal_as):
    _patient_acts_and_writes_plans(client, care)
    page = portal_as(care.member).text(f"/portal/patients/{care.patient.id}")
    # The versions the patient wrote (the third is staff's).
    assert page.count(f'<td data-label="Av">{name}</td>') == 2
    assert f'<td data-label="Av">{care.member.staff.display_name} ({care.agency.name})</td>' in page


def test_the_audit_log_names_the_patient_who_acted(world, client, care, name, portal_as):
    _patient_acts_and_writes_plans(client, care)
    officer = world.staff(role="privacy_officer", agency=care.agency)
    log = portal_as(officer).text(f"/portal/audit/?patient_id={care.patient.id}")
    assert f'data-label="Hvem">{name}' in log
