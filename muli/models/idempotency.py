"""Stored answers to requests sent with an Idempotency-Key.

The answer repeats what the request wrote (a contact request's message and phone, diary
text, an enrolment's activation code), so it is sealed with the key ring like every other
encrypted field (`rotate-keys` finds it by `__encrypted__`) and forgotten when it expires
(`muli.trust.retention`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin


class IdempotencyRecord(IdMixin, CreatedMixin, Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("account_id", "key"),)
    __encrypted__ = ("body",)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"))
    key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    # The answer's body (UTF-8 JSON), encrypted: `body_enc`.
    body_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
