"""The audit trail: append-only events chained by keyed hash, and signed checkpoints of its head."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_patient_seq", "patient_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
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
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key (MULI_AUDIT_KEYS) whose HMAC made `hash`; NULL: from before keys (SHA-256).
    key_id: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """One row: the last link of the chain, locked while a transaction appends."""

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
