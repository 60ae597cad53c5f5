"""Domain messages in the reader's language: times as a person says them, in Europe/Oslo."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from muli.platform import words
from muli.platform.errors import Conflict, ValidationFailed

OSLO = ZoneInfo("Europe/Oslo")
NB = {
    "%(time)s": "kl. %(time)s",
    "yesterday %(time)s": "i går kl. %(time)s",
    "%(date)s, %(time)s": "%(date)s kl. %(time)s",
    "%(name)s has it since %(since)s.": "%(name)s har den siden %(since)s.",
}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def nb(message, params=None, now=NOW):
    return words.say(message, params, gettext=lambda m: NB.get(m, m), locale="nb", zone=OSLO, now=now)


def en(message, params=None, now=NOW):
    return words.say(message, params, gettext=lambda m: m, locale="en", zone=OSLO, now=now)


def test_a_time_today_yesterday_and_before_in_oslo_time():
    message = "%(name)s has it since %(since)s."
    today = {"name": "Ola", "since": datetime(2026, 11, 30, 4, 14, 51, 558819, tzinfo=UTC)}
    assert nb(message, today) == "Ola har den siden kl. 05:14."
    assert en(message, today) == "Ola has it since 05:14."
    yesterday = {"name": "Ola", "since": datetime(2026, 11, 29, 22, 10, tzinfo=UTC)}
    assert nb(message, yesterday) == "Ola har den siden i går kl. 23:10."
    before = {"name": "Ola", "since": datetime(2026, 11, 28, 4, 14, tzinfo=UTC)}
    assert nb(message, before) == "Ola har den siden 28. nov. kl. 05:14."
    assert en(message, before) == "Ola has it since 28 Nov, 05:14."
    last_year = {"name": "Ola", "since": datetime(2025, 11, 28, 4, 14, tzinfo=UTC)}
    assert nb(message, last_year) == "Ola har den siden 28. nov. 2025 kl. 05:14."


def test_the_day_is_oslos_not_utcs_and_summer_time_counts():
    # 23:30 UTC on 29 November is 00:30 on the 30th in Oslo: today, not yesterday.
    assert nb("%(time)s", None) == "kl. %(time)s"  # no values: the text as translated
    assert (
        words.human_time(
            datetime(2026, 11, 29, 23, 30, tzinfo=UTC),
            now=NOW,
            gettext=lambda m: NB.get(m, m),
            locale="nb",
            zone=OSLO,
        )
        == "kl. 00:30"
    )
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert words.human_time(summer, now=summer, gettext=lambda m: m, locale="en", zone=OSLO) == "14:00"


def test_a_day_value_and_the_english_detail_of_an_error():
    assert en("Due %(day)s.", {"day": date(2026, 12, 24)}) == "Due 24 Dec."
    error = Conflict("%(name)s has it since %(since)s.", params={"name": "Ola", "since": NOW})
    assert error.message == "%(name)s has it since %(since)s."
    assert error.detail == "Ola has it since 2026-11-30T12:00:00+00:00."
    refused = ValidationFailed("text", "At most %(n)d characters.", {"n": 10})
    assert (
        refused.errors == {"text": ["At most %(n)d characters."]}
        and refused.detail == "At most 10 characters."
    )
