"""Contract fuzzing: schemathesis sends generated requests to every operation of the served
OpenAPI document, through the WSGI app, as the account each part of the API is for.

Every check schemathesis has (RUN_CHECKS) except the four in LEFT_OUT, which say why: no
5xx; every status, content type, header and body as documented (no `default` to hide
behind: `api.contract`); schema-valid input accepted, invalid input refused, a missing
required header refused, an undocumented method answered 405 with the right `Allow`, and an
operation that needs a token refusing a request without one (`ignored_auth` sends it again
without). Each operation gets schemathesis's coverage cases (boundaries, missing
parameters, undocumented methods; positive and negative, at most COVERAGE_MAX) and then
EXAMPLES generated positive and EXAMPLES // 2 negative cases.
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
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from tests.factories import bearer
from tests.fhir_support import client_token, integration_client

pytestmark = [pytest.mark.security, pytest.mark.slow]

EXAMPLES = int(os.environ.get("MULI_FUZZ_EXAMPLES", "100"))
COVERAGE_MAX = int(os.environ.get("MULI_FUZZ_COVERAGE_MAX", "150"))
# While working on a few operations: MULI_FUZZ_ONLY=programme,indicator-events fuzzes only the
# paths holding one of these (a part left with none is skipped, saying so). Unset: every path.
ONLY = [s for s in os.environ.get("MULI_FUZZ_ONLY", "").split(",") if s]


class FuzzPeople:
    """A care team with a patient who has a little of everything, and a privacy officer."""

    def __init__(self, app, client, world):
        self.world = world
        care = world.care_team()
        self.care = care
        self.officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
        self.admin = world.staff(role="admin", agency=care.agency)
        # The account the administrator's operations act on (disable, reset...), no one else's.
        self.target = world.staff(care.team, role="member", agency=care.agency)
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
        # A record system's client on the team (its token is minted per case: they live minutes).
        self.client = client
        self.integration = integration_client(app.test_cli_runner(), care.team)
        self.ids = {
            "team_id": str(care.team.id),
            "patient_id": str(care.patient.id),
            "entry_id": entry.get_json()["id"],
            "request_id": request.get_json()["id"],
            "meeting_id": meeting.get_json()["id"],
            "account_id": str(self.target.account.id),
        }

    def headers_for(self, part: str) -> dict:
        if part == "integration":
            return {**client_token(self.client, *self.integration), "Accept-Encoding": "identity"}
        login = {
            "patient": self.care.patient,
            "staff": self.care.coordinator,
            "privacy officer": self.officer,
            "admin": self.admin,
        }[part]
        # Uncompressed: the WSGI transport hands schemathesis the raw body, and compression is
        # a transport matter (tested in tests/api/test_compression.py), not the contract.
        return {**bearer(self.world.token_for(login.account)), "Accept-Encoding": "identity"}


@pytest.fixture
def people(app, client, world):
    return FuzzPeople(app, client, world)


# Each part runs as the account it is for; /account (my password, my sessions) as both.
PARTS = {
    "patient": lambda path: path.startswith(("/api/v1/me", "/api/v1/auth", "/api/v1/account")),
    "staff": lambda path: (
        path.startswith(("/api/v1/staff", "/api/v1/account")) and not path.startswith("/api/v1/staff/audit")
    ),
    "privacy officer": lambda path: path.startswith("/api/v1/staff/audit"),
    "admin": lambda path: path.startswith("/api/v1/admin"),
    "integration": lambda path: path.startswith("/api/v1/integration"),
}
# The checks left out, and why.
LEFT_OUT = {
    # Stateful: they follow a created resource through OpenAPI links in schemathesis's state
    # machine (create, delete, read again). The document declares no links and each case here
    # is one request; deleting and re-reading is tested in tests/api (diary, push).
    "use_after_free": "stateful (links)",
    "ensure_resource_availability": "stateful (links)",
    # Needs a second identity per operation and knows nothing of teams, consent or emergency
    # access: tests/security/test_authorization_matrix.py walks every route as every role.
    "object_level_authorization": "tests/security/test_authorization_matrix.py",
    # A time budget on a shared 2-core test machine measures the machine, not the contract
    # (benchmarks/ measures latency).
    "max_response_time": "timing, not contract",
}
load_all_checks()
RUN_CHECKS = [c for c in CHECKS.get_all() if getattr(c, "__name__", "") not in LEFT_OUT]
CONFIG = {
    "generation": {
        # Unknown query parameters are ignored, as HTTP clients and caches expect (a cache
        # buster must not break a request); negative cases are about the documented ones.
        "allow-extra-parameters": False,
        # The token is this test's to send (headers_for); `ignored_auth` sends each case again
        # without it and with a wrong one.
        "with-security-parameters": False,
    },
    "checks": {
        # RFC 6585: a missing If-Match is 428 Precondition Required.
        "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
        # Schema-valid input the service may still refuse, each for a reason no schema can
        # carry: 412 an ETag that is well-formed but not the current version; 400 a cursor
        # the service did not issue (`invalid-cursor`); 422 a domain rule across fields or
        # over the stored state (a discharge before the admission, a shift that overlaps).
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 422, 429, "5xx"]
        },
    },
}
# Cases tried per operation, for docs/QUALITY.md (written to $MULI_FUZZ_REPORT when set).
TRIED: dict[str, int] = {}


def _send(case, people, part) -> None:
    TRIED[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    meta = case.meta
    if not (meta is not None and meta.is_negative_at(ParameterLocation.PATH)):
        for name in case.path_parameters or {}:
            if name in people.ids:
                case.path_parameters[name] = people.ids[name]
    case.call_and_validate(headers=people.headers_for(part), checks=RUN_CHECKS)


def fuzz(schema, operation, people, part) -> str | None:
    """Coverage cases, then generated positive and negative ones; the first failure, if any."""
    label = f"{operation.method.upper()} {operation.path}"
    TRIED[label] = 0
    try:
        coverage = schema.iter_coverage_cases(
            operation,
            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            generation_config=schema.config.generation_for(operation=operation),
        )
        for number, case in enumerate(coverage):
            if number >= COVERAGE_MAX:
                break
            _send(case, people, part)
        for mode, examples in ((GenerationMode.POSITIVE, EXAMPLES), (GenerationMode.NEGATIVE, EXAMPLES // 2)):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=max(1, examples),
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                _send(case, people, part)

            try:
                run()
            except Unsatisfiable:
                # Nothing to send wrong: no parameters or body, or only free-text headers.
                if mode is not GenerationMode.NEGATIVE:
                    raise
    except (Exception, BaseExceptionGroup) as error:  # its report says what broke, how to replay it
        return f"{label}: {str(error)[:1500]}"
    return None


def test_every_operation_is_in_a_part(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    paths = {r.ok().path for r in schema.get_all_operations()}
    assert paths and all(any(covers(p) for covers in PARTS.values()) for p in paths)


def test_every_check_runs_but_the_ones_left_out_for_a_reason():
    names = {c.__name__ for c in RUN_CHECKS}
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
        "ignored_auth",
    } <= names
    assert not names & set(LEFT_OUT)


@pytest.mark.parametrize("part", sorted(PARTS))
def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_contract(app, client, world, part):
    schema = schemathesis.openapi.from_wsgi(
        "/api/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG)
    )
    people = FuzzPeople(app, client, world)
    operations = [r.ok() for r in schema.get_all_operations() if PARTS[part](r.ok().path)]
    assert operations, f"no {part} operations in the OpenAPI document"
    if ONLY:
        operations = [op for op in operations if any(s in op.path for s in ONLY)]
        if not operations:
            pytest.skip(f"MULI_FUZZ_ONLY={','.join(ONLY)} names no {part} operation")
    failures = [f for f in (fuzz(schema, op, people, part) for op in operations) if f]
    if report := os.environ.get("MULI_FUZZ_REPORT"):
        with open(report, "a", encoding="utf-8") as out:
            for op in operations:
                label = f"{op.method.upper()} {op.path}"
                out.write(f"{part}\t{label}\t{TRIED[label]}\n")
    assert not failures, "\n\n".join(failures)
