"""The on-call rota: who answers a team's patients outside office hours."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from muli.models.base import Base, CreatedMixin, IdMixin
from muli.models.people import Staff, Team

SHIFT_LEVELS = ("primary", "backup")


class OnCallShift(IdMixin, CreatedMixin, Base):
    """One person on call for one team between two instants (UTC), as primary or backup."""

    __tablename__ = "on_call_shift"
    __table_args__ = (
        CheckConstraint(f"level IN {SHIFT_LEVELS!r}", name="level"),
        CheckConstraint("ends_at > starts_at", name="order"),
        Index("ix_on_call_shift_team_ends", "team_id", "ends_at"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"))
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id], lazy="joined")
    team: Mapped[Team] = relationship()
