"""What is written in a meeting: attendees, notes (no silent overwrite), actions, addenda."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from muli.extensions import db
from muli.platform.errors import MuliError, PreconditionFailed
from muli.team import meetings
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id, shown_refusal
from staff_portal.errors import message_of
from staff_portal.views.meetings import meeting as meeting_page

MAX_TEXT = 20_000


def _back(meeting_id: str, anchor: str = ""):
    return redirect(url_for("portal.meeting", meeting_id=meeting_id) + anchor)


def _csrf_ok() -> bool:
    if FlaskForm().validate_on_submit():
        return True
    flash(_("The form had expired. Reload the page and try again."), "error")
    return False


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()[:MAX_TEXT]


def _optional_id(name: str) -> uuid.UUID | None:
    value = request.form.get(name) or ""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _failed(error: MuliError, meeting_id: str, anchor: str = ""):
    db.session.rollback()
    shown_refusal(error)
    flash(message_of(error), "error")
    return _back(meeting_id, anchor)


@login_required
def note(meeting_id: str, patient_id: str):
    ctx, mid, pid = portal_ctx(), parse_id(meeting_id), parse_id(patient_id)
    if not _csrf_ok():
        return _back(meeting_id)
    text = _text("text")
    try:
        meetings.save_note(ctx, mid, pid, text, request.form.get("etag"))
    except PreconditionFailed:
        # Someone saved first: show their version and keep this text, so nothing is lost.
        db.session.rollback()
        flash(
            _(
                "Someone else saved this note while you were writing. Their version is shown; "
                "your text is kept below it. Combine them and save again."
            ),
            "error",
        )
        return meeting_page(meeting_id, drafts={pid: text}, status=409)
    except MuliError as error:
        return _failed(error, meeting_id, f"#p-{pid}")
    flash(_("The note is saved."), "success")
    return _back(meeting_id, f"#p-{pid}")


@login_required
def add_action(meeting_id: str):
    ctx, mid = portal_ctx(), parse_id(meeting_id)
    if not _csrf_ok():
        return _back(meeting_id)
    patient_id = _optional_id("patient_id")
    anchor = f"#p-{patient_id}" if patient_id else "#system"
    try:
        due_on = date.fromisoformat(request.form.get("due_on") or "")
        agency_id = uuid.UUID(request.form.get("responsible_agency_id") or "")
    except ValueError:
        flash(_("Choose the responsible agency and a due date."), "error")
        return _back(meeting_id, anchor)
    description = _text("description")
    if not description:
        flash(_("Describe the action."), "error")
        return _back(meeting_id, anchor)
    try:
        meetings.add_action(
            ctx,
            mid,
            description=description,
            responsible_agency_id=agency_id,
            due_on=due_on,
            patient_id=patient_id,
            assignee_id=_optional_id("assignee_id"),
            system_issue=request.form.get("system_issue") == "y",
        )
    except MuliError as error:
        return _failed(error, meeting_id, anchor)
    flash(_("The action is added."), "success")
    return _back(meeting_id, anchor)


@login_required
def action_status(meeting_id: str, action_id: str):
    ctx = portal_ctx()
    if _csrf_ok():
        try:
            meetings.set_action_status(ctx, parse_id(action_id), request.form.get("status", "done"))
        except MuliError as error:
            return _failed(error, meeting_id)
    return _back(meeting_id, f"#a-{action_id}")


@login_required
def attendees(meeting_id: str):
    ctx = portal_ctx()
    if not _csrf_ok():
        return _back(meeting_id)
    staff_ids = [i for i in (_parse(v) for v in request.form.getlist("staff_id")) if i]
    guests = []
    for line in (request.form.get("guests") or "").splitlines()[:50]:
        name, _sep, agency = (part.strip() for part in line.partition(";"))
        if name:
            guests.append(meetings.Guest(name=name[:200], agency=agency[:200] or None))
    try:
        meetings.set_attendees(ctx, parse_id(meeting_id), staff_ids, guests)
    except MuliError as error:
        return _failed(error, meeting_id, "#attendees")
    flash(_("Attendees are saved."), "success")
    return _back(meeting_id, "#attendees")


def _parse(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@login_required
def addendum(meeting_id: str):
    ctx = portal_ctx()
    if not _csrf_ok():
        return _back(meeting_id)
    text = _text("text")
    if not text:
        flash(_("Write the addendum first."), "error")
        return _back(meeting_id, "#addenda")
    try:
        meetings.add_addendum(ctx, parse_id(meeting_id), text, _optional_id("patient_id"))
    except MuliError as error:
        return _failed(error, meeting_id, "#addenda")
    flash(_("The addendum is added."), "success")
    return _back(meeting_id, "#addenda")


def register(bp: Blueprint) -> None:
    rules = (
        ("/meetings/<meeting_id>/notes/<patient_id>", note, "meeting_note"),
        ("/meetings/<meeting_id>/actions", add_action, "meeting_action"),
        ("/meetings/<meeting_id>/actions/<action_id>/status", action_status, "meeting_action_status"),
        ("/meetings/<meeting_id>/attendees", attendees, "meeting_attendees"),
        ("/meetings/<meeting_id>/addenda", addendum, "meeting_addendum"),
    )
    for rule, fn, endpoint in rules:
        bp.add_url_rule(rule, view_func=fn, endpoint=endpoint, methods=["POST"])
