"""Accounts: passwords, the second factor, logging in (throttled by `throttle`), activation, tokens."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache, cached_property
from importlib import resources

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from muli.models.accounts import Account, RefreshToken, RevokedToken
from muli.models.people import ActivationCode, Agency, Patient, Staff, TeamMembership
from muli.models.sessions import RefreshFamily
from muli.platform.context import Actor, Ctx
from muli.platform.crypto import aad_for
from muli.platform.errors import (
    ActivationFailed,
    AuthenticationFailed,
    Conflict,
    TooManyAttempts,
    ValidationFailed,
)
from muli.platform.words import N_
from muli.trust import audit, audit_words, sessions, throttle

PASSWORD_MIN_LENGTH = 10
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against unknown usernames so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("muli.data").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


def check_password_policy(password: str, username: str = "") -> None:
    """Refuse short, common or username-based passwords (422 naming `password`)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed("password", "Use at least %(n)d characters.", {"n": PASSWORD_MIN_LENGTH})
    folded = password.casefold()
    if folded in _common_passwords() or (username and username.casefold() in folded):
        raise ValidationFailed("password", "This password is too easy to guess.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(account: Account | None, password: str) -> bool:
    """Whether the password is the account's (Argon2; the same time for no account)."""
    return _password_matches(account, password)


def _password_matches(account: Account | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
            and account is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def _totp_step(ctx: Ctx, account: Account, code: str | None) -> int | None:
    """The time step the code belongs to, or None; a step once used is not accepted again."""
    secret = ctx.keys.open(account, "totp_secret")
    if not code or not secret:
        return None
    totp = pyotp.TOTP(secret)
    now = ctx.now()
    for offset in (0, -1, 1):
        at = now + timedelta(seconds=30 * offset)
        if secrets.compare_digest(totp.at(at), code.strip()):
            step = totp.timecode(at)
            if account.totp_last_step is not None and step <= account.totp_last_step:
                return None
            return step
    return None


def authenticate(
    ctx: Ctx,
    username: str,
    password: str,
    totp: str | None,
    *,
    device_id: str | None = None,
    on_call: throttle.OnCall | None = None,
) -> Account:
    """Check credentials (and TOTP for staff). Every failure looks the same to the caller.

    Throttled per username and source (`muli.trust.throttle`): an attempt during its
    source's wait is refused (429) before the password is looked at. `device_id` is the id
    from the browser's device cookie, if any; `on_call` answers whether an account's person
    is on call now (handed in by the web layer). Failures, refusals and the ceiling being
    crossed are audited, with the source as a keyed hash (`resource_id`).
    """
    account = ctx.session.scalars(select(Account).where(Account.username == username)).first()
    source = throttle.source_for(ctx, account, device_id)
    anonymous = Actor(
        kind="anonymous",
        account_id=account.id if account else None,
        ip=ctx.actor.ip,
        request_id=ctx.actor.request_id,
    )
    ukey = throttle.username_key(ctx, username)
    try:
        gate = throttle.enter(ctx, ukey, source, account.id if account else None)
    except TooManyAttempts as refused:
        audit.record(
            ctx.session,
            anonymous,
            "auth.login",
            outcome="throttled",
            resource=source.resource,
            resource_id=source.key,
            reason=audit_words.REASON_THROTTLED % {"n": refused.retry_after},
        )
        raise
    ok = _password_matches(account, password)
    step = None
    if ok and account is not None and account.kind == "staff":
        step = _totp_step(ctx, account, totp)
        ok = step is not None
    if ok and account is not None and account.disabled_at is not None:
        ok = False
    if not ok or account is None:
        failure = throttle.count_failure(ctx, gate, on_call)
        reason = None
        if failure.wait_seconds:
            ceiling = " (account over ceiling)" if failure.strict else ""
            reason = f"next try in {failure.wait_seconds} s{ceiling}"
        audit.record(
            ctx.session,
            anonymous,
            "auth.login",
            outcome="failed",
            resource=source.resource,
            resource_id=source.key,
            reason=reason,
        )
        if failure.crossed_ceiling:
            audit.record(
                ctx.session,
                anonymous,
                "auth.throttle",
                outcome="ceiling",
                resource=source.resource,
                resource_id=source.key,
                reason=audit_words.REASON_USERNAME_CEILING
                % {"n": failure.account_failures, "h": ctx.settings.login_window_seconds // 3600},
            )
        raise AuthenticationFailed("Wrong username, password or code.")
    throttle.clear(ctx, gate)
    if step is not None:
        account.totp_last_step = step
    account.last_login_at = ctx.now()
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    audit.record(
        ctx.session, actor_for(ctx, account), "auth.login", resource=source.resource, resource_id=source.key
    )
    return account


def actor_for(ctx: Ctx, account: Account, *, ip: str | None = None, request_id: str | None = None) -> Actor:
    """The Actor behind an account: staff with agency and teams, or a patient."""
    ip = ip or ctx.actor.ip
    request_id = request_id or ctx.actor.request_id
    if account.kind == "staff":
        staff = account.staff  # loaded with the account by `token_account`, else one query
        if staff is None:  # an account whose person was never made: it cannot act
            raise AuthenticationFailed("The account is not in use.")
        return Actor(
            kind="staff",
            account_id=account.id,
            name=staff.display_name,
            role=staff.role,
            staff_id=staff.id,
            agency_id=staff.agency_id,
            agency_name=staff.agency.name,
            team_ids=frozenset(staff.team_ids),
            ip=ip,
            request_id=request_id,
        )
    patient = account.patient
    if patient is None:
        raise AuthenticationFailed("The account is not in use.")
    return Actor(
        kind="patient",
        account_id=account.id,
        name=ctx.keys.open(patient, "display_name"),
        role="patient",
        patient_id=patient.id,
        team_ids=frozenset({patient.team_id}),
        ip=ip,
        request_id=request_id,
    )


def new_activation_code() -> str:
    """Ten characters from an alphabet without look-alikes, grouped for reading aloud."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def issue_activation_code(ctx: Ctx, patient: Patient) -> str:
    """A new one-time code for the patient; earlier unused ones stop working."""
    ctx.session.execute(
        update(ActivationCode)
        .where(ActivationCode.patient_id == patient.id, ActivationCode.used_at.is_(None))
        .values(used_at=ctx.now())
    )
    code = new_activation_code()
    ctx.session.add(
        ActivationCode(
            patient_id=patient.id,
            code_hash=ctx.keys.keyed_hash("activation", _normalise_code(code)),
            expires_at=ctx.now() + timedelta(days=ctx.settings.activation_days),
        )
    )
    return code


def _activation_failed(ctx: Ctx, gate: throttle.Gate, detail: str) -> ActivationFailed:
    """Count a failed activation against its source and audit it; the error keeps both."""
    failure = throttle.count_failure(ctx, gate)
    source = gate.source
    wait = f"next try in {failure.wait_seconds} s" if failure.wait_seconds else None
    audit.record(
        ctx.session,
        ctx.actor,
        "auth.activate",
        outcome="failed",
        resource=source.resource,
        resource_id=source.key,
        reason=wait,
    )
    if failure.crossed_ceiling:
        audit.record(
            ctx.session,
            ctx.actor,
            "auth.throttle",
            outcome="ceiling",
            resource=source.resource,
            resource_id=source.key,
            reason=audit_words.REASON_ACTIVATION_CEILING
            % {"n": failure.account_failures, "h": ctx.settings.login_window_seconds // 3600},
        )
    return ActivationFailed(detail)


def activate(ctx: Ctx, code: str, username: str, password: str) -> Account:
    """A patient sets credentials with the one-time code from enrolment.

    Throttled like login (`muli.trust.throttle`), all activation codes counted as one
    "username" per source address: a source that keeps guessing waits 1, 2, 4 ... s (429,
    `Retry-After`, the code not even checked), and once guesses from all sources pass the
    ceiling every source waits from its first failure. Failures and refusals are audited
    (`auth.activate`, outcome `failed` / `throttled`, the source as a keyed hash).
    """
    source = throttle.source_for(ctx, None, None)
    gate_key = ctx.keys.keyed_hash("activation-throttle", "every activation code")
    try:
        gate = throttle.enter(ctx, gate_key, source, None)
    except TooManyAttempts as refused:
        audit.record(
            ctx.session,
            ctx.actor,
            "auth.activate",
            outcome="throttled",
            resource=source.resource,
            resource_id=source.key,
            reason=audit_words.REASON_THROTTLED % {"n": refused.retry_after},
        )
        raise
    row = ctx.session.scalars(
        select(ActivationCode)
        .where(ActivationCode.code_hash == ctx.keys.keyed_hash("activation", _normalise_code(code)))
        .with_for_update()
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= ctx.now():
        raise _activation_failed(ctx, gate, N_("This activation code is used, expired or unknown."))
    patient = ctx.session.get_one(Patient, row.patient_id)
    if patient.account_id is not None:
        raise _activation_failed(ctx, gate, N_("This patient already has an account."))
    throttle.clear(ctx, gate)
    check_password_policy(password, username)
    if ctx.session.scalars(select(Account.id).where(Account.username == username)).first():
        raise Conflict("This username is taken.", code="username-taken")
    account = Account(username=username, kind="patient", password_hash=hash_password(password))
    ctx.session.add(account)
    ctx.session.flush()
    patient.account_id = account.id
    row.used_at = ctx.now()
    audit.record(ctx.session, actor_for(ctx, account), "auth.activate", patient_id=patient.id)
    return account


# Token bookkeeping. The tokens themselves are JWTs made by the web layer.


def remember_refresh_token(
    ctx: Ctx,
    account_id: uuid.UUID,
    jti: str,
    family_id: uuid.UUID,
    expires_at: datetime,
    issued_at: datetime | None = None,
) -> RefreshToken:
    token = RefreshToken(
        jti=jti, account_id=account_id, family_id=family_id, expires_at=expires_at, issued_at=issued_at
    )
    ctx.session.add(token)
    return token


# A phone on one bar of signal may send a refresh and never see the answer; it can only
# retry with the token it still has. Within this window, and only while the successor has
# not been used, the retry is given the *same* successor again (docs/authentication.md,
# "Refresh tokens"): a replayer racing the rightful client gets nothing the client does not
# also hold, and the first of the two to use it makes the other's use a reuse.
REFRESH_RETRY_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Spent:
    """A refresh token traded in: the caller issues a new pair in `token.family_id`, or, on a
    retry after a lost answer, answers `successor` (the very refresh token issued before)."""

    token: RefreshToken
    successor: RefreshToken | None = None


def spend_refresh_token(ctx: Ctx, jti: str) -> Spent:
    """Trade a refresh token in. Reuse of one whose successor was used (or after the grace)
    ends its whole family and is audited as a security event (`auth.refresh_reuse`)."""
    token = ctx.session.get(RefreshToken, jti, with_for_update=True)
    now = ctx.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        raise AuthenticationFailed("This refresh token is no longer valid.")
    family = ctx.session.get(RefreshFamily, token.family_id)
    if family is None or family.ended_at is not None or family.account_id != token.account_id:
        raise AuthenticationFailed("This refresh token is no longer valid.")
    if family.ends_at is not None and family.ends_at <= now:
        sessions.end_family(ctx, family.id, "reauth")
        raise AuthenticationFailed(
            "Sign in again with your password and code.", code="reauthentication-required"
        )
    if token.used_at is None:
        token.used_at = family.last_used_at = now
        return Spent(token)
    successor = ctx.session.get(RefreshToken, token.replaced_by) if token.replaced_by else None
    if (
        successor is not None
        and successor.used_at is None
        and successor.revoked_at is None
        and now - token.used_at <= REFRESH_RETRY_GRACE
    ):
        audit.record(
            ctx.session,
            ctx.actor,
            "auth.refresh_retry",
            resource="refresh_token_family",
            resource_id=token.family_id,
            reason=audit_words.REASON_RETRY,
        )
        return Spent(token, successor)
    sessions.end_family(ctx, token.family_id, "reuse")
    audit.record(
        ctx.session,
        ctx.actor,
        "auth.refresh_reuse",
        outcome="revoked_family",
        resource="refresh_token_family",
        resource_id=token.family_id,
        reason=audit_words.REASON_REUSE,
    )
    raise AuthenticationFailed("This refresh token was already used; its sessions are ended.")


def revoke_access_token(ctx: Ctx, jti: str, expires_at: datetime) -> None:
    if ctx.session.get(RevokedToken, jti) is None:
        ctx.session.add(RevokedToken(jti=jti, expires_at=expires_at))


def revoke_refresh_token(ctx: Ctx, jti: str, account_id: uuid.UUID) -> None:
    """Logout: the refresh token (only the caller's own) and its family stop working."""
    token = ctx.session.get(RefreshToken, jti)
    if token is not None and token.account_id == account_id:
        sessions.end_family(ctx, token.family_id, "logout", account_id)


def family_of(payload: dict) -> uuid.UUID | None:
    """The refresh family (login) a token belongs to: its `fam` claim, if it has a valid one."""
    try:
        return uuid.UUID(str(payload["fam"])) if payload.get("fam") else None
    except ValueError:
        return None


def token_is_revoked(ctx: Ctx, payload: dict) -> bool:
    """True when a presented token must not count: revoked, spent, or its account disabled."""
    return token_account(ctx, payload) is None


def _token_account_query(
    person: _AbstractLoad,
) -> Select[Account, str, uuid.UUID, datetime | None, datetime | None]:
    """The token check's one query (see `token_account`), built once per kind of account: it
    runs on every authenticated request, and building it was a fifth of the check's time.
    A token of a login (its `fam`) counts while that login has not ended: exact, unlike
    `iat`, which has whole seconds only."""
    return (
        select(Account, RevokedToken.jti, RefreshFamily.id, RefreshFamily.ended_at, RefreshFamily.ends_at)
        .select_from(Account)
        .options(person)
        .where(Account.id == bindparam("account_id"))
        .outerjoin(RevokedToken, RevokedToken.jti == bindparam("jti"))
        .outerjoin(
            RefreshFamily,
            (RefreshFamily.id == bindparam("family_id")) & (RefreshFamily.account_id == Account.id),
        )
    )


_TOKEN_ACCOUNT: dict[str, Select[Account, str, uuid.UUID, datetime | None, datetime | None]] = {
    "staff": _token_account_query(joinedload(Account.staff).selectinload(Staff.memberships)),
    "patient": _token_account_query(joinedload(Account.patient)),
}


def _token_claims(payload: dict) -> tuple[uuid.UUID, uuid.UUID | None] | None:
    """The account and login (`fam`) a token names, or None when it must not count."""
    # A token must expire and name its account and itself. One that does not (minted by
    # mistake without an expiry, say) never counts, rather than counting forever.
    if not all(payload.get(claim) for claim in ("exp", "iat", "jti", "sub")):
        return None
    try:
        account_id = uuid.UUID(str(payload["sub"]))
    except ValueError:
        return None
    family_id = family_of(payload)
    if payload.get("fam") and family_id is None:
        return None
    return account_id, family_id


def _login_counts(ctx: Ctx, payload: dict, family_id: uuid.UUID | None, login) -> bool:
    """Whether the token's account and login still count, its revocation aside. `login`:
    the account's `disabled_at` and `tokens_valid_after`, the revoked jti (not looked at
    here), and the login's id, `ended_at` and `ends_at`, as the token queries read them."""
    disabled_at, tokens_valid_after, _, family_found, family_ended_at, family_ends_at = login
    if disabled_at is not None:
        return False
    if family_id is not None:
        if family_found is None or family_ended_at is not None:
            return False
        # A refresh token past its login's limit is refused by `spend_refresh_token`, which
        # tells the client to sign in again (`reauthentication-required`).
        if family_ends_at is not None and family_ends_at <= ctx.now() and payload.get("type") != "refresh":
            return False
    elif tokens_valid_after is not None and payload["iat"] < tokens_valid_after.timestamp():
        # A token without a login (none are issued any more): `iat` is whole seconds, so one
        # issued in the second of a forced end is refused too, whether before it or after.
        return False
    return True


def token_account(ctx: Ctx, payload: dict) -> Account | None:
    """The account a presented token speaks for, or None when the token must not count
    (refresh and logout; an API request's token goes through `token_actor`)."""
    claims = _token_claims(payload)
    if claims is None:
        return None
    account_id, family_id = claims
    # The `kind` claim only chooses what to load along; the account row decides the kind.
    query = _TOKEN_ACCOUNT["staff" if payload.get("kind") == "staff" else "patient"]
    params = {"account_id": account_id, "jti": str(payload["jti"]), "family_id": family_id}
    row = ctx.session.execute(query, params).unique().first()
    if row is None:
        return None
    account, revoked_jti, *family = row
    if not _login_counts(
        ctx, payload, family_id, (account.disabled_at, account.tokens_valid_after, None, *family)
    ):
        return None
    if payload.get("type") == "refresh":
        token = ctx.session.get(RefreshToken, payload["jti"])
        return account if token is not None and token.revoked_at is None else None
    return account if revoked_jti is None else None


# The hot path: an API request's access token becomes its Actor in one statement, built
# once (bind parameters, SQLAlchemy's compiled cache). A patient's row comes as the ORM
# entity with its team (`Patient.team` is joined), so the services' `own_patient` finds it
# in the session; staff need no entity, only what the Actor holds (a row per team).
_ACCOUNT = Account.__table__.c
_REVOKED = RevokedToken.__table__.c
_FAMILY = RefreshFamily.__table__.c
_STAFF = Staff.__table__.c
_AGENCY = Agency.__table__.c
_MEMBER = TeamMembership.__table__.c


def _login_columns(account_table):
    return (
        account_table.kind,
        account_table.disabled_at,
        account_table.tokens_valid_after,
        _REVOKED.jti,
        _FAMILY.id,
        _FAMILY.ended_at,
        _FAMILY.ends_at,
    )


def _with_login(query: Select, account_id_column) -> Select:
    return (
        query.where(account_id_column == bindparam("account_id"))
        .outerjoin(RevokedToken.__table__, _REVOKED.jti == bindparam("jti"))
        .outerjoin(
            RefreshFamily.__table__,
            (_FAMILY.id == bindparam("family_id")) & (_FAMILY.account_id == account_id_column),
        )
    )


_PATIENT_ACTOR = _with_login(
    select(Patient, *_login_columns(Account.__table__.c))
    .select_from(Account.__table__)
    .outerjoin(Patient, Patient.account_id == _ACCOUNT.id),
    _ACCOUNT.id,
)
_STAFF_ACTOR = _with_login(
    select(
        *_login_columns(_ACCOUNT),
        _STAFF.id,
        _STAFF.display_name,
        _STAFF.role,
        _STAFF.agency_id,
        _AGENCY.name,
        _MEMBER.team_id,
    )
    .select_from(Account.__table__)
    .outerjoin(Staff.__table__, _STAFF.account_id == _ACCOUNT.id)
    .outerjoin(Agency.__table__, _AGENCY.id == _STAFF.agency_id)
    .outerjoin(TeamMembership.__table__, _MEMBER.staff_id == _STAFF.id),
    _ACCOUNT.id,
)
_NOT_IN_USE = N_("The account is not in use.")
TOKEN_PERSON = "muli.token_person"  # noqa: S105 - a session.info key, no secret


def token_actor(ctx: Ctx, payload: dict) -> Actor | None:
    """The Actor an access token speaks for (with `ctx.actor`'s address and request id), or
    None when the token must not count: the same decision as `token_account`, in one
    statement that loads only what the Actor needs. An account whose person was never made
    cannot act (AuthenticationFailed, as `actor_for` says)."""
    claims = _token_claims(payload)
    if claims is None or payload.get("type") == "refresh":
        return None
    account_id, family_id = claims
    params = {"account_id": account_id, "jti": str(payload["jti"]), "family_id": family_id}
    if payload.get("kind") != "staff":
        row = ctx.session.execute(_PATIENT_ACTOR, params).first()
        if row is None:
            return None
        patient: Patient | None = row[0]
        kind, *login = row[1:]
        if kind == "patient":
            if not _token_counts(ctx, payload, family_id, login):
                return None
            if patient is None:
                raise AuthenticationFailed(_NOT_IN_USE)
            # The session's identity map holds objects weakly: kept here for the unit of
            # work, so `own_patient` (and the patient's team) are found without a query.
            ctx.session.info[TOKEN_PERSON] = patient
            return _PatientActor(
                opened=_name_opener(ctx, patient),
                kind="patient",
                account_id=account_id,
                role="patient",
                patient_id=patient.id,
                team_ids=frozenset({patient.team_id}),
                ip=ctx.actor.ip,
                request_id=ctx.actor.request_id,
            )
    # The `kind` claim only chooses what to load first; the account row decides the kind.
    rows = ctx.session.connection().execute(_STAFF_ACTOR, params).all()
    if not rows:
        return None
    kind, *login = rows[0][:7]
    if not _token_counts(ctx, payload, family_id, login):
        return None
    if kind != "staff":
        # A patient's account named as staff by the claim: the patient's row decides.
        return token_actor(ctx, {**payload, "kind": "patient"})
    staff_id, name, role, agency_id, agency_name, _ = rows[0][7:]
    if staff_id is None:
        raise AuthenticationFailed(_NOT_IN_USE)
    return Actor(
        kind="staff",
        account_id=account_id,
        name=name,
        role=role,
        staff_id=staff_id,
        agency_id=agency_id,
        agency_name=agency_name,
        team_ids=frozenset(row[12] for row in rows if row[12] is not None),
        ip=ctx.actor.ip,
        request_id=ctx.actor.request_id,
    )


class _PatientActor(Actor):
    """A patient's Actor whose `name` is decrypted the first time it is read, not on every
    request: since 0045 nothing a patient does stores their name (audit events and plan
    versions keep `actor_name`/`author_name` NULL for patients), and the one reader left is
    `plans.written_by`, when the patient reads a plan version they wrote. Otherwise the same
    Actor: the same fields and values (`name` is the one `actor_for` opens), frozen, equal
    to an `Actor` with the same fields; `dataclasses.replace` copies it with the name opened."""

    _opened: Callable[[], str | None]

    def __init__(self, *, opened: Callable[[], str | None] | None = None, **given) -> None:
        super().__init__(**given)
        if opened is not None:
            del self.__dict__["name"]  # read through the property below, once
            object.__setattr__(self, "_opened", opened)

    @cached_property
    def name(self) -> str | None:
        return self._opened()

    def __eq__(self, other: object) -> bool:
        """Equal to an `Actor` with the same fields, as `actor_for`'s."""
        if not isinstance(other, Actor):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(Actor))

    __hash__ = Actor.__hash__


def _name_opener(ctx: Ctx, patient: Patient) -> Callable[[], str | None]:
    """The patient's display name, opened later from the ciphertext as it is now (the
    row's later changes or expiry do not matter: the same value `actor_for` gives)."""
    keys, token, bound = ctx.keys, patient.display_name_enc, aad_for(patient, "display_name")
    return lambda: None if token is None else keys.decrypt(token, bound)


def _token_counts(ctx: Ctx, payload: dict, family_id: uuid.UUID | None, login: list) -> bool:
    revoked_jti = login[2]
    return revoked_jti is None and _login_counts(ctx, payload, family_id, login)


def account_disabled(ctx: Ctx, payload: dict) -> bool:
    """True when a (refused) token names an account the team has disabled: the client is then
    told `account-disabled` and removes what it keeps on the device, not only the session."""
    try:
        account_id = uuid.UUID(str(payload.get("sub")))
    except ValueError:
        return False
    disabled_at = ctx.session.scalar(select(Account.disabled_at).where(Account.id == account_id))
    return disabled_at is not None


def disable_account(ctx: Ctx, account: Account) -> None:
    """Disable an account: its portal sessions, API logins and tokens stop working at once."""
    account.disabled_at = ctx.now()
    sessions.end_all_sessions(ctx, account, "disabled")
    audit.record(ctx.session, ctx.actor, "account.disable", resource="account", resource_id=account.id)


def purge_expired(ctx: Ctx) -> int:
    """Housekeeping (`muli.trust.retention`): forget revocations and refresh tokens past their
    expiry, spent or not; answers how many rows went."""
    now = ctx.now()
    revoked = ctx.rows_changed(delete(RevokedToken).where(RevokedToken.expires_at < now))
    return revoked + ctx.rows_changed(delete(RefreshToken).where(RefreshToken.expires_at < now))
