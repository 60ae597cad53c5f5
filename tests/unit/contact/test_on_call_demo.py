"""The demo rota: Ola (DPS) primary and Per (PAM) backup from the moment the demo is seeded,
for 7 days, whatever the hour — a newcomer at 02:00 must not meet "Ingen er på vakt"."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from muli import demo
from muli.contact import on_call
from muli.models.on_call import OnCallShift
from muli.models.people import Team

OSLO = ZoneInfo("Europe/Oslo")

# Seeding moments: a weekday night, a weekday morning in office hours, just after office
# hours, a Friday late evening, a Saturday noon, and the night before a public holiday.
MOMENTS = [
    datetime(2026, 11, 23, 2, 0, tzinfo=OSLO),  # Monday 02:00
    datetime(2026, 11, 25, 10, 0, tzinfo=OSLO),  # Wednesday 10:00, office hours
    datetime(2026, 11, 25, 15, 45, tzinfo=OSLO),  # Wednesday 15:45
    datetime(2026, 11, 27, 23, 30, tzinfo=OSLO),  # Friday 23:30
    datetime(2026, 11, 28, 12, 0, tzinfo=OSLO),  # Saturday noon
    datetime(2026, 12, 24, 3, 0, tzinfo=OSLO),  # Thursday before Christmas Day
    datetime(2026, 3, 28, 23, 0, tzinfo=OSLO),  # the night clocks go forward
]


def _seed(runner) -> None:
    result = runner.invoke(args=["muli", "seed-demo"])
    assert result.exit_code == 0, result.output


def _team(ctx, name: str = demo.TEAM) -> Team:
    return ctx.session.scalars(select(Team).where(Team.name == name)).one()


def _rota(ctx, name: str = demo.TEAM) -> list[OnCallShift]:
    """One team's rota (MULI vold has its own)."""
    ctx.session.expire_all()
    query = select(OnCallShift).where(OnCallShift.team_id == _team(ctx, name).id)
    return list(ctx.session.scalars(query.order_by(OnCallShift.starts_at)))


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%a-%d-%b-%H%M"))
def test_the_demo_rota_covers_now_and_the_next_seven_days(runner, ctx, clock, moment):
    clock.set(moment.astimezone(UTC))
    _seed(runner)
    team = ctx.session.scalars(select(Team).where(Team.name == demo.TEAM)).one()  # MULI vold has its own
    shifts = _rota(ctx)
    assert shifts, "the demo has no rota"

    now = on_call.availability(ctx, team, clock.now)
    assert now.status in ("office", "on_call")
    if now.status == "on_call":
        assert (now.primary.display_name, now.backup.display_name) == ("Ola Vakt", "Per Akutt")

    # Every quarter of an hour of the coming week: the team answers, or Ola and Per are on call.
    gaps = []
    for step in range(7 * 24 * 4 + 1):
        at = clock.now + timedelta(minutes=15 * step)
        if on_call.in_office_hours(team, at):
            continue
        levels = {s.level for s in shifts if s.starts_at <= at < s.ends_at}
        if levels != {"primary", "backup"}:
            gaps.append((at.astimezone(OSLO).isoformat(), sorted(levels)))
    assert gaps == []


def test_seeding_twice_gives_one_rota_without_overlaps(runner, ctx, clock):
    clock.set(MOMENTS[0].astimezone(UTC))
    _seed(runner)
    first = [(s.level, s.starts_at, s.ends_at) for s in _rota(ctx)]
    _seed(runner)
    again = [(s.level, s.starts_at, s.ends_at) for s in _rota(ctx)]
    assert again == first
    primaries = [s for s in first if s[0] == "primary"]
    assert len(primaries) == len(first) / 2
    for (_, _, ends), (_, starts, _) in itertools.pairwise(primaries):
        assert ends <= starts


def test_seeded_at_night_the_night_already_under_way_is_on_the_rota(runner, ctx, clock):
    clock.set(MOMENTS[0].astimezone(UTC))  # Monday 02:00: the shift began Sunday
    _seed(runner)
    team = ctx.session.scalars(select(Team).where(Team.name == demo.TEAM)).one()  # MULI vold has its own
    now = on_call.availability(ctx, team, clock.now)
    assert now.status == "on_call"
    assert now.primary.display_name == "Ola Vakt"
    assert now.next_status == "office"
    assert now.next_change_at == datetime(2026, 11, 23, 8, 0, tzinfo=OSLO)


def test_seeded_two_days_later_the_rota_reaches_seven_days_ahead_again(runner, ctx, clock):
    clock.set(MOMENTS[0].astimezone(UTC))
    _seed(runner)
    clock.advance(days=2, hours=20)  # Wednesday 22:00
    _seed(runner)
    team = ctx.session.scalars(select(Team).where(Team.name == demo.TEAM)).one()  # MULI vold has its own
    week_later = on_call.availability(ctx, team, clock.now + timedelta(days=7) - timedelta(minutes=1))
    assert week_later.status == "on_call"
    assert week_later.primary.display_name == "Ola Vakt"


@pytest.mark.parametrize("moment", [MOMENTS[0], MOMENTS[3]], ids=["Mon-0200", "Fri-2330"])
def test_the_muli_vold_team_has_its_own_rota_at_night_seeded_twice_once(runner, ctx, clock, moment):
    """A young person's contact request at night reaches someone on MULI vold's own team."""
    clock.set(moment.astimezone(UTC))
    _seed(runner)
    first = [(s.staff_id, s.level, s.starts_at, s.ends_at) for s in _rota(ctx, demo.VOLD_TEAM)]
    _seed(runner)
    assert [(s.staff_id, s.level, s.starts_at, s.ends_at) for s in _rota(ctx, demo.VOLD_TEAM)] == first
    now = on_call.availability(ctx, _team(ctx, demo.VOLD_TEAM), clock.now)
    assert now.status == "on_call"
    on_call_now = (now.primary.display_name, now.backup.display_name)
    assert on_call_now == ("Vera Voldskoordinator", "Tor Kriminalomsorg")
    members = {m.staff_id for m in _team(ctx, demo.VOLD_TEAM).memberships}
    assert {staff_id for staff_id, *_ in first} <= members
