"""Who is acting, and the unit of work a service runs in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session

from muli.models.base import utcnow
from muli.platform.crypto import KeyRing


@dataclass(frozen=True)
class Actor:
    """The person (or process) behind a request, as the access policy and audit see them."""

    kind: str  # "staff", "patient", "system" or "anonymous"
    account_id: uuid.UUID | None = None
    name: str | None = None
    role: str | None = None  # a staff role, or "patient"
    staff_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    agency_name: str | None = None
    team_ids: frozenset[uuid.UUID] = frozenset()
    ip: str | None = None
    request_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_patient(self) -> bool:
        return self.kind == "patient"


SYSTEM = Actor(kind="system", name="MULI")
ANONYMOUS = Actor(kind="anonymous")


@dataclass(frozen=True)
class Settings:
    """The few settings the domain needs, handed in by the app."""

    public_url: str = "http://127.0.0.1:5000"
    login_max_failures: int = 5
    login_lock_seconds: int = 900
    emergency_access_minutes: int = 30
    activation_days: int = 7
    # Web Push endpoints on this machine (a test push service on 127.0.0.1): development and tests only.
    push_allow_http: bool = False


@dataclass
class Ctx:
    """A unit of work: the session (committed by the caller), keys, actor, settings, clock."""

    session: Session
    keys: KeyRing
    actor: Actor
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

    def rows_changed(self, statement: Executable) -> int:
        """Run an UPDATE or DELETE and answer how many rows it changed (compare-and-set)."""
        return cast("CursorResult[Any]", self.session.execute(statement)).rowcount

    def acting_as(self, actor: Actor) -> Ctx:
        return Ctx(self.session, self.keys, actor, self.settings, self.clock)
