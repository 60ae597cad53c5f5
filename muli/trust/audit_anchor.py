"""Anchors for the audit chain: signed checkpoints of its head, kept where the database
cannot change them.

A checkpoint says "the event sealed at place `seq` (its `chain_pos`) had hash `hash`, and
the first `legacy_until` events carry no key", with the time, signed with Ed25519 (the
newest of MULI_AUDIT_SIGNING_KEYS, kept outside the database). `checkpoint()` first
checks the chain since the newest checkpoint it can trust (so a broken chain is never
signed), then appends the checkpoint as one JSON line to the operator's anchor file
(MULI_AUDIT_ANCHOR_FILE, opened append-only and fsynced), writes the same line to the
log, and keeps a copy in the database for the privacy officer to download. Someone who
deletes the chain's tail and moves its head back cannot remove the anchor file's lines or
the downloaded copies, nor forge new ones, so `audit.verify()` given the anchors finds the
missing events. See docs/audit-trail.md.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from muli.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from muli.platform.context import Ctx
from muli.platform.errors import NotFound
from muli.trust import access
from muli.trust.audit import Anchor, AuditKeys, Break, Walk, keys_for, walk

log = logging.getLogger("muli.audit")
FORMAT = "muli-audit-checkpoint/1"
_FIELDS = ("format", "seq", "hash", "key_id", "legacy_until", "made_at", "signing_key_id")


class BadCheckpoint(ValueError):
    """Not a checkpoint, or not signed by a configured audit signing key."""


class ChainBroken(RuntimeError):
    """The chain did not verify, so no checkpoint was signed."""

    def __init__(self, breaks: list[Break]):
        super().__init__(f"audit chain broken: {len(breaks)} problem(s); no checkpoint written")
        self.breaks = breaks


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    key_id: str | None
    legacy_until: int
    made_at: str
    signing_key_id: str
    document: str  # the signed JSON, one line, exactly as written

    def anchor(self, source: str) -> Anchor:
        return Anchor(self.seq, self.hash, self.legacy_until, f"the checkpoint of {self.made_at} ({source})")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _signed_part(fields: dict) -> bytes:
    return json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def sign(
    keys: AuditKeys, *, seq: int, hash: str, key_id: str | None, legacy_until: int, made_at: datetime
) -> Checkpoint:
    kid, private = keys.signing_key
    made_at_text = made_at.isoformat()
    fields: dict[str, object] = {
        "format": FORMAT,
        "seq": seq,
        "hash": hash,
        "key_id": key_id,
        "legacy_until": legacy_until,
        "made_at": made_at_text,
        "signing_key_id": kid,
    }
    signature = _b64(private.sign(_signed_part(fields)))
    document = json.dumps({**fields, "signature": signature}, separators=(",", ":"))
    return Checkpoint(seq, hash, key_id, legacy_until, made_at_text, kid, document)


def parse(text: str, keys: AuditKeys) -> Checkpoint:
    """A checkpoint from its JSON, its signature checked; else `BadCheckpoint`."""
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict) or fields.get("format") != FORMAT:
            raise BadCheckpoint("not a MULI audit checkpoint")
        public = keys.verify_keys.get(fields["signing_key_id"])
        if public is None:
            raise BadCheckpoint(f"signed with key {fields['signing_key_id']!r}, which is not configured")
        signature = base64.urlsafe_b64decode(fields["signature"] + "=" * (-len(fields["signature"]) % 4))
        public.verify(signature, _signed_part(fields))
        seq, legacy_until = fields["seq"], fields["legacy_until"]
        if not (isinstance(seq, int) and isinstance(legacy_until, int) and isinstance(fields["hash"], str)):
            raise BadCheckpoint("malformed checkpoint")
    except BadCheckpoint:
        raise
    except InvalidSignature:
        raise BadCheckpoint("the signature does not match (altered, or not made with our key)")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadCheckpoint("malformed checkpoint")
    return Checkpoint(
        seq, fields["hash"], fields["key_id"], legacy_until, fields["made_at"], fields["signing_key_id"], text
    )


def read_lines(text: str, keys: AuditKeys, source: str) -> tuple[list[Anchor], list[Break]]:
    """The checkpoints in a file: one JSON document, or one per line (the anchor file)."""
    anchors, problems = [], []
    stripped = text.strip()
    try:
        whole = isinstance(json.loads(stripped), dict)  # one document (a download), even indented
    except ValueError:
        whole = False
    documents = [stripped] if whole else stripped.splitlines()
    for n, line in enumerate(documents, 1):
        if not line.strip():
            continue
        where = f"{source}, line {n}" if len(documents) > 1 else source
        try:
            anchors.append(parse(line, keys).anchor(where))
        except BadCheckpoint as error:
            problems.append(Break(0, f"{where}: {error}"))
    return anchors, problems


def read_file(path: Path, keys: AuditKeys) -> tuple[list[Anchor], list[Break]]:
    return read_lines(path.read_text(), keys, str(path))


def stored(session: Session, keys: AuditKeys) -> tuple[list[Anchor], list[Break]]:
    """The checkpoints kept in the database (an attacker may delete them, not forge them)."""
    anchors, problems = [], []
    for row in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        try:
            anchors.append(parse(row.document, keys).anchor("database"))
        except BadCheckpoint as error:
            problems.append(Break(row.seq, f"checkpoint in the database: {error}"))
    return anchors, problems


def gather(session: Session, keys: AuditKeys, anchor_file: Path | None, extra: Iterable[Path] = ()):
    """Every anchor: the anchor file, the database's copies, and files given (downloads)."""
    anchors, problems = stored(session, keys)
    for path in [p for p in (anchor_file,) if p is not None and p.exists()] + list(extra):
        found, bad = read_file(path, keys)
        anchors += found
        problems += bad
    return anchors, problems


NEWEST = 8  # checkpoints of each kind a new checkpoint goes on from
_TAIL_BYTES = 64 * 1024


def newest(session: Session, keys: AuditKeys, anchor_file: Path | None) -> list[Anchor]:
    """The newest few valid checkpoints of the database and of the anchor file: enough to
    go on from, and read in the same time however long the chain and the file have grown.
    (`gather` reads them all, for `verify-audit`.)"""
    anchors = []
    query = select(AuditCheckpoint.document).order_by(AuditCheckpoint.seq.desc()).limit(NEWEST)
    documents = [("database", text) for text in session.scalars(query)]
    if anchor_file is not None and anchor_file.exists():
        documents += [(str(anchor_file), text) for text in _tail(anchor_file, NEWEST)]
    for source, text in documents:
        try:
            anchors.append(parse(text, keys).anchor(source))
        except BadCheckpoint as error:
            log.warning("audit checkpoint skipped", extra={"source": source, "problem": str(error)})
    return anchors


def _tail(path: Path, n: int) -> list[str]:
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - _TAIL_BYTES))
        lines = fh.read().decode(errors="replace").splitlines()
    if size > _TAIL_BYTES:
        lines = lines[1:]  # the first may be cut
    return [line for line in lines if line.strip()][-n:]


def append(path: Path, document: str) -> None:
    """Append one line to the anchor file, and make sure it is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (document + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint(
    session: Session, *, now: datetime, anchor_file: Path | None, keys: AuditKeys | None = None
) -> Checkpoint | None:
    """Check the chain since the newest trusted checkpoint and sign its head: appended to
    `anchor_file`, logged, and added to the session (the caller commits). None when there
    is nothing new to vouch for. `ChainBroken` (and nothing signed) when it does not verify."""
    keys = keys or keys_for(session)
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is None or head.seq == 0:
        return None
    anchors = newest(session, keys, anchor_file)
    ahead = [a for a in anchors if a.seq > head.seq]
    if ahead:
        top = max(ahead, key=lambda a: a.seq)
        problem = f"{top.source} vouches for event {top.seq}; the chain head says {head.seq}"
        raise ChainBroken([Break(top.seq, problem)])
    state, legacy = Walk(), None
    if anchors:
        start = max(anchors, key=lambda a: a.seq)
        if start.seq == head.seq and start.hash == head.hash:
            return None  # nothing new since the last checkpoint
        legacy = min(a.legacy_until for a in anchors)
        # Start at the event before the newest checkpoint's, so its hash is checked too.
        state = _state_before(session, start.seq)
        state.keyed_seen = state.last_seq > legacy
    breaks = list(walk(session, keys, state, upto=head.seq, anchors=anchors, legacy_until=legacy))
    if state.last_seq != head.seq or state.last_hash != head.hash:
        breaks.append(
            Break(state.last_seq, f"chain head says {head.seq} events; the chain ends at {state.last_seq}")
        )
    if breaks:
        log.error(
            "audit chain broken; no checkpoint written", extra={"problems": [b.problem for b in breaks[:20]]}
        )
        raise ChainBroken(breaks)
    last_key = _key_of(session, head.seq)
    cp = sign(
        keys,
        seq=head.seq,
        hash=head.hash,
        key_id=last_key,
        legacy_until=legacy if legacy is not None else state.unkeyed,
        made_at=now,
    )
    if anchor_file is not None:
        append(anchor_file, cp.document)
    log.info("audit checkpoint", extra={"checkpoint": cp.document})
    session.add(AuditCheckpoint(id=uuid.uuid4(), seq=cp.seq, made_at=now, document=cp.document))
    return cp


def _state_before(session: Session, seq: int) -> Walk:
    if seq <= 1:
        return Walk()
    prev = session.execute(
        select(AuditEvent.chain_pos, AuditEvent.hash).where(AuditEvent.chain_pos == seq - 1)
    ).first()
    if prev is None or prev.hash is None:
        return Walk(last_seq=seq - 1, last_hash="(missing)")
    return Walk(last_seq=prev.chain_pos, last_hash=prev.hash)


def _key_of(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditEvent.key_id).where(AuditEvent.chain_pos == seq))


def latest(ctx: Ctx) -> str:
    """The newest signed checkpoint, as signed (privacy officer): to keep, and to give to
    `muli verify-audit` later."""
    access.require_privacy_officer(ctx)
    keys = keys_for(ctx.session)
    for row in ctx.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(20)):
        try:
            return parse(row.document, keys).document
        except BadCheckpoint:
            continue
    raise NotFound("No audit checkpoint has been written yet.")
