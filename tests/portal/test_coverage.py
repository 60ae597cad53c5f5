from dataclasses import dataclass
from datetime import UTC, datetime

from muli.models.people import DEFAULT_OFFICE_HOURS
from staff_portal import coverage


@dataclass
class Team:
    time_zone: str = "Europe/Oslo"
    office_hours: dict = None


@dataclass
class Shift:
    starts_at: datetime
    ends_at: datetime
    level: str = "primary"


TEAM = Team(office_hours=DEFAULT_OFFICE_HOURS)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_weeknight_without_a_shift_is_a_gap_from_office_close_to_opening():
    gaps = coverage.gaps(TEAM, [], utc(2026, 11, 24, 12), utc(2026, 11, 25, 12))
    assert gaps == [(utc(2026, 11, 24, 14, 30), utc(2026, 11, 25, 7, 0))]


def test_a_primary_shift_over_the_night_closes_the_gap_and_a_backup_does_not():
    night = Shift(utc(2026, 11, 24, 14, 30), utc(2026, 11, 25, 7, 0))
    assert coverage.gaps(TEAM, [night], utc(2026, 11, 24, 12), utc(2026, 11, 25, 12)) == []
    backup = Shift(night.starts_at, night.ends_at, level="backup")
    assert coverage.gaps(TEAM, [backup], utc(2026, 11, 24, 12), utc(2026, 11, 25, 12)) != []


def test_a_partly_covered_night_leaves_the_rest_as_a_gap():
    evening = Shift(utc(2026, 11, 24, 14, 30), utc(2026, 11, 24, 22, 0))
    gaps = coverage.gaps(TEAM, [evening], utc(2026, 11, 24, 12), utc(2026, 11, 25, 12))
    assert gaps == [(utc(2026, 11, 24, 22, 0), utc(2026, 11, 25, 7, 0))]
