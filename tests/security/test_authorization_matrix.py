"""Nobody sees what they should not: every API route, every role, every kind of id.

The rows live in `matrix_rows.py`; a route in the app's URL map without a row fails
`test_every_route_in_the_url_map_has_a_row_in_the_matrix`. Each route is one test that
builds the region (`scene.py`), then asks every cell: refused cells first (so a success
cannot make a later refusal look right), each allowed cell on a freshly made resource.
Every answer is checked for its status, and every body for data its reader may not see.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.security.matrix_rows import MATRIX, Row
from tests.security.scene import ROLES, Scene, changed_tables, fingerprint

pytestmark = pytest.mark.security

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
# Routes outside the API and portal: no patient data behind them (health, docs, the app shell).
PUBLIC = {
    "/",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/api/openapi.json",
    "/api/docs",
    "/api/docs/static/<path:filename>",
    "/app",
    "/app/",
    "/app/manifest.webmanifest",
    "/app/sw.js",
    "/app/static/<path:filename>",
    "/portal/static/<path:filename>",
    # ID-porten's browser redirects (docs/oidc.md): no data behind them, 404 while it is off;
    # what they refuse is tested in tests/api/test_oidc.py against a real provider.
    "/auth/idporten/login",
    "/auth/idporten/callback",
    "/auth/idporten/logout",
}


def route_keys(app) -> set[tuple[str, str]]:
    keys = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            keys.add((method, rule.rule))
    return keys


def api_keys(app) -> set[tuple[str, str]]:
    return {k for k in route_keys(app) if k[1].startswith("/api/v1")}


def expected_ok(status) -> bool:
    statuses = status if isinstance(status, tuple) else (status,)
    return all(200 <= s < 300 for s in statuses)


def test_every_route_in_the_url_map_has_a_row_in_the_matrix(app):
    from tests.security.test_portal_matrix import PORTAL_MATRIX

    known = set(MATRIX) | set(PORTAL_MATRIX)
    missing = sorted(
        f"{method} {rule}"
        for method, rule in route_keys(app)
        if rule not in PUBLIC and (method, rule) not in known
    )
    assert not missing, "routes without a row in the authorization matrix:\n" + "\n".join(missing)


def test_every_row_of_the_matrix_names_a_route_that_exists(app):
    stale = sorted(f"{m} {r}" for m, r in set(MATRIX) - api_keys(app))
    assert not stale, "rows for routes the app no longer has:\n" + "\n".join(stale)


WITH_OTHER_TEAM_IDS = sorted(k for k, row in MATRIX.items() if "other_team" in row.kinds)


@pytest.mark.parametrize("key", WITH_OTHER_TEAM_IDS, ids=lambda k: f"{k[0]} {k[1]}")
def test_the_other_teams_ids_and_unknown_ids_get_the_same_answer(key):
    """No existence oracle: an id of another team answers exactly like an id that never was."""
    row = MATRIX[key]
    for role in ROLES:
        if expected_ok(row.expect(role, "other_team")):
            continue  # team B is home to them (or, for the privacy officer, the whole region)
        assert row.expect(role, "other_team") == row.expect(role, "nonexistent"), role


def _url(rule: str, values: dict) -> str:
    return PARAM.sub(lambda m: str(values[m.group(1)]), rule)


def _leaks(scene: Scene, role: str, response) -> list[str]:
    if response.mimetype == "application/pdf":
        return []
    text = response.get_data(as_text=True)
    return sorted(m for m in scene.forbidden_markers(role) if m in text)


def run_route(scene: Scene, method: str, rule: str, row: Row) -> tuple[list[str], int]:
    """Ask every cell of one route; answers the failures and the number of cells."""
    params = PARAM.findall(rule)
    cells = [(role, kind) for role in ROLES for kind in row.kinds]
    cells.sort(key=lambda cell: expected_ok(row.expect(*cell)))
    # The refused cells share one set of targets, made before the baseline is taken.
    cached = {(p, kind): scene.make(p, kind) for p in params for kind in row.kinds}
    baseline, checked = fingerprint(scene.app), False
    failures = []
    for role, kind in cells:
        expected = row.expect(role, kind)
        fresh = expected_ok(expected)
        if fresh and not checked:
            failures += _unchanged(scene, baseline, f"{method} {rule}")
            checked = True
        values = {p: scene.make(p, kind) if fresh else cached[(p, kind)] for p in params}
        own = scene.fresh_headers(role) if row.spends_token else scene.headers(role)
        headers = {**own, "Idempotency-Key": str(uuid.uuid4())}
        if row.headers:
            headers.update(row.headers(scene, kind, values))
        body = row.body(scene, kind) if row.body else None
        r = scene.client.open(_url(rule, values), method=method, headers=headers, json=body)
        where = f"{method} {rule} as {role} with {kind} id"
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if r.status_code not in allowed:
            failures.append(
                f"{where}: {r.status_code}, expected {expected}: {r.get_data(as_text=True)[:300]}"
            )
        if leaked := _leaks(scene, role, r):
            failures.append(f"{where}: the answer holds {leaked}")
        if r.status_code >= 400:
            problem = r.get_json(silent=True) or {}
            if r.mimetype != "application/problem+json" or not set(problem) <= PROBLEM_KEYS:
                failures.append(f"{where}: a refusal must be plain problem+json, got {r.mimetype} {problem}")
    if not checked:
        failures += _unchanged(scene, baseline, f"{method} {rule}")
    return failures, len(cells)


def _unchanged(scene: Scene, baseline: dict, route: str) -> list[str]:
    changed = changed_tables(baseline, fingerprint(scene.app))
    return [f"{route}: refused calls changed {changed}"] if changed else []


def group_of(key: tuple[str, str]) -> str:
    """Routes are asked in groups that share one region (building it is the slow part).

    A row marked `alone` changes what later cells may see (break-the-glass opens P2's
    record), so it gets a region of its own.
    """
    if MATRIX[key].alone:
        return f"{key[0]} {key[1]}"
    parts = key[1].split("/")
    return "/".join(parts[3:5] if parts[3] == "staff" else parts[3:4])


GROUPS: dict[str, list[tuple[str, str]]] = {}
for _key in sorted(MATRIX):
    GROUPS.setdefault(group_of(_key), []).append(_key)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_role_gets_exactly_its_answer_and_nothing_it_may_not_see(app, client, world, group):
    scene = Scene(app, client, world)
    failures = []
    for method, rule in GROUPS[group]:
        failures += run_route(scene, method, rule, MATRIX[(method, rule)])[0]
    assert not failures, "\n".join(failures)
