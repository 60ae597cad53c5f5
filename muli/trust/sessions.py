"""Sessions that end on the server: portal sessions and API refresh families.

A portal session lives in `portal_session`; the browser's cookie carries only a random id,
stored here as its SHA-256. Sign-out, the idle and absolute limits, a password change and a
disabled account end the row, and a copy of the cookie is then worth nothing.

An API login is a refresh family (`refresh_family`): every refresh token rotated from it and
every access token issued with them (their `fam` claim) counts only while the family has not
ended. Logout ends the family of the access token presented; staff families end
`staff_reauth_hours` after the password and code were given (docs/authentication.md).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from muli.models.accounts import Account, RefreshToken
from muli.models.sessions import PortalSession, RefreshFamily
from muli.platform.context import Ctx
from muli.platform.errors import NotFound
from muli.trust import audit

# last_seen_at is written at most this often: the idle limit is counted in minutes, and a
# page with several requests should not write several times.
TOUCH_EVERY = timedelta(seconds=15)
# Ended sessions and families are kept this long (the owner and the admin see recent ones).
KEEP_ENDED = timedelta(days=30)
# A family unused this long has no live refresh token left (they last 30 days).
UNUSED_FAMILY = timedelta(days=30) + KEEP_ENDED

_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def summarise_user_agent(user_agent: str | None) -> str | None:
    """A short, coarse description ("Firefox on Android"), never the whole string."""
    if not user_agent:
        return None
    browser = next((name for key, name in _BROWSERS if key in user_agent), None)
    system = next((name for key, name in _SYSTEMS if key in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    word = re.match(r"[A-Za-z][A-Za-z0-9._-]{0,30}", user_agent)
    return word.group(0) if word else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Portal sessions


def start_portal_session(ctx: Ctx, account: Account, user_agent: str | None = None) -> str:
    """A new portal session; answers the random id for the cookie (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    ctx.session.add(
        PortalSession(
            account_id=account.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            ends_at=now + timedelta(hours=ctx.settings.portal_absolute_hours),
            user_agent=summarise_user_agent(user_agent),
        )
    )
    return token


@dataclass(frozen=True)
class PortalCheck:
    row: PortalSession | None
    reason: str | None  # why it no longer counts: "idle", "absolute", "ended", "unknown"


def check_portal_session(ctx: Ctx, token: str, *, touch: bool = True) -> PortalCheck:
    """The live session the cookie's id names, or why there is none (an expired one is ended).

    `touch=False` is for background polling: it must not keep an idle session alive."""
    row = ctx.session.scalars(select(PortalSession).where(PortalSession.token_hash == _hash(token))).first()
    if row is None:
        return PortalCheck(None, "unknown")
    if row.ended_at is not None:
        return PortalCheck(None, "ended")
    now = ctx.now()
    reason = None
    if now >= row.ends_at:
        reason = "absolute"
    elif now - row.last_seen_at > timedelta(minutes=ctx.settings.portal_idle_minutes):
        reason = "idle"
    if reason:
        _end_portal(ctx, row.id, reason)
        return PortalCheck(None, reason)
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return PortalCheck(row, None)


def _end_portal(ctx: Ctx, session_id: uuid.UUID, reason: str) -> int:
    return ctx.rows_changed(
        update(PortalSession)
        .where(PortalSession.id == session_id, PortalSession.ended_at.is_(None))
        .values(ended_at=ctx.now(), end_reason=reason)
    )


def end_portal_session(ctx: Ctx, token: str, reason: str = "sign_out") -> None:
    """Sign-out: the session the cookie names ends (if it is still live)."""
    ctx.rows_changed(
        update(PortalSession)
        .where(PortalSession.token_hash == _hash(token), PortalSession.ended_at.is_(None))
        .values(ended_at=ctx.now(), end_reason=reason)
    )


# Refresh families


def start_family(ctx: Ctx, account: Account, user_agent: str | None = None) -> RefreshFamily:
    """A new API login. Staff must give password and code again `staff_reauth_hours` later."""
    now = ctx.now()
    ends_at = now + timedelta(hours=ctx.settings.staff_reauth_hours) if account.kind == "staff" else None
    family = RefreshFamily(
        id=uuid.uuid4(),
        account_id=account.id,
        created_at=now,
        last_used_at=now,
        ends_at=ends_at,
        user_agent=summarise_user_agent(user_agent),
    )
    ctx.session.add(family)
    return family


def end_family(ctx: Ctx, family_id: uuid.UUID, reason: str, account_id: uuid.UUID | None = None) -> bool:
    """End a family: its refresh tokens and its access tokens stop counting at once."""
    now = ctx.now()
    where = [RefreshFamily.id == family_id, RefreshFamily.ended_at.is_(None)]
    if account_id is not None:
        where.append(RefreshFamily.account_id == account_id)
    ended = ctx.rows_changed(update(RefreshFamily).where(*where).values(ended_at=now, end_reason=reason))
    token_where = [RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)]
    if account_id is not None:
        token_where.append(RefreshToken.account_id == account_id)
    ctx.session.execute(update(RefreshToken).where(*token_where).values(revoked_at=now))
    return ended > 0


def end_all_sessions(ctx: Ctx, account: Account, reason: str, *, keep: uuid.UUID | None = None) -> None:
    """Every portal session and API login of the account ends now, on every device (but the
    one `keep` names: the caller's own, when they changed their password themselves).

    Access tokens without a family (none are issued any more) stop counting through
    `tokens_valid_after`."""
    now = ctx.now()
    account.tokens_valid_after = now
    portal = [PortalSession.account_id == account.id, PortalSession.ended_at.is_(None)]
    families = [RefreshFamily.account_id == account.id, RefreshFamily.ended_at.is_(None)]
    tokens = [RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None)]
    if keep is not None:
        portal.append(PortalSession.id != keep)
        families.append(RefreshFamily.id != keep)
        tokens.append(RefreshToken.family_id != keep)
    ctx.session.execute(update(PortalSession).where(*portal).values(ended_at=now, end_reason=reason))
    ctx.session.execute(update(RefreshFamily).where(*families).values(ended_at=now, end_reason=reason))
    ctx.session.execute(update(RefreshToken).where(*tokens).values(revoked_at=now))


# Seeing and ending one's sessions (or, for an admin, a staff member's)


@dataclass(frozen=True)
class SessionView:
    id: uuid.UUID
    kind: str  # "portal" or "api"
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    current: bool = False


def live_sessions(
    ctx: Ctx, account_id: uuid.UUID, *, current_id: uuid.UUID | None = None
) -> list[SessionView]:
    """The account's sessions that still count, newest use first."""
    now = ctx.now()
    idle = now - timedelta(minutes=ctx.settings.portal_idle_minutes)
    portal = ctx.session.scalars(
        select(PortalSession).where(
            PortalSession.account_id == account_id,
            PortalSession.ended_at.is_(None),
            PortalSession.ends_at > now,
            PortalSession.last_seen_at >= idle,
        )
    ).all()
    families = ctx.session.scalars(
        select(RefreshFamily).where(
            RefreshFamily.account_id == account_id,
            RefreshFamily.ended_at.is_(None),
            (RefreshFamily.ends_at.is_(None)) | (RefreshFamily.ends_at > now),
        )
    ).all()
    views = [
        SessionView(p.id, "portal", p.created_at, p.last_seen_at, p.user_agent, p.id == current_id)
        for p in portal
    ] + [
        SessionView(f.id, "api", f.created_at, f.last_used_at, f.user_agent, f.id == current_id)
        for f in families
    ]
    return sorted(views, key=lambda v: v.last_used_at, reverse=True)


def end_session(ctx: Ctx, account_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """End one session (portal or API) of the account; 404 when it has no such live session.
    Audited `session.end` (the account's owner, or the admin who ended it)."""
    kind = "portal_session"
    if not _end_portal_of(ctx, account_id, session_id):
        kind = "refresh_family"
        if not end_family(ctx, session_id, "ended", account_id):
            raise NotFound("No such session.")
    audit.record(ctx.session, ctx.actor, "session.end", resource=kind, resource_id=session_id)


def _end_portal_of(ctx: Ctx, account_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    return (
        ctx.rows_changed(
            update(PortalSession)
            .where(
                PortalSession.id == session_id,
                PortalSession.account_id == account_id,
                PortalSession.ended_at.is_(None),
            )
            .values(ended_at=ctx.now(), end_reason="ended")
        )
        > 0
    )


def purge_ended_sessions(session: Session, now: datetime) -> int:
    """Retention: forget portal sessions and refresh families ended (or past their absolute
    limit) more than `KEEP_ENDED` ago, with their refresh tokens. Answers the rows removed."""
    cutoff = now - KEEP_ENDED
    old_families = select(RefreshFamily.id).where(
        (RefreshFamily.ended_at < cutoff)
        | (RefreshFamily.ends_at < cutoff)
        | (RefreshFamily.last_used_at < now - UNUSED_FAMILY)
    )
    removed = 0
    for statement in (
        delete(RefreshToken).where(RefreshToken.family_id.in_(old_families)),
        delete(RefreshFamily).where(RefreshFamily.id.in_(old_families)),
        delete(PortalSession).where((PortalSession.ended_at < cutoff) | (PortalSession.ends_at < cutoff)),
    ):
        removed += session.execute(statement).rowcount  # type: ignore[attr-defined]
    return removed
