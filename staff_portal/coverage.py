"""After-hours coverage: the stretches outside office hours with nobody on primary call.

Pure display arithmetic over the shifts `muli.contact.on_call.list_shifts` answered (which made the
access decision) and the team's office hours as `muli.contact.on_call` defines them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from muli.contact import on_call

Interval = tuple[datetime, datetime]


def _subtract(spans: list[Interval], cuts: list[Interval]) -> list[Interval]:
    out = []
    for start, end in spans:
        pieces = [(start, end)]
        for cut_start, cut_end in cuts:
            next_pieces = []
            for a, b in pieces:
                if cut_end <= a or cut_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < cut_start:
                    next_pieces.append((a, cut_start))
                if cut_end < b:
                    next_pieces.append((cut_end, b))
            pieces = next_pieces
        out.extend(pieces)
    return out


def after_hours(team, start: datetime, end: datetime) -> list[Interval]:
    """[start, end) minus the team's office hours (holidays have none)."""
    tz = on_call.zone(team)
    day, last = start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date()
    office = []
    while day <= last:
        office.extend(on_call.office_intervals(team, day))
        day += timedelta(days=1)
    return _subtract([(start, end)], office)


def gaps(team, shifts, start: datetime, end: datetime, min_minutes: int = 1) -> list[Interval]:
    """After-hours stretches in [start, end) with no primary shift, longest first in time order."""
    primary = [(s.starts_at, s.ends_at) for s in shifts if s.level == "primary"]
    holes = _subtract(after_hours(team, start, end), primary)
    return [(a, b) for a, b in holes if (b - a) >= timedelta(minutes=min_minutes)]
