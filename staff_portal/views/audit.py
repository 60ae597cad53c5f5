"""The privacy officer: search the access log (by patient, staff member, agency, period,
kind, security events), review break-the-glass access with a verdict and a comment, export a
patient's access log as a PDF, and see failed logins and throttling."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from muli.extensions import db
from muli.models.consent import REVIEW_VERDICTS
from muli.patient import pdf
from muli.platform.errors import MuliError
from muli.trust import audit_review, audit_words
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id
from staff_portal.errors import message_of
from staff_portal.views.patient_forms import EMERGENCY_NAMES

PAGE_SIZE = 50
LOGIN_HOURS = 24
VERDICTS = {
    "justified": _l("Justified"),
    "not_justified": _l("Not justified"),
    "follow_up": _l("Needs follow-up"),
}


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
    agency_id, agency_raw = _uuid_arg("agency_id")
    from_, from_raw = _day_start("from")
    to, to_raw = _day_start("to", plus_days=1)  # "to" is inclusive of that whole day
    kind = request.args.get("kind") or ""
    if kind not in audit_words.KINDS:
        kind = ""
    security = request.args.get("security") == "1"
    page = audit_review.search(
        ctx,
        patient_id=patient_id,
        staff_id=staff_id,
        agency_id=agency_id,
        from_=from_,
        to=to,
        kind=kind or None,
        security=security,
        cursor=request.args.get("cursor") or None,
        limit=PAGE_SIZE,
    )
    filters = {
        "patient_id": patient_raw,
        "staff_id": staff_raw,
        "agency_id": agency_raw,
        "from": from_raw,
        "to": to_raw,
        "kind": kind,
        "security": "1" if security else "",
    }
    patients, staff, agencies = audit_review.search_choices(ctx)
    chosen_patient = next((p for p in patients if p.id == patient_id), None)
    period = {k: filters[k] for k in ("from", "to") if filters[k]}
    export_url = url_for("portal.audit_export", patient_id=patient_id, **period) if chosen_patient else None
    return render_template(
        "staff_portal/audit/log.html",
        page=page,
        filters={k: v for k, v in filters.items() if v},
        patients=patients,
        staff=staff,
        agencies=agencies,
        kinds=audit_words.KINDS,
        outcomes=audit_words.OUTCOMES,
        roles=audit_words.ROLES,
        chosen_patient=chosen_patient,
        export_url=export_url,
    )


@login_required
def export_access_log(patient_id: str):
    """One patient's access log as a PDF, for a written request (audited)."""
    from_, _from_raw = _day_start("from")
    to, _to_raw = _day_start("to", plus_days=1)
    name, content = pdf.access_log_pdf(
        portal_ctx(), parse_id(patient_id), _, from_=from_, to=to, locale=str(get_locale() or "nb")
    )
    return Response(
        content, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@login_required
def emergency_queue():
    ctx = portal_ctx()
    reviewed = request.args.get("reviewed") == "1"
    page = audit_review.emergency_accesses(
        ctx, reviewed=reviewed, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE
    )
    return render_template(
        "staff_portal/audit/emergency.html",
        page=page,
        reviewed=reviewed,
        verdicts=VERDICTS,
        scope_names=EMERGENCY_NAMES,
    )


@login_required
def login_failures():
    """Mislykkede innlogginger og struping: per account and source, the last 24 hours."""
    rows = audit_review.login_failures(portal_ctx(), hours=LOGIN_HOURS)
    return render_template("staff_portal/audit/logins.html", rows=rows, hours=LOGIN_HOURS)


@login_required
def review(access_id: str):
    ctx = portal_ctx()
    back = url_for("portal.emergency_reviews", reviewed=1 if request.form.get("reviewed") == "1" else None)
    if FlaskForm().validate_on_submit():
        verdict = request.form.get("verdict") or ""
        if verdict not in REVIEW_VERDICTS:
            flash(_("Choose a verdict."), "error")
            return redirect(f"{back}#e-{parse_id(access_id)}")
        try:
            audit_review.review_emergency_access(
                ctx, parse_id(access_id), verdict, request.form.get("comment") or None
            )
        except MuliError as error:
            db.session.rollback()
            flash(message_of(error), "error")
        else:
            flash(_("Review saved: %(verdict)s.", verdict=VERDICTS[verdict]), "success")
    return redirect(back)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit/", view_func=audit_log, endpoint="audit")
    bp.add_url_rule("/audit/emergency-access", view_func=emergency_queue, endpoint="emergency_reviews")
    bp.add_url_rule("/audit/logins", view_func=login_failures, endpoint="audit_logins")
    bp.add_url_rule(
        "/audit/emergency-access/<access_id>/review", view_func=review, endpoint="review", methods=["POST"]
    )
    bp.add_url_rule(
        "/audit/patients/<patient_id>/access-log.pdf",
        view_func=export_access_log,
        endpoint="audit_export",
    )
