"""Login throttling that slows guessing but cannot be turned against the user.

There is no lock-out. Failures are counted per username *and source*; a source that keeps
failing must wait longer and longer before its next attempt for that username is even
checked (1, 2, 4 ... s up to a cap, after a few free failures). Someone else's failures never
make the right user wait:

- a **known device** (a browser that has signed in to this account before, second factor
  included, and carries its signed device cookie) is a source of its own: only its own
  failures slow it, whatever happens at its address;
- over the **account ceiling** (many failures for one username from all sources together)
  sources that are *not* known devices get no free failures, and their waits start higher;
  except while the account's person is **on call** (a callable handed in by the web layer:
  `trust` may not import the rota), who then keeps the ordinary allowance on any device.

The rules, the settings and how they follow OWASP ASVS 5.0 are in docs/authentication.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from muli.models.accounts import Account, KnownDevice, LoginThrottle
from muli.platform.context import Ctx
from muli.platform.errors import TooManyAttempts

# Whether an account's person is on call now (or about to be): see on_call.on_call_now.
OnCall = Callable[[Ctx, uuid.UUID], bool]

_THROTTLE = cast(Table, LoginThrottle.__table__)
_MAX_DOUBLINGS = 30  # 2**30 s is far beyond any cap; keeps the arithmetic small


@dataclass(frozen=True)
class Source:
    """Where an attempt comes from, as the throttle counts it."""

    kind: str  # "address" or "device"
    key: str  # keyed hash: the throttle row's and the audit events' name for the source

    @property
    def resource(self) -> str:
        return f"login_{self.kind}"


@dataclass
class Gate:
    """An attempt let through to the password check: its row is locked until the commit."""

    username_key: str
    source: Source
    row: LoginThrottle
    account_id: uuid.UUID | None


@dataclass(frozen=True)
class Failure:
    """What a counted failure decided, for the audit trail."""

    failures: int  # in a row, from this source for this username
    account_failures: int  # for this username from every source, within the window
    wait_seconds: int  # before this source's next attempt is checked (0: at once)
    strict: bool  # the account ceiling applied to this source
    crossed_ceiling: bool  # this failure took the username over the ceiling


def username_key(ctx: Ctx, username: str) -> str:
    """Usernames tried are often mistyped passwords: keep only a keyed hash of them."""
    return ctx.keys.keyed_hash("login-username", username.strip().casefold())


def address_network(address: str | None) -> str:
    """The unit an address is counted in: an IPv4 address, or the /64 of an IPv6 one (a
    single household or phone holds a whole /64, and could otherwise change source at will)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def device_hash(device_id: str) -> str:
    """The stored form of a device id (256 random bits: a plain hash is enough)."""
    return hashlib.sha256(device_id.encode()).hexdigest()


def new_device_id() -> str:
    return secrets.token_urlsafe(32)


def is_known_device(ctx: Ctx, account_id: uuid.UUID | None, device_id: str | None) -> bool:
    if account_id is None or not device_id:
        return False
    row = ctx.session.get(KnownDevice, (account_id, device_hash(device_id)))
    cutoff = ctx.now() - timedelta(days=ctx.settings.known_device_days)
    return row is not None and row.last_seen_at >= cutoff


def source_for(ctx: Ctx, account: Account | None, device_id: str | None) -> Source:
    """The attempt's source: the device if it is known for this account, else the address."""
    if account is not None and is_known_device(ctx, account.id, device_id):
        return Source("device", ctx.keys.keyed_hash("login-source", f"device|{device_hash(device_id or '')}"))
    network = address_network(ctx.actor.ip)
    return Source("address", ctx.keys.keyed_hash("login-source", f"address|{network}"))


def _insert_if_absent(ctx: Ctx, **values):
    dialect = ctx.session.get_bind().dialect.name
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_for(_THROTTLE).values(**values).on_conflict_do_nothing()


def enter(ctx: Ctx, ukey: str, source: Source, account_id: uuid.UUID | None) -> Gate:
    """Let an attempt through to the password check, or refuse it unchecked (429).

    The row is made if absent and locked, so parallel attempts from one source for one
    username take turns (PostgreSQL; SQLite runs one writer at a time anyway) and cannot
    slip several guesses into one wait.
    """
    now = ctx.now()
    ctx.session.execute(
        _insert_if_absent(ctx, username_key=ukey, source_key=source.key, failures=0, updated_at=now)
    )
    row = ctx.session.get(LoginThrottle, (ukey, source.key), with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above, or there already
    if row.updated_at < now - timedelta(seconds=ctx.settings.login_window_seconds):
        row.failures, row.next_try_at = 0, None  # a quiet day: this source starts afresh
    if row.next_try_at is not None and row.next_try_at > now:
        raise TooManyAttempts(max(1, math.ceil((row.next_try_at - now).total_seconds())))
    return Gate(ukey, source, row, account_id)


def wait_after(failures: int, free: int, first: int, cap: int) -> int:
    """Seconds to wait after the `failures`-th failure in a row: none while free, then
    `first`, doubling up to `cap`."""
    if failures <= free:
        return 0
    return min(cap, first * 2 ** min(failures - free - 1, _MAX_DOUBLINGS))


def count_failure(ctx: Ctx, gate: Gate, on_call: OnCall | None = None) -> Failure:
    """Count a failed attempt and set this source's wait before its next one."""
    settings, now = ctx.settings, ctx.now()
    row = gate.row
    row.failures += 1
    row.updated_at = now
    ctx.session.flush()
    window_start = now - timedelta(seconds=settings.login_window_seconds)
    total = ctx.session.scalar(
        select(func.coalesce(func.sum(LoginThrottle.failures), 0)).where(
            LoginThrottle.username_key == gate.username_key, LoginThrottle.updated_at >= window_start
        )
    )
    total = int(total or 0)
    over = total >= settings.login_account_ceiling
    strict = (
        over
        and gate.source.kind != "device"
        and not (on_call is not None and gate.account_id is not None and on_call(ctx, gate.account_id))
    )
    cap = settings.login_delay_cap_seconds
    if strict:
        wait = wait_after(row.failures, 0, settings.login_ceiling_first_delay_seconds, cap)
    else:
        wait = wait_after(row.failures, settings.login_free_failures, 1, cap)
    row.next_try_at = now + timedelta(seconds=wait) if wait else None
    crossed = over and total - 1 < settings.login_account_ceiling
    return Failure(row.failures, total, wait, strict, crossed)


def clear(ctx: Ctx, gate: Gate) -> None:
    """A successful login forgives its own source's failures (not other sources')."""
    ctx.session.delete(gate.row)


def remember_device(ctx: Ctx, account: Account, device_id: str | None) -> str:
    """After a successful login: remember this browser for the account (its hash only).

    Answers the device id for the cookie: the one presented, or a new one.
    """
    device_id = device_id or new_device_id()
    now = ctx.now()
    hashed = device_hash(device_id)
    row = ctx.session.get(KnownDevice, (account.id, hashed))
    if row is None:
        device = KnownDevice(account_id=account.id, device_hash=hashed, first_seen_at=now, last_seen_at=now)
        ctx.session.add(device)
    else:
        row.last_seen_at = now
    return device_id


def purge(ctx: Ctx) -> tuple[int, int]:
    """Forget throttle rows a window after their last failure, and devices long unused.

    Called by the worker loop (`flask muli worker`); answers (throttle rows, devices) deleted.
    """
    now = ctx.now()
    quiet = now - timedelta(seconds=ctx.settings.login_window_seconds)
    unused = now - timedelta(days=ctx.settings.known_device_days)
    throttles = ctx.rows_changed(
        delete(LoginThrottle).where(
            LoginThrottle.updated_at < quiet,
            (LoginThrottle.next_try_at.is_(None)) | (LoginThrottle.next_try_at < now),
        )
    )
    devices = ctx.rows_changed(delete(KnownDevice).where(KnownDevice.last_seen_at < unused))
    return throttles, devices
