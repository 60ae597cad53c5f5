"""Mass assignment: no write endpoint takes a field it did not declare.

The write endpoints come from the URL map (every POST, PUT and PATCH under /api/v1), so a
new one is covered the day it appears. Each is called as a role allowed to use it, with
the valid body from the authorization matrix plus one field an attacker would love to
set. The answer must be 422 naming that field, and the database must be unchanged.
Fields an endpoint legitimately declares (`team_id` when enrolling, `patient_id` on a
meeting action, ...) are read from the served OpenAPI document and left out.
"""

from __future__ import annotations

import uuid

import pytest

from tests.fhir_support import client_token, integration_client
from tests.security.matrix_rows import MATRIX
from tests.security.scene import ROLES, Scene, changed_tables, fingerprint
from tests.security.test_authorization_matrix import PARAM, _url, expected_ok

pytestmark = pytest.mark.security

SNEAKY = {
    "role": "admin",
    "patient_id": "00000000-0000-4000-8000-000000000001",
    "team_id": "00000000-0000-4000-8000-000000000002",
    "id": "00000000-0000-4000-8000-000000000003",
    "created_at": "2020-01-01T00:00:00Z",
    "account_id": "00000000-0000-4000-8000-000000000004",
    "state": "closed",
    "approved": True,
}
WRITE_METHODS = {"POST", "PUT", "PATCH"}
# Anyone may call these without signing in; they are covered by the same rule, as anonymous.
PUBLIC_WRITES = {"/api/v1/auth/activate", "/api/v1/auth/token", "/api/v1/integration/token"}
# A record system's door: called with an integration client's token (no person's opens it).
CLIENT_WRITES = {"/api/v1/integration/fhir"}
_SPEC: dict = {}


def write_endpoints(app) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods & WRITE_METHODS
    )


def declared_fields(app, method: str, rule: str) -> set[str]:
    """Top-level properties of the operation's JSON body in the served OpenAPI document."""
    if "spec" not in _SPEC:
        _SPEC["spec"] = app.test_client().get("/api/openapi.json").get_json()
    spec = _SPEC["spec"]
    path = PARAM.sub(lambda m: "{" + m.group(1) + "}", rule)
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def success_cell(method: str, rule: str) -> tuple[str, str]:
    row = MATRIX[(method, rule)]
    for role in ROLES:
        for kind in row.kinds:
            if expected_ok(row.expect(role, kind)):
                return role, kind
    return "anonymous", row.kinds[0]  # public doors: nobody succeeds with the matrix's body


def test_every_write_endpoint_has_a_row_to_borrow_a_valid_body_from(app):
    missing = [f"{m} {r}" for m, r in write_endpoints(app) if (m, r) not in MATRIX]
    assert not missing, "write endpoints without a matrix row (and so without a body):\n" + "\n".join(missing)


@pytest.mark.parametrize("field", sorted(SNEAKY))
def test_a_body_with_an_undeclared_field_is_refused_by_every_write_endpoint(app, client, world, field):
    scene = Scene(app, client, world)
    system = client_token(client, *integration_client(app.test_cli_runner(), scene.team_a))
    failures, tried = [], 0
    for method, rule in write_endpoints(app):
        if (method, rule) not in MATRIX or field in declared_fields(app, method, rule):
            continue
        row = MATRIX[(method, rule)]
        role, kind = success_cell(method, rule)
        values = {p: scene.make(p, kind) for p in PARAM.findall(rule)}
        headers = {**scene.fresh_headers(role), "Idempotency-Key": str(uuid.uuid4())}
        if row.headers:
            headers.update(row.headers(scene, kind, values))
        if rule in CLIENT_WRITES:
            headers.update(system)
        body = {**(row.body(scene, kind) if row.body else {}), field: SNEAKY[field]}
        before = fingerprint(app)
        r = client.open(_url(rule, values), method=method, headers=headers, json=body)
        tried += 1
        where = f"{method} {rule} as {role} with `{field}`"
        errors = (r.get_json(silent=True) or {}).get("errors") or {}
        if r.status_code != 422 or field not in errors:
            failures.append(f"{where}: {r.status_code} {r.get_data(as_text=True)[:200]}")
        if changed := changed_tables(before, fingerprint(app)):
            failures.append(f"{where}: changed {changed}")
    print(f"mass assignment: `{field}` tried on {tried} write endpoints")
    assert tried > 20, "the URL map lost its write endpoints?"
    assert not failures, "\n".join(failures)
