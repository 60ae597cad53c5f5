"""Sessions that end on the server: portal sign-ins and API refresh-token families.

A portal session's cookie carries a random id; only its SHA-256 is stored here, so a reader of
the database cannot sign in with what they read. A refresh family is one API login: every
token rotated from it, and the access tokens issued with them (their `fam` claim), count only
while the family has not ended.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from muli.models.base import Base, CreatedMixin, IdMixin


class PortalSession(IdMixin, CreatedMixin, Base):
    __tablename__ = "portal_session"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime]
    ends_at: Mapped[datetime]  # the absolute limit, set at sign-in
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    user_agent: Mapped[str | None] = mapped_column(String(80))  # a summary: "Firefox on Linux"


class RefreshFamily(CreatedMixin, Base):
    __tablename__ = "refresh_family"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the `fam` claim
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    last_used_at: Mapped[datetime]
    # Staff must sign in again (password and code) by this instant; None: no absolute limit.
    ends_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    user_agent: Mapped[str | None] = mapped_column(String(80))
