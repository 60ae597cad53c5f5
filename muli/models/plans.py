"""The patient's plans: crisis plan and mastery plan, each a chain of encrypted versions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin

PLAN_KINDS = ("crisis", "mastery")
AUTHOR_KINDS = ("patient", "staff")


class Plan(IdMixin, CreatedMixin, Base):
    """One plan of one patient; `current_version` moves only by a compare-and-set update."""

    __tablename__ = "plan"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind"),
        CheckConstraint(f"kind IN {PLAN_KINDS!r}", name="kind"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    kind: Mapped[str] = mapped_column(String(10))
    current_version: Mapped[int] = mapped_column(default=0)
    # Highest version number handed out (patient edits and staff proposals share the sequence).
    last_version: Mapped[int] = mapped_column(default=0)


class PlanVersion(IdMixin, CreatedMixin, Base):
    """A whole plan document as one encrypted JSON field, with who wrote it and when."""

    __tablename__ = "plan_version"
    __table_args__ = (
        UniqueConstraint("plan_id", "version"),
        CheckConstraint(f"author_kind IN {AUTHOR_KINDS!r}", name="author_kind"),
    )
    __encrypted__ = ("document",)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    version: Mapped[int]
    document_enc: Mapped[str] = mapped_column(Text)
    author_kind: Mapped[str] = mapped_column(String(10))
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_agency_name: Mapped[str | None] = mapped_column(String(200))
    based_on_version: Mapped[int | None]
    last_reviewed_with_team_on: Mapped[date | None]
    # Patient-written versions are approved as written; staff proposals when the patient says so.
    approved_at: Mapped[datetime | None]
    # A staff proposal the patient said no to (it stays in the history, never current).
    declined_at: Mapped[datetime | None]


class StrategyUse(IdMixin, Base):
    """I tried this: one use of a mastery-plan strategy and how much it helped (0-4)."""

    __tablename__ = "strategy_use"
    __table_args__ = (
        Index("ix_strategy_use_patient_strategy", "patient_id", "strategy_id"),
        CheckConstraint("helped BETWEEN 0 AND 4", name="helped"),
    )
    __encrypted__ = ("note",)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"))
    # Strategy ids live inside the encrypted plan document and stay stable across versions.
    strategy_id: Mapped[uuid.UUID]
    helped: Mapped[int]
    note_enc: Mapped[str | None] = mapped_column(Text)
    used_at: Mapped[datetime]
