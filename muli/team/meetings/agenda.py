"""Building the agenda: who had contact requests, escalations or admissions since last time,
and who needs the team's attention anyway (flags: overdue actions, a crisis plan not reviewed
with the team for more than three months)."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from muli.models.contact import ContactRequest
from muli.models.meetings import ActionItem, AgendaItem, Meeting
from muli.models.people import Admission, Patient, Team
from muli.models.plans import Plan, PlanVersion
from muli.patient import indicators, programme
from muli.platform.context import Ctx
from muli.trust import access

# Without an earlier meeting, "since last time" means the week before the meeting's date.
FIRST_MEETING_LOOKBACK = timedelta(days=7)


def empty_events() -> dict:
    return {"contact_requests": 0, "escalations": 0, "admissions": 0}


# Which consent each activity figure needs: the contact requests and their escalations are
# the `contact_requests` scope; admissions are shown with any consent (as on the overview).
FIGURE_SCOPES = {
    "contact_requests": "contact_requests",
    "escalations": "contact_requests",
    "admissions": None,
}


def visible_figures(
    ctx: Ctx, events: dict[uuid.UUID, dict], recorded: Collection[str] = ()
) -> dict[uuid.UUID, dict]:
    """Only the figures the reader's agency may see about each patient (or break-the-glass
    opened); a figure not allowed is left out, not shown as 0. `recorded`: the indicators the
    team's programme records (shown, as admissions, with any consent)."""
    scopes = access.visible_scopes(ctx, events)
    shown: dict[uuid.UUID, dict] = {}
    for patient_id, counts in events.items():
        mine = scopes.get(patient_id, set())
        shown[patient_id] = {kind: n for kind, n in counts.items() if _allowed(kind, mine, recorded)}
    return shown


def recorded_kinds(ctx: Ctx, team: Team | None) -> list[str]:
    """The indicators the team's programme records (its agenda counts them too)."""
    return [i["key"] for i in indicators.recorded_indicators(programme.for_team(ctx, team))]


def _allowed(kind: str, scopes: set[str], recorded: Collection[str] = ()) -> bool:
    if kind in recorded:
        return bool(scopes)
    if kind not in FIGURE_SCOPES:
        return False  # a figure nobody has decided about is not shown
    needed = FIGURE_SCOPES[kind]
    return bool(scopes) if needed is None else needed in scopes


def events_since(ctx: Ctx, team_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, dict]:
    """Per patient of the team: contact requests, escalated requests and admissions since `since`."""
    found: dict[uuid.UUID, dict] = {}

    def add(patient_id, kind, n):
        found.setdefault(patient_id, empty_events())[kind] += n

    since_day = since.date()
    admitted = ctx.session.execute(
        select(Admission.patient_id, func.count())
        .join(Patient, Patient.id == Admission.patient_id)
        .where(
            Patient.team_id == team_id,
            (Admission.admitted_on >= since_day) | (Admission.discharged_on >= since_day),
        )
        .group_by(Admission.patient_id)
    ).all()
    for patient_id, n in admitted:
        add(patient_id, "admissions", n)
    for patient_id, requests, escalated in _contact_counts(ctx, team_id, since):
        add(patient_id, "contact_requests", requests)
        add(patient_id, "escalations", escalated)
    # What the team's programme records (MULI vold: police contacts...), by the day it happened.
    kinds = recorded_kinds(ctx, ctx.session.get(Team, team_id))
    if kinds:
        ids = indicators.team_patient_ids(ctx, team_id)
        for patient_id, rows in indicators.events_of(ctx, ids).items():
            for day, kind, count in rows:
                if kind in kinds and day >= since_day:
                    counts = found.setdefault(patient_id, empty_events())
                    counts[kind] = counts.get(kind, 0) + count
    return found


def _contact_counts(ctx: Ctx, team_id: uuid.UUID, since: datetime) -> list[tuple]:
    """(patient_id, contact requests, escalated requests) made since `since`."""
    escalated = func.sum(case((ContactRequest.escalation_level > 0, 1), else_=0))
    return list(
        ctx.session.execute(
            select(ContactRequest.patient_id, func.count(), escalated)
            .join(Patient, Patient.id == ContactRequest.patient_id)
            .where(Patient.team_id == team_id, ContactRequest.created_at >= since)
            .group_by(ContactRequest.patient_id)
        ).all()
    )


def order(
    ctx: Ctx,
    patients,
    events,
    flagged: Collection[uuid.UUID] = (),
    first: Collection[str] | None = None,
) -> list[Patient]:
    """Those with new events first (of the kinds the programme's agenda puts first, when it
    names them), then those flagged, then the rest; by name within each (names are encrypted,
    so they are opened and compared here, not in SQL: a team's patients are few)."""

    def key(p):
        counts = events.get(p.id, {})
        has = any(counts.values()) if first is None else any(counts.get(k) for k in first)
        name = ctx.keys.open(p, "display_name") or ""
        return (not has, p.id not in flagged, name.casefold(), str(p.id))

    return sorted(patients, key=key)


# --- flags ------------------------------------------------------------------------------

# A crisis plan is due for review with the team when its last review is older than this.
REVIEW_MONTHS = 3
FLAG_KINDS = ("overdue_actions", "crisis_plan_review")
# Which consent each flag needs (as FIGURE_SCOPES: None is any consent): the plan's review
# date is part of the crisis plan.
FLAG_SCOPES = {"overdue_actions": None, "crisis_plan_review": "crisis_plan"}


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day where it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _overdue_actions(ctx: Ctx, patient_ids: set[uuid.UUID], on: date) -> dict[uuid.UUID, tuple[int, date]]:
    """Per patient: open actions whose due date is before `on`, and the oldest due date."""
    rows = ctx.session.execute(
        select(ActionItem.patient_id, func.count(), func.min(ActionItem.due_on))
        .where(
            ActionItem.patient_id.in_(patient_ids),
            ActionItem.status == "open",
            ActionItem.due_on < on,
        )
        .group_by(ActionItem.patient_id)
    ).all()
    return {pid: (n, oldest) for pid, n, oldest in rows if pid is not None}


def _last_reviews(ctx: Ctx, patient_ids: set[uuid.UUID]) -> dict[uuid.UUID, date | None]:
    """Per patient with a crisis plan: the current version's last review with the team."""
    rows = ctx.session.execute(
        select(Plan.patient_id, PlanVersion.last_reviewed_with_team_on)
        .join(PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.version == Plan.current_version))
        .where(Plan.patient_id.in_(patient_ids), Plan.kind == "crisis")
    ).all()
    return {pid: reviewed for pid, reviewed in rows}


def flags(ctx: Ctx, patient_ids: Collection[uuid.UUID], on: date) -> dict[uuid.UUID, list[dict]]:
    """Per patient, what needs the team's attention at a meeting on `on`, by today's state:

    - `overdue_actions`: open actions due before the meeting (`count`, `oldest_due_on`);
    - `crisis_plan_review`: no crisis plan, or one never reviewed with the team, or last reviewed
      more than REVIEW_MONTHS months before the meeting (`last_reviewed_with_team_on`, or None).

    No access check: the callers show each reader only what `visible_flags` allows.
    """
    ids = set(patient_ids)
    found: dict[uuid.UUID, list[dict]] = {pid: [] for pid in ids}
    if not ids:
        return found
    for pid, (n, oldest) in _overdue_actions(ctx, ids, on).items():
        found[pid].append({"kind": "overdue_actions", "count": n, "oldest_due_on": oldest})
    reviews = _last_reviews(ctx, ids)
    due = months_before(on, REVIEW_MONTHS)
    for pid in ids:
        reviewed = reviews.get(pid)
        if reviewed is None or reviewed < due:
            found[pid].append({"kind": "crisis_plan_review", "last_reviewed_with_team_on": reviewed})
    return found


def visible_flags(ctx: Ctx, found: dict[uuid.UUID, list[dict]]) -> dict[uuid.UUID, list[dict]]:
    """Only the flags the reader's agency may see about each patient (as `visible_figures`)."""
    scopes = access.visible_scopes(ctx, found)
    return {
        pid: [f for f in items if _flag_allowed(f["kind"], scopes.get(pid, set()))]
        for pid, items in found.items()
    }


def _flag_allowed(kind: str, scopes: set[str]) -> bool:
    if kind not in FLAG_SCOPES:
        return False  # a flag nobody has decided about is not shown
    needed = FLAG_SCOPES[kind]
    return bool(scopes) if needed is None else needed in scopes


def events_since_start(ctx: Ctx, team: Team, held_on: date) -> datetime:
    """Start of the previous meeting's day in the team's time zone (or a week back).

    Erring early: an event on the morning of the last meeting is listed again rather
    than missed.
    """
    previous = ctx.session.scalars(
        select(func.max(Meeting.held_on)).where(Meeting.team_id == team.id, Meeting.held_on < held_on)
    ).first()
    start = previous or (held_on - FIRST_MEETING_LOOKBACK)
    return datetime.combine(start, time(0), tzinfo=ZoneInfo(team.time_zone or "Europe/Oslo"))


def open_actions_before(ctx: Ctx, team_id: uuid.UUID, held_on: date) -> list[ActionItem]:
    return list(
        ctx.session.scalars(
            select(ActionItem)
            .join(Meeting, Meeting.id == ActionItem.meeting_id)
            .where(
                ActionItem.team_id == team_id,
                ActionItem.status == "open",
                ActionItem.system_issue.is_(False),
                Meeting.held_on < held_on,
            )
            .order_by(ActionItem.due_on, ActionItem.created_at)
        ).all()
    )


def ensure_on_agenda(ctx: Ctx, meeting: Meeting, patient_id: uuid.UUID) -> None:
    """A note on a patient enrolled after the agenda was built adds them at the end."""
    exists = ctx.session.scalars(
        select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id, AgendaItem.patient_id == patient_id)
    ).first()
    if exists is None:
        last = ctx.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        ctx.session.add(
            AgendaItem(
                meeting_id=meeting.id, patient_id=patient_id, position=(last or 0) + 1, events=empty_events()
            )
        )
        ctx.session.flush()
