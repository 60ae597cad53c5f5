"""Sign-in through a national OpenID Provider: ID-porten for patients, HelseID for staff.

The authorization code flow with PKCE (S256), state and nonce, `acr_values`, pushed
authorization requests (RFC 9126) where the provider offers them, and the client
authenticating with `private_key_jwt` (RFC 7523) when it has a key. Authlib makes the OAuth
requests and joserfc checks the ID token (issuer, audience, signature from the provider's
JWKS, expiry, nonce); nothing of JOSE or OAuth is written here. Discovery through
`/.well-known/openid-configuration`; no provider's host name is known to this module.

What the flow needs between the redirect and the callback (`Pending`: state, nonce, PKCE
verifier, the level asked) is kept by the web layer in a signed, short-lived, HttpOnly cookie;
nothing about the person is in it. After the token is checked, the person is found through
the blind index of the national identity number (`pid`): an enrolled patient, or a staff
account an administrator has linked (national id and/or HPR number). The web layer then
issues MULI's own session exactly as after a password login.

Every refusal is a `SignInRefused` with a short reason slug and an audit event
(`auth.oidc_login`, outcome `refused`); the person's number is never in either.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from muli.models.accounts import Account
from muli.models.people import Patient, Staff
from muli.platform.context import Actor, Ctx
from muli.platform.errors import Conflict, NotFound, ValidationFailed
from muli.trust import accounts, audit, lifecycle, national_id

DISCOVERY = "/.well-known/openid-configuration"
ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256"]
METADATA_SECONDS = 3600  # discovery is read again after an hour
HTTP_TIMEOUT = 10
CLOCK_LEEWAY = 30  # seconds of clock difference allowed on exp / iat
TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
}


class SignInRefused(Exception):
    """A sign-in through the provider that must not go on: `reason` is a short slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ProviderConfig:
    """One provider, from the environment (`muli/config.py`, docs/oidc.md)."""

    name: str  # "idporten" or "helseid"
    issuer: str
    client_id: str
    scopes: str = "openid"
    # The level of assurance asked for (sent as acr_values when `acr_claim` is "acr") and the
    # claim and ordered levels it is checked against; no `acr`: no check.
    acr: str | None = None
    acr_claim: str = "acr"
    acr_levels: tuple[str, ...] = ()
    pid_claim: str = "pid"
    hpr_claim: str | None = None
    # A private JWK (dict) for private_key_jwt; without one the client is public ("none").
    client_key: dict | None = None
    client_secret: str | None = None
    use_par: bool = True
    dpop: bool = False
    redirect_uri: str | None = None
    post_logout_redirect_uri: str | None = None

    @property
    def auth_method(self) -> str:
        if self.client_key:
            return "private_key_jwt"
        return "client_secret_basic" if self.client_secret else "none"


@dataclass
class Pending:
    """What the callback must find again: kept signed in a short-lived HttpOnly cookie."""

    provider: str
    state: str
    nonce: str
    verifier: str | None
    redirect_uri: str
    acr: str | None = None

    def as_dict(self) -> dict:
        return {
            "p": self.provider,
            "s": self.state,
            "n": self.nonce,
            "v": self.verifier,
            "r": self.redirect_uri,
            "a": self.acr,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Pending:
        return cls(data["p"], data["s"], data["n"], data.get("v"), data["r"], data.get("a"))


@dataclass
class Verified:
    """The checked ID token's claims, and what the provider answered besides."""

    claims: dict
    id_token: str


@dataclass
class Provider:
    """A configured provider with its discovery document and keys, cached per process."""

    config: ProviderConfig
    http: requests.Session = field(default_factory=requests.Session)
    _metadata: dict | None = None
    _metadata_at: float = 0.0
    _jwks: KeySet | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # Discovery and keys -------------------------------------------------------------------

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
                url = self.config.issuer.rstrip("/") + DISCOVERY
                try:
                    response = self.http.get(url, timeout=HTTP_TIMEOUT)
                    response.raise_for_status()
                    document = response.json()
                except (requests.RequestException, ValueError) as error:
                    raise SignInRefused("provider-unavailable", type(error).__name__)
                if document.get("issuer") != self.config.issuer:
                    raise SignInRefused("provider-unavailable", "discovery names another issuer")
                self._metadata, self._metadata_at = document, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys; read again when asked (a key id not seen: rotation)."""
        with self._lock:
            cached = self._jwks
        if cached is not None and not refresh:
            return cached
        try:
            response = self.http.get(self.metadata()["jwks_uri"], timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, KeyError, JoseError) as error:
            raise SignInRefused("provider-unavailable", f"keys: {type(error).__name__}")
        with self._lock:
            self._jwks = keys
        return keys

    def end_session_endpoint(self) -> str | None:
        try:
            return self.metadata().get("end_session_endpoint")
        except SignInRefused:
            return None

    # The flow ---------------------------------------------------------------------------

    def _client(self) -> OAuth2Session:
        c = self.config
        if c.client_key:
            session = OAuth2Session(
                c.client_id,
                _private_key(c.client_key),
                token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name
                code_challenge_method="S256",
                default_timeout=HTTP_TIMEOUT,
            )
            # The assertion's audience is the issuer (as ID-porten, HelseID and FAPI 2.0 ask), for
            # the token request and the pushed authorization request alike.
            session.register_client_auth_method(PrivateKeyJWT(c.issuer, alg=_signing_alg(c.client_key)))
            return session
        return OAuth2Session(
            c.client_id,
            c.client_secret,
            token_endpoint_auth_method=c.auth_method,
            code_challenge_method="S256",
            default_timeout=HTTP_TIMEOUT,
        )

    def begin(self, redirect_uri: str, *, locale: str | None = None) -> tuple[str, Pending]:
        """The provider's authorization URL to send the browser to, and what to keep."""
        c = self.config
        meta = self.metadata()
        pending = Pending(
            provider=c.name,
            state=generate_token(43),
            nonce=generate_token(43),
            verifier=generate_token(64),
            redirect_uri=redirect_uri,
            acr=c.acr,
        )
        params: dict[str, Any] = {
            "response_type": "code",
            "client_id": c.client_id,
            "redirect_uri": redirect_uri,
            "scope": c.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        if c.acr and c.acr_claim == "acr":
            params["acr_values"] = c.acr
        if locale:
            params["ui_locales"] = locale
        authorize = meta["authorization_endpoint"]
        par = meta.get("pushed_authorization_request_endpoint")
        with self._client() as client:
            if par and c.use_par:
                # RFC 9126: the parameters go to the provider directly, authenticated; the
                # browser carries only the request_uri.
                auth = None if c.auth_method == "none" else client.client_auth(c.auth_method)
                try:
                    response = client.post(par, data=params, auth=auth, withhold_token=True)
                    answer = response.json()
                except (requests.RequestException, ValueError) as error:
                    raise SignInRefused("provider-unavailable", f"PAR: {type(error).__name__}")
                if response.status_code not in (200, 201) or "request_uri" not in answer:
                    raise SignInRefused(
                        "provider-refused", f"PAR: {answer.get('error', response.status_code)}"
                    )
                url = add_params_to_uri(
                    authorize, {"client_id": c.client_id, "request_uri": answer["request_uri"]}
                )
                return url, pending
            url, _ = client.create_authorization_url(
                authorize,
                state=pending.state,
                code_verifier=pending.verifier,
                redirect_uri=redirect_uri,
                scope=c.scopes,
                nonce=pending.nonce,
                **{k: v for k, v in params.items() if k in ("acr_values", "ui_locales")},
            )
            return url, pending

    def finish(self, pending: Pending | None, args: dict[str, str]) -> Verified:
        """The callback: check state, trade the code (with the PKCE verifier), check the ID token."""
        c = self.config
        if pending is None or pending.provider != c.name:
            raise SignInRefused("no-pending-sign-in")
        if not _same(args.get("state"), pending.state):
            raise SignInRefused("state-mismatch")
        if args.get("iss") is not None and not _same(args.get("iss"), c.issuer):
            # RFC 9207: the answer names the provider that sent it (a mix-up of providers).
            raise SignInRefused("issuer-mismatch")
        if args.get("error"):
            raise SignInRefused("provider-refused", str(args["error"])[:60])
        code = args.get("code")
        if not code:
            raise SignInRefused("no-code")
        meta = self.metadata()
        dpop_key = ECKey.generate_key("P-256") if c.dpop else None
        server_nonce: list[str] = []

        def remember_nonce(response):
            if response.headers.get("DPoP-Nonce"):
                server_nonce.append(response.headers["DPoP-Nonce"])
            return response

        with self._client() as client:
            client.register_compliance_hook("access_token_response", remember_nonce)
            # With DPoP, a provider that wants its own nonce in the proof answers
            # `use_dpop_nonce` with one (RFC 9449 section 8): the request is made once more.
            for attempt in range(2 if dpop_key else 1):
                headers = dict(TOKEN_HEADERS)
                if dpop_key is not None:
                    nonce = server_nonce[-1] if server_nonce else None
                    headers["DPoP"] = _dpop_proof(dpop_key, "POST", meta["token_endpoint"], nonce)
                try:
                    token = client.fetch_token(
                        meta["token_endpoint"],
                        grant_type="authorization_code",
                        code=code,
                        redirect_uri=pending.redirect_uri,
                        code_verifier=pending.verifier,
                        headers=headers,
                    )
                    break
                except (OAuth2Error, OAuthError) as error:
                    if error.error == "use_dpop_nonce" and attempt == 0 and server_nonce:
                        continue
                    raise SignInRefused("code-refused", str(error.error)[:60])
                except (requests.RequestException, ValueError) as error:
                    raise SignInRefused("provider-unavailable", f"token: {type(error).__name__}")
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("id-token-invalid", "no ID token")
        claims = self.verify_id_token(id_token, pending)
        return Verified(claims, id_token)

    def verify_id_token(self, id_token: str, pending: Pending) -> dict:
        """Signature from the provider's keys (read again once for an unknown key id), then
        issuer, audience, expiry, nonce and the level of assurance."""
        c = self.config
        try:
            decoded = _decode(id_token, self.keys())
        except _UnknownKey:
            try:
                decoded = _decode(id_token, self.keys(refresh=True))
            except _UnknownKey:
                raise SignInRefused("id-token-invalid", "signed with a key the provider does not publish")
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": c.issuer},
            aud={"essential": True, "value": c.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        )
        claims = decoded.claims
        try:
            registry.validate(claims)
        except JoseError as error:
            raise SignInRefused("id-token-invalid", f"{error.error}: {error.description}"[:120])
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != c.client_id:
            raise SignInRefused("id-token-invalid", "azp is not this client")
        if not _same(claims.get("nonce"), pending.nonce):
            raise SignInRefused("id-token-invalid", "nonce differs")
        if pending.acr:
            got = claims.get(c.acr_claim)
            levels = c.acr_levels or (pending.acr,)
            if got is None or str(got) not in levels or levels.index(str(got)) < levels.index(pending.acr):
                raise SignInRefused("acr-too-low", f"asked {pending.acr}, got {got}")
        return claims


def _same(given: object, expected: str) -> bool:
    """A constant-time comparison that any text can be put to (non-ASCII included)."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _dpop_proof(key: ECKey, method: str, url: str, nonce: str | None = None) -> str:
    """A DPoP proof (RFC 9449) for one request, with a key made for this sign-in: the
    provider binds the tokens it answers to that key. MULI itself only reads the ID token,
    so the key is not kept."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    claims: dict[str, Any] = {"jti": generate_token(32), "htm": method, "htu": url, "iat": int(time.time())}
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode(header, claims, key)


class _UnknownKey(Exception):
    pass


def _decode(value: str, keys: KeySet):
    def pick(obj):
        try:
            return keys.get_by_kid(obj.headers().get("kid"))
        except InvalidKeyIdError:
            raise _UnknownKey()

    try:
        return jwt.decode(value, pick, algorithms=ID_TOKEN_ALGORITHMS)
    except _UnknownKey:
        raise
    except (JoseError, ValueError) as error:
        raise SignInRefused("id-token-invalid", f"signature: {type(error).__name__}")


def _private_key(jwk: dict):
    return ECKey.import_key(jwk) if jwk.get("kty") == "EC" else RSAKey.import_key(jwk)


def _signing_alg(jwk: dict) -> str:
    return jwk.get("alg") or ("ES256" if jwk.get("kty") == "EC" else "RS256")


# Who signed in -----------------------------------------------------------------------------


def _refuse(
    ctx: Ctx, provider: str, refused: SignInRefused, account_id: uuid.UUID | None = None
) -> SignInRefused:
    actor = Actor(kind="anonymous", account_id=account_id, ip=ctx.actor.ip, request_id=ctx.actor.request_id)
    audit.record(
        ctx.session,
        actor,
        "auth.oidc_login",
        outcome="refused",
        resource=provider,
        reason=str(refused)[:200],
    )
    return refused


def refused(ctx: Ctx, provider: str, error: SignInRefused) -> None:
    """Audit a refusal met before the person was known (state, token, level)."""
    _refuse(ctx, provider, error)


def patient_account(ctx: Ctx, provider: str, claims: dict, pid_claim: str = "pid") -> Account:
    """The enrolled patient whose national identity number the provider vouched for.

    Found through the blind index; one enrolled but not yet activated gets an account here
    (no password: the provider is the sign-in). Not enrolled, or enrolment ended: refused."""
    pid = str(claims.get(pid_claim) or "")
    if not national_id.is_valid(pid):
        raise _refuse(ctx, provider, SignInRefused("no-national-id"))
    candidates = ctx.session.scalars(
        select(Patient)
        .where(Patient.national_id_index == ctx.keys.blind_index(pid), Patient.status != "ended")
        .order_by(Patient.enrolled_on.desc(), Patient.created_at.desc())
    ).all()
    if not candidates:
        raise _refuse(ctx, provider, SignInRefused("not-enrolled"))
    patient = candidates[0]
    account = ctx.session.get(Account, patient.account_id) if patient.account_id else None
    if account is None:
        account = Account(
            username=f"{provider}.{secrets.token_hex(8)}",
            kind="patient",
            # Nothing can be typed to match: the provider is this account's way in.
            password_hash=accounts.hash_password(secrets.token_urlsafe(32)),
        )
        ctx.session.add(account)
        ctx.session.flush()
        patient.account_id = account.id
    if account.disabled_at is not None:
        raise _refuse(ctx, provider, SignInRefused("account-disabled"), account.id)
    _signed_in(ctx, provider, account, patient_id=patient.id)
    return account


def staff_account(ctx: Ctx, provider: str, claims: dict, pid_claim: str, hpr_claim: str | None) -> Account:
    """The staff account an administrator linked to this national id and/or HPR number."""
    pid = str(claims.get(pid_claim) or "")
    hpr = str(claims.get(hpr_claim) or "") if hpr_claim else ""
    if not national_id.is_valid(pid):
        raise _refuse(ctx, provider, SignInRefused("no-national-id"))
    pid_key = ctx.keys.blind_index(pid)
    hpr_key = ctx.keys.blind_index("hpr:" + hpr) if hpr else None
    linked = ctx.session.scalars(select(Staff).where(Staff.helseid_pid_index == pid_key)).all()
    if not linked and hpr_key:
        linked = ctx.session.scalars(
            select(Staff).where(Staff.helseid_hpr_index == hpr_key, Staff.helseid_pid_index.is_(None))
        ).all()
    # An HPR number linked too must be the one in the token.
    linked = [s for s in linked if s.helseid_hpr_index is None or s.helseid_hpr_index == hpr_key]
    if len(linked) != 1:
        raise _refuse(ctx, provider, SignInRefused("not-linked"))
    account = linked[0].account
    if account.disabled_at is not None:
        raise _refuse(ctx, provider, SignInRefused("account-disabled"), account.id)
    _signed_in(ctx, provider, account)
    return account


def _signed_in(ctx: Ctx, provider: str, account: Account, patient_id: uuid.UUID | None = None) -> None:
    account.last_login_at = ctx.now()
    audit.record(
        ctx.session,
        accounts.actor_for(ctx, account),
        "auth.oidc_login",
        patient_id=patient_id,
        resource=provider,
        resource_id=account.id,
    )


def link_helseid(ctx: Ctx, account_id: uuid.UUID, pid: str | None, hpr: str | None) -> None:
    """An administrator (or the command line) links a staff account to the person HelseID
    vouches for; both empty: the link is removed."""
    lifecycle.require_admin(ctx)
    staff = ctx.session.scalars(select(Staff).where(Staff.account_id == account_id)).first()
    if staff is None:
        raise NotFound("No such staff account.")
    link_staff(ctx, staff, pid, hpr)


def link_staff(ctx: Ctx, staff: Staff, pid: str | None, hpr: str | None) -> None:
    """Link (or, with both empty, unlink) a staff account to HelseID: the national id and
    the HPR number are kept as blind indexes only."""
    pid = (pid or "").strip() or None
    hpr = (hpr or "").strip() or None
    if pid is not None and not national_id.is_valid(pid):
        raise ValidationFailed("national_id", "Not a valid national identity number.")
    if hpr is not None and not (hpr.isdigit() and 1 <= len(hpr) <= 9):
        raise ValidationFailed("hpr_number", "An HPR number is up to nine digits.")
    pid_key = ctx.keys.blind_index(pid) if pid else None
    hpr_key = ctx.keys.blind_index("hpr:" + hpr) if hpr else None
    for column, key in ((Staff.helseid_pid_index, pid_key), (Staff.helseid_hpr_index, hpr_key)):
        if key is not None:
            other = ctx.session.scalars(select(Staff.id).where(column == key, Staff.id != staff.id)).first()
            if other is not None:
                raise Conflict("Another staff account is linked to this person.", code="helseid-linked")
    staff.helseid_pid_index = pid_key
    staff.helseid_hpr_index = hpr_key
    audit.record(
        ctx.session,
        ctx.actor,
        "account.helseid_link",
        resource="account",
        resource_id=staff.account_id,
        reason="unlinked" if pid_key is None and hpr_key is None else None,
    )
