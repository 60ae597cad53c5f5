"""Who is reachable: office hours in Oslo time, Norwegian holidays, the rota, DST switches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from muli.contact import on_call
from muli.models.on_call import OnCallShift
from muli.platform.errors import Conflict, Forbidden, NotOnTeam, ValidationFailed


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def team(world, ctx):
    # Detached and fully loaded: the test's session never holds SQLite's write lock while
    # `world` (another session) builds people.
    return world.team()


def put_on_call(ctx, team, staff, starts, ends, level="primary"):
    ctx.session.add(
        OnCallShift(team_id=team.id, staff_id=staff.id, starts_at=starts, ends_at=ends, level=level)
    )
    ctx.session.commit()


def test_a_weekday_afternoon_is_office_hours(ctx, team):
    # Wednesday 18 November 2026, 10:00 in Oslo (CET, UTC+1).
    assert on_call.availability(ctx, team, utc(2026, 11, 18, 9, 0)).status == "office"


def test_office_hours_end_at_half_past_three_oslo_time(ctx, team):
    now = on_call.availability(ctx, team, utc(2026, 11, 18, 9, 0))
    assert (now.next_change_at, now.next_status) == (utc(2026, 11, 18, 14, 30), "none")


def test_a_night_without_a_rota_reaches_nobody_until_monday_morning(ctx, team):
    # Saturday 21 November 01:40 in Oslo.
    now = on_call.availability(ctx, team, utc(2026, 11, 21, 0, 40))
    assert (now.status, now.next_change_at, now.next_status) == ("none", utc(2026, 11, 23, 7, 0), "office")


def test_the_primary_on_call_is_reachable_during_their_shift(world, ctx, team):
    ola = world.staff(team)
    put_on_call(ctx, team, ola, utc(2026, 11, 20, 14, 30), utc(2026, 11, 21, 7, 0))
    now = on_call.availability(ctx, team, utc(2026, 11, 21, 0, 40))
    assert (now.status, now.primary.id, now.next_change_at) == ("on_call", ola.id, utc(2026, 11, 21, 7, 0))


def test_a_backup_alone_still_counts_as_on_call(world, ctx, team):
    put_on_call(ctx, team, world.staff(team), utc(2026, 11, 20, 20), utc(2026, 11, 21, 7), "backup")
    assert on_call.availability(ctx, team, utc(2026, 11, 21, 0, 40)).status == "on_call"


def test_a_public_holiday_has_no_office_hours(ctx, team):
    # Christmas Day 2026 is a Friday.
    assert on_call.availability(ctx, team, utc(2026, 12, 25, 10, 0)).status == "none"


def test_office_hours_open_at_eight_summer_time_after_the_spring_switch(ctx, team):
    # Friday 27 March 2026 closes at 15:30 CET (14:30 UTC); clocks go forward on Sunday 29
    # March, so Monday 30 March opens at 08:00 CEST = 06:00 UTC.
    now = on_call.availability(ctx, team, utc(2026, 3, 27, 15, 0))
    assert (now.status, now.next_change_at) == ("none", utc(2026, 3, 30, 6, 0))


def test_office_hours_open_at_eight_winter_time_after_the_autumn_switch(ctx, team):
    # Friday 23 October 2026 closes at 15:30 CEST (13:30 UTC); clocks go back on Sunday 25
    # October, so Monday 26 October opens at 08:00 CET = 07:00 UTC.
    now = on_call.availability(ctx, team, utc(2026, 10, 23, 14, 0))
    assert (now.status, now.next_change_at) == ("none", utc(2026, 10, 26, 7, 0))


def test_a_night_shift_across_the_spring_switch_lasts_one_hour_less(world, ctx, team):
    # 20:00 Saturday 28 March CET to 08:00 Sunday 29 March CEST is eleven hours.
    ola = world.staff(team)
    put_on_call(ctx, team, ola, utc(2026, 3, 28, 19, 0), utc(2026, 3, 29, 6, 0))
    assert on_call.availability(ctx, team, utc(2026, 3, 29, 1, 30)).status == "on_call"
    assert on_call.availability(ctx, team, utc(2026, 3, 29, 6, 0)).status == "none"


def test_the_repeated_hour_of_the_autumn_switch_is_covered_by_a_shift(world, ctx, team):
    # 02:30 happens twice in Oslo on 25 October 2026 (00:30 and 01:30 UTC).
    put_on_call(ctx, team, world.staff(team), utc(2026, 10, 24, 18, 0), utc(2026, 10, 25, 7, 0))
    assert on_call.availability(ctx, team, utc(2026, 10, 25, 0, 30)).status == "on_call"
    assert on_call.availability(ctx, team, utc(2026, 10, 25, 1, 30)).status == "on_call"


def test_the_last_working_day_before_easter_tuesday_is_the_wednesday_before(ctx, team):
    # Maundy Thursday 2 April, Good Friday 3 April and Easter Monday 6 April 2026 are holidays.
    closed = on_call.last_office_close_before(team, utc(2026, 4, 7, 6, 0))
    assert closed == utc(2026, 4, 1, 13, 30)


def _coordinator_ctx(ctx, world, team):
    from muli.trust import accounts

    coordinator = world.staff(team, role="coordinator")
    account = ctx.session.get(type(coordinator.account), coordinator.account.id)
    actor = accounts.actor_for(ctx, account)
    ctx.session.commit()
    return ctx.acting_as(actor)


def test_overlapping_primary_shifts_are_refused(world, ctx, team):
    a, b = world.staff(team), world.staff(team)
    coord = _coordinator_ctx(ctx, world, team)
    on_call.create_shift(coord, team.id, on_call.NewShift(a.id, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7)))
    with pytest.raises(Conflict, match="already on call"):
        on_call.create_shift(
            coord, team.id, on_call.NewShift(b.id, utc(2026, 11, 21, 6), utc(2026, 11, 21, 9))
        )


def test_a_backup_may_overlap_the_primary(world, ctx, team):
    a, b = world.staff(team), world.staff(team)
    coord = _coordinator_ctx(ctx, world, team)
    on_call.create_shift(coord, team.id, on_call.NewShift(a.id, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7)))
    shift = on_call.create_shift(
        coord, team.id, on_call.NewShift(b.id, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7), "backup")
    )
    assert shift.level == "backup"


def test_back_to_back_primary_shifts_do_not_overlap(world, ctx, team):
    a, b = world.staff(team), world.staff(team)
    coord = _coordinator_ctx(ctx, world, team)
    on_call.create_shift(coord, team.id, on_call.NewShift(a.id, utc(2026, 11, 20, 15), utc(2026, 11, 21, 7)))
    shift = on_call.create_shift(
        coord, team.id, on_call.NewShift(b.id, utc(2026, 11, 21, 7), utc(2026, 11, 21, 15))
    )
    assert shift.starts_at == utc(2026, 11, 21, 7)


def test_a_shift_must_end_after_it_starts(world, ctx, team):
    member = world.staff(team)
    coord = _coordinator_ctx(ctx, world, team)
    with pytest.raises(ValidationFailed) as error:
        on_call.create_shift(
            coord, team.id, on_call.NewShift(member.id, utc(2026, 11, 21, 7), utc(2026, 11, 21, 7))
        )
    assert "ends_at" in error.value.errors


def test_only_someone_on_the_team_can_be_put_on_call(world, ctx, team):
    stranger = world.staff(world.team())
    coord = _coordinator_ctx(ctx, world, team)
    with pytest.raises(ValidationFailed) as error:
        on_call.create_shift(
            coord, team.id, on_call.NewShift(stranger.id, utc(2026, 11, 20), utc(2026, 11, 21))
        )
    assert "staff_id" in error.value.errors


def test_a_coordinator_of_another_team_cannot_change_this_rota(world, ctx, team):
    member = world.staff(team)
    other = _coordinator_ctx(ctx, world, world.team())
    with pytest.raises(NotOnTeam):
        on_call.create_shift(
            other, team.id, on_call.NewShift(member.id, utc(2026, 11, 20), utc(2026, 11, 21))
        )


def test_a_member_cannot_change_the_rota(world, ctx, team):
    from muli.trust import accounts

    member = world.staff(team)
    actor = accounts.actor_for(ctx, ctx.session.get(type(member.account), member.account.id))
    with pytest.raises(Forbidden):
        on_call.create_shift(
            ctx.acting_as(actor), team.id, on_call.NewShift(member.id, utc(2026, 11, 20), utc(2026, 11, 21))
        )
