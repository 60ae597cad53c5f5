"""Who is reachable now: office hours, Norwegian public holidays and the on-call rota.

Office hours are wall-clock times in the team's time zone (`Team.office_hours`, e.g.
`{"mon": [["08:00", "15:30"]]}`); they are turned into UTC instants per calendar day, so
the daylight-saving switches move them correctly. Shifts are stored as UTC instants.
Office hours win over the rota: during them the team itself answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import bindparam, select

from muli.models.on_call import SHIFT_LEVELS, OnCallShift
from muli.models.people import CLINICAL_ROLES, Staff, Team, TeamMembership
from muli.platform.context import Ctx
from muli.platform.errors import Conflict, NotFound, ValidationFailed
from muli.platform.pagination import keyset
from muli.platform.words import N_
from muli.trust import access, audit

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON = timedelta(days=14)
MAX_SHIFT = timedelta(days=7)


@dataclass(frozen=True)
class Availability:
    """Who answers at `at`: `office`, `on_call` or `none`, and when (and to what) that changes."""

    status: str
    at: datetime
    next_change_at: datetime | None
    next_status: str | None
    primary: Staff | None = None
    backup: Staff | None = None


@dataclass(frozen=True)
class NewShift:
    staff_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    level: str = "primary"


@cache
def _holidays(year: int):
    return holidays.country_holidays("NO", years=year)


def is_public_holiday(day: date) -> bool:
    return day in _holidays(day.year)


OVERLAP = {
    "primary": N_("%(name)s is already on call from %(starts)s to %(ends)s; shifts may not overlap."),
    "backup": N_(
        "%(name)s is already on call as backup from %(starts)s to %(ends)s; shifts may not overlap."
    ),
}


def zone(team: Team) -> ZoneInfo:
    return ZoneInfo(team.time_zone or "Europe/Oslo")


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def office_intervals(team: Team, day: date) -> list[tuple[datetime, datetime]]:
    """The team's office hours on a local calendar day, as UTC instants (none on holidays)."""
    if is_public_holiday(day):
        return []
    tz = zone(team)
    out = []
    for start, end in (team.office_hours or {}).get(DAYS[day.weekday()], []):
        begins = datetime.combine(day, _clock(start), tzinfo=tz).astimezone(UTC)
        ends = datetime.combine(day, _clock(end), tzinfo=tz).astimezone(UTC)
        if ends > begins:
            out.append((begins, ends))
    return out


def in_office_hours(team: Team, at: datetime) -> bool:
    day = at.astimezone(zone(team)).date()
    return any(start <= at < end for start, end in office_intervals(team, day))


def last_office_close_before(team: Team, at: datetime, *, max_days: int = 30) -> datetime | None:
    """When the last working day before `at` ended (the end of its last office interval)."""
    day = at.astimezone(zone(team)).date()
    for back in range(max_days + 1):
        ends = [end for _, end in office_intervals(team, day - timedelta(days=back)) if end <= at]
        if ends:
            return max(ends)
    return None


def _shifts_between(ctx: Ctx, team_id: uuid.UUID, start: datetime, end: datetime) -> list[Any]:
    """The shifts overlapping [start, end], as rows of the four columns availability needs
    (staff_id, starts_at, ends_at, level): every contact request and profile read asks, and
    loading whole shifts (each joined to its staff, agency and account) was a tenth of a
    contact request's CPU. The one or two people on call are loaded by `_staff`."""
    return list(
        ctx.session.execute(
            select(OnCallShift.staff_id, OnCallShift.starts_at, OnCallShift.ends_at, OnCallShift.level)
            .where(
                OnCallShift.team_id == team_id,
                OnCallShift.ends_at > start,
                OnCallShift.starts_at < end,
            )
            .order_by(OnCallShift.starts_at)
        )
    )


def _on_shift(shifts: list[Any], at: datetime, level: str) -> Any | None:
    return next((s for s in shifts if s.level == level and s.starts_at <= at < s.ends_at), None)


def _status(team: Team, shifts: list[Any], at: datetime) -> str:
    if in_office_hours(team, at):
        return "office"
    if _on_shift(shifts, at, "primary") or _on_shift(shifts, at, "backup"):
        return "on_call"
    return "none"


def availability(ctx: Ctx, team: Team, at: datetime | None = None) -> Availability:
    """Who is reachable at `at` (default now) and the next instant that changes, within 14 days."""
    at = at or ctx.now()
    shifts = _shifts_between(ctx, team.id, at - timedelta(seconds=1), at + HORIZON)
    status = _status(team, shifts, at)
    primary, backup = _on_shift(shifts, at, "primary"), _on_shift(shifts, at, "backup")
    boundaries = {b for s in shifts for b in (s.starts_at, s.ends_at)}
    first_day = at.astimezone(zone(team)).date()
    for offset in range(HORIZON.days + 1):
        for start, end in office_intervals(team, first_day + timedelta(days=offset)):
            boundaries.update((start, end))
    for moment in sorted(b for b in boundaries if at < b <= at + HORIZON):
        later = _status(team, shifts, moment)
        if later != status:
            return Availability(status, at, moment, later, _staff(ctx, primary), _staff(ctx, backup))
    return Availability(status, at, None, None, _staff(ctx, primary), _staff(ctx, backup))


def _staff(ctx: Ctx, shift: Any | None) -> Staff | None:
    return None if shift is None else ctx.session.get(Staff, shift.staff_id)


def responder_now(ctx: Ctx, team: Team, at: datetime) -> tuple[str, Staff | None]:
    """Where a request made at `at` goes, and the on-call person who gets it first: what
    `availability(ctx, team, at)` says now, without working out when it changes next (every
    contact request asks; the 14 days ahead are the profile's). In office hours no shift is
    read; otherwise only the shifts that cover `at`."""
    if in_office_hours(team, at):
        return "office", None
    shifts = list(ctx.session.execute(_SHIFTS_AT, {"team_id": team.id, "at": at}))
    primary, backup = _on_shift(shifts, at, "primary"), _on_shift(shifts, at, "backup")
    if primary is None and backup is None:
        return "none", None
    return "on_call", _staff(ctx, primary) or _staff(ctx, backup)


# The shifts covering one instant (built once; the columns `_shifts_between` reads).
_SHIFT = OnCallShift.__table__
_SHIFTS_AT = (
    select(_SHIFT.c.staff_id, _SHIFT.c.starts_at, _SHIFT.c.ends_at, _SHIFT.c.level)
    .where(
        _SHIFT.c.team_id == bindparam("team_id"),
        _SHIFT.c.starts_at <= bindparam("at"),
        _SHIFT.c.ends_at > bindparam("at"),
    )
    .order_by(_SHIFT.c.starts_at)
)


def availability_view(ctx: Ctx, team: Team) -> dict:
    """For the patient: who answers now, and when (and to what) that changes."""
    now = availability(ctx, team)
    person = now.primary or now.backup if now.status == "on_call" else None
    return {
        "status": now.status,
        "next_change_at": now.next_change_at,
        "next_status": now.next_status,
        "on_call": None if person is None else {"name": person.display_name, "agency": person.agency.name},
    }


# Someone about to go on call signs in before the shift starts.
ON_CALL_LEAD = timedelta(hours=1)


def on_call_now(ctx: Ctx, account_id: uuid.UUID) -> bool:
    """Whether the account's person is on the rota (primary or backup) now, or within the
    hour. The login throttle asks (handed in by the web layer): someone on call is never
    slowed by the account-wide ceiling that strangers' failures raise."""
    now = ctx.now()
    found = ctx.session.scalars(
        select(OnCallShift.id)
        .join(Staff, Staff.id == OnCallShift.staff_id)
        .where(
            Staff.account_id == account_id,
            OnCallShift.starts_at <= now + ON_CALL_LEAD,
            OnCallShift.ends_at > now,
        )
        .limit(1)
    ).first()
    return found is not None


def create_shift(ctx: Ctx, team_id: uuid.UUID, data: NewShift) -> OnCallShift:
    """Put someone on the rota (coordinator). Overlapping primary shifts are refused (409)."""
    team = access.coordinator_of(ctx, team_id)
    if data.level not in SHIFT_LEVELS:
        raise ValidationFailed("level", "One of: %(values)s.", {"values": ", ".join(SHIFT_LEVELS)})
    starts_at, ends_at = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        raise ValidationFailed("ends_at", "A shift must end after it starts.")
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationFailed("ends_at", "A shift can last at most 7 days.")
    person = ctx.session.get(Staff, data.staff_id)
    member = ctx.session.get(TeamMembership, (team.id, data.staff_id))
    if person is None or member is None or person.role not in CLINICAL_ROLES:
        raise ValidationFailed("staff_id", "Not a clinician on this team.")
    # Lock the team row so two coordinators cannot both slip in an overlapping primary.
    ctx.session.scalars(select(Team.id).where(Team.id == team.id).with_for_update()).first()
    clash = ctx.session.scalars(
        select(OnCallShift)
        .where(
            OnCallShift.team_id == team.id,
            OnCallShift.starts_at < ends_at,
            OnCallShift.ends_at > starts_at,
            (OnCallShift.level == "primary")
            if data.level == "primary"
            else (OnCallShift.staff_id == person.id),
        )
        .limit(1)
    ).first()
    if clash is not None:
        raise Conflict(
            OVERLAP[clash.level],
            code="overlapping-shift",
            params={"name": clash.staff.display_name, "starts": clash.starts_at, "ends": clash.ends_at},
        )
    shift = OnCallShift(
        team_id=team.id,
        staff_id=person.id,
        starts_at=starts_at,
        ends_at=ends_at,
        level=data.level,
        created_by_id=ctx.actor.staff_id,
    )
    ctx.session.add(shift)
    ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "on_call.create", resource="on_call_shift", resource_id=shift.id)
    return shift


def coordinated_shift(ctx: Ctx, shift_id: uuid.UUID) -> OnCallShift:
    """A shift on a team the actor coordinates; anyone else's does not exist (404)."""
    shift = ctx.session.get(OnCallShift, shift_id)
    access.require_role(ctx, "coordinator")
    if shift is None or shift.team_id not in ctx.actor.team_ids:
        raise access.refused(
            ctx, NotFound("No such shift on your teams."), resource="on_call_shift", resource_id=shift_id
        )
    return shift


def remove_shift(ctx: Ctx, shift_id: uuid.UUID) -> None:
    """Take a shift off the rota (coordinator of its team)."""
    shift = coordinated_shift(ctx, shift_id)
    access.coordinator_of(ctx, shift.team_id)
    audit.record(ctx.session, ctx.actor, "on_call.remove", resource="on_call_shift", resource_id=shift.id)
    ctx.session.delete(shift)
    ctx.session.flush()


def change_shift(ctx: Ctx, shift_id: uuid.UUID, data: NewShift) -> OnCallShift:
    """Change who, when or which level: the old shift gives way to the new one, checked for
    overlaps like any new shift, in one transaction (a refused change leaves the old one)."""
    shift = coordinated_shift(ctx, shift_id)
    team_id = shift.team_id
    ctx.session.delete(shift)
    ctx.session.flush()
    changed = create_shift(ctx, team_id, data)
    audit.record(ctx.session, ctx.actor, "on_call.change", resource="on_call_shift", resource_id=changed.id)
    return changed


def list_shifts(ctx: Ctx, team_id: uuid.UUID, *, after: datetime | None, cursor: str | None, limit: int):
    """The rota of a team I am on: shifts still running after `after` (default now), latest first."""
    team = access.member_of(ctx, team_id)
    after = after or ctx.now()
    query = select(OnCallShift).where(OnCallShift.team_id == team.id, OnCallShift.ends_at > after)
    return keyset(
        ctx.session, query, ctx.keys, OnCallShift.starts_at, OnCallShift.id, cursor=cursor, limit=limit
    )


DEMO_ROTA_DAYS = 7


def demo_rota_nights(
    team: Team, now: datetime, days: int = DEMO_ROTA_DAYS
) -> list[tuple[datetime, datetime]]:
    """The stretches outside office hours that touch [now, now + days]: one per local day.

    A day's stretch runs from the end of its office hours (08:00 on a day without them) to the
    start of the next day's office hours (08:00 when it has none), so consecutive stretches
    meet and, with the office hours, leave no gap. Yesterday's stretch is included: at 02:00
    the night that began yesterday evening is the one that covers now.
    """
    tz = zone(team)
    today = now.astimezone(tz).date()
    until = now + timedelta(days=days)
    out = []
    for offset in range(-1, days + 1):
        day = today + timedelta(days=offset)
        office = office_intervals(team, day)
        starts = office[-1][1] if office else datetime.combine(day, time(8), tzinfo=tz).astimezone(UTC)
        following = office_intervals(team, day + timedelta(days=1))
        ends = (
            following[0][0]
            if following
            else datetime.combine(day + timedelta(days=1), time(8), tzinfo=tz).astimezone(UTC)
        )
        if ends > now and starts < until:
            out.append((starts, ends))
    return out


def seed_demo_rota(
    ctx: Ctx,
    team: Team,
    patient,
    members: dict[str, Staff],
    *,
    primary: str = "ola",
    backup: str = "per",
) -> None:
    """Demo: Ola (DPS) primary and Per (PAM) backup every evening, night and weekend, from now
    for 7 days, whatever the hour the demo is seeded (at 02:00 tonight's shift is on already).
    Another team names its own two (`primary`, `backup`: usernames in `members`).

    Idempotent: a stretch that already has a primary shift is left as it is.
    """
    ola, per = members.get(primary), members.get(backup)
    if ola is None or per is None:
        return
    for starts, ends in demo_rota_nights(team, ctx.now()):
        taken = ctx.session.scalars(
            select(OnCallShift.id).where(
                OnCallShift.team_id == team.id,
                OnCallShift.level == "primary",
                OnCallShift.starts_at < ends,
                OnCallShift.ends_at > starts,
            )
        ).first()
        if taken is not None:
            continue
        for person, level in ((ola, "primary"), (per, "backup")):
            ctx.session.add(
                OnCallShift(team_id=team.id, staff_id=person.id, starts_at=starts, ends_at=ends, level=level)
            )
    ctx.session.flush()
