"""Idempotency-Key: a retried POST gets the first answer instead of doing the work twice.

The key is claimed, the work done and the answer stored in the request's one transaction,
so a crash before the commit leaves nothing behind and the retry simply runs again.
Only an answer below 400 is kept: input refused at the door (`api.body`) never reaches the
claim, and a request that fails after it (4xx, 500) takes its claim with it when rolled
back, so a corrected retry with the same key does the work instead of replaying a failure.
The stored answer is sealed with the key ring (it repeats what the request wrote) and the
worker forgets it once it expires (`muli.trust.retention`, docs/retention.md).

`claim_last=True` (a view whose only effects are its transaction's writes): on SQLite the
key is claimed with its answer in one statement after the view, not claimed before and
answered after (two). SQLite's writer lock makes writers one at a time, so the claim still
decides: a repeat finds the key taken when it inserts, its work is rolled back and the first
answer given, as it would have been before the view. PostgreSQL claims first as always (the
key's advisory lock answers a repeat in progress 409 at once instead of letting it work).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from functools import wraps

from flask import current_app, request
from sqlalchemy import BigInteger, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.exceptions import HTTPException

from api.context import current_ctx
from muli.models.base import utcnow
from muli.models.idempotency import IdempotencyRecord
from muli.platform.crypto import KeyRing, aad
from muli.platform.errors import BadRequest, Conflict, MuliError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"

# A UUID in its canonical text form (what crypto.randomUUID() and str(uuid4()) make), as a
# string: a generated client then passes it to its HTTP library as the text it is (typed
# `format: uuid`, openapi-python-client handed the UUID object on and httpx refused it).
KEY_PATTERN = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_KEY = re.compile(KEY_PATTERN)
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "description": "A client-made UUID, e.g. `str(uuid4())`; the same key and body again gets the "
    "first answer back (with `Idempotent-Replayed: true`). Not a UUID: 400.",
    "schema": {"type": "string", "minLength": 36, "maxLength": 36, "pattern": KEY_PATTERN},
}


class KeyReusedWithOtherBody(MuliError):
    code, status, title = (
        "idempotency-key-reused",
        422,
        "Idempotency-Key already used for another request",
    )


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


# The claim of a key: the columns a replay needs (Core, on the table, built once).
_RECORD = IdempotencyRecord.metadata.tables["idempotency_record"]
_EXISTING = select(_RECORD.c.id, _RECORD.c.request_hash, _RECORD.c.status_code, _RECORD.c.body_enc).where(
    _RECORD.c.account_id == bindparam("account_id"), _RECORD.c.key == bindparam("key")
)


# The claim, its answer, and its release: Core statements on the table, built once
# (`created_at` takes its column default, as the model's would).
# The claim answers its id when it is new, no row when the key was claimed before.
_CLAIM = (  # SQLite (its writer lock makes claims one at a time)
    sqlite_insert(_RECORD)
    .on_conflict_do_nothing(index_elements=["account_id", "key"])
    .returning(_RECORD.c.id)
)
# PostgreSQL: the key's advisory lock (not waited for) and the claim in one statement. The
# lock's CTE is evaluated once (volatile, and read twice); the INSERT runs only when the lock
# was got, so it never waits on another transaction's uncommitted claim of the key. Answers
# `got` (the lock) and `claimed` (the new record's id; NULL when the key was claimed before).
_CLAIM_COLUMNS = ("id", "account_id", "key", "request_hash", "expires_at", "created_at")
_LOCK = select(func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger)).label("got")).cte("lock")
_LOCKED_CLAIM = (
    pg_insert(_RECORD)
    .from_select(
        _CLAIM_COLUMNS,
        select(*(bindparam(name, type_=_RECORD.c[name].type) for name in _CLAIM_COLUMNS)).where(_LOCK.c.got),
    )
    .on_conflict_do_nothing(index_elements=["account_id", "key"])
    .returning(_RECORD.c.id)
    .cte("claim")
)
_LOCK_AND_CLAIM = select(_LOCK.c.got, select(_LOCKED_CLAIM.c.id).scalar_subquery().label("claimed"))
_ANSWER = (
    update(_RECORD)
    .where(_RECORD.c.id == bindparam("record_id"))
    .values(
        status_code=bindparam("status", type_=_RECORD.c.status_code.type),
        body_enc=bindparam("sealed", type_=_RECORD.c.body_enc.type),
    )
)
_UNCLAIM = delete(_RECORD).where(_RECORD.c.id == bindparam("record_id"))


def _replay(keys: KeyRing, record, request_hash: str):
    """The stored answer of `record` (a row of `_EXISTING`)."""
    if record.request_hash != request_hash:
        raise KeyReusedWithOtherBody("This key was sent before with a different request.")
    if record.status_code is None:
        raise Conflict(
            "A request with this key is still being processed. Try again shortly.",
            code="idempotency-in-progress",
        )
    token = record.body_enc
    body = None if token is None else keys.decrypt(token, aad("idempotency_record", "body", record.id))
    response = current_app.response_class(
        None if body is None else body.encode(), status=record.status_code, mimetype="application/json"
    )
    response.headers[REPLAYED] = "true"
    return response


def _lock_key(account_id: uuid.UUID, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{account_id}|{key}".encode()).digest()[:8], "big", signed=True)


def idempotent(required: bool = False, *, claim_last: bool = False):
    """Decorate a POST view (outside @blp.response) to honour Idempotency-Key. `claim_last`:
    see the module's docstring; only for a view that never commits nor acts outside its
    transaction, so that running a repeat and rolling it back leaves nothing behind."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise BadRequest(
                        "The Idempotency-Key header is required.", code="idempotency-key-required"
                    )
                return view(*args, **kwargs)
            if not _KEY.fullmatch(key):
                raise BadRequest("Idempotency-Key must be a UUID.", code="idempotency-key-invalid")
            key = str(uuid.UUID(key))
            ctx = current_ctx()
            session, account_id = ctx.session, ctx.actor.account_id
            request_hash = _request_hash()

            def existing():
                return session.execute(_EXISTING, {"account_id": account_id, "key": key}).first()

            connection = session.connection()
            record_id = uuid.uuid4()
            claim = {
                "id": record_id,
                "account_id": account_id,
                "key": key,
                "request_hash": request_hash,
                "expires_at": ctx.now() + current_app.config["MULI_IDEMPOTENCY_TTL"],
                "created_at": utcnow(),
            }
            if claim_last and connection.dialect.name != "postgresql":
                return _answer_then_claim(
                    session, ctx.keys, claim, existing, request_hash, lambda: view(*args, **kwargs)
                )
            # Claim first (one statement on the first try); a key already claimed is read back.
            if connection.dialect.name == "postgresql":
                got, claimed = connection.execute(
                    _LOCK_AND_CLAIM, {**claim, "lock": _lock_key(account_id, key)}
                ).one()
                # Another transaction working on this key holds the lock: 409, don't wait.
                if not got:
                    raise Conflict(
                        "A request with this key is still being processed.", code="idempotency-in-progress"
                    )
            else:
                claimed = connection.execute(_CLAIM, claim).first()
            if claimed is None:
                record = existing()
                if record is None:  # its holder rolled back in between: the retry will do it
                    raise Conflict(
                        "A request with this key is still being processed. Try again shortly.",
                        code="idempotency-in-progress",
                    )
                return _replay(ctx.keys, record, request_hash)
            try:
                response = view(*args, **kwargs)
            except MuliError as error:
                if error.keep_changes:
                    # Its handler commits: a claim with no answer would make every retry a 409.
                    session.connection().execute(_UNCLAIM, {"record_id": record_id})
                raise
            # JSON from our own views: UTF-8 text, sealed like every other encrypted field.
            sealed = ctx.keys.encrypt(
                response.get_data().decode("utf-8"), aad("idempotency_record", "body", record_id)
            )
            session.connection().execute(
                _ANSWER, {"record_id": record_id, "status": response.status_code, "sealed": sealed}
            )
            return response

        return wrapper

    return decorator


def _answer_then_claim(session, keys: KeyRing, claim: dict, existing, request_hash: str, run):
    """SQLite, `claim_last`: the view's work, then the key claimed with its sealed answer in
    one statement (the writer lock is held from the view's first write to the commit). A key
    claimed before is found by that statement: this repeat's work is rolled back and the
    first answer given, or its refusal (another body: 422). A repeat whose view refused
    (4xx), which the first answer would have been given without running, gets that answer."""
    try:
        response = run()
    except (MuliError, HTTPException) as error:
        if not getattr(error, "keep_changes", False):
            session.rollback()  # an error answer: its work is dropped anyway
        return _replay_or_raise(session, keys, existing, request_hash, error)
    if response.status_code >= 400:
        replayed = _replay_or_raise(session, keys, existing, request_hash, None)
        return response if replayed is None else replayed
    record_id = claim["id"]
    sealed = keys.encrypt(response.get_data().decode("utf-8"), aad("idempotency_record", "body", record_id))
    answered = {**claim, "status_code": response.status_code, "body_enc": sealed}
    if session.connection().execute(_CLAIM, answered).first() is not None:
        return response
    session.rollback()  # a repeat: nothing it wrote stays
    record = existing()
    if record is None:  # not possible under SQLite's writer lock; answered as PostgreSQL would
        raise Conflict(
            "A request with this key is still being processed. Try again shortly.",
            code="idempotency-in-progress",
        )
    return _replay(keys, record, request_hash)


def _replay_or_raise(session, keys: KeyRing, existing, request_hash: str, error: Exception | None):
    """After a refusal: the key's first answer if it has one (this was a repeat), else the
    refusal (`error` raised again; None: answered as it is)."""
    record = existing()
    if record is None:
        if error is not None:
            raise error
        return None
    session.rollback()
    return _replay(keys, record, request_hash)
