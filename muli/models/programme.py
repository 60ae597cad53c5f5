"""A programme (MULI, MULI vold...): who it is for, its plans' sections, consent scopes, agenda
and outcome indicators, as one validated definition (`muli.patient.programme`)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin


class Programme(IdMixin, CreatedMixin, Base):
    """No patient data: the programme's definition is kept as it was validated, in plain JSON."""

    __tablename__ = "programme"

    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict] = mapped_column(JSON)


class IndicatorEvent(IdMixin, CreatedMixin, Base):
    """One recorded occurrence of a programme's outcome indicator about a patient (a police
    contact, a violent incident, a stay in custody with its days).

    Which indicator and how many are health information: both are sealed at one length
    (`muli.team.indicators`), so the ciphertext does not tell them apart.
    """

    __tablename__ = "indicator_event"
    __encrypted__ = ("indicator", "count")

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    occurred_on: Mapped[date]
    indicator_enc: Mapped[str] = mapped_column(Text)
    count_enc: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
