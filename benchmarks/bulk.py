"""Bulk data for the growth and rotation benchmarks, written with SQLAlchemy core in batches.

Diary entries are encrypted with the app's own KeyRing and associated data (table, column,
row id), so the ciphertexts are the real thing: same format, same sizes, and they decrypt
in the service and rotate under `rotate-keys`. Audit events carry on the real keyed chain
from the chain head (`muli.trust.audit.keyed_hash` under the run's audit key), so
`verify-audit` still passes afterwards.
Run only while no server writes to the database (the chain head is read once).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine

from muli.models.audit import AuditEvent, AuditHead
from muli.models.diary import DiaryEntry
from muli.platform.crypto import KeyRing, aad_for
from muli.trust import audit

BATCH = 10_000

# Synthetic diary lines of realistic lengths (60-400 characters); never real people.
_PHRASES = [
    "Sov dårlig i natt, våknet flere ganger.",
    "Gikk en tur langs fjorden med hunden, det hjalp litt.",
    "Stemmene var sterke i kveld, ringte ikke noen.",
    "Spiste middag med søsteren min.",
    "Kjente uro i kroppen hele ettermiddagen.",
    "Tok medisinene til riktig tid i dag.",
    "Hørte på musikk og la meg tidlig.",
    "Møtet på DPS gikk greit, vi snakket om planen.",
    "Var redd for å gå ut, ble hjemme.",
    "Skrev ned tre ting som gikk bra i dag.",
]
TEXTS = [" ".join(_PHRASES[(i + k) % len(_PHRASES)] for k in range(1 + i % 8)) for i in range(64)]
TAGS = ['["søvn"]', '["tur", "fjord"]', '["uro"]', "[]", '["medisiner", "rutiner"]', '["familie"]']
AUDIT_ACTIONS = ("diary.read", "crisis_plan.read", "contact_request.queue", "diary.create")


def _aad(table: str, name: str, row_id: uuid.UUID) -> str:
    return aad_for(SimpleNamespace(__tablename__=table, id=row_id), name)


def count_diary(engine: Engine, patient_id: uuid.UUID) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(DiaryEntry).where(DiaryEntry.patient_id == patient_id)
        )


def count_audit(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent))


def add_diary(
    engine: Engine,
    keys: KeyRing,
    patient_id: uuid.UUID,
    n: int,
    *,
    oldest: datetime | None = None,
    progress=None,
) -> None:
    """Add `n` encrypted diary entries for a patient, older than anything written so far.

    Entries go back from `oldest` (default: the oldest entry, or now) a minute apart, so the
    newest page stays the one the service writes to and a deep page is simply far back.
    """
    table = DiaryEntry.__table__
    if oldest is None:
        with engine.connect() as conn:
            oldest = conn.scalar(
                select(func.min(DiaryEntry.created_at)).where(DiaryEntry.patient_id == patient_id)
            )
        oldest = oldest or datetime.now(UTC)
    done = 0
    while done < n:
        rows = []
        for i in range(done, min(n, done + BATCH)):
            row_id = uuid.uuid4()
            rows.append(
                {
                    "id": row_id,
                    "patient_id": patient_id,
                    "created_at": oldest - timedelta(minutes=i + 1),
                    "updated_at": None,
                    "text_enc": keys.encrypt(TEXTS[i % len(TEXTS)], _aad("diary_entry", "text", row_id)),
                    "tags_enc": keys.encrypt(TAGS[i % len(TAGS)], _aad("diary_entry", "tags", row_id)),
                    "mood": i % 11,
                    "sleep_hours": float(4 + i % 6),
                    "shared_with_team": i % 5 == 0,
                }
            )
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
        done += len(rows)
        if progress:
            progress(done)


def add_audit(
    engine: Engine,
    audit_keys: audit.AuditKeys,
    n: int,
    *,
    patient_id: uuid.UUID,
    actor_account_id: uuid.UUID,
    actor_name: str | None = None,  # what the app writes for a patient actor (their name is sealed)
    progress=None,
) -> None:
    """Append `n` sealed audit events about a patient, continuing from the chain head (what
    the template had is sealed first, as the worker would)."""
    from sqlalchemy.orm import Session

    table = AuditEvent.__table__
    with Session(engine) as session:
        while audit.seal(session, audit_keys, batch=BATCH):
            session.commit()
        session.commit()
    with engine.connect() as conn:
        head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
        seq = conn.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
    pos, prev = (head.seq, head.hash) if head else (0, audit.GENESIS)
    key_id, key = audit_keys.hmac_keys[0]
    if head is None:
        with engine.begin() as conn:
            conn.execute(AuditHead.__table__.insert(), {"id": 1, "seq": 0, "hash": audit.GENESIS})
    # Events are dated in the past, a second apart, ending a minute ago.
    start = datetime.now(UTC) - timedelta(minutes=1) - timedelta(seconds=n)
    done = 0
    while done < n:
        rows = []
        for i in range(done, min(n, done + BATCH)):
            seq += 1
            pos += 1
            values = {
                "seq": seq,
                "chain_pos": pos,
                "id": uuid.uuid4(),
                "occurred_at": start + timedelta(seconds=i),
                "action": AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)],
                "outcome": "ok",
                "actor_account_id": actor_account_id,
                "actor_kind": "patient",
                "actor_name": actor_name,
                "actor_role": "patient",
                "actor_agency_name": None,
                "patient_id": patient_id,
                "resource": "diary_entry",
                "resource_id": str(uuid.uuid4()),
                "emergency": False,
                "reason": None,
                "ip": "127.0.0.1",
                "request_id": uuid.uuid4().hex,
                "prev_hash": prev,
                "key_id": key_id,
            }
            values["hash"] = prev = audit.keyed_hash(key, values)
            rows.append(values)
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
            conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=pos, hash=prev))
            if engine.dialect.name == "postgresql":  # seq given here: move the sequence past it
                conn.execute(text("SELECT setval('audit_event_seq', :seq)"), {"seq": seq})
        done += len(rows)
        if progress:
            progress(done)


def deep_cursor(engine: Engine, keys: KeyRing, patient_id: uuid.UUID, position: int) -> str:
    """The cursor a client holds after paging to `position` of the diary (newest first).

    Made with the app's own cursor encoding (`muli.platform.pagination.encode`, keyed by the same
    index key), exactly what the service would have handed out on the page before.
    """
    from muli.platform.pagination import encode

    with engine.connect() as conn:
        row = conn.execute(
            select(DiaryEntry.created_at, DiaryEntry.id)
            .where(DiaryEntry.patient_id == patient_id)
            .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
            .offset(position)
            .limit(1)
        ).first()
    return encode(keys, row.created_at, row.id)
