"""Refused attempts per actor and minute: what bounds the audit trail's `access.refused` events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base


class RefusalTally(Base):
    """One row per actor that was ever refused: the minute it counts, and how many so far.

    A new minute starts the count again in the same row, so the table holds at most one row
    per account (`muli.trust.refusals`)."""

    __tablename__ = "refusal_tally"

    actor_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime]
    refusals: Mapped[int] = mapped_column(default=0)
