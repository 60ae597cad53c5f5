"""The diary: private entries, shared with the team only when the patient says so."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, IdMixin


class DiaryEntry(IdMixin, Base):
    __tablename__ = "diary_entry"
    __table_args__ = (Index("ix_diary_entry_patient_created", "patient_id", "created_at", "id"),)
    # Mood and sleep are health information too: sealed as JSON padded to one length, so
    # neither a value nor whether there is one shows in the ciphertext (`diary._seal`).
    __encrypted__ = ("text", "tags", "mood", "sleep_hours")

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    text_enc: Mapped[str] = mapped_column(Text)
    tags_enc: Mapped[str | None] = mapped_column(Text)
    mood_enc: Mapped[str | None] = mapped_column(Text)  # 0-10 or null
    sleep_hours_enc: Mapped[str | None] = mapped_column(Text)  # 0-24 or null
    shared_with_team: Mapped[bool] = mapped_column(default=False)
