"""The organisation around a patient: agencies, teams, staff, patients, admissions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from muli.models.base import Base, CreatedMixin, IdMixin

if TYPE_CHECKING:
    from muli.models.accounts import Account

AGENCY_KINDS = (
    "municipality",
    "dps",
    "acute_ward",
    "police",
    "nav",
    "correctional_service",
    "prison_health",
    "other",
)
STAFF_ROLES = ("member", "coordinator", "privacy_officer", "admin")
CLINICAL_ROLES = ("member", "coordinator")
PATIENT_STATUSES = ("active", "paused", "ended")

DEFAULT_OFFICE_HOURS = {day: [["08:00", "15:30"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Agency(IdMixin, CreatedMixin, Base):
    """A service that sends people to the team: a municipality, a DPS, the acute ward..."""

    __tablename__ = "agency"
    __table_args__ = (CheckConstraint(f"kind IN {AGENCY_KINDS!r}", name="kind"),)

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))


class Team(IdMixin, CreatedMixin, Base):
    """A cross-agency team running one programme (MULI, MULI vold...)."""

    __tablename__ = "team"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    programme: Mapped[str] = mapped_column(String(100), default="MULI")
    # The programme's definition (`muli.patient.programme`); none: MULI's built-in template.
    programme_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("programme.id"), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    office_hours: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_OFFICE_HOURS))
    acknowledge_window_minutes: Mapped[int] = mapped_column(default=10)
    phone: Mapped[str | None] = mapped_column(String(32))
    on_call_phone: Mapped[str | None] = mapped_column(String(32))

    memberships: Mapped[list[TeamMembership]] = relationship(back_populates="team")


class Staff(IdMixin, CreatedMixin, Base):
    """A person working on one or more teams, employed by one agency."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # Linked by an administrator for sign-in through HelseID (muli/trust/oidc.py): the
    # person's national id and HPR number, as blind indexes only.
    helseid_pid_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    helseid_hpr_index: Mapped[str | None] = mapped_column(String(64), unique=True)

    agency: Mapped[Agency] = relationship(lazy="joined")
    account: Mapped[Account] = relationship(lazy="joined", back_populates="staff")
    memberships: Mapped[list[TeamMembership]] = relationship(back_populates="staff")

    @property
    def team_ids(self) -> set[uuid.UUID]:
        return {m.team_id for m in self.memberships}


class TeamMembership(CreatedMixin, Base):
    __tablename__ = "team_membership"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), primary_key=True, index=True)

    team: Mapped[Team] = relationship(back_populates="memberships")
    staff: Mapped[Staff] = relationship(back_populates="memberships")


class Patient(IdMixin, CreatedMixin, Base):
    """An enrolled person; name, national id and phone are encrypted (the national id is
    found through its blind index)."""

    __tablename__ = "patient"
    # One record per person and team: enrolment on a second team makes a record of its own
    # and tells nobody but the privacy officer (muli/team/enrolment.py).
    __table_args__ = (
        CheckConstraint(f"status IN {PATIENT_STATUSES!r}", name="status"),
        UniqueConstraint("team_id", "national_id_index"),
    )
    __encrypted__ = ("national_id", "phone", "display_name")

    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    # The name the patient wants to be called, encrypted: next to the fact of the programme
    # it says who is in psychiatric crisis care. Read with ctx.keys.open(patient, "display_name").
    display_name_enc: Mapped[str] = mapped_column(Text)
    national_id_enc: Mapped[str] = mapped_column(Text)
    national_id_index: Mapped[str] = mapped_column(String(64), index=True)
    # The patient's own number for "Ring meg" (+47 and 8 digits), encrypted like the national id.
    phone_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")
    trusted_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    enrolled_on: Mapped[date]
    enrolled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))

    team: Mapped[Team] = relationship(lazy="joined")
    trusted_contact: Mapped[Staff | None] = relationship(foreign_keys=[trusted_contact_id])
    account: Mapped[Account | None] = relationship(back_populates="patient")


class Admission(IdMixin, CreatedMixin, Base):
    """A stay in the acute ward; those before enrolment are the outcome baseline.

    Where and whether it was involuntary are health information, so both are encrypted
    (`muli.patient.record.seal_admission` / `admission_details`); the flag is sealed as "1"
    or "0", one character either way, so the ciphertext's length does not tell it.
    """

    __tablename__ = "admission"
    # One admission per identifier the record system gave it (the FHIR import is idempotent).
    __table_args__ = (UniqueConstraint("patient_id", "source_key"),)
    __encrypted__ = ("facility", "involuntary")

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    admitted_on: Mapped[date]
    discharged_on: Mapped[date | None]
    facility_enc: Mapped[str | None] = mapped_column(Text)
    involuntary_enc: Mapped[str | None] = mapped_column(Text)  # none sealed: not involuntary
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    # From a record system: the keyed hash of its Encounter.identifier (system|value), never
    # the identifier itself (muli.patient.fhir_admissions); None when staff recorded it.
    source_key: Mapped[str | None] = mapped_column(String(64))


class ActivationCode(IdMixin, CreatedMixin, Base):
    """A one-time code a patient uses to set their credentials; stored only as a keyed hash."""

    __tablename__ = "activation_code"
    __table_args__ = (UniqueConstraint("code_hash"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
