"""The API's token check, answer by answer (api.context: one PyJWT decode, then the account,
its login and its person in one statement, `accounts.token_actor`).

The check used to be flask-jwt-extended's `verify_jwt_in_request()`; these pin what it
answered, so doing the check ourselves changes nothing a client sees: each refusal is the
same 401 problem+json (detail in the reader's language, English here) with RFC 6750's
challenge, on a patient route and on a staff route.
"""

from __future__ import annotations

import dataclasses
import warnings
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pyotp
import pytest

from muli.extensions import db
from muli.models.accounts import Account
from muli.models.people import TeamMembership
from muli.platform.context import ANONYMOUS, Ctx
from muli.trust import accounts
from tests.factories import PASSWORD, bearer, password_hash

PATIENT_ROUTE = "/api/v1/me/crisis-plan"
STAFF_ROUTE = "/api/v1/staff/contact-requests"
EN = {"Accept-Language": "en"}
PROBLEM = "https://muli.invalid/problems/"
SIGN_IN = "Sign in first: no valid token was sent."
NOT_VALID = "The token is not valid."
EXPIRED = "The token has expired."
NO_LONGER = "The token is no longer valid."
SENT = 'Bearer realm="muli", error="invalid_token"'
NONE_SENT = 'Bearer realm="muli"'


@pytest.fixture
def care(world):
    return world.care_team()


def pair(client, login, totp: bool, at: datetime | None = None) -> dict:
    body = {"username": login.account.username, "password": PASSWORD}
    if totp:
        body["totp"] = pyotp.TOTP(login.totp_secret).at(at or datetime.now(UTC))
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def claims_of(app, token: str) -> dict:
    return pyjwt.decode(
        token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"], audience="muli-api", issuer="muli"
    )


def forge(app, claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return pyjwt.encode(claims, key or app.config["JWT_SECRET_KEY"], algorithm=algorithm)


def assert_refused(response, detail: str, challenge: str, code: str = "authentication-failed"):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == PROBLEM + code
    assert body["title"] == "Not authenticated"
    assert body["status"] == 401
    if detail:
        assert body["detail"] == detail
    assert response.headers["WWW-Authenticate"] == challenge
    assert response.headers["Cache-Control"] == "no-store"


def routes(client, care):
    """(route, a fresh token pair) for the patient and for a clinician."""
    return [
        (PATIENT_ROUTE, pair(client, care.patient, False)),
        (STAFF_ROUTE, pair(client, care.member, True)),
    ]


def test_the_good_tokens_are_accepted(client, care):
    for route, tokens in routes(client, care):
        assert client.get(route, headers=bearer(tokens["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("header", "detail", "challenge"),
    [
        (None, SIGN_IN, NONE_SENT),
        ("", SIGN_IN, NONE_SENT),
        (" , ", SIGN_IN, NONE_SENT),
        ("Token {t}", SIGN_IN, NONE_SENT),
        ("bearer {t}", SIGN_IN, SENT),  # the scheme is matched as configured: "Bearer"
        ("Bearer {t}, Bearer {t}", SIGN_IN, SENT),
        ("Bearer", NOT_VALID, SENT),
        ("Bearer {t} extra", NOT_VALID, SENT),
        ("Bearer not-a-token", NOT_VALID, SENT),
        ("Bearer a.b.c", NOT_VALID, SENT),
    ],
)
def test_a_missing_or_malformed_authorization_header(client, care, header, detail, challenge):
    for route, tokens in routes(client, care):
        headers = dict(EN)
        if header is not None:
            headers["Authorization"] = header.format(t=tokens["access_token"])
        assert_refused(client.get(route, headers=headers), detail, challenge)


def test_the_token_may_come_among_other_credentials(client, care):
    """The header may list credentials separated by commas; the one Bearer among them counts."""
    for route, tokens in routes(client, care):
        headers = {"Authorization": f"Basic dXNlcjpwdw==, Bearer {tokens['access_token']}"}
        assert client.get(route, headers=headers).status_code == 200


def _hs512(app, claims):
    """Signed with our own key, but with an algorithm the API does not take (HS256 is pinned)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyjwt.warnings.InsecureKeyLengthWarning)
        return forge(app, claims, algorithm="HS512")


def _expired(app, claims):
    return forge(app, claims | {"exp": int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())})


FORGED = {
    "expired": (_expired, EXPIRED),
    "another audience": (lambda app, c: forge(app, c | {"aud": "another-service"}), NOT_VALID),
    "no audience": (lambda app, c: forge(app, {k: v for k, v in c.items() if k != "aud"}), NOT_VALID),
    "another issuer": (lambda app, c: forge(app, c | {"iss": "someone-else"}), NOT_VALID),
    "another key": (lambda app, c: forge(app, c, key="k" * 48), NOT_VALID),
    "HS512 with our key": (_hs512, NOT_VALID),
    "alg none": (lambda app, c: pyjwt.encode(c, None, algorithm="none"), NOT_VALID),
    "no subject": (lambda app, c: forge(app, {k: v for k, v in c.items() if k != "sub"}), NOT_VALID),
    "a number as subject": (lambda app, c: forge(app, c | {"sub": 12345}), NOT_VALID),
    "type refresh": (lambda app, c: forge(app, c | {"type": "refresh"}), NOT_VALID),
    "not yet valid": (lambda app, c: forge(app, c | {"nbf": c["exp"]}), NOT_VALID),
    "no expiry": (lambda app, c: forge(app, {k: v for k, v in c.items() if k != "exp"}), NO_LONGER),
    "no token id": (lambda app, c: forge(app, {k: v for k, v in c.items() if k != "jti"}), NO_LONGER),
    "no issue time": (lambda app, c: forge(app, {k: v for k, v in c.items() if k != "iat"}), NO_LONGER),
    "no account": (lambda app, c: forge(app, c | {"sub": "admin"}), NO_LONGER),
    "an unknown account": (
        lambda app, c: forge(app, c | {"sub": "00000000-0000-4000-8000-000000000000"}),
        NO_LONGER,
    ),
    "an unknown login": (
        lambda app, c: forge(app, c | {"fam": "00000000-0000-4000-8000-000000000000"}),
        NO_LONGER,
    ),
    "a malformed login": (lambda app, c: forge(app, c | {"fam": "not-a-uuid"}), NO_LONGER),
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_a_token_that_does_not_verify_or_does_not_count(app, client, care, case):
    make, detail = FORGED[case]
    for route, tokens in routes(client, care):
        token = make(app, claims_of(app, tokens["access_token"]))
        assert_refused(client.get(route, headers={**EN, **bearer(token)}), detail, SENT)


class _Later(datetime):
    """The time as PyJWT's checks see it, moved on (`api.context` keeps verified tokens)."""

    ahead = timedelta(0)

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + cls.ahead


@pytest.mark.parametrize(
    ("ahead", "detail"),
    [(timedelta(minutes=16), EXPIRED), (timedelta(minutes=-2), NOT_VALID)],
    ids=["expired since", "issued later than now"],
)
def test_a_token_accepted_before_is_checked_against_the_time_again(client, care, monkeypatch, ahead, detail):
    """Accepted once, a token is not verified again, but its expiry and issue time are:
    15 minutes on it is refused as expired, and with the clock set back (`iat`, `nbf` now in
    the future) as not valid, as PyJWT refuses a token it sees for the first time."""
    import api.context

    for route, tokens in routes(client, care):
        headers = {**EN, **bearer(tokens["access_token"])}
        assert client.get(route, headers=headers).status_code == 200
        monkeypatch.setattr(_Later, "ahead", ahead)
        monkeypatch.setattr(api.context, "datetime", _Later)
        assert_refused(client.get(route, headers=headers), detail, SENT)
        monkeypatch.undo()
        assert client.get(route, headers=headers).status_code == 200


def test_a_token_accepted_before_is_refused_once_the_key_or_settings_change(app, client, care):
    """What a token was verified with is part of what is kept: a new key, or another
    audience or issuer required, refuses a token that was accepted a moment before."""
    for route, tokens in routes(client, care):
        headers = {**EN, **bearer(tokens["access_token"])}
        assert client.get(route, headers=headers).status_code == 200
        for setting, value in [
            ("JWT_SECRET_KEY", "k" * 48),
            ("JWT_DECODE_AUDIENCE", "another-service"),
            ("JWT_DECODE_ISSUER", "someone-else"),
        ]:
            before = app.config[setting]
            app.config[setting] = value
            try:
                assert_refused(client.get(route, headers=headers), NOT_VALID, SENT)
            finally:
                app.config[setting] = before
            assert client.get(route, headers=headers).status_code == 200


LOGOUT = "/api/v1/auth/logout"
LOGOUT_HEADERS = [
    (None, SIGN_IN, NONE_SENT),
    ("Token {t}", SIGN_IN, NONE_SENT),
    ("Bearer a.b.c", NOT_VALID, SENT),
]


@pytest.mark.parametrize("case", sorted(FORGED) + [f"header {i}" for i in range(len(LOGOUT_HEADERS))])
def test_logout_refuses_as_every_other_route(app, client, care, case):
    """Logout (no blueprint guard: it checks its token itself) gives the same refusals, and
    before it reads its body; the good token still logs out afterwards."""
    tokens = pair(client, care.patient, False)
    if case in FORGED:
        make, detail = FORGED[case]
        headers, challenge = {**EN, **bearer(make(app, claims_of(app, tokens["access_token"])))}, SENT
    else:
        header, detail, challenge = LOGOUT_HEADERS[int(case.split()[1])]
        headers = dict(EN)
        if header is not None:
            headers["Authorization"] = header.format(t=tokens["access_token"])
    assert_refused(client.post(LOGOUT, headers=headers, json={"refresh_token": 5}), detail, challenge)
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    assert_refused(client.post(LOGOUT, headers={**EN, **bearer(tokens["access_token"])}), NO_LONGER, SENT)


REFRESH = "/api/v1/auth/refresh"
# An access token where a refresh token is expected: "the token is not valid", as its reverse.
AS_REFRESH = {**FORGED, "type access": (lambda app, c: forge(app, c | {"type": "access"}), NOT_VALID)}
AS_REFRESH.pop("type refresh")


@pytest.mark.parametrize("case", sorted(AS_REFRESH) + [f"header {i}" for i in range(len(LOGOUT_HEADERS))])
def test_refresh_refuses_a_bearer_token_as_the_other_routes_do(app, client, care, case):
    """The refresh token sent as Bearer gets the access token's refusals (its own type
    required), and the good one still refreshes afterwards."""
    tokens = pair(client, care.patient, False)
    if case in AS_REFRESH:
        make, detail = AS_REFRESH[case]
        headers, challenge = {**EN, **bearer(make(app, claims_of(app, tokens["refresh_token"])))}, SENT
    else:
        header, detail, challenge = LOGOUT_HEADERS[int(case.split()[1])]
        headers = dict(EN)
        if header is not None:
            headers["Authorization"] = header.format(t=tokens["refresh_token"])
    assert_refused(client.post(REFRESH, headers=headers), detail, challenge)
    assert client.post(REFRESH, headers=bearer(tokens["refresh_token"])).status_code == 200


def test_the_refresh_token_is_not_an_access_token(client, care):
    for route, tokens in routes(client, care):
        assert_refused(client.get(route, headers={**EN, **bearer(tokens["refresh_token"])}), NOT_VALID, SENT)


def test_a_token_of_an_ended_login_no_longer_counts(client, care):
    for route, tokens in routes(client, care):
        logout = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        assert logout.status_code == 204
        assert_refused(client.get(route, headers={**EN, **bearer(tokens["access_token"])}), NO_LONGER, SENT)


def test_a_revoked_token_of_a_login_that_goes_on_no_longer_counts(app, client, care):
    """The access token's own revocation (its jti), while its login still counts."""
    for route, tokens in routes(client, care):
        claims = claims_of(app, tokens["access_token"])
        with app.app_context():
            ctx = Ctx(db.session, app.extensions["muli.keys"], ANONYMOUS)
            accounts.revoke_access_token(ctx, claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
            db.session.commit()
        assert_refused(client.get(route, headers={**EN, **bearer(tokens["access_token"])}), NO_LONGER, SENT)
        fresh = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert fresh.status_code == 200
        assert client.get(route, headers=bearer(fresh.get_json()["access_token"])).status_code == 200


def test_a_token_of_a_login_past_its_end_no_longer_counts(app, client, care, clock):
    route, tokens = STAFF_ROUTE, pair(client, care.member, True, at=clock.now)
    clock.advance(hours=13)  # staff sign in again after 12 hours
    refused = client.get(route, headers={**EN, **bearer(tokens["access_token"])})
    # (the token itself would have expired too, but its expiry is checked against the real
    # clock; the login's end against the service's)
    assert_refused(refused, NO_LONGER, SENT)


def test_a_disabled_account_is_told_so(app, client, care):
    from muli.cli import system_ctx

    for route, tokens, login in [
        (PATIENT_ROUTE, pair(client, care.patient, False), care.patient),
        (STAFF_ROUTE, pair(client, care.member, True), care.member),
    ]:
        with app.app_context():
            accounts.disable_account(system_ctx(), db.session.get(Account, login.account.id))
            db.session.commit()
        refused = client.get(route, headers={**EN, **bearer(tokens["access_token"])})
        assert_refused(refused, "", SENT, code="account-disabled")


def test_a_token_issued_before_a_forced_end_no_longer_counts(app, client, world, care):
    """A token without a login (`fam`) counts only if issued after `tokens_valid_after`."""
    for login, route in [(care.patient, PATIENT_ROUTE), (care.member, STAFF_ROUTE)]:
        assert client.get(route, headers=login.headers).status_code == 200
        with app.app_context():
            account = db.session.get(Account, login.account.id)
            account.tokens_valid_after = datetime.now(UTC) + timedelta(seconds=2)
            db.session.commit()
        assert_refused(client.get(route, headers={**EN, **login.headers}), NO_LONGER, SENT)


def test_an_account_without_its_person_cannot_act(app, client, world):
    for kind, route in [("patient", PATIENT_ROUTE), ("staff", STAFF_ROUTE)]:
        with app.app_context():
            account = Account(username=f"nobody-{kind}", kind=kind, password_hash=password_hash())
            db.session.add(account)
            db.session.commit()
            token = world.token_for(account)
        refused = client.get(route, headers={**EN, **bearer(token)})
        assert_refused(refused, "The account is not in use.", SENT)


def test_the_account_row_decides_the_kind_not_the_claim(app, client, care):
    """A token's `kind` claim only chooses what is loaded first: a patient's token that says
    staff still acts as the patient (and is kept out of staff routes), and the other way round."""
    patient = claims_of(app, pair(client, care.patient, False)["access_token"])
    staff = claims_of(app, pair(client, care.member, True)["access_token"])
    as_staff = bearer(forge(app, patient | {"kind": "staff"}))
    as_patient = bearer(forge(app, staff | {"kind": "patient"}))
    assert client.get(PATIENT_ROUTE, headers=as_staff).status_code == 200
    assert client.get(STAFF_ROUTE, headers=as_staff).status_code == 403
    assert client.get(STAFF_ROUTE, headers=as_patient).status_code == 200
    assert client.get(PATIENT_ROUTE, headers=as_patient).status_code == 403


def test_the_actor_of_a_staff_token_has_every_team_agency_and_role(app, client, world, care):
    other = world.team()
    with app.app_context():
        db.session.add(TeamMembership(team_id=other.id, staff_id=care.member.id))
        db.session.commit()
    claims = claims_of(app, pair(client, care.member, True)["access_token"])
    with app.test_request_context(headers={"X-Request-ID": "abcdef0123456789"}):
        from api.context import anonymous_ctx

        base = anonymous_ctx()
        actor = accounts.token_actor(base, claims)
    assert actor is not None
    assert actor.kind == "staff" and actor.staff_id == care.member.id
    assert actor.account_id == care.member.account.id
    assert actor.team_ids == frozenset({care.team.id, other.id})
    assert actor.agency_id == care.agency.id and actor.agency_name == care.agency.name
    assert actor.role == care.member.staff.role and actor.name == care.member.staff.display_name
    assert actor.request_id == "abcdef0123456789"


def test_the_actor_of_a_patient_token(app, client, care, monkeypatch):
    claims = claims_of(app, pair(client, care.patient, False)["access_token"])
    keys = app.extensions["muli.keys"]
    opened = []
    decrypt = type(keys).decrypt
    monkeypatch.setattr(type(keys), "decrypt", lambda *args: opened.append(args) or decrypt(*args))
    with app.test_request_context():
        from api.context import anonymous_ctx

        ctx = anonymous_ctx()
        actor = accounts.token_actor(ctx, claims)
        assert actor is not None
        assert opened == []  # the name is opened when read, not by the token check
        as_before = accounts.actor_for(ctx, db.session.get(Account, actor.account_id))
        db.session.rollback()
    assert actor.kind == "patient" and actor.role == "patient"
    assert actor.patient_id == care.patient.id and actor.account_id == care.patient.account.id
    assert actor.team_ids == frozenset({care.team.id}) and actor.staff_id is None
    # Read after the request's session is gone: the patient's name as `actor_for` opens it.
    assert actor.name and actor.name == as_before.name
    assert dataclasses.replace(actor, ip="192.0.2.7").name == as_before.name
    assert actor == as_before and hash(actor) == hash(as_before)
