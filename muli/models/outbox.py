"""The outbox: notifications written in the same transaction as the change they announce."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin

OUTBOX_STATES = ("pending", "sending", "sent", "failed")
OUTBOX_CHANNELS = ("email", "push")
# `unknown`: the sender stopped (killed) before recording a result; found when its lease ran out.
ATTEMPT_OUTCOMES = ("sent", "retry", "gone", "failed", "unknown")


class OutboxMessage(IdMixin, CreatedMixin, Base):
    """An email or a Web Push message to send. Never holds health information or a patient's name.

    `dedupe_key` is unique, so the same notification cannot be queued twice even when two
    workers race; `state`, `claimed_until` and `attempts` let one sender at a time claim it.
    A push row names its subscription (`recipient` is the subscription's id) and the account
    it is for, so a push that cannot be delivered falls back to that person's email.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"state IN {OUTBOX_STATES!r}", name="state"),
        Index("ix_outbox_message_state_next", "state", "next_attempt_at"),
    )

    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10), default="email")
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))


class OutboxAttempt(IdMixin, Base):
    """One attempt to deliver an outbox message and what came of it (kept for every attempt)."""

    __tablename__ = "outbox_attempt"
    __table_args__ = (CheckConstraint(f"outcome IN {ATTEMPT_OUTCOMES!r}", name="outcome"),)

    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    attempt: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(10))
    status: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(String(300))
