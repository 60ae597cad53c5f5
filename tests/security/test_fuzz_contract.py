"""Contract fuzzing: schemathesis sends generated requests to every operation of the served
OpenAPI document, through the WSGI app, as the account each part of the API is for.

Checks: no 5xx, and every answer with a documented status matches its documented schema.
Patient routes (/me, /auth) run as a patient, staff routes as a coordinator (the widest
clinical role), the audit routes as the privacy officer. Path ids of teams, patients,
requests and diary entries are swapped for real ones, so generated bodies reach the
services instead of stopping at 404. Tokens are fresh for every case: a generated
/auth/logout must not end the rest of the run.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import bearer

pytestmark = [pytest.mark.security, pytest.mark.slow]

EXAMPLES = int(os.environ.get("MULI_FUZZ_EXAMPLES", "100"))


class FuzzPeople:
    """A care team with a patient who has a little of everything, and a privacy officer."""

    def __init__(self, app, client, world):
        self.world = world
        care = world.care_team()
        self.care = care
        self.officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
        h = care.patient.headers
        entry = client.post("/api/v1/me/diary", headers=h, json={"text": "i dag", "shared_with_team": True})
        request = client.post(
            "/api/v1/me/contact-requests",
            headers={**h, "Idempotency-Key": str(uuid.uuid4())},
            json={"kind": "call_me", "urgency": "talk", "message": "ring meg"},
        )
        meeting = client.post(
            f"/api/v1/staff/teams/{care.team.id}/meetings",
            headers=care.coordinator.headers,
            json={"held_on": "2031-05-05"},
        )
        assert entry.status_code == request.status_code == meeting.status_code == 201
        self.ids = {
            "team_id": str(care.team.id),
            "patient_id": str(care.patient.id),
            "entry_id": entry.get_json()["id"],
            "request_id": request.get_json()["id"],
            "meeting_id": meeting.get_json()["id"],
        }

    def headers_for(self, path: str) -> dict:
        if path.startswith("/api/v1/staff/audit"):
            login = self.officer
        elif path.startswith("/api/v1/staff"):
            login = self.care.coordinator
        else:
            login = self.care.patient
        # Uncompressed: the WSGI transport hands schemathesis the raw body, and compression is
        # a transport matter (tested in tests/api/test_compression.py), not the contract.
        return {**bearer(self.world.token_for(login.account)), "Accept-Encoding": "identity"}


@pytest.fixture
def people(app, client, world):
    return FuzzPeople(app, client, world)


PARTS = {
    "patient": lambda path: path.startswith(("/api/v1/me", "/api/v1/auth")),
    "staff": lambda path: path.startswith("/api/v1/staff") and not path.startswith("/api/v1/staff/audit"),
    "privacy officer": lambda path: path.startswith("/api/v1/staff/audit"),
}
CHECKS = [not_a_server_error, response_schema_conformance]
# Cases tried per operation, for docs/QUALITY.md (written to $MULI_FUZZ_REPORT when set).
TRIED: dict[str, int] = {}


def fuzz(operation, people) -> str | None:
    """Up to EXAMPLES generated cases against one operation; the first failure, if any."""
    label = f"{operation.method.upper()} {operation.path}"
    TRIED[label] = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        TRIED[label] += 1
        for name in case.path_parameters or {}:
            if name in people.ids:
                case.path_parameters[name] = people.ids[name]
        case.call_and_validate(headers=people.headers_for(case.path), checks=CHECKS)

    try:
        run()
    except Exception as error:  # the check's own report says what broke and how to replay it
        return f"{label}: {str(error)[:1500]}"
    return None


@pytest.mark.parametrize("part", sorted(PARTS))
def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_contract(app, client, world, part):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    people = FuzzPeople(app, client, world)
    operations = [r.ok() for r in schema.get_all_operations() if PARTS[part](r.ok().path)]
    assert operations, f"no {part} operations in the OpenAPI document"
    failures = [f for f in (fuzz(op, people) for op in operations) if f]
    if report := os.environ.get("MULI_FUZZ_REPORT"):
        with open(report, "a", encoding="utf-8") as out:
            for op in operations:
                label = f"{op.method.upper()} {op.path}"
                out.write(f"{part}\t{label}\t{TRIED[label]}\n")
    assert not failures, "\n\n".join(failures)
