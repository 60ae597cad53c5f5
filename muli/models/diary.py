"""The diary: private entries, shared with the team only when the patient says so."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, IdMixin


class DiaryEntry(IdMixin, Base):
    __tablename__ = "diary_entry"
    __table_args__ = (
        Index("ix_diary_entry_patient_created", "patient_id", "created_at", "id"),
        CheckConstraint("mood IS NULL OR mood BETWEEN 0 AND 10", name="mood"),
    )
    __encrypted__ = ("text", "tags")

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    text_enc: Mapped[str] = mapped_column(Text)
    tags_enc: Mapped[str | None] = mapped_column(Text)
    mood: Mapped[int | None]
    sleep_hours: Mapped[float | None]
    shared_with_team: Mapped[bool] = mapped_column(default=False)
