"""The on-call rota: a week of primary and backup shifts, adding shifts, gaps in red."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import InputRequired

from muli.contact import on_call
from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.platform.errors import MuliError
from staff_portal import coverage
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import choices, chosen_team, form_errors, my_teams, shown_refusal
from staff_portal.errors import message_of

LEVELS = {"primary": _l("Primary"), "backup": _l("Backup")}
HORIZON = timedelta(days=14)


class ShiftForm(FlaskForm):
    staff_id = SelectField(_l("Who"), choices=[], validate_choice=True)
    level = SelectField(_l("Level"), choices=choices(LEVELS.items()), validate_choice=True)
    starts_at = DateTimeLocalField(_l("Starts"), [InputRequired()], format="%Y-%m-%dT%H:%M")
    ends_at = DateTimeLocalField(_l("Ends"), [InputRequired()], format="%Y-%m-%dT%H:%M")


def _shifts(ctx, team_id, after: datetime, before: datetime) -> list:
    """Every shift running after `after` that starts before `before` (a few pages at most)."""
    found, cursor = [], None
    for _page in range(10):
        page = on_call.list_shifts(ctx, team_id, after=after, cursor=cursor, limit=100)
        found.extend(s for s in page.items if s.starts_at < before)
        cursor = page.next_cursor
        if not cursor:
            break
    return sorted(found, key=lambda s: (s.starts_at, s.level))


def _week_start(ctx, tz) -> date:
    try:
        day = date.fromisoformat(request.args.get("week") or "")
    except ValueError:
        day = ctx.now().astimezone(tz).date()
    return day - timedelta(days=day.weekday())


@login_required
def rota():
    ctx = portal_ctx()
    teams = my_teams(ctx)
    team = chosen_team(ctx, teams)
    tz = on_call.zone(team)
    monday = _week_start(ctx, tz)
    week_from = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    week_to = week_from + timedelta(days=7)
    now = ctx.now()
    form = ShiftForm()
    form.staff_id.choices = choices(
        (s.id, f"{s.display_name} ({s.agency.name})") for s in contact_requests.team_staff(ctx, team.id)
    )
    status = 200
    if request.method == "POST":
        status = _add(ctx, team, form, tz)
        if status == 302:
            return redirect(url_for("portal.rota", team=team.id, week=monday.isoformat()))
    week = _shifts(ctx, team.id, week_from, week_to)
    upcoming = _shifts(ctx, team.id, now, now + HORIZON)
    gaps = coverage.gaps(team, upcoming, now, now + HORIZON, min_minutes=15)
    days = []
    for i in range(7):
        day = monday + timedelta(days=i)
        start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        end = start + timedelta(days=1)
        days.append(
            {
                "date": day,
                "shifts": [s for s in week if s.starts_at < end and s.ends_at > start],
                "gap": any(a < end and b > start for a, b in gaps),
                "holiday": on_call.is_public_holiday(day),
            }
        )
    return render_template(
        "staff_portal/rota.html",
        team=team,
        teams=teams,
        days=days,
        gaps=gaps,
        monday=monday,
        form=form,
        levels=LEVELS,
        tz=tz,
        prev_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
    ), status


def _add(ctx, team, form: ShiftForm, tz) -> int:
    if not form.validate_on_submit():
        return 400
    try:
        on_call.create_shift(ctx, team.id, _shift_data(form, tz))
    except MuliError as error:
        db.session.rollback()
        shown_refusal(error)
        if not form_errors(form, error):
            flash(message_of(error), "error")
        return error.status
    flash(_("The shift is on the rota."), "success")
    return 302


def _shift_data(form: ShiftForm, tz) -> on_call.NewShift:
    return on_call.NewShift(
        staff_id=uuid.UUID(form.staff_id.data),
        starts_at=form.starts_at.data.replace(tzinfo=tz),
        ends_at=form.ends_at.data.replace(tzinfo=tz),
        level=form.level.data,
    )


@login_required
def change(shift_id: uuid.UUID):
    """Change a shift (coordinator): who, level, start or end; refused overlaps keep the old one."""
    ctx = portal_ctx()
    shift = on_call.coordinated_shift(ctx, shift_id)
    team = shift.team
    tz = on_call.zone(team)
    back = url_for("portal.rota", team=team.id, week=_monday_of(shift.starts_at.astimezone(tz).date()))
    form = ShiftForm()
    form.staff_id.choices = choices(
        (s.id, f"{s.display_name} ({s.agency.name})") for s in contact_requests.team_staff(ctx, team.id)
    )
    status = 200
    if request.method == "GET":
        form.staff_id.data = str(shift.staff_id)
        form.level.data = shift.level
        form.starts_at.data = shift.starts_at.astimezone(tz).replace(tzinfo=None)
        form.ends_at.data = shift.ends_at.astimezone(tz).replace(tzinfo=None)
    elif not form.validate_on_submit():
        status = 400
    else:
        try:
            on_call.change_shift(ctx, shift.id, _shift_data(form, tz))
        except MuliError as error:
            db.session.rollback()  # the old shift stays as it was
            shown_refusal(error)
            if not form_errors(form, error):
                flash(message_of(error), "error")
            status = error.status
        else:
            flash(_("The shift is changed."), "success")
            return redirect(back)
    return render_template(
        "staff_portal/rota_shift.html", form=form, shift=shift, team=team, tz=tz, back=back
    ), status


@login_required
def remove(shift_id: uuid.UUID):
    """Take a shift off the rota (coordinator)."""
    ctx = portal_ctx()
    shift = on_call.coordinated_shift(ctx, shift_id)
    team_id, day = shift.team_id, shift.starts_at.astimezone(on_call.zone(shift.team)).date()
    on_call.remove_shift(ctx, shift.id)
    flash(_("The shift is removed from the rota."), "success")
    return redirect(url_for("portal.rota", team=team_id, week=_monday_of(day)))


def _monday_of(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/rota/", view_func=rota, endpoint="rota", methods=["GET", "POST"])
    bp.add_url_rule(
        "/rota/shifts/<uuid:shift_id>", view_func=change, endpoint="rota_shift", methods=["GET", "POST"]
    )
    bp.add_url_rule(
        "/rota/shifts/<uuid:shift_id>/remove", view_func=remove, endpoint="rota_remove", methods=["POST"]
    )
