"""What the patient lets each agency see, and access taken without it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin, utcnow

CONSENT_SCOPES = (
    "crisis_plan",
    "mastery_plan",
    "shared_diary",
    "contact_requests",
    "meeting_notes",
)
CONSENT_STATES = ("granted", "withdrawn")
# The privacy officer's judgement of a break-the-glass access.
REVIEW_VERDICTS = ("justified", "not_justified", "follow_up")
# What break-the-glass can open, asked for one by one (the crisis plan unless more is needed
# now): the crisis plan, the contact history (the `contact_requests` scope) and the shared
# diary. The mastery plan and meeting notes wait for consent.
EMERGENCY_SCOPES = ("crisis_plan", "contact_requests", "shared_diary")
EMERGENCY_DEFAULT = ("crisis_plan",)


class Consent(IdMixin, Base):
    """The current state for one patient, agency and scope."""

    __tablename__ = "consent"
    __table_args__ = (
        UniqueConstraint("patient_id", "agency_id", "scope"),
        CheckConstraint(f"scope IN {CONSENT_SCOPES!r}", name="scope"),
        CheckConstraint(f"state IN {CONSENT_STATES!r}", name="state"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    scope: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentChange(IdMixin, Base):
    """History: every grant and withdrawal, by whom."""

    __tablename__ = "consent_change"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"))
    scope: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))


class EmergencyAccess(IdMixin, CreatedMixin, Base):
    """Break-the-glass: a time-boxed grant without consent, with a reason, to be reviewed."""

    __tablename__ = "emergency_access"
    __encrypted__ = ("reason",)

    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patient.id"), index=True)
    reason_enc: Mapped[str] = mapped_column(Text)
    # The scopes this window opens, space-separated (some of EMERGENCY_SCOPES). NULL only on
    # windows opened before scopes were asked for: those opened every scope.
    scopes: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # The latest review (its history is in EmergencyAccessReview); "follow_up" keeps the
    # access in the queue.
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    review_verdict: Mapped[str | None] = mapped_column(String(20))

    @property
    def scope_set(self) -> frozenset[str]:
        if self.scopes is None:
            return frozenset(CONSENT_SCOPES)
        return frozenset(self.scopes.split())


class EmergencyAccessReview(IdMixin, Base):
    """One review of a break-the-glass access: verdict, comment (may name health facts,
    so encrypted), who and when. A re-review adds a row; none is changed."""

    __tablename__ = "emergency_access_review"
    __encrypted__ = ("comment",)
    __table_args__ = (
        CheckConstraint(f"verdict IN {REVIEW_VERDICTS!r}", name="verdict"),
        Index("ix_emergency_access_review_access", "emergency_access_id", "reviewed_at"),
    )

    emergency_access_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("emergency_access.id"))
    verdict: Mapped[str | None] = mapped_column(String(20))  # None: reviewed before verdicts
    comment_enc: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
