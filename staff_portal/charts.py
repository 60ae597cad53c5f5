"""Server-side SVG charts: the geometry here, the markup in templates/staff_portal/charts.html.

Hand-written rather than a library: the charts are three simple shapes, and inline SVG with
presentation attributes passes the portal's strict CSP (no inline styles or scripts), which
the SVG of the charting libraries we looked at (pygal) does not without loosening it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 40, 16, 36


@dataclass
class Series:
    label: str
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, title


@dataclass
class LineChart:
    mood: Series
    sleep: Series
    x_ticks: list[tuple[float, str]]
    left_ticks: list[tuple[float, str]]
    right_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not (self.mood.points or self.sleep.points)

    @staticmethod
    def path(series: Series) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _t) in enumerate(series.points)
        )


def _x_scale(start: datetime, end: datetime):
    span = max((end - start).total_seconds(), 1.0)
    inner = WIDTH - LEFT - RIGHT
    return lambda at: LEFT + inner * (at - start).total_seconds() / span


def _y_scale(top_value: float):
    inner = HEIGHT - TOP - BOTTOM
    return lambda v: TOP + inner * (1 - min(v, top_value) / top_value)


def mood_and_sleep(points: list[dict], mood_label: str, sleep_label: str, fmt) -> LineChart:
    """Mood (0-10, left axis) and hours of sleep (0-14, right axis) over time."""
    times = [p["at"] for p in points]
    start, end = (min(times), max(times)) if times else (datetime.now(), datetime.now())
    if end - start < timedelta(days=1):
        start -= timedelta(hours=12)
        end += timedelta(hours=12)
    x, mood_y, sleep_y = _x_scale(start, end), _y_scale(10), _y_scale(14)
    mood, sleep = Series(mood_label), Series(sleep_label)
    for p in points:
        when = fmt(p["at"])
        if p.get("mood") is not None:
            mood.points.append((x(p["at"]), mood_y(p["mood"]), f"{when}: {mood_label} {p['mood']}"))
        if p.get("sleep_hours") is not None:
            hours = float(p["sleep_hours"])
            sleep.points.append((x(p["at"]), sleep_y(hours), f"{when}: {sleep_label} {hours:g}"))
    ticks = [(x(start + (end - start) * i / 4), fmt(start + (end - start) * i / 4)) for i in range(5)]
    return LineChart(
        mood,
        sleep,
        ticks,
        [(mood_y(v), str(v)) for v in (0, 5, 10)],
        [(sleep_y(v), str(v)) for v in (0, 7, 14)],
    )


@dataclass
class Timeline:
    marks: list[dict]
    enrolled_x: float
    ticks: list[tuple[float, str]]
    before: int
    after: int
    width: int = WIDTH
    height: int = 90


def admissions(rows: list[dict], enrolled_on: date, today: date, fmt) -> Timeline:
    """Admissions on a line from a year before enrolment to today, enrolment marked."""
    start = min([enrolled_on - timedelta(days=365), *(r["admitted_on"] for r in rows)])
    end = max(today, enrolled_on + timedelta(days=30))
    span = max((end - start).days, 1)
    inner = WIDTH - LEFT - RIGHT

    def x(day: date) -> float:
        return LEFT + inner * (day - start).days / span

    marks = []
    for r in rows:
        days = ((r.get("discharged_on") or r["admitted_on"]) - r["admitted_on"]).days
        marks.append(
            {
                "x": x(r["admitted_on"]),
                "w": max(inner * days / span, 0),
                "involuntary": r.get("involuntary"),
                "title": f"{fmt(r['admitted_on'])} {r.get('facility') or ''}".strip(),
            }
        )
    ticks = [(x(start + (end - start) * i / 4), fmt(start + (end - start) * i / 4)) for i in range(5)]
    before = sum(1 for r in rows if r["admitted_on"] < enrolled_on)
    return Timeline(marks, x(enrolled_on), ticks, before, len(rows) - before)


@dataclass
class Bars:
    """Grouped bars: one group per label, one bar per series; None values are suppressed."""

    groups: list[dict]
    series: list[str]
    width: int = WIDTH
    height: int = HEIGHT


def bars(groups: list[tuple[str, list[float | None]]], series: list[str], fmt=str) -> Bars:
    """`fmt` writes a value for the reader (their language's decimal sign)."""
    values = [v for _label, vs in groups for v in vs if v is not None]
    top = max(values or [1]) or 1
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(len(groups), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    out = []
    for gi, (label, vs) in enumerate(groups):
        items = []
        for si, v in enumerate(vs):
            h = 0 if v is None else inner_h * v / top
            items.append(
                {
                    "x": LEFT + gi * slot + slot * 0.1 + si * bar_w,
                    "y": TOP + inner_h - h,
                    "w": bar_w,
                    "h": h,
                    "value": v,
                    "text": None if v is None else fmt(v),
                    "series": si,
                }
            )
        out.append({"label": label, "x": LEFT + gi * slot + slot / 2, "bars": items})
    return Bars(out, series)
