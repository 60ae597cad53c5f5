"""Opaque, tamper-evident cursors for keyset pagination (newest first)."""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal

from muli.platform.crypto import KeyRing
from muli.platform.errors import BadRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def encode(keys: KeyRing, at: datetime, row_id: uuid.UUID | int) -> str:
    body = json.dumps([at.isoformat(), str(row_id)], separators=(",", ":"))
    sig = keys.keyed_hash("cursor", body)[:32]
    return base64.urlsafe_b64encode(f"{body}|{sig}".encode()).decode().rstrip("=")


def decode(keys: KeyRing, cursor: str) -> tuple[datetime, str]:
    """The (time, id) a cursor points after; 400 `invalid-cursor` when it was altered."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        body, sig = raw.rsplit("|", 1)
        if not hmac.compare_digest(sig, keys.keyed_hash("cursor", body)[:32]):
            raise ValueError("signature")
        at, row_id = json.loads(body)
        return datetime.fromisoformat(at), row_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("The cursor is not valid. Start again from the first page.", code="invalid-cursor")


def page_limit(limit: int):
    """LIMIT `limit` + 1 (a page and a look at the next), written into the statement, not
    sent as a parameter. psycopg prepares a statement after 5 runs, and PostgreSQL
    (plan_cache_mode auto) then weighs its generic plan, made once, against a custom plan per
    run; with `LIMIT $n` the generic plan is costed as if it read a tenth of the rows, so on a
    large table it loses and every run is planned anew. For the audit trail's monthly
    partitions that planning (every partition, 7 indexes each) costs more than reading the
    page. With the number in the text (one prepared statement per page size) the generic plan
    is costed for the page, and kept."""
    return literal(int(limit) + 1, literal_execute=True)


def keyset(
    session,
    query,
    keys: KeyRing,
    time_col,
    id_col,
    *,
    cursor: str | None,
    limit: int,
    id_type=uuid.UUID,
):
    """Run `query` newest first from `cursor`; stable while new rows arrive (no repeats, no gaps)."""
    if cursor:
        at, row_id = decode(keys, cursor)
        try:
            row_id = id_type(row_id)
        except (ValueError, TypeError):
            raise BadRequest("The cursor is not valid.", code="invalid-cursor")
        # `time_col <= at` is implied by the rest, but spelled out it lets SQLite and PostgreSQL
        # start the index range at the cursor instead of filtering every newer row (a deep page
        # of 10^6 entries would otherwise read half the index).
        query = query.where(time_col <= at, (time_col < at) | ((time_col == at) & (id_col < row_id)))
    rows = session.scalars(query.order_by(time_col.desc(), id_col.desc()).limit(page_limit(limit))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode(keys, getattr(last, time_col.key), getattr(last, id_col.key))
    return Page(rows, next_cursor)
