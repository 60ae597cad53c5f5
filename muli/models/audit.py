"""The audit trail: append-only events, sealed afterwards into a keyed hash chain by the
worker, and signed checkpoints of the chain's head (docs/audit-trail.md)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, Sequence, String, Text, column
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base

PARTITION = re.compile(r"^audit_event_(\d{4}_\d{2}|default)$")


def not_a_partition(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's `include_object`: the partitions of `audit_event` (PostgreSQL) are made
    by the migration and the worker, not by the models, so autogenerate leaves them alone."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and PARTITION.match(table or ""))


class AuditEvent(Base):
    """One event. A request inserts it (no shared row touched); the sealer (`audit.seal`,
    in the worker) later gives it its place in the chain (`chain_pos`), the hash before it
    and its keyed hash. Until then those three are NULL.

    On PostgreSQL the table is range-partitioned by `occurred_at`, one partition a month
    (migration 0036, `audit.ensure_partitions`); its primary key there is (seq, occurred_at)
    and `seq` comes from the sequence `audit_event_seq`. On SQLite `seq` is the rowid."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The patient's access log (muli/patient/record.py): newest first by seq.
        Index("ix_audit_event_patient_seq", "patient_id", "seq"),
        # The privacy officer's search (audit_review.search: newest first by time, by
        # patient, by actor, or all) and the emergency-access review.
        Index("ix_audit_event_occurred", "occurred_at", "seq"),
        Index("ix_audit_event_patient_occurred", "patient_id", "occurred_at", "seq"),
        Index("ix_audit_event_actor_occurred", "actor_account_id", "occurred_at", "seq"),
        # The sealed chain, walked in order (verify, checkpoint), and what is left to seal.
        Index("ix_audit_event_chain_pos", "chain_pos"),
        Index(
            "ix_audit_event_unsealed",
            "seq",
            postgresql_where=column("chain_pos").is_(None),
            sqlite_where=column("chain_pos").is_(None),
        ),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), Sequence("audit_event_seq"), primary_key=True
    )
    id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    actor_account_id: Mapped[uuid.UUID | None]
    actor_kind: Mapped[str | None] = mapped_column(String(10))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_agency_name: Mapped[str | None] = mapped_column(String(200))
    patient_id: Mapped[uuid.UUID | None]
    resource: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    emergency: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # Set by the sealer: the event's place in the chain (1, 2, 3 ...; equal to seq for
    # events chained before 0036), the hash of the event before it, its own keyed hash.
    chain_pos: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # The audit key (MULI_AUDIT_KEYS) whose HMAC made `hash`; NULL: from before keys (SHA-256),
    # or not sealed yet.
    key_id: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """One row: the last link of the sealed chain (`seq` is its newest `chain_pos`), locked
    by the sealer while it seals; requests never touch it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed checkpoint of the chain head (`muli.trust.audit_anchor`), kept here for the
    privacy officer to download; the anchor file outside the database holds the same line."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    made_at: Mapped[datetime]
    document: Mapped[str] = mapped_column(Text)
