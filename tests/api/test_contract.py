"""The OpenAPI document is a contract a generated client can trust (issue 16, item 5): every
status code and header the API sends, problem+json documented once, enums, nullable objects,
PDFs and stable operationIds; and the headers it promises are on the wire."""

from __future__ import annotations

import re
import uuid

import pytest

from api.contract import OPERATION_IDS
from tests.factories import PASSWORD, bearer

METHODS = ("get", "post", "put", "patch", "delete")
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(spec, obj):
    while "$ref" in obj:
        *_, kind, name = obj["$ref"].split("/")
        obj = spec["components"][kind][name]
    return obj


def params(op) -> dict:
    return {p["name"]: p for p in op.get("parameters", [])}


def test_problem_json_is_documented_once_and_every_error_answer_refers_to_it(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) >= {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["properties"]["status"]["type"] == "integer"
    assert problem["properties"]["errors"]["additionalProperties"]["items"] == {"type": "string"}
    assert "Error" not in spec["components"]["schemas"]  # flask-smorest's {code, status, message}
    for method, path, op in operations(spec):
        assert "default" not in op["responses"], f"{method} {path}"
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            assert "$ref" in response, f"{method} {path} {status}: inline, not the one problem"
            content = resolve(spec, response)["content"]
            assert list(content) == ["application/problem+json"], f"{method} {path} {status}"
            assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}


def test_every_operation_lists_the_status_codes_its_code_paths_can_answer(spec):
    for method, path, op in operations(spec):
        codes = {int(s) for s in op["responses"]}
        where = f"{method.upper()} {path}: {sorted(codes)}"
        assert {400, 500, 503} <= codes, where
        if op.get("security") != []:
            assert 401 in codes, where
        if path.startswith(("/api/v1/me", "/api/v1/staff", "/api/v1/admin")):
            assert 403 in codes, where
        if "{" in path:
            assert 404 in codes, where
        if method != "get":
            assert {409, 413, 422} <= codes, where
        if "If-Match" in params(op):
            assert {412, 428} <= codes, where
            assert params(op)["If-Match"]["required"] is True
        if "Idempotency-Key" in params(op):
            assert {409, 422} <= codes, where
    responses = {(m, p): {int(s) for s in op["responses"]} for m, p, op in operations(spec)}
    assert 429 in responses[("post", "/api/v1/auth/token")]
    assert 429 in responses[("post", "/api/v1/auth/activate")]
    assert 401 in responses[("post", "/api/v1/auth/token")]  # wrong credentials


def test_headers_are_documented_where_they_are_sent(spec):
    components = spec["components"]["responses"]
    assert resolve(spec, components["Unauthorized"]["headers"]["WWW-Authenticate"])["required"] is True
    for name in ("TooManyRequests", "ServiceUnavailable"):
        assert resolve(spec, components[name]["headers"]["Retry-After"])["required"] is True
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            headers = resolve(spec, response).get("headers", {})
            if "Retry-After" in headers:
                assert status in ("429", "503"), f"{method} {path} {status}"
    plan = spec["paths"]["/api/v1/me/crisis-plan"]
    for method, status in (("get", "200"), ("get", "304"), ("put", "200")):
        assert plan[method]["responses"][status]["headers"]["ETag"]["required"] is True
    created = spec["paths"]["/api/v1/me/contact-requests"]["post"]["responses"]["201"]
    assert "Idempotent-Replayed" in created["headers"]


def test_gets_that_answer_304_declare_if_none_match(spec):
    found = 0
    for method, path, op in operations(spec):
        if "304" in op["responses"]:
            found += 1
            assert method == "get"
            assert "If-None-Match" in params(op), path
            assert "content" not in op["responses"]["304"]
    assert found == 6  # my crisis and mastery plan, the staff's two, the meeting note, the queue


def test_idempotency_key_is_a_string_a_uuid_fits(spec, client, world):
    header = params(spec["paths"]["/api/v1/me/contact-requests"]["post"])["Idempotency-Key"]
    schema = header["schema"]
    assert schema["type"] == "string" and "format" not in schema  # format uuid: a UUID object
    key = str(uuid.uuid4())
    assert re.fullmatch(schema["pattern"], key) and len(key) <= schema["maxLength"]
    care = world.care_team()
    body = {"kind": "call_me", "urgency": "talk"}
    ok = client.post(
        "/api/v1/me/contact-requests", json=body, headers={**care.patient.headers, "Idempotency-Key": key}
    )
    assert ok.status_code == 201
    # What the document refuses the server refuses too (it took these before).
    for other in (key.replace("-", ""), "{" + key + "}", "urn:uuid:" + key):
        refused = client.post(
            "/api/v1/me/contact-requests",
            json=body,
            headers={**care.patient.headers, "Idempotency-Key": other},
        )
        assert refused.status_code == 400, other
        assert refused.get_json()["type"].endswith("/idempotency-key-invalid")


NULLABLE_NESTED = [
    ("PatientRequestOut", "responder"),
    ("PatientRequestOut", "acknowledged_by"),
    ("PatientRequestOut", "call_started_by"),
    ("CreatedRequestOut", "responder"),
    ("ContactQueueItemOut", "acknowledged_by"),
    ("ContactStaffRequestOut", "trusted_contact"),
    ("ContactStaffRequestOut", "crisis_plan"),
    ("TeamHandoverRequestOut", "closed_by"),
    ("AvailabilityOut", "on_call"),
    ("ProfileOut", "trusted_contact"),
    ("CrisisPlanOut", "written_by"),
    ("MasteryPlanOut", "written_by"),
    ("OverviewOut", "crisis_plan"),
    ("OverviewOut", "mastery_plan"),
]


def test_nullable_nested_objects_are_typed(spec):
    schemas = spec["components"]["schemas"]
    for name, field in NULLABLE_NESTED:
        prop = schemas[name]["properties"][field]
        assert prop.get("nullable") is True, (name, field, prop)
        assert [list(s) for s in prop["allOf"]] == [["$ref"]], (name, field, prop)
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            # apispec's 3.0 default: "any object, or this one" - untyped for a client.
            assert {"type": "object", "nullable": True} not in prop.get("anyOf", []), (name, field)


FIXED_VALUES = [
    ("PatientRequestOut", "kind"),
    ("PatientRequestOut", "urgency"),
    ("PatientRequestOut", "state"),
    ("PatientRequestOut", "routed_to"),
    ("PatientRequestOut", "outcome"),
    ("ContactMessageOut", "author"),
    ("ContactEscalationStepOut", "kind"),
    ("AvailabilityOut", "status"),
    ("AvailabilityOut", "next_status"),
    ("AuthorOut", "kind"),
    ("ConsentOut", "scope"),
    ("ConsentOut", "state"),
    ("ChangedByOut", "kind"),
    ("SessionOut", "kind"),
    ("StaffAccountOut", "role"),
    ("OnCallShiftOut", "level"),
    ("OutcomeBeforeAfterOut", "direction"),
    ("MeetingActionOut", "status"),
    ("TokenOut", "token_type"),
]


def test_fixed_value_strings_have_enums(spec):
    schemas = spec["components"]["schemas"]
    missing = [(n, f) for n, f in FIXED_VALUES if "enum" not in schemas[n]["properties"][f]]
    assert not missing


def test_pdfs_are_described_as_binary(spec):
    pdfs = [(m, p, op) for m, p, op in operations(spec) if p.endswith(".pdf")]
    assert len(pdfs) == 3
    for _method, path, op in pdfs:
        assert op["responses"]["200"]["content"] == {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
        }, path


def test_operation_ids_are_stable_readable_and_unique(spec):
    ids = {}
    for method, path, op in operations(spec):
        key = (method.upper(), path.removeprefix("/api/v1"))
        assert key in OPERATION_IDS, f"{key}: name it in api.contract.OPERATION_IDS"
        assert op["operationId"] == OPERATION_IDS[key]
        ids.setdefault(op["operationId"], []).append(key)
    assert all(len(keys) == 1 for keys in ids.values())
    assert len(ids) == len(OPERATION_IDS)  # no stale names
    assert spec["paths"]["/api/v1/me/crisis-plan"]["get"]["operationId"] == "getMyCrisisPlan"


# On the wire


def test_401_carries_a_bearer_challenge(client, world):
    care = world.care_team()
    none = client.get("/api/v1/me")
    assert none.status_code == 401
    assert none.headers["WWW-Authenticate"] == 'Bearer realm="muli"'
    bad = client.get("/api/v1/me", headers=bearer("not.a.token"))
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == 'Bearer realm="muli", error="invalid_token"'
    username = care.patient.account.username
    wrong = client.post("/api/v1/auth/token", json={"username": username, "password": "x"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.mimetype == "application/problem+json"


def test_retry_after_only_on_429_and_503_not_on_a_successful_login(client, world):
    care = world.care_team()
    username = care.patient.account.username
    ok = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert ok.status_code == 200
    assert "Retry-After" not in ok.headers
    assert ok.headers["X-RateLimit-Retry-After"].isdigit()  # the limiter's, renamed
    for _ in range(30):
        answer = client.post(
            "/api/v1/auth/token", json={"username": care.patient.account.username, "password": "wrong"}
        )
        if answer.status_code == 429:
            break
        assert "Retry-After" not in answer.headers
    assert answer.status_code == 429
    assert answer.headers["Retry-After"].isdigit()
