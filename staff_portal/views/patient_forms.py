"""Changes from the patient page: propose a crisis plan, record an admission, break the glass."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from muli.extensions import db
from muli.models.consent import EMERGENCY_DEFAULT
from muli.models.people import Patient
from muli.patient import indicators, pdf, plans, programme
from muli.patient import record as patient_record
from muli.platform.errors import ValidationFailed
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import choices, form_errors, parse_id
from staff_portal.errors import message_of

# List sections are edited as lists: one input per item (named parts as fields of their own),
# rows added, removed and moved with submit buttons that work without JavaScript (the page
# comes back with the row changed, nothing proposed); static/plan_editor.js does the same in
# place. A text keeps what it says, semicolons and all.
PARTS = {
    "warning_signs": ("sign", "action"),
    "people_to_ask": ("name", "phone"),
    "professionals": ("service", "phone", "when_reachable"),
}
LIST_LABELS = {
    "warning_signs": _l("Warning signs"),
    "coping_strategies": _l("What I can do myself"),
    "distractions": _l("People and places that take my mind off it"),
    "people_to_ask": _l("People I can ask for help"),
    "professionals": _l("Professionals"),
    "safe_environment": _l("Making my surroundings safe"),
    "reasons_to_live": _l("Reasons to live"),
}
TEXT_LABELS = {
    "how_i_want_to_be_met": _l("How I want to be met"),
    "what_helps": _l("What helps"),
    "what_does_not_help": _l("What does not help"),
    "treatment_preferences": _l("Treatment preferences in an acute crisis"),
}
PART_LABELS = {
    "sign": _l("Warning sign"),
    "action": _l("What I do then"),
    "name": _l("Name"),
    "phone": _l("Phone"),
    "service": _l("Service"),
    "when_reachable": _l("When they can be reached"),
}
# Empty rows shown below the items, ready to fill in; and at most this many rows at all.
EMPTY_ROWS = 1
MAX_ROWS = plans.MAX_ITEMS + 10
ROW_OPS = ("add", "remove", "up", "down")


def _part_form(parts):
    fields = {
        part: StringField(
            PART_LABELS[part],
            [Length(max=plans.MAX_PHONE_CHARS if part == "phone" else plans.MAX_NAME_CHARS)],
        )
        for part in parts
    }
    return type("PartsForm", (Form,), fields)


def _proposal_form():
    fields: dict = {}
    for name, label in LIST_LABELS.items():
        inner = (
            FormField(_part_form(PARTS[name]))
            if name in PARTS
            else StringField(label, [Length(max=plans.MAX_ITEM_CHARS)])
        )
        fields[name] = FieldList(inner, label=label, max_entries=MAX_ROWS)
    fields |= {
        name: TextAreaField(label, [Length(max=plans.MAX_TEXT_CHARS)]) for name, label in TEXT_LABELS.items()
    }
    fields["last_reviewed_with_team_on"] = DateField(_l("Reviewed with the team on"), [Optional()])
    return type("ProposalForm", (FlaskForm,), fields)


ProposalForm = _proposal_form()
ProposalForm.added = ()  # a programme's own sections: (key, kind, label)


@cache
def programme_form(added: tuple[tuple[str, str, str], ...]):
    """The proposal form with a programme's own sections (MULI vold's...): a list of texts, or
    one text. MULI's is ProposalForm itself."""
    if not added:
        return ProposalForm
    fields: dict = {"added": added}
    for key, kind, label in added:
        if kind == "list":
            fields[key] = FieldList(
                StringField(label, [Length(max=plans.MAX_ITEM_CHARS)]), label=label, max_entries=MAX_ROWS
            )
        else:
            fields[key] = TextAreaField(label, [Length(max=plans.MAX_TEXT_CHARS)])
    return type("ProgrammeProposalForm", (ProposalForm,), fields)


def _lang() -> str:
    return "en" if str(get_locale() or "nb").startswith("en") else "nb"


def form_class_for(definition: dict):
    lang = _lang()
    added = tuple((s["key"], s["kind"], s["title"][lang]) for s in programme.added_sections(definition))
    return programme_form(added)


def form_class_of_patient(ctx, patient_id):
    """The proposal form of the patient's programme (MULI's for an id that names no patient:
    the access check that follows answers it)."""
    patient = ctx.session.get(Patient, patient_id)
    return form_class_for(programme.for_team(ctx, patient.team) if patient else programme.default())


def _list_names(form_class) -> list[str]:
    return [*LIST_LABELS, *(k for k, kind, _label in form_class.added if kind == "list")]


def _text_names(form_class) -> list[str]:
    return [*TEXT_LABELS, *(k for k, kind, _label in form_class.added if kind == "text")]


def _blank(name: str):
    return dict.fromkeys(PARTS[name], "") if name in PARTS else ""


def _is_blank(value) -> bool:
    if isinstance(value, dict):
        return not any((v or "").strip() for v in value.values())
    return not (value or "").strip()


def proposal_form(document: dict | None = None, data: dict | None = None, form_class=ProposalForm):
    """The form with the plan's items as rows (and an empty row to fill in per list)."""
    if data is None:
        document = dict(document or {})
        extra = document.pop("extra", None) or {}
        data = {name: document.get(name) or None for name in TEXT_LABELS}
        for key, kind, _label in form_class.added:
            value = extra.get(key)
            data[key] = (
                [v for v in value if isinstance(v, str)] if kind == "list" and value else value or None
            )
        for name in LIST_LABELS:
            items = []
            for item in document.get(name) or []:
                if name in PARTS:
                    item = item if isinstance(item, dict) else {PARTS[name][0]: str(item)}
                    items.append({p: item.get(p) or "" for p in PARTS[name]})
                else:
                    items.append(
                        item if isinstance(item, str) else " ".join(str(v) for v in item.values() if v)
                    )
            data[name] = items
    for name in _list_names(form_class):
        rows = list(data.get(name) or [])
        while len(rows) < MAX_ROWS and sum(_is_blank(r) for r in rows) < EMPTY_ROWS:
            rows.append(_blank(name))
        data[name] = rows
    return form_class(formdata=None, data=data)


def row_operation(form, op: str):
    """The form again with one row added, removed or moved (None: not a valid operation)."""
    kind, _, rest = op.partition(":")
    name, _, index = rest.partition(":")
    form_class = type(form)
    lists = _list_names(form_class)
    if kind not in ROW_OPS or name not in lists:
        return None
    data = {n: form[n].data for n in lists}
    data |= {n: form[n].data for n in _text_names(form_class)}
    data["last_reviewed_with_team_on"] = form.last_reviewed_with_team_on.data
    rows = list(data[name])
    if kind == "add":
        if len(rows) < MAX_ROWS:
            rows.append(_blank(name))
        data[name] = rows
        # Only the row asked for: no extra empty row on top of it.
        return form_class(formdata=None, data=data)
    if not index.isdigit() or int(index) >= len(rows):
        return None
    i = int(index)
    if kind == "remove":
        rows.pop(i)
    elif kind == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif kind == "down" and i + 1 < len(rows):
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    data[name] = rows
    return proposal_form(data=data, form_class=form_class)


class AdmissionForm(FlaskForm):
    admitted_on = DateField(_l("Admitted on"), [InputRequired()])
    discharged_on = DateField(_l("Discharged on"), [Optional()])
    facility = StringField(_l("Facility"), [InputRequired(), Length(max=200)], default="PAM")
    involuntary = BooleanField(_l("Involuntary admission"))


class IndicatorEventForm(FlaskForm):
    """One event of an indicator the patient's programme records (MULI vold: a police contact...)."""

    indicator = SelectField(_l("Indicator"), [InputRequired()], validate_choice=False)
    occurred_on = DateField(_l("Date"), [InputRequired()])
    count = IntegerField(
        _l("How many (days in custody: the days)"),
        [InputRequired(), NumberRange(1, indicators.MAX_COUNT)],
        default=1,
    )


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


def _document(form) -> tuple[dict, list[tuple]]:
    """The plan the form describes, and rows with parts but no name (field, message)."""
    doc: dict = {}
    missing = []
    for name in LIST_LABELS:
        items: list = []
        for entry in form[name].entries:
            if name in PARTS:
                item = {p: (entry.form[p].data or "").strip() or None for p in PARTS[name]}
                if not any(item.values()):
                    continue
                first = PARTS[name][0]
                if item[first] is None:
                    missing.append((entry.form[first], PART_LABELS[first]))
                items.append(item)
            elif (entry.data or "").strip():
                items.append(entry.data.strip())
        doc[name] = items
    for name in TEXT_LABELS:
        doc[name] = form[name].data or None
    if type(form).added:  # a programme's own sections
        doc["extra"] = {
            key: [e.data.strip() for e in form[key].entries if (e.data or "").strip()]
            if kind == "list"
            else form[key].data or None
            for key, kind, _label in type(form).added
        }
    return doc, missing


def _back(pid, anchor: str):
    return redirect(url_for("portal.patient", patient_id=pid) + anchor)


def _again(pid, key: str, form, error: ValidationFailed | None = None):
    from staff_portal.views.patients import patient

    db.session.rollback()
    if error is not None and not form_errors(form, error):
        flash(message_of(error), "error")
    return patient(str(pid), forms={key: form}, status=error.status if error else 400)


@login_required
def propose(patient_id: str):
    ctx, pid = portal_ctx(), parse_id(patient_id)
    form = form_class_of_patient(ctx, pid)()
    op = request.form.get("row_op")
    if op is not None:
        # A row added, removed or moved without JavaScript: the form again, nothing proposed.
        from staff_portal.views.patients import patient

        changed = row_operation(form, op) or form
        return patient(str(pid), forms={"proposal": changed}, status=200)
    if not form.validate_on_submit():
        return _again(pid, "proposal", form)
    document, missing = _document(form)
    if missing:
        for field, label in missing:
            field.errors = [_("Fill in %(what)s, or empty the row.", what=str(label).lower())]
        return _again(pid, "proposal", form)
    try:
        item = plans.propose_crisis_plan(ctx, pid, document, form.last_reviewed_with_team_on.data)
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
def indicator_event(patient_id: str):
    ctx, pid = portal_ctx(), parse_id(patient_id)
    form = IndicatorEventForm()
    if not form.validate_on_submit():
        return _again(pid, "indicator", form)
    data = indicators.NewIndicatorEvent(form.indicator.data, form.occurred_on.data, form.count.data)
    try:
        indicators.record_event(ctx, pid, data)
    except ValidationFailed as error:
        return _again(pid, "indicator", form, error)
    flash(_("The event is recorded."), "success")
    return _back(pid, "#indicators")


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
        ngettext(
            "Emergency access to %(what)s for %(num)d minute. It is logged and shown to the patient.",
            "Emergency access to %(what)s for %(num)d minutes. It is logged and shown to the patient.",
            minutes,
            what=", ".join(str(EMERGENCY_NAMES[s]).lower() for s in window["scopes"]),
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


@login_required
def fhir_export(patient_id: str):
    """The patient's record as a FHIR R4 Bundle, as much as my agency may see (audited)."""
    from muli.patient import fhir  # the FHIR models load on the first export (~25 MB)

    body = fhir.staff_bundle(portal_ctx(), parse_id(patient_id))
    return Response(
        body,
        mimetype=fhir.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="muli-patient.fhir.json"'},
    )


def register(bp: Blueprint) -> None:
    for path, fn in (
        ("crisis-plan/proposals", propose),
        ("admissions", admission),
        ("indicator-events", indicator_event),
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
    bp.add_url_rule("/patients/<patient_id>/export.fhir", view_func=fhir_export, endpoint="patient_fhir")
