"""Tokens and sessions: every way a bearer token can be wrong is 401, on every kind of route.

tests/api/test_auth.py proves each case once on one route; here each bad token is tried
on a sample of patient, staff and privacy-officer routes, reads and writes, and a write
must leave the database as it was. The portal refuses every POST that lacks its CSRF
token: the list of POST routes comes from the URL map, so a new form is covered at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pyotp
import pytest

from tests.factories import PASSWORD, bearer
from tests.portal.conftest import Portal, compile_catalogues
from tests.security.scene import Scene, changed_tables, fingerprint
from tests.security.test_authorization_matrix import _url
from tests.security.test_portal_matrix import PORTAL_MATRIX, _ok, _values

pytestmark = pytest.mark.security

# (method, path template, body): {p} is the patient's id.
PATIENT_ROUTES = [
    ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/me/diary", None),
    ("POST", "/api/v1/me/diary", {"text": "i dag"}),
    ("GET", "/api/v1/me/export", None),
    (
        "PUT",
        "/api/v1/me/consents",
        {"consents": [{"agency_id": "{a}", "scope": "crisis_plan", "state": "withdrawn"}]},
    ),
]
STAFF_ROUTES = [
    ("GET", "/api/v1/staff/patients", None),
    ("GET", "/api/v1/staff/contact-requests", None),
    ("GET", "/api/v1/staff/patients/{p}", None),
    ("GET", "/api/v1/staff/patients/{p}/crisis-plan", None),
    (
        "POST",
        "/api/v1/staff/patients/{p}/admissions",
        {"admitted_on": "2025-01-02", "facility": "PAM", "involuntary": False},
    ),
]
PRIVACY_ROUTES = [("GET", "/api/v1/staff/audit", None)]


def login(client, login, totp: bool) -> dict:
    body = {"username": login.account.username, "password": PASSWORD}
    if totp:
        body["totp"] = pyotp.TOTP(login.totp_secret).now()
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claims(app, token: str) -> dict:
    return pyjwt.decode(
        token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"], audience="muli-api", issuer="muli"
    )


def forge(app, payload: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return pyjwt.encode(payload, None if algorithm == "none" else key or app.config["JWT_SECRET_KEY"],
                        algorithm=algorithm)  # fmt: skip


def _expired(app, client, pair, other):
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    return forge(app, claims(app, pair["access_token"]) | {"exp": past})


def _tampered(app, client, pair, other):
    """Another account's id in a token whose signature was made for mine."""
    head, _, sig = pair["access_token"].split(".")
    body = pyjwt.utils.base64url_encode(
        pyjwt.api_jws.json.dumps(claims(app, pair["access_token"]) | {"sub": other}).encode()
    ).decode()
    return f"{head}.{body}.{sig}"


def _alg_none(app, client, pair, other):
    return forge(app, claims(app, pair["access_token"]), algorithm="none")


def _wrong_audience(app, client, pair, other):
    return forge(app, claims(app, pair["access_token"]) | {"aud": "another-service"})


def _wrong_issuer(app, client, pair, other):
    return forge(app, claims(app, pair["access_token"]) | {"iss": "someone-else"})


def _another_key(app, client, pair, other):
    return forge(app, claims(app, pair["access_token"]), key="k" * 48)


def _revoked(app, client, pair, other):
    response = client.post("/api/v1/auth/logout", headers=bearer(pair["access_token"]),
                           json={"refresh_token": pair["refresh_token"]})  # fmt: skip
    assert response.status_code == 204
    return pair["access_token"]


def _refresh_as_access(app, client, pair, other):
    return pair["refresh_token"]


def _without(claim):
    def make(app, client, pair, other):
        return forge(app, {k: v for k, v in claims(app, pair["access_token"]).items() if k != claim})

    return make


def _not_an_account(app, client, pair, other):
    return forge(app, claims(app, pair["access_token"]) | {"sub": "admin"})


BAD_TOKENS = {
    "expired": _expired,
    "tampered": _tampered,
    "alg none": _alg_none,
    "wrong audience": _wrong_audience,
    "wrong issuer": _wrong_issuer,
    "signed with another key": _another_key,
    "revoked by logout": _revoked,
    "a refresh token": _refresh_as_access,
    "without an expiry": _without("exp"),
    "without a token id": _without("jti"),
    "naming no account": _not_an_account,
}


@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
def test_a_bad_token_is_401_on_patient_staff_and_privacy_routes_and_changes_nothing(app, client, world, bad):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    tries = [
        (login(client, care.patient, totp=False), care.member, PATIENT_ROUTES),
        (login(client, care.member, totp=True), care.patient, STAFF_ROUTES),
        (login(client, officer, totp=True), care.patient, PRIVACY_ROUTES),
    ]
    failures = []
    for pair, other, routes in tries:
        token = BAD_TOKENS[bad](app, client, pair, str(other.account.id))
        for method, template, body in routes:
            url = template.format(p=care.patient.id)
            if body and "consents" in body:
                body = {"consents": [{**body["consents"][0], "agency_id": str(care.agency.id)}]}
            before = fingerprint(app)
            r = client.open(url, method=method, headers=bearer(token), json=body)
            if r.status_code != 401 or r.mimetype != "application/problem+json":
                failures.append(f"{method} {url}: {r.status_code} {r.get_data(as_text=True)[:120]}")
            if changed := changed_tables(before, fingerprint(app)):
                failures.append(f"{method} {url}: changed {changed}")
    assert not failures, "\n".join(failures)


def test_a_token_outside_the_authorization_header_is_not_read(app, client, world):
    care = world.care_team()
    token = login(client, care.patient, totp=False)["access_token"]
    client.set_cookie("access_token_cookie", token)
    assert client.get(f"/api/v1/me?jwt={token}&access_token={token}").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Token {token}"}).status_code == 401


# -- the portal: CSRF ---------------------------------------------------------------------
PORTAL_POSTS_SIGNED_IN = sorted(
    key
    for key in PORTAL_MATRIX
    if key[0] == "POST" and key[1] not in ("/portal/login", "/portal/language/<code>")
)


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    compile_catalogues()


def test_every_portal_post_route_is_in_the_csrf_check(app):
    posts = {(m, r.rule) for r in app.url_map.iter_rules() if r.rule.startswith("/portal") for m in r.methods}
    missing = sorted(
        f"POST {rule}" for m, rule in posts if m == "POST" and ("POST", rule) not in PORTAL_MATRIX
    )
    assert not missing, "\n".join(missing)


def test_a_portal_post_without_the_csrf_token_is_refused_and_changes_nothing(app, client, world):
    scene = Scene(app, client, world)
    portals = {}
    failures = []
    for method, rule in PORTAL_POSTS_SIGNED_IN:
        row = PORTAL_MATRIX[(method, rule)]
        cells = [(r, k) for r in ("coordinator", "member", "privacy_officer") for k in row.kinds]
        role, kind = next((c for c in cells if _ok(row.expect(*c))), ("coordinator", row.kinds[0]))
        if role not in portals:
            portals[role] = Portal(app, app.test_client())
            assert portals[role].login(scene.staff[role]).status_code == 302
        portal = portals[role]
        url = _url(rule, _values(scene, rule, kind))
        before = fingerprint(app)
        r = portal.client.post(url, data=row.body(scene, kind) if row.body else {})
        if r.status_code not in (302, 303, 400, 403):
            failures.append(f"POST {rule} as {role}: {r.status_code}")
        if changed := changed_tables(before, fingerprint(app)):
            failures.append(f"POST {rule} as {role}: changed {changed}")
        # Still signed in: the refusal was about the form, not the session.
        if (
            portal.client.get("/portal/").status_code == 302
            and "login" in portal.client.get("/portal/").location
        ):
            failures.append(f"POST {rule} as {role}: signed me out")
    assert len(PORTAL_POSTS_SIGNED_IN) > 10
    assert not failures, "\n".join(failures)


def test_the_csrf_check_still_accepts_the_same_post_with_its_token(app, client, world):
    """The control for the test above: with the token, the same kind of form does change things."""
    scene = Scene(app, client, world)
    portal = Portal(app, app.test_client())
    assert portal.login(scene.staff["member"]).status_code == 302
    patient = scene.sides[next(iter(scene.sides))].patient
    url = f"/portal/patients/{patient.id}/admissions"
    before = fingerprint(app)
    r = portal.post(
        url, {"admitted_on": "2025-01-02", "facility": "PAM"}, token_from=f"/portal/patients/{patient.id}"
    )
    assert r.status_code in (302, 303), r.status_code
    assert "admission" in changed_tables(before, fingerprint(app))
