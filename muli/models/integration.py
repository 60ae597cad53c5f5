"""Integration clients: record systems that send MULI data (admissions) with their own credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from muli.models.base import Base, CreatedMixin, IdMixin
from muli.models.people import Team

INTEGRATION_SCOPES = ("admissions:write",)


class IntegrationClient(IdMixin, CreatedMixin, Base):
    """A system (not a person) allowed to send one team's data in: OAuth2 client credentials.

    The secret is 32 random bytes shown once; only its keyed hash is kept (a random secret of
    that length needs no slow password hash)."""

    __tablename__ = "integration_client"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship(lazy="joined")

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())


class IntegrationToken(IdMixin, CreatedMixin, Base):
    """A short-lived access token of an integration client, kept as a keyed hash only."""

    __tablename__ = "integration_token"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("integration_client.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)

    client: Mapped[IntegrationClient] = relationship(lazy="joined")
