"""Credentials and tokens: who may log in, and which tokens still count."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from muli.models.base import Base, CreatedMixin, IdMixin

if TYPE_CHECKING:
    from muli.models.people import Patient, Staff

ACCOUNT_KINDS = ("staff", "patient")


class Account(IdMixin, CreatedMixin, Base):
    __tablename__ = "account"
    __table_args__ = (CheckConstraint(f"kind IN {ACCOUNT_KINDS!r}", name="kind"),)
    __encrypted__ = ("totp_secret",)

    username: Mapped[str] = mapped_column(String(150), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(Text)
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None]
    disabled_at: Mapped[datetime | None]
    # Tokens issued before this instant no longer count (disabling, password change).
    tokens_valid_after: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Set by an administrator: the next sign-in must choose a new password.
    password_change_required: Mapped[bool] = mapped_column(default=False, server_default=false())

    # The person behind the account, loaded with it when a request authenticates (one query).
    patient: Mapped[Patient | None] = relationship(back_populates="account", uselist=False, viewonly=True)
    staff: Mapped[Staff | None] = relationship(back_populates="account", uselist=False, viewonly=True)


class RefreshToken(CreatedMixin, Base):
    """One refresh token; spent on use. Reuse of a spent one revokes its whole family."""

    __tablename__ = "refresh_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The JWT's `iat` (whole seconds), so a retry after a lost answer can be given this very
    # token again; and the successor this token was traded for.
    issued_at: Mapped[datetime | None]
    replaced_by: Mapped[str | None] = mapped_column(String(64))


class RevokedToken(CreatedMixin, Base):
    """An access token revoked before it expired (logout)."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginThrottle(Base):
    """Failed logins in a row for one username (known or not) from one source.

    A source is a client address (an IPv6 client by its /64), or a browser that has signed in
    to this account before (`KnownDevice`). Both keys are keyed hashes: the table names no one
    and holds no address. A row lives while its source keeps failing; the worker purges it
    `login_window_seconds` after its last failure (`muli.trust.throttle.purge`).
    """

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    # Before this instant an attempt from this source for this username is not even checked.
    next_try_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class KnownDevice(Base):
    """A browser that has signed in to this account (second factor included): only the hash
    of the random id in its device cookie. Other sources' failures never slow it down."""

    __tablename__ = "known_device"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), primary_key=True)
    device_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
