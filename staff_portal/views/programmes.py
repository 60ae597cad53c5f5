"""Administrators: programmes as data. List them with the teams that run them, read one,
export it (YAML or JSON), import a file (pasted: the portal's forms are URL-encoded), and set
the programme a team runs."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from muli.extensions import said_errors
from muli.models.people import Team
from muli.patient import programme
from muli.platform.errors import MuliError
from muli.team import programmes
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id
from staff_portal.errors import message_of

KIND_NAMES = {"numbers": _l("emergency numbers"), "list": _l("list"), "text": _l("text")}
SOURCE_NAMES = {"admissions": _l("computed from admissions"), "recorded": _l("recorded by the team")}


class ImportForm(FlaskForm):
    text = TextAreaField(
        _l("Programme file (JSON or YAML)"),
        validators=[InputRequired(), Length(max=programme.MAX_FILE_BYTES)],
    )


class TeamProgrammeForm(FlaskForm):
    team_id = SelectField(_l("Team"), validators=[InputRequired()], validate_choice=False)
    programme = SelectField(_l("Programme"), validators=[InputRequired()], validate_choice=False)


def _lang() -> str:
    return "en" if str(get_locale() or "nb").startswith("en") else "nb"


def _page(import_form=None, team_form=None, status: int = 200):
    ctx = portal_ctx()
    items = programmes.list_programmes(ctx)
    teams = ctx.session.scalars(select(Team).order_by(Team.name)).all()
    team_form = team_form or TeamProgrammeForm()
    team_form.team_id.choices = [(str(t.id), t.name) for t in teams]
    team_form.programme.choices = [(p["key"], p["name"][_lang()]) for p in items]
    return render_template(
        "staff_portal/admin_programmes.html",
        items=items,
        lang=_lang(),
        import_form=import_form or ImportForm(),
        team_form=team_form,
    ), status


@login_required
def admin_programmes():
    return _page()


@login_required
def admin_programme(key: str):
    definition = programmes.definition_of(portal_ctx(), key)
    return render_template(
        "staff_portal/admin_programme.html",
        p=definition,
        lang=_lang(),
        kind_names=KIND_NAMES,
        agency_kind_names=programme.AGENCY_KIND_NAMES,
        source_names=SOURCE_NAMES,
    )


@login_required
def export_programme(key: str):
    fmt = "json" if request.args.get("format") == "json" else "yaml"
    text = programmes.export(portal_ctx(), key, fmt)
    mimetype = "application/json" if fmt == "json" else "application/yaml"
    return Response(
        text,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{key}.{fmt}"'},
    )


@login_required
def import_programme():
    ctx = portal_ctx()
    programmes.list_programmes(ctx)  # the administrator's page: others are refused here
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(import_form=form, status=400)
    try:
        done = programmes.import_file(ctx, form.text.data)
    except MuliError as error:
        if error.status >= 500:
            raise
        fields = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in (said_errors(error) or {}).items())
        form.text.errors = [fields or message_of(error)]
        return _page(import_form=form, status=422)
    flash(_("Programme %(key)s imported.", key=done["key"]), "success")
    return redirect(url_for("portal.admin_programme", key=done["key"]))


@login_required
def set_team_programme():
    ctx = portal_ctx()
    programmes.list_programmes(ctx)
    form = TeamProgrammeForm()
    if not form.validate_on_submit():
        return redirect(url_for("portal.admin_programmes"))
    try:
        team = programmes.set_team_programme(ctx, parse_id(form.team_id.data), form.programme.data)
    except MuliError as error:
        if error.status >= 500:
            raise
        flash(error.detail or error.title, "error")
        return redirect(url_for("portal.admin_programmes"))
    flash(_("%(team)s now runs %(programme)s.", team=team.name, programme=form.programme.data), "success")
    return redirect(url_for("portal.admin_programmes"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/admin/programmes/", view_func=admin_programmes, endpoint="admin_programmes")
    bp.add_url_rule(
        "/admin/programmes/import", view_func=import_programme, endpoint="import_programme", methods=["POST"]
    )
    bp.add_url_rule(
        "/admin/programmes/team",
        view_func=set_team_programme,
        endpoint="set_team_programme",
        methods=["POST"],
    )
    bp.add_url_rule("/admin/programmes/<key>", view_func=admin_programme, endpoint="admin_programme")
    bp.add_url_rule("/admin/programmes/<key>/export", view_func=export_programme, endpoint="export_programme")
