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
# Set in a session's info by `Ctx.erase()`: whoever commits it then calls `sqlite.erase_traces`.
ERASES = "muli.erases"
ANONYMOUS = Actor(kind="anonymous")


@dataclass(frozen=True)
class Settings:
    """The few settings the domain needs, handed in by the app."""

    public_url: str = "http://127.0.0.1:5000"
    # Login throttling (muli/trust/throttle.py, docs/authentication.md).
    login_free_failures: int = 5  # failures in a row from one source before it must wait
    login_delay_cap_seconds: int = 300  # the longest wait: 1, 2, 4 ... up to this
    login_account_ceiling: int = 20  # failures for one username, all sources, in the window
    login_ceiling_first_delay_seconds: int = 30  # over the ceiling: unknown sources' first wait
    login_window_seconds: int = 24 * 3600  # failures older than this are forgotten
    known_device_days: int = 180  # a device not used for this long is forgotten
    emergency_access_minutes: int = 30
    # Sessions that end (muli/trust/sessions.py): staff API logins need password and code
    # again after this long; portal sessions end after idle and absolute limits.
    staff_reauth_hours: int = 12
    portal_idle_minutes: int = 30
    portal_absolute_hours: int = 10
    activation_days: int = 7
    outbox_keep_days: int = 30  # sent or given-up notifications and delivery attempts (docs/retention.md)
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

    def erase(self) -> None:
        """Say that this unit of work deletes a patient's text for good: whoever commits it
        then makes sure no copy stays behind in the database's files (`sqlite.erase_traces`:
        SQLite's write-ahead log still holds the pages as they were before the delete)."""
        self.session.info[ERASES] = True

    def acting_as(self, actor: Actor) -> Ctx:
        return Ctx(self.session, self.keys, actor, self.settings, self.clock)
