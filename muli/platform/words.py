"""Domain messages in the reader's language, with times a person reads.

A domain error names its message in English with `%(name)s` placeholders and gives the
values apart (`Conflict("%(name)s has this request since %(since)s.", params={...})`). The
English text is the message id: the web layers (the portal's pages, the API's problem
`detail`) translate it with Flask-Babel for the request's language (bokmål in
`staff_portal/translations`) and fill in the values here, a time as a person says it in
the team's time zone ("kl. 05:14", "i går kl. 23:10", "28. nov. kl. 05:14"). The domain
knows no Flask: it only names the words. `pybabel` finds them by the error classes' names
(`staff_portal.catalogues.KEYWORDS`); `tests/unit/test_catalogues.py` fails for a message
that is built so it cannot be found (an f-string) or that has no translation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo

from babel.dates import format_skeleton


def N_(text: str) -> str:
    """Marks text for the catalogue where it is written; it is translated where it is shown."""
    return text


class Word(str):
    """A message's value that is itself a catalogue word (a kind's name): translated with
    the message, so a bokmål sentence does not carry an English code."""


# A time today, yesterday, on another day; in English without a preposition, so that it fits
# "since %(since)s" and "from %(starts)s to %(ends)s" ("since 05:14", "siden kl. 05:14").
# TRANSLATORS: a time of day today, as in "since 05:14"
AT = N_("%(time)s")
# TRANSLATORS: a time of day yesterday, as in "since yesterday 23:10"
YESTERDAY_AT = N_("yesterday %(time)s")
# TRANSLATORS: a day and a time, as in "since 28 Nov, 05:14"
ON_AT = N_("%(date)s, %(time)s")

Gettext = Callable[[str], str]


def human_time(at: datetime, *, now: datetime, gettext: Gettext, locale: str, zone: tzinfo) -> str:
    """A moment as a person says it, in `zone`: the time alone today, "yesterday" before
    that, else the day (with the year when it is another year)."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    time = local.strftime("%H:%M")
    if local.date() == today:
        return gettext(AT) % {"time": time}
    if local.date() == today - timedelta(days=1):
        return gettext(YESTERDAY_AT) % {"time": time}
    return gettext(ON_AT) % {"date": human_date(local.date(), today=today, locale=locale), "time": time}


def human_date(day: date, *, today: date, locale: str) -> str:
    """A day as "28. nov." / "28 Nov", with the year when it is not this year. English as
    written in Europe (en_GB), as the patient app writes it."""
    written = "en_GB" if locale == "en" else locale
    return format_skeleton("MMMd" if day.year == today.year else "yMMMd", day, locale=written)


def say(
    message: str,
    params: Mapping[str, object] | None = None,
    *,
    gettext: Gettext,
    locale: str,
    zone: tzinfo,
    now: datetime,
) -> str:
    """The message translated, its values filled in (times and days as a person reads them)."""
    text = gettext(message)
    if not params:
        return text
    values: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            value = human_time(value, now=now, gettext=gettext, locale=locale, zone=zone)
        elif isinstance(value, date):
            value = human_date(value, today=now.astimezone(zone).date(), locale=locale)
        elif isinstance(value, Word):
            value = gettext(value)
        elif isinstance(value, Mapping):  # a text given in each language ({nb: ..., en: ...})
            value = value.get(locale) or value.get("en")
        values[name] = value
    return text % values


def english(message: str, params: Mapping[str, object] | None = None) -> str:
    """The message in English with its values as they are (logs, `str(error)`)."""
    if not params:
        return message
    return message % {k: _english_value(v) for k, v in params.items()}


def _english_value(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return value.get("en")
    return value
