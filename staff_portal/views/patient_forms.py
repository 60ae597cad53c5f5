"""Changes from the patient page: propose a crisis plan, record an admission, break the glass."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from muli.extensions import db
from muli.models.consent import EMERGENCY_DEFAULT
from muli.patient import pdf, plans
from muli.patient import record as patient_record
from muli.platform.errors import ValidationFailed
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import choices, form_errors, parse_id

SEP = ";"
# List sections whose items have named parts, written one item per line, parts split by ";".
PARTS = {
    "warning_signs": ("sign", "action"),
    "people_to_ask": ("name", "phone"),
    "professionals": ("service", "phone", "when_reachable"),
}
LIST_LABELS = {
    "warning_signs": _l("Warning signs (one per line; sign ; what it calls for)"),
    "coping_strategies": _l("What I can do myself (one per line)"),
    "distractions": _l("People and places that take my mind off it (one per line)"),
    "people_to_ask": _l("People I can ask for help (one per line; name ; phone)"),
    "professionals": _l("Professionals (one per line; service ; phone ; when reachable)"),
    "safe_environment": _l("Making my surroundings safe (one per line)"),
    "reasons_to_live": _l("Reasons to live (one per line)"),
}
TEXT_LABELS = {
    "how_i_want_to_be_met": _l("How I want to be met"),
    "what_helps": _l("What helps"),
    "what_does_not_help": _l("What does not help"),
    "treatment_preferences": _l("Treatment preferences in an acute crisis"),
}


def _proposal_form():
    fields = {name: TextAreaField(label, [Length(max=15000)]) for name, label in LIST_LABELS.items()}
    fields |= {name: TextAreaField(label, [Length(max=2000)]) for name, label in TEXT_LABELS.items()}
    fields["last_reviewed_with_team_on"] = DateField(_l("Reviewed with the team on"), [Optional()])
    return type("ProposalForm", (FlaskForm,), fields)


ProposalForm = _proposal_form()


class AdmissionForm(FlaskForm):
    admitted_on = DateField(_l("Admitted on"), [InputRequired()])
    discharged_on = DateField(_l("Discharged on"), [Optional()])
    facility = StringField(_l("Facility"), [InputRequired(), Length(max=200)], default="PAM")
    involuntary = BooleanField(_l("Involuntary admission"))


EMERGENCY_NAMES = {
    "crisis_plan": _l("Crisis plan"),
    "contact_requests": _l("Contact history"),
    "shared_diary": _l("Shared diary"),
}


class EmergencyForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you need access now? (required, shown to the patient and reviewed)"),
        [InputRequired(), Length(min=10, max=500)],
    )
    # Only what is needed now opens; the crisis plan is ticked to begin with, and nothing
    # ticked opens the crisis plan alone (as the API's default).
    scopes = SelectMultipleField(
        _l("What do you need now?"),
        choices=choices(EMERGENCY_NAMES.items()),
        default=list(EMERGENCY_DEFAULT),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def _line(item, parts) -> str:
    if isinstance(item, dict):
        return f" {SEP} ".join(item.get(p) or "" for p in parts).rstrip(f" {SEP}")
    return str(item)


def prefill_proposal(form, document: dict) -> None:
    for name in LIST_LABELS:
        parts = PARTS.get(name, ())
        getattr(form, name).data = "\n".join(_line(i, parts) for i in document.get(name) or [])
    for name in TEXT_LABELS:
        getattr(form, name).data = document.get(name) or ""


def _document(form) -> dict:
    doc: dict = {}
    for name in LIST_LABELS:
        lines = [ln.strip() for ln in (getattr(form, name).data or "").splitlines() if ln.strip()]
        if name in PARTS:
            doc[name] = [
                dict(zip(PARTS[name], [p.strip() for p in ln.split(SEP)][: len(PARTS[name])], strict=False))
                for ln in lines
            ]
        else:
            doc[name] = lines
    for name in TEXT_LABELS:
        doc[name] = getattr(form, name).data or None
    return doc


def _back(pid, anchor: str):
    return redirect(url_for("portal.patient", patient_id=pid) + anchor)


def _again(pid, key: str, form, error: ValidationFailed | None = None):
    from staff_portal.views.patients import patient

    db.session.rollback()
    if error is not None and not form_errors(form, error):
        flash(error.detail, "error")
    return patient(str(pid), forms={key: form}, status=error.status if error else 400)


@login_required
def propose(patient_id: str):
    ctx, pid = portal_ctx(), parse_id(patient_id)
    form = ProposalForm()
    if not form.validate_on_submit():
        return _again(pid, "proposal", form)
    try:
        item = plans.propose_crisis_plan(ctx, pid, _document(form), form.last_reviewed_with_team_on.data)
    except ValidationFailed as error:
        return _again(pid, "proposal", form, error)
    flash(_("Version %(n)d is proposed. The patient approves it in the app.", n=item["version"]), "success")
    return _back(pid, "#crisis-plan")


@login_required
def admission(patient_id: str):
    ctx, pid = portal_ctx(), parse_id(patient_id)
    form = AdmissionForm()
    if not form.validate_on_submit():
        return _again(pid, "admission", form)
    data = patient_record.NewAdmission(
        admitted_on=form.admitted_on.data,
        discharged_on=form.discharged_on.data,
        facility=form.facility.data,
        involuntary=form.involuntary.data,
    )
    try:
        patient_record.record_admission(ctx, pid, data)
    except ValidationFailed as error:
        return _again(pid, "admission", form, error)
    flash(_("The admission is recorded."), "success")
    return _back(pid, "#admissions")


@login_required
def emergency(patient_id: str):
    ctx, pid = portal_ctx(), parse_id(patient_id)
    form = EmergencyForm()
    if not form.validate_on_submit():
        return _again(pid, "emergency", form)
    try:
        window = patient_record.start_emergency_access(ctx, pid, form.reason.data, form.scopes.data)
    except ValidationFailed as error:
        return _again(pid, "emergency", form, error)
    minutes = int((window["ends_at"] - window["starts_at"]).total_seconds() // 60)
    flash(
        _(
            "Emergency access to %(what)s for %(n)d minutes. It is logged and shown to the patient.",
            what=", ".join(str(EMERGENCY_NAMES[s]).lower() for s in window["scopes"]),
            n=minutes,
        ),
        "warning",
    )
    return _back(pid, "")


@login_required
def crisis_plan_pdf(patient_id: str):
    body = pdf.staff_crisis_plan_pdf(portal_ctx(), parse_id(patient_id))
    return Response(
        body, mimetype="application/pdf", headers={"Content-Disposition": 'inline; filename="kriseplan.pdf"'}
    )


def register(bp: Blueprint) -> None:
    for path, fn in (
        ("crisis-plan/proposals", propose),
        ("admissions", admission),
        ("emergency-access", emergency),
    ):
        bp.add_url_rule(
            f"/patients/<patient_id>/{path}",
            view_func=fn,
            endpoint=f"patient_{fn.__name__}",
            methods=["POST"],
        )
    bp.add_url_rule(
        "/patients/<patient_id>/crisis-plan.pdf", view_func=crisis_plan_pdf, endpoint="patient_pdf"
    )
