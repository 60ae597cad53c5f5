"""Retention: what the service forgets, and when (the rules and their reasons: docs/retention.md).

Everything here is deleted for good once its purpose is spent; the audit trail is never
touched. The worker (`muli worker`) calls the whole set once an hour through the composition
root, and `muli purge` does it once (for cron); the rooms above add their own part (the
outbox: `muli.contact.notifications.purge`).
"""

from __future__ import annotations

from sqlalchemy import delete

from muli.models.idempotency import IdempotencyRecord
from muli.models.people import ActivationCode
from muli.platform.context import Ctx
from muli.trust import accounts, integration, sessions, throttle


def purge_idempotency(ctx: Ctx) -> int:
    """Stored Idempotency-Key answers past their window (`MULI_IDEMPOTENCY_TTL`, 48 h): a
    retry after that is a new request. Answers how many were deleted."""
    return ctx.rows_changed(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < ctx.now()))


def purge_activation_codes(ctx: Ctx) -> int:
    """Activation codes that can no longer be used: spent (used, or replaced by a newer code)
    or expired. They are kept only as a keyed hash, but a dead code has nothing left to check."""
    dead = ActivationCode.used_at.is_not(None) | (ActivationCode.expires_at < ctx.now())
    return ctx.rows_changed(delete(ActivationCode).where(dead))


def purge(ctx: Ctx) -> dict[str, int]:
    """The trust room's housekeeping; answers how many rows of each kind were deleted."""
    throttles, devices = throttle.purge(ctx)
    return {
        "idempotency_records": purge_idempotency(ctx),
        "tokens": accounts.purge_expired(ctx),
        "integration_tokens": integration.purge_expired(ctx),
        "activation_codes": purge_activation_codes(ctx),
        "login_throttle": throttles,
        "known_devices": devices,
        "ended_sessions": sessions.purge_ended_sessions(ctx.session, ctx.now()),
    }
