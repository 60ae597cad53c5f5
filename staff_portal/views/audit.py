"""The privacy officer: search the access log, review break-the-glass access, and see
failed logins and throttling."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from muli.extensions import db
from muli.platform.errors import MuliError
from muli.trust import audit_review
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id

PAGE_SIZE = 50
LOGIN_HOURS = 24


def _uuid_arg(name: str) -> tuple[uuid.UUID | None, str]:
    raw = (request.args.get(name) or "").strip()
    try:
        return (uuid.UUID(raw) if raw else None), raw
    except ValueError:
        flash(_("That is not a valid id."), "error")
        return None, raw


def _day_start(name: str, plus_days: int = 0) -> tuple[datetime | None, str]:
    """A local calendar day (the team's time zone) as the UTC instant it starts."""
    raw = request.args.get(name) or ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None, ""
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day + timedelta(days=plus_days), time(0), tzinfo=tz).astimezone(UTC), raw


@login_required
def audit_log():
    ctx = portal_ctx()
    patient_id, patient_raw = _uuid_arg("patient_id")
    staff_id, staff_raw = _uuid_arg("staff_id")
    from_, from_raw = _day_start("from")
    to, to_raw = _day_start("to", plus_days=1)  # "to" is inclusive of that whole day
    page = audit_review.search(
        ctx,
        patient_id=patient_id,
        staff_id=staff_id,
        from_=from_,
        to=to,
        cursor=request.args.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    filters = {"patient_id": patient_raw, "staff_id": staff_raw, "from": from_raw, "to": to_raw}
    patients, staff = audit_review.search_choices(ctx)
    return render_template(
        "staff_portal/audit/log.html", page=page, filters=filters, patients=patients, staff=staff
    )


@login_required
def emergency_queue():
    ctx = portal_ctx()
    reviewed = request.args.get("reviewed") == "1"
    page = audit_review.emergency_accesses(
        ctx, reviewed=reviewed, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE
    )
    return render_template("staff_portal/audit/emergency.html", page=page, reviewed=reviewed)


@login_required
def login_failures():
    """Mislykkede innlogginger og struping: per account and source, the last 24 hours."""
    rows = audit_review.login_failures(portal_ctx(), hours=LOGIN_HOURS)
    return render_template("staff_portal/audit/logins.html", rows=rows, hours=LOGIN_HOURS)


@login_required
def review(access_id: str):
    ctx = portal_ctx()
    if FlaskForm().validate_on_submit():
        try:
            audit_review.review_emergency_access(ctx, parse_id(access_id))
        except MuliError as error:
            db.session.rollback()
            flash(error.detail or error.title, "error")
        else:
            flash(_("Marked as reviewed."), "success")
    return redirect(url_for("portal.emergency_reviews"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit/", view_func=audit_log, endpoint="audit")
    bp.add_url_rule("/audit/emergency-access", view_func=emergency_queue, endpoint="emergency_reviews")
    bp.add_url_rule("/audit/logins", view_func=login_failures, endpoint="audit_logins")
    bp.add_url_rule(
        "/audit/emergency-access/<access_id>/review", view_func=review, endpoint="review", methods=["POST"]
    )
