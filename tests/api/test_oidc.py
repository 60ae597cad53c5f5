"""Sign-in through ID-porten (patients) and HelseID (staff) against a real OpenID Provider:
oidc-provider on 127.0.0.1 (tests/oidc_op.py), configured as both. The browser's part at
the provider is played by `requests` through the provider's own login page; MULI is the
Flask test client. Negative cases: each refused with a clear answer and an audit event."""

from __future__ import annotations

import time

import pytest
import requests

from muli.extensions import db, oidc_flow
from muli.models.people import Staff
from tests.oidc_fixtures import (
    DOCTOR_HPR,
    DOCTOR_PID,
    NURSE_HPR,
    NURSE_PID,
    PATIENT_PID,
    STRANGER_PID,
    audit_events,
    configure,
    enrol_as,
    link_staff,
    start_providers,
)
from tests.oidc_op import callback_args, new_key


@pytest.fixture(scope="module")
def op(app):
    with start_providers(app) as providers:
        yield providers


@pytest.fixture
def on(app, op):
    configure(app, op)
    yield op
    app.config["MULI_OIDC_PROVIDERS"] = {}


def callback_base(app, door: str) -> str:
    return app.config["MULI_PUBLIC_URL"].rstrip("/") + door


def start(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 303, r.get_data(as_text=True)
    return r.headers["Location"]


def patient_callback(app, client, op, account="MinIDTestPasient", acr=None) -> str:
    """Start at MULI, sign in at the provider; the URL the provider sends the browser back to."""
    authorize = start(client, "/auth/idporten/login")
    return op.idporten.sign_in(
        authorize, account, acr=acr, stop_at=callback_base(app, "/auth/idporten/callback")
    )


def relative(url: str) -> str:
    return url[url.index("/", len("http://")) :]


def test_a_patient_signs_in_with_id_porten_and_gets_muli_tokens_as_after_a_password(app, client, world, on):
    care = world.care_team()
    enrol_as(app, care.patient.id, PATIENT_PID)
    authorize = start(client, "/auth/idporten/login")
    # A pushed authorization request: the browser carries only the request_uri.
    assert authorize.startswith(on.idporten.url + "/auth?")
    assert "request_uri=" in authorize and "code_challenge" not in authorize
    back = on.idporten.sign_in(
        authorize, "MinIDTestPasient", stop_at=callback_base(app, "/auth/idporten/callback")
    )
    r = client.get(relative(back))
    assert r.status_code == 303 and r.headers["Location"] == "/app/#/"
    cookies = r.headers.getlist("Set-Cookie")
    assert any(c.startswith("muli_refresh=") and "HttpOnly" in c for c in cookies)
    r = client.post("/api/v1/auth/refresh", json={"cookie": True})
    assert r.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + r.json["access_token"]})
    assert me.status_code == 200 and me.json["id"] == str(care.patient.id)
    events = audit_events(app, "auth.oidc_login")
    assert [(e.outcome, e.resource, e.patient_id) for e in events] == [("ok", "idporten", care.patient.id)]


# HelseID: staff ---------------------------------------------------------------------------


def staff_callback(app, client, op, account="Sykepleier Nina") -> str:
    authorize = start(client, "/portal/helseid/login")
    return op.helseid.sign_in(authorize, account, stop_at=callback_base(app, "/portal/helseid/callback"))


def test_a_nurse_linked_by_an_administrator_signs_in_to_the_portal_with_helseid(app, client, world, on):
    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, NURSE_HPR)
    authorize = start(client, "/portal/helseid/login")
    assert authorize.startswith(on.helseid.url + "/auth?") and "request_uri=" in authorize
    back = on.helseid.sign_in(
        authorize, "Sykepleier Nina", stop_at=callback_base(app, "/portal/helseid/callback")
    )
    r = client.get(relative(back))
    assert r.status_code == 303 and r.headers["Location"] == "/portal/"
    home = client.get("/portal/")
    assert home.status_code == 200 and care.member.staff.display_name in home.get_data(as_text=True)
    events = audit_events(app, "auth.oidc_login")
    assert [(e.outcome, e.resource, e.actor_account_id) for e in events] == [
        ("ok", "helseid", care.member.account.id)
    ]


def test_a_person_helseid_knows_but_no_administrator_linked_gets_a_clear_page(app, client, world, on):
    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, NURSE_HPR)
    r = client.get(relative(staff_callback(app, client, on, "Lege uten kobling")))
    assert r.status_code == 403
    assert "ingen ansattkonto i MULI er koblet til deg" in r.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302  # not signed in
    [event] = audit_events(app, "auth.oidc_login")
    assert (event.outcome, event.reason) == ("refused", "not-linked")
    assert DOCTOR_PID not in str(event.reason) and NURSE_PID not in str(event.reason)


def test_helseid_at_a_lower_security_level_than_asked_is_refused(app, client, world, on):
    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, NURSE_HPR)
    r = client.get(relative(staff_callback(app, client, on, "Sykepleier Nina (nivå 3)")))
    assert r.status_code == 403 and "lavere sikkerhetsnivå" in r.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302
    [event] = audit_events(app, "auth.oidc_login")
    assert event.outcome == "refused" and event.reason.startswith("acr-too-low")


def test_an_hpr_number_linked_must_be_the_one_helseid_vouches_for(app, client, world, on):
    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, DOCTOR_HPR)  # the wrong HPR number
    r = client.get(relative(staff_callback(app, client, on)))
    assert r.status_code == 403
    [event] = audit_events(app, "auth.oidc_login")
    assert (event.outcome, event.reason) == ("refused", "not-linked")


# ID-porten: what is refused ----------------------------------------------------------------
# Each refusal sends the browser back to the app's sign-in screen with the reason
# (/app/?signin=...#/login; the app says it in the patient's language), signs no one in,
# and leaves an `auth.oidc_login` event with outcome `refused` and the reason.

PENDING = "muli_oidc_idporten"


def refused(app, client, response, reason: str, shown: str = "refused") -> None:
    assert response.status_code == 303
    assert response.headers["Location"] == f"/app/?signin={shown}#/login"
    assert not any(c.startswith("muli_refresh=") for c in response.headers.getlist("Set-Cookie"))
    assert client.post("/api/v1/auth/refresh", json={"cookie": True}).status_code == 401
    events = audit_events(app, "auth.oidc_login")
    assert [e.outcome for e in events] == ["refused"], [(e.outcome, e.reason) for e in events]
    assert events[0].resource == "idporten" and events[0].reason.startswith(reason), events[0].reason
    assert PATIENT_PID not in events[0].reason and STRANGER_PID not in events[0].reason


def pending_of(app, client):
    """What MULI kept in the browser for this sign-in (the test reads its own cookie)."""
    with app.test_request_context(headers={"Cookie": f"{PENDING}={client.get_cookie(PENDING).value}"}):
        return oidc_flow.pending("idporten")


def keep_pending(app, client, pending) -> None:
    """Put a (test-made) pending sign-in in the browser, signed as MULI signs it."""
    with app.test_request_context():
        response = app.response_class()
        oidc_flow.keep(response, pending)
    value = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.set_cookie(PENDING, value)


@pytest.fixture
def patient(app, world):
    care = world.care_team()
    enrol_as(app, care.patient.id, PATIENT_PID)
    return care.patient


def test_a_wrong_state_is_refused(app, client, patient, on):
    back = patient_callback(app, client, on)
    args = callback_args(back)
    r = client.get("/auth/idporten/callback", query_string={**args, "state": args["state"][:-2] + "xx"})
    refused(app, client, r, "state-mismatch")


@pytest.mark.parametrize("state", ["", "ø" * 43, "x" * 5000], ids=["empty", "not-ascii", "long"])
def test_a_state_of_any_shape_is_refused_not_a_server_error(app, client, patient, on, state):
    args = callback_args(patient_callback(app, client, on))
    r = client.get("/auth/idporten/callback", query_string={**args, "state": state})
    refused(app, client, r, "state-mismatch")


def test_an_answer_naming_another_issuer_is_refused(app, client, patient, on):
    # RFC 9207: the provider names itself in its answer; one from another provider is a mix-up.
    args = callback_args(patient_callback(app, client, on))
    assert args["iss"] == on.idporten.url
    r = client.get("/auth/idporten/callback", query_string={**args, "iss": on.helseid.url})
    refused(app, client, r, "issuer-mismatch")


def test_a_callback_without_the_pending_cookie_is_refused(app, client, patient, on):
    back = patient_callback(app, client, on)
    client.delete_cookie(PENDING)
    refused(app, client, client.get(relative(back)), "no-pending-sign-in")


def test_a_replayed_code_is_refused_by_the_provider(app, client, patient, on):
    back = patient_callback(app, client, on)
    kept = client.get_cookie(PENDING).value
    assert client.get(relative(back)).headers["Location"] == "/app/#/"
    client.delete_cookie("muli_refresh", path="/api/v1/auth")
    client.set_cookie(PENDING, kept)  # the same browser state, the same code, once more
    r = client.get(relative(back))
    assert r.status_code == 303 and r.headers["Location"] == "/app/?signin=refused#/login"
    events = audit_events(app, "auth.oidc_login")
    assert [(e.outcome, e.reason) for e in events] == [
        ("ok", None),
        ("refused", "code-refused: invalid_grant"),
    ]


def test_a_code_injected_into_another_sign_in_fails_its_pkce_check_at_the_provider(app, client, patient, on):
    # The victim's code, presented in the attacker's own sign-in (its state and verifier).
    other = app.test_client()  # the victim's browser
    stolen = callback_args(patient_callback(app, other, on))
    patient_callback(app, client, on)  # the attacker starts a sign-in of their own
    own = pending_of(app, client)
    r = client.get("/auth/idporten/callback", query_string={"code": stolen["code"], "state": own.state})
    refused(app, client, r, "code-refused: invalid_grant")


@pytest.mark.parametrize("verifier", [None, "w" * 64], ids=["missing", "wrong"])
def test_a_missing_or_wrong_pkce_verifier_is_refused_by_the_provider(app, client, patient, on, verifier):
    back = patient_callback(app, client, on)
    pending = pending_of(app, client)
    pending.verifier = verifier
    keep_pending(app, client, pending)
    refused(app, client, client.get(relative(back)), "code-refused: invalid_grant")


def test_a_level_below_the_one_asked_is_refused(app, client, patient, on):
    back = patient_callback(app, client, on, acr="idporten-loa-low")  # chosen at the provider
    refused(app, client, client.get(relative(back)), "acr-too-low", shown="acr-too-low")


def test_a_person_who_is_not_enrolled_gets_no_account(app, client, patient, on):
    from muli.models.accounts import Account

    with app.app_context():
        before = db.session.query(Account).count()
    back = patient_callback(app, client, on, account="Ikke innrullert")
    refused(app, client, client.get(relative(back)), "not-enrolled", shown="not-enrolled")
    with app.app_context():
        assert db.session.query(Account).count() == before


def crafted(on, pending, **changes) -> str:
    """An ID token no real provider would issue for this sign-in, signed with a key the test
    holds (the provider's own first key unless another is given)."""
    now = int(time.time())
    claims = {
        "iss": on.idporten.url,
        "aud": on.idporten.client_id,
        "sub": "idp-patient",
        "pid": PATIENT_PID,
        "acr": "idporten-loa-substantial",
        "nonce": pending.nonce,
        "iat": now,
        "exp": now + 120,
    }
    key = changes.pop("key", None)
    claims.update(changes)
    return on.idporten.sign({k: v for k, v in claims.items() if v is not None}, key)


CRAFTED = {
    "wrong-nonce": ({"nonce": "not-the-nonce-of-this-sign-in"}, "id-token-invalid: nonce differs"),
    "other-issuer": ({"iss": "https://idporten.example.invalid"}, "id-token-invalid: invalid_claim"),
    "other-audience": ({"aud": "another-service"}, "id-token-invalid: invalid_claim"),
    "expired": (
        {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
        "id-token-invalid: expired",
    ),
    "no-acr": ({"acr": None}, "acr-too-low"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_an_id_token_the_provider_would_not_issue_is_refused(app, client, patient, on, case):
    changes, reason = CRAFTED[case]
    back = patient_callback(app, client, on)
    on.idporten.next_id_token(crafted(on, pending_of(app, client), **changes))
    r = client.get(relative(back))
    refused(app, client, r, reason, shown="acr-too-low" if reason == "acr-too-low" else "refused")


def test_keys_rotate_new_ones_are_fetched_and_a_rotated_out_key_is_refused(app, client, patient, on):
    old, new = on.idporten.key, new_key("idp-2")
    assert client.get(relative(patient_callback(app, client, on))).headers["Location"] == "/app/#/"
    on.idporten.rotate(new)
    try:
        # MULI holds the old key set; the provider now signs with a key MULI has not seen.
        browser = app.test_client()
        assert browser.get(relative(patient_callback(app, browser, on))).headers["Location"] == "/app/#/"
        # A token signed with the key the provider has rotated out.
        third = app.test_client()
        back = patient_callback(app, third, on)
        on.idporten.next_id_token(crafted(on, pending_of(app, third), key=old))
        r = third.get(relative(back))
    finally:
        on.idporten.rotate(old)
    assert r.headers["Location"] == "/app/?signin=refused#/login"
    events = audit_events(app, "auth.oidc_login")
    assert [(e.outcome, e.reason) for e in events] == [
        ("ok", None),
        ("ok", None),
        ("refused", "id-token-invalid: signed with a key the provider does not publish"),
    ]


# Linking a staff account for HelseID --------------------------------------------------------


def test_an_administrator_links_a_staff_account_in_the_portal_and_only_blind_indexes_are_kept(app, world):
    from tests.portal.conftest import Portal

    care = world.care_team()
    admin = world.staff(care.team, role="admin")
    portal = Portal(app, app.test_client())
    assert portal.login(admin).status_code == 302
    page = f"/portal/admin/accounts/{care.member.account.id}"
    assert "Ikke koblet" in portal.text(page)
    r = portal.post(page + "/helseid", {"national_id": "12345678901", "hpr_number": ""}, token_from=page)
    assert r.status_code == 302 and "Ikke et gyldig fødselsnummer" in portal.text(page)
    r = portal.post(page + "/helseid", {"national_id": NURSE_PID, "hpr_number": NURSE_HPR}, token_from=page)
    assert r.status_code == 302
    shown = portal.text(page)
    assert "Koblet med fødselsnummer og HPR-nummer" in shown and NURSE_PID not in shown
    with app.app_context():
        staff = db.session.get_one(Staff, care.member.staff.id)
        assert staff.helseid_pid_index and NURSE_PID not in staff.helseid_pid_index
        assert staff.helseid_hpr_index and NURSE_HPR not in staff.helseid_hpr_index
    # The same person cannot be linked to a second account.
    other = f"/portal/admin/accounts/{care.coordinator.account.id}"
    portal.post(other + "/helseid", {"national_id": NURSE_PID, "hpr_number": ""}, token_from=other)
    assert "En annen ansattkonto er allerede koblet" in portal.text(other)
    [event] = audit_events(app, "account.helseid_link")
    assert event.actor_account_id == admin.account.id and event.resource_id == str(care.member.account.id)


def test_only_an_administrator_may_link_for_helseid(app, world):
    from tests.portal.conftest import Portal

    care = world.care_team()
    portal = Portal(app, app.test_client())
    assert portal.login(care.coordinator).status_code == 302
    url = f"/portal/admin/accounts/{care.member.account.id}/helseid"
    r = portal.post(url, {"national_id": NURSE_PID}, token_from="/portal/")
    assert r.status_code == 302  # back to the page, saying only an administrator may
    assert audit_events(app, "account.helseid_link") == []
    with app.app_context():
        assert db.session.get_one(Staff, care.member.staff.id).helseid_pid_index is None


def test_the_command_line_links_and_unlinks_for_helseid(app, world, runner):
    care = world.care_team()
    username = care.member.account.username
    result = runner.invoke(args=["muli", "account", "link-helseid", username], input=f"{NURSE_PID}\n\n")
    assert result.exit_code == 0, result.output
    assert "linked to HelseID by national id" in result.output
    with app.app_context():
        assert db.session.get_one(Staff, care.member.staff.id).helseid_pid_index is not None
    result = runner.invoke(
        args=["muli", "account", "link-helseid", username, "--national-id", "", "--hpr", ""]
    )
    assert result.exit_code == 0 and "link removed" in result.output
    with app.app_context():
        assert db.session.get_one(Staff, care.member.staff.id).helseid_pid_index is None


# Off by default; the app learns whether it is on; logout offers the provider's end-session ----


def test_both_sign_ins_are_off_by_default_and_the_fallback_is_all_there_is(client):
    assert client.get("/api/v1/auth/sign-in-options").json == {"idporten": None, "idporten_logout": None}
    assert client.get("/auth/idporten/login").status_code == 404
    assert client.get("/portal/helseid/login").status_code == 404
    page = client.get("/portal/login").get_data(as_text=True)
    assert "HelseID" not in page and 'name="totp"' in page


def test_when_on_the_app_is_told_where_to_sign_in_and_out(client, on):
    assert client.get("/api/v1/auth/sign-in-options").json == {
        "idporten": "/auth/idporten/login",
        "idporten_logout": "/auth/idporten/logout",
    }
    assert "Logg inn med HelseID" in client.get("/portal/login").get_data(as_text=True)


def test_logout_offers_the_providers_end_session(app, client, on):
    configure(app, on, post_logout_redirect_uri="http://127.0.0.1:5000/app/")
    r = client.get("/auth/idporten/logout")
    assert r.status_code == 303
    assert r.headers["Location"].startswith(on.idporten.url + "/session/end?")
    assert "client_id=muli-app" in r.headers["Location"]
    assert "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fapp%2F" in r.headers["Location"]
    # The provider knows the end-session request (it answers its confirmation page).
    assert requests.get(r.headers["Location"], timeout=10).status_code == 200


def test_the_environment_turns_a_provider_on_and_production_wants_https(tmp_path):
    from muli.config import ConfigError, ProductionConfig, oidc_providers

    assert oidc_providers({}.get) == {}
    key = tmp_path / "helseid.jwk"
    key.write_text('{"kty": "RSA", "kid": "k1"}')
    env = {
        "MULI_IDPORTEN_ISSUER": "https://idporten.test.invalid/",
        "MULI_IDPORTEN_CLIENT_ID": "muli",
        "MULI_IDPORTEN_ACR": "idporten-loa-high",
        "MULI_HELSEID_ISSUER": "http://helseid.test.invalid",
        "MULI_HELSEID_CLIENT_ID": "muli-portal",
        "MULI_HELSEID_CLIENT_KEY_FILE": str(key),
        "MULI_HELSEID_DPOP": "1",
    }
    found = oidc_providers(env.get)
    assert found["idporten"].acr == "idporten-loa-high" and found["idporten"].auth_method == "none"
    assert found["idporten"].issuer == "https://idporten.test.invalid/"  # exactly as given
    helseid = found["helseid"]
    assert helseid.auth_method == "private_key_jwt" and helseid.client_key == {"kty": "RSA", "kid": "k1"}
    assert helseid.dpop and helseid.pid_claim == "helseid://claims/identity/pid" and helseid.acr == "4"
    config = ProductionConfig.__new__(ProductionConfig)
    for name in ProductionConfig.REQUIRED:
        setattr(config, name, "set")
    config.SQLALCHEMY_DATABASE_URI = "postgresql://db/muli"
    config.MULI_OIDC_PROVIDERS = found
    with pytest.raises(ConfigError, match="MULI_HELSEID_ISSUER must be an https"):
        config.check()


def test_helseid_requires_dpop_and_a_token_request_without_a_proof_is_refused(app, client, world, on):
    from dataclasses import replace

    care = world.care_team()
    link_staff(app, care.member.staff.id, NURSE_PID, NURSE_HPR)
    providers = app.config["MULI_OIDC_PROVIDERS"]
    app.config["MULI_OIDC_PROVIDERS"] = {**providers, "helseid": replace(providers["helseid"], dpop=False)}
    r = client.get(relative(staff_callback(app, client, on)))
    assert r.status_code == 400 and client.get("/portal/").status_code == 302
    [event] = audit_events(app, "auth.oidc_login")
    assert event.outcome == "refused" and event.reason.startswith("code-refused: invalid_")


def test_starting_sign_ins_is_bounded_per_address_so_nobody_can_make_muli_flood_the_providers(
    app, client, on
):
    """Every start sends the provider a pushed authorization request: past 20 a minute from
    one address the patient is sent back to the app to wait, staff get a page saying so, and
    the provider is not called."""
    for _ in range(20):
        assert start(client, "/auth/idporten/login").startswith(on.idporten.url)
    r = client.get("/auth/idporten/login")
    assert r.status_code == 303 and r.headers["Location"] == "/app/?signin=busy#/login"
    # The callback counts against the same bound (it redeems a code at the provider).
    assert (
        client.get("/auth/idporten/callback?state=x&code=y")
        .headers["Location"]
        .endswith("signin=busy#/login")
    )

    for _ in range(20):
        assert start(client, "/portal/helseid/login").startswith(on.helseid.url)
    r = client.get("/portal/helseid/login", headers={"Accept-Language": "nb"})
    assert r.status_code == 429
    assert "for mange innlogginger fra dette nettverket" in r.get_data(as_text=True)
    # Another address is not held up by this one.
    other = client.get("/portal/helseid/login", environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 303 and other.headers["Location"].startswith(on.helseid.url)
