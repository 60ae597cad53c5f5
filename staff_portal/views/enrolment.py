"""Enrolment (coordinator): the patient, baseline admissions, consent per agency, the code."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FieldList, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from muli.contact import requests as contact_requests
from muli.models.people import Agency
from muli.patient import programme
from muli.platform.errors import Conflict, ValidationFailed
from muli.team import enrolment
from muli.trust import access
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import SCOPE_NAMES, choices, chosen_team, form_errors, my_teams
from staff_portal.errors import message_of


class EnrolForm(FlaskForm):
    team = HiddenField()
    display_name = StringField(_l("Name the patient wants to be called"), [InputRequired(), Length(max=200)])
    national_id = StringField(
        _l("National identity number (11 digits)"),
        [InputRequired(), Regexp(r"^\s*\d{11}\s*$", message=_l("Eleven digits."))],
    )
    admissions_last_12_months = FieldList(
        DateField(_l("Admitted on"), [Optional()]), min_entries=6, max_entries=30
    )
    trusted_contact_id = SelectField(_l("Trusted contact on the team"), choices=[], validate_choice=True)
    phone = StringField(_l("The patient's phone number (optional)"), [Optional(), Length(max=32)])
    # The programme's criteria are the team's judgement, not a count the software checks (an
    # admission abroad, a report not yet registered): the coordinator confirms it, and the
    # confirmation is in the audit trail with the enrolment.
    meets_criteria = BooleanField(
        _l("The team judges that the patient meets the programme's criteria"),
        [DataRequired(message=_l("Confirm that the patient meets the criteria, or do not enrol."))],
    )


def _consents_from(form_data, agencies: list[Agency], asked) -> list[enrolment.ConsentGiven]:
    given = []
    for agency in agencies:
        scopes = [s for s in form_data.getlist(f"consent-{agency.id}") if s in asked]
        if scopes:
            given.append(enrolment.ConsentGiven(agency_id=agency.id, scopes=scopes))
    return given


@login_required
def enrol():
    ctx = portal_ctx()
    access.require_role(ctx, "coordinator")
    team = chosen_team(ctx, my_teams(ctx))
    access.coordinator_of(ctx, team.id)
    agencies = sorted(
        (ctx.session.get(Agency, a) for a in access.team_agency_ids(ctx, team.id)), key=lambda a: a.name
    )
    form = EnrolForm(team=str(team.id))
    form.trusted_contact_id.choices = choices(
        [("", _l("— choose later —"))]
        + [(s.id, f"{s.display_name} ({s.agency.name})") for s in contact_requests.team_staff(ctx, team.id)]
    )
    checked = {f"{a.id}:{s}" for a in agencies for s in request.form.getlist(f"consent-{a.id}")}
    # Only the consent the team's programme asks for, and its criteria in the reader's language.
    definition = programme.for_team(ctx, team)
    scopes = {s: SCOPE_NAMES[s] for s in programme.consent_scopes_of(definition)}
    lang = "en" if str(get_locale() or "nb").startswith("en") else "nb"
    criteria = definition["enrolment"]["criteria"].get(lang) or definition["enrolment"]["criteria"]["en"]
    page = {
        "form": form,
        "team": team,
        "teams": my_teams(ctx),
        "agencies": agencies,
        "scopes": scopes,
        "programme_name": programme.title({"title": definition["name"]}, lang),
        "criteria": criteria,
    }
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("staff_portal/enrol.html", checked=checked, **page), status
    data = enrolment.Enrolment(
        display_name=form.display_name.data,
        national_id=form.national_id.data,
        team_id=team.id,
        admissions_last_12_months=[d for d in form.admissions_last_12_months.data if d],
        consents=_consents_from(request.form, agencies, scopes),
        criteria_confirmed=True,  # the form's tick (`meets_criteria`) is required to get here
        trusted_contact_id=uuid.UUID(form.trusted_contact_id.data) if form.trusted_contact_id.data else None,
        phone=form.phone.data or None,
    )
    try:
        patient, code = enrolment.enrol(ctx, data)
    except (ValidationFailed, Conflict) as error:
        if not form_errors(form, error):
            form.national_id.errors = [message_of(error)]
        return render_template("staff_portal/enrol.html", checked=checked, **page), error.status
    # Shown in this answer only: the code is stored as a keyed hash and cannot be shown again.
    return render_template(
        "staff_portal/enrolled.html",
        patient=enrolment.patient_view(ctx, patient),
        code=code,
        team=team,
        days=ctx.settings.activation_days,
        public_url=ctx.settings.public_url,
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/patients/enrol", view_func=enrol, endpoint="enrol", methods=["GET", "POST"])
