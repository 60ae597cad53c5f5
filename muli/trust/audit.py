"""The audit trail: append-only events, sealed afterwards into a keyed hash chain.

Services call `record()`; the events wait in the session and are inserted when it commits
(`before_commit`), in the same transaction as the change, and nothing else: no shared row
is read or updated, so audited requests on every host commit side by side. The worker
seals them afterwards (`seal()`): under a lock on the one-row chain head, which only the
sealer takes, it gives each committed unsealed event the next place in the chain
(`chain_pos`), the hash before it and its keyed hash. `verify()` walks the sealed chain
and reports events left unsealed longer than a bound. Why this is not weaker than
chaining in the request: docs/audit-trail.md, "Sealing after the commit".

Each event's hash is an HMAC-SHA256, under an audit key kept outside the database
(`AuditKeys`, MULI_AUDIT_KEYS), of the event and the hash before it; the event names its
key (`key_id`), so keys rotate: the newest keys new events, every listed key verifies.
Someone who can write to the database but has no key cannot re-hash a rewritten chain.
Events from before keys (`key_id` NULL, plain SHA-256: `legacy_hash`) verify as they
were, as long as they come first and the signed checkpoints vouch for how many there
are (`audit_anchor`); checkpoints also catch a cut-off tail with a moved head.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Table, bindparam, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from muli.models.audit import AuditEvent, AuditHead
from muli.models.base import utcnow
from muli.platform.context import Actor

GENESIS = "0" * 64
_log = logging.getLogger("muli.audit")
_EVENTS = cast(Table, AuditEvent.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_PENDING = "muli_audit_pending"
_CLOCK = "muli_audit_clock"

_HASHED = (
    "seq",
    "id",
    "occurred_at",
    "action",
    "outcome",
    "actor_account_id",
    "actor_kind",
    "actor_name",
    "actor_role",
    "actor_agency_name",
    "patient_id",
    "resource",
    "resource_id",
    "emergency",
    "reason",
    "ip",
    "request_id",
    "prev_hash",
)
_KEYED = (*_HASHED, "key_id")
# What a request vouches for when it inserts an event (its number and place are not known
# yet): the event's own fields and the key's id, under the audit key.
_EVENT_MAC = (*(c for c in _HASHED if c not in ("seq", "prev_hash")), "key_id")
# The key id the sealer gives an event whose insert-time keyed hash did not match: written
# or changed in the database, not by the service. (A configured key id cannot contain "!".)
UNVERIFIED = "!unverified"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class AuditKeyError(RuntimeError):
    """The audit keys are missing or malformed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_signing_key() -> str:
    """A fresh Ed25519 private key for checkpoints: 32 bytes, base64url."""
    from cryptography.hazmat.primitives import serialization

    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _b64(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kid, sep, material = part.partition(":")
        if not sep or not _KID.match(kid):
            raise AuditKeyError(f"each {what} must be written as <id>:<base64 key>")
        pairs.append((kid, material.strip()))
    if not pairs:
        raise AuditKeyError(f"no {what}")
    if len({kid for kid, _ in pairs}) != len(pairs):
        raise AuditKeyError(f"{what} ids must be unique")
    return pairs


@dataclass(frozen=True)
class AuditKeys:
    """The chain's HMAC keys and the checkpoints' Ed25519 keys, each newest first.

    The newest HMAC key keys new events; every listed one verifies. The newest signing key
    signs checkpoints; older ones verify the checkpoints they signed, and may be listed by
    their public half only (`id:pub:<base64 public key>`).
    """

    hmac_keys: tuple[tuple[str, bytes], ...]
    signing_key: tuple[str, Ed25519PrivateKey]
    verify_keys: dict[str, Ed25519PublicKey] = field(hash=False, compare=False)

    @classmethod
    def parse(cls, audit_keys: str, signing_keys: str) -> AuditKeys:
        hmac_keys = []
        for kid, material in _pairs(audit_keys, "audit key"):
            try:
                raw = _unb64(material)
            except ValueError:
                raise AuditKeyError(f"audit key {kid!r} is not base64")
            if len(raw) < 32:
                raise AuditKeyError(f"audit key {kid!r} must be at least 32 bytes")
            hmac_keys.append((kid, raw))
        verify: dict[str, Ed25519PublicKey] = {}
        signer: tuple[str, Ed25519PrivateKey] | None = None
        for n, (kid, material) in enumerate(_pairs(signing_keys, "audit signing key")):
            public_only = material.startswith("pub:")
            try:
                raw = _unb64(material.removeprefix("pub:"))
                if public_only:
                    verify[kid] = Ed25519PublicKey.from_public_bytes(raw)
                else:
                    private = Ed25519PrivateKey.from_private_bytes(raw)
                    verify[kid] = private.public_key()
                    if n == 0:
                        signer = (kid, private)
            except ValueError:
                raise AuditKeyError(f"audit signing key {kid!r} must be 32 bytes, base64url")
        if signer is None:
            raise AuditKeyError("the first audit signing key must be a private key (it signs)")
        return cls(tuple(hmac_keys), signer, verify)

    @property
    def current_kid(self) -> str:
        return self.hmac_keys[0][0]

    def hmac_key(self, kid: str) -> bytes | None:
        return next((key for k, key in self.hmac_keys if k == kid), None)


# The keys of each database engine, set by the app at start (`use_keys`): the chain is
# made in a commit hook, which sees the session and its engine, not the app.
_ENGINE_KEYS: weakref.WeakKeyDictionary[Engine, AuditKeys] = weakref.WeakKeyDictionary()


def use_keys(engine: Engine, keys: AuditKeys) -> None:
    """Key the audit chain of every session on `engine` with `keys`."""
    _ENGINE_KEYS[engine] = keys


def keys_for(session: Session) -> AuditKeys:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    keys = _ENGINE_KEYS.get(engine)
    if keys is None:
        raise AuditKeyError("no audit keys for this database: the app sets them at start (use_keys)")
    return keys


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    patient_id: uuid.UUID | None = None,
    resource: str | None = None,
    resource_id: object = None,
    emergency: bool = False,
    reason: str | None = None,
    outcome: str = "ok",
) -> None:
    """Queue an audit event; it is inserted in the same commit as the change (and sealed
    into the chain afterwards by the worker)."""
    real = session.registry() if isinstance(session, scoped_session) else session
    if not real.in_transaction():
        real.begin()  # so a rollback, even before any SQL, drops the event with the rest
    real.info.setdefault(_PENDING, []).append(
        dict(
            id=uuid.uuid4(),
            occurred_at=real.info.get(_CLOCK, utcnow)(),
            action=action,
            outcome=outcome,
            actor_account_id=actor.account_id,
            actor_kind=actor.kind,
            # A patient's name is sealed (patient.display_name_enc); the event names them by
            # kind and account, and readers open the name (docs/audit-trail.md, "Names").
            actor_name=None if actor.is_patient else actor.name,
            actor_role=actor.role,
            actor_agency_name=actor.agency_name,
            patient_id=patient_id,
            resource=resource,
            resource_id=None if resource_id is None else str(resource_id),
            emergency=emergency,
            reason=reason,
            ip=actor.ip,
            request_id=actor.request_id,
        )
    )


@contextmanager
def dated(session: Session, clock: Callable[[], datetime]) -> Iterator[None]:
    """Events recorded inside are dated by `clock`, not now: only for writing down what
    happened earlier (the demo's history, `muli/demo.py`), so the trail agrees with it.
    They are still sealed in the order they were inserted; everything else is dated when it
    is recorded."""
    real = session.registry() if isinstance(session, scoped_session) else session
    real.info[_CLOCK] = clock
    try:
        yield
    finally:
        real.info.pop(_CLOCK, None)


def _text(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


# json.dumps with these options makes a new encoder each call; one made once writes the same.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _canonical(values: dict, names: Iterable[str]) -> bytes:
    return _ENCODE({k: _text(values[k]) for k in names}).encode()


def legacy_hash(values: dict) -> str:
    """The hash of an event from before audit keys (`key_id` NULL): plain SHA-256, which
    anyone can compute, so such events are believed only as far as a checkpoint vouches."""
    return hashlib.sha256(_canonical(values, _HASHED)).hexdigest()


def keyed_hash(key: bytes, values: dict) -> str:
    """An event's hash: HMAC-SHA256 under the audit key named by `values["key_id"]`, of its
    fields, its `prev_hash`, its `key_id` and its place in the chain. The place is `seq`
    for events chained before the sealer (`chain_pos` == `seq`: those hashes stay as they
    were) and is hashed as `chain_pos` as well whenever it differs; the hashed text is a
    function of both, one-to-one, so neither can be changed unnoticed."""
    pos = values.get("chain_pos")
    names = _KEYED if pos is None or pos == values["seq"] else (*_KEYED, "chain_pos")
    return hmac.new(key, _canonical(values, names), hashlib.sha256).hexdigest()


# Every audited request computes `event_mac` once: the canonical text made with the fields
# already in sorted order (the JSON `sort_keys` writes) and the plain values (None, bool,
# int, str: what `_text` hands back as they are) not passed through `_text`. The same bytes
# as `_canonical(values, _EVENT_MAC)` (tests/unit/trust/test_audit.py holds them equal).
_EVENT_MAC_SORTED = tuple(sorted(_EVENT_MAC))
_ENCODE_SORTED = json.JSONEncoder(separators=(",", ":")).encode
_AS_IS = frozenset({type(None), bool, int, str})


def _event_mac_text(values: dict) -> bytes:
    fields = {}
    for name in _EVENT_MAC_SORTED:
        value = values[name]
        fields[name] = value if type(value) in _AS_IS else _text(value)
    return _ENCODE_SORTED(fields).encode()


def event_mac(key: bytes, values: dict) -> str:
    """The keyed hash a request gives its event at insert: HMAC-SHA256 under the audit key
    named by `values["key_id"]` of the event's own fields. Kept in `hash` until the event is
    sealed, so an unsealed event cannot be forged or edited without the key either."""
    return hmac.digest(key, _event_mac_text(values), "sha256").hex()


def _append(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        # The keys of the engine under the session's connection (what `keys_for` answers,
        # without asking the session for its bind a second time).
        connection = session.connection()
        keys = _ENGINE_KEYS.get(connection.engine)
        if keys is None:
            raise AuditKeyError("no audit keys for this database: the app sets them at start (use_keys)")
        kid, key = keys.hmac_keys[0]
        for values in pending:
            values["key_id"] = kid
            values["hash"] = event_mac(key, values)
        # One plain INSERT (Core, on the session's connection; the statement is built once):
        # seq comes from the sequence (PostgreSQL) or the rowid (SQLite); chain_pos and
        # prev_hash stay NULL until the sealer gets to the event.
        connection.execute(_INSERT_EVENTS, pending[0] if len(pending) == 1 else pending)


_INSERT_EVENTS = insert(_EVENTS)
_SEALED_FROM = (*(c for c in _HASHED if c != "prev_hash"), "key_id", "hash")


def _mac_ok(keys: AuditKeys, row) -> bool:
    key = keys.hmac_key(row["key_id"]) if row["key_id"] else None
    if key is None or row["hash"] is None:
        return False
    return hmac.compare_digest(event_mac(key, row), row["hash"])


def _insert_if_absent(session: Session, **values):
    dialect = session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_for(_HEAD).values(**values).on_conflict_do_nothing(index_elements=["id"])


def seal(session: Session, keys: AuditKeys | None = None, *, batch: int = 2000) -> int:
    """Seal up to `batch` committed, unsealed events into the chain, oldest seq first, and
    move the head; answers how many. The caller commits (and calls again while the answer
    is `batch`). Two sealers at once take turns on the head's row lock: the second then
    sees the first's events sealed and goes on after them, so nothing is sealed twice and
    the chain never forks. An event that commits late (a lower seq than events already
    sealed) is simply sealed in a later batch: the chain's order is the order of sealing."""
    keys = keys or keys_for(session)
    kid, key = keys.hmac_keys[0]
    locked_head = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    head = session.execute(locked_head).first()
    if head is None:
        # The first sealer ever; two at once must not both create the head: the second
        # one's insert waits for the first, then does nothing, and it locks the head made.
        session.execute(_insert_if_absent(session, id=1, seq=0, hash=GENESIS))
        head = session.execute(locked_head).one()
    pos, prev = head
    columns = [_EVENTS.c[name] for name in _SEALED_FROM]
    unsealed = select(*columns).where(_EVENTS.c.chain_pos.is_(None)).order_by(_EVENTS.c.seq).limit(batch)
    rows = session.execute(unsealed).mappings().all()
    if not rows:
        return 0
    sealed = []
    for row in rows:
        pos += 1
        # An event whose insert-time hash does not match was not written (as it stands) by
        # the service: it is sealed all the same, so the chain goes on and nothing can take
        # it out unseen, but marked, and verify-audit names it for ever.
        good = _mac_ok(keys, row)
        if not good:
            _log.error("audit event %s failed its keyed hash when sealed (forged or edited)", row["seq"])
        values = dict(row, chain_pos=pos, prev_hash=prev, key_id=kid if good else UNVERIFIED)
        values["hash"] = prev = keyed_hash(key, values)
        sealed.append(
            {
                "b_seq": row["seq"],
                "b_at": row["occurred_at"],
                "b_pos": pos,
                "b_prev": values["prev_hash"],
                "b_hash": values["hash"],
                "b_kid": values["key_id"],
            }
        )
    # occurred_at too, so PostgreSQL looks in the one partition that holds the event.
    session.execute(
        update(_EVENTS)
        .where(
            _EVENTS.c.seq == bindparam("b_seq"),
            _EVENTS.c.occurred_at == bindparam("b_at"),
            _EVENTS.c.chain_pos.is_(None),
        )
        .values(
            chain_pos=bindparam("b_pos"),
            prev_hash=bindparam("b_prev"),
            hash=bindparam("b_hash"),
            key_id=bindparam("b_kid"),
        ),
        sealed,
        execution_options={"synchronize_session": False},
    )
    session.execute(update(_HEAD).where(AuditHead.id == 1).values(seq=pos, hash=prev))
    return len(rows)


def seal_all(session: Session, commit: Callable[[], None], *, batch: int = 2000, most: int = 500) -> int:
    """Seal everything committed so far, a batch per transaction (at most `most` batches a
    call, so one call is bounded); answers how many were sealed."""
    total = 0
    for _ in range(most):
        n = seal(session, batch=batch)
        commit()
        total += n
        if n < batch:
            break
    return total


def _unsealed_breaks(session: Session, keys: AuditKeys, batch: int) -> Iterator[Break]:
    """Events not sealed yet whose insert-time keyed hash does not match."""
    columns = [_EVENTS.c[name] for name in _SEALED_FROM]
    last = 0
    while True:
        query = select(*columns).where(_EVENTS.c.chain_pos.is_(None), _EVENTS.c.seq > last)
        rows = session.execute(query.order_by(_EVENTS.c.seq).limit(batch)).mappings().all()
        if not rows:
            return
        for row in rows:
            if not _mac_ok(keys, row):
                yield Break(row["seq"], "not sealed yet, and does not match its keyed hash (forged, edited)")
        last = rows[-1]["seq"]


def unsealed_before(session: Session, before: datetime) -> tuple[int, int | None]:
    """How many events that happened before `before` are still unsealed, and the lowest seq."""
    row = session.execute(
        select(func.count(), func.min(AuditEvent.seq)).where(
            AuditEvent.chain_pos.is_(None), AuditEvent.occurred_at < before
        )
    ).one()
    return row[0], row[1]


PARTITIONS_AHEAD = 2  # months after the current one that have their partition already


def _month(at: datetime, add: int = 0) -> datetime:
    n = at.year * 12 + at.month - 1 + add
    return datetime(n // 12, n % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"audit_event_{month:%Y_%m}"


def ensure_partitions(session: Session, now: datetime, ahead: int = PARTITIONS_AHEAD) -> list[str]:
    """PostgreSQL: make the monthly partitions of `audit_event` for this month and the next
    `ahead`, if missing (the worker's housekeeping, hourly; migration 0036 made the first).
    Answers the ones made. A month whose events already sit in the default partition (an
    event dated far ahead) cannot get its partition: logged, and left to the operator. On
    SQLite: nothing (one file, no partitions)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    made = []
    for add in range(ahead + 1):
        start, end = _month(now, add), _month(now, add + 1)
        name = partition_name(start)
        if session.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None:
            continue
        try:
            with session.begin_nested():
                session.execute(
                    text(
                        f"CREATE TABLE {name} PARTITION OF audit_event "
                        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                    )
                )
            made.append(name)
        except DBAPIError as error:
            _log.error("audit partition %s not made: %s", name, error.orig)
    return made


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _append(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous_transaction) -> None:
    # Fires on every rollback(), even one with no database transaction begun yet.
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


@dataclass(frozen=True)
class Anchor:
    """What a checkpoint vouches for: event `seq` had `hash`, and the first `legacy_until`
    events were unkeyed. `source` says where it was found, for messages."""

    seq: int
    hash: str
    legacy_until: int
    source: str


@dataclass
class Walk:
    """Where a walk of the chain ended: its last place (`last_seq`, a `chain_pos`) and hash,
    and how many unkeyed events lead it."""

    last_seq: int = 0
    last_hash: str = GENESIS
    unkeyed: int = 0
    keyed_seen: bool = False
    matched: set[int] = field(default_factory=set)


def walk(
    session: Session,
    keys: AuditKeys,
    state: Walk,
    *,
    upto: int | None = None,
    anchors: Iterable[Anchor] = (),
    legacy_until: int | None = None,
    batch: int = 5000,
) -> Iterator[Break]:
    """Yield every break among the sealed events after place `state.last_seq` (up to place
    `upto`), which must follow `state.last_hash`; `state` is left at the last event walked.
    Unkeyed events are allowed only before the first keyed one, and only up to
    `legacy_until` when given. Each place an anchor names must carry the anchor's hash.
    A break names the event by its seq (what the access log and the privacy officer see)."""
    by_pos: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        by_pos.setdefault(anchor.seq, []).append(anchor)
    expected, prev = state.last_seq + 1, state.last_hash
    while True:
        query = select(AuditEvent).where(AuditEvent.chain_pos > state.last_seq)
        if upto is not None:
            query = query.where(AuditEvent.chain_pos <= upto)
        rows = session.scalars(query.order_by(AuditEvent.chain_pos).limit(batch)).all()
        if not rows:
            break
        for ev in rows:
            pos = cast(int, ev.chain_pos)
            values = {k: getattr(ev, k) for k in (*_KEYED, "chain_pos")}
            if pos != expected:
                yield Break(ev.seq, f"sealed at place {pos}, expected place {expected}: events are missing")
            if ev.prev_hash != prev:
                yield Break(ev.seq, "does not follow the event before it (removed or reordered)")
            if ev.key_id == UNVERIFIED:
                state.keyed_seen = True
                yield Break(
                    ev.seq,
                    "did not carry the service's keyed hash when it was sealed "
                    "(inserted or changed in the database before sealing)",
                )
                mine = ev.hash or ""
                if not any(hmac.compare_digest(keyed_hash(k, values), mine) for _, k in keys.hmac_keys):
                    yield Break(ev.seq, "content does not match its keyed hash (edited or re-hashed)")
            elif ev.key_id is None:
                if state.keyed_seen:
                    yield Break(ev.seq, "has no audit key, after keyed events (rewritten)")
                elif pos != ev.seq:
                    yield Break(ev.seq, "has no audit key, but was sealed after keys (rewritten)")
                elif legacy_until is not None and pos > legacy_until:
                    yield Break(
                        ev.seq,
                        f"has no audit key, but the checkpoints vouch for unkeyed events only up to "
                        f"{legacy_until} (rewritten)",
                    )
                else:
                    state.unkeyed = pos
                if legacy_hash(values) != ev.hash:
                    yield Break(ev.seq, "content does not match its hash (edited)")
            else:
                state.keyed_seen = True
                key = keys.hmac_key(ev.key_id)
                if key is None:
                    yield Break(ev.seq, f"keyed with audit key {ev.key_id!r}, which is not configured")
                elif not hmac.compare_digest(keyed_hash(key, values), ev.hash or ""):
                    yield Break(ev.seq, "content does not match its keyed hash (edited or re-hashed)")
            for anchor in by_pos.get(pos, ()):
                state.matched.add(pos)
                if anchor.hash != ev.hash:
                    yield Break(ev.seq, f"differs from what {anchor.source} vouches for (rewritten)")
            expected, prev, state.last_seq = pos + 1, cast(str, ev.hash), pos
        state.last_hash = prev
        session.expunge_all()


def verify(
    session: Session,
    keys: AuditKeys | None = None,
    anchors: Iterable[Anchor] = (),
    batch: int = 5000,
    *,
    unsealed_bound: timedelta | None = None,
    now: datetime | None = None,
) -> Iterator[Break]:
    """Yield every break in the chain: an edited, re-hashed, missing or reordered event, a
    cut tail, an event that differs from a checkpoint (`anchors`) or is missing though a
    checkpoint vouches for it, and (with `unsealed_bound`) events that happened longer ago
    than the bound and are still not sealed."""
    keys = keys or keys_for(session)
    anchors = list(anchors)
    legacy = min((a.legacy_until for a in anchors), default=None)
    state = Walk()
    yield from walk(session, keys, state, anchors=anchors, legacy_until=legacy, batch=batch)
    if state.unkeyed and not anchors:
        yield Break(
            state.unkeyed,
            f"events 1-{state.unkeyed} have no audit key and no checkpoint vouches for them "
            "(write one: muli audit-checkpoint)",
        )
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq not in state.matched:
            yield Break(
                anchor.seq,
                f"{anchor.source} vouches for event {anchor.seq} (its place in the chain), which is "
                "missing (events removed and the chain head moved back)",
            )
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != state.last_seq or head.hash != state.last_hash):
        yield Break(state.last_seq, f"chain head says {head.seq} events; the newest ones are missing")
    yield from _unsealed_breaks(session, keys, batch)
    if unsealed_bound is not None:
        count, first = unsealed_before(session, (now or utcnow()) - unsealed_bound)
        if count:
            yield Break(
                cast(int, first),
                f"{count} event(s) recorded more than {unsealed_bound} ago are not sealed yet, "
                f"the first event {first} (is the worker running? it seals them)",
            )
