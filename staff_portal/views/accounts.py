"""My account (password, sessions) and, for administrators, every staff account: disable,
enable, force a new password, reset the second factor, see and end sessions."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from muli.extensions import db
from muli.platform.errors import MuliError, NotFound, ValidationFailed
from muli.trust import lifecycle, oidc
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import parse_id
from staff_portal.errors import message_of
from staff_portal.nav import ROLE_NAMES
from staff_portal.views.auth import PlainForm, password_errors

ACTIONS = {
    "disable": (lifecycle.disable, _l("The account is disabled and every session of it has ended.")),
    "enable": (lifecycle.enable, _l("The account can sign in again.")),
    "password-reset": (
        lifecycle.force_password_reset,
        _l("Every session has ended. A new password is asked for at the next sign-in."),
    ),
}


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=1000)])
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=1000)])
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class HelseIdForm(FlaskForm):
    """Link a staff account to the person HelseID vouches for; both empty removes the link."""

    national_id = StringField(_l("National identity number"), validators=[Optional(), Length(max=11)])
    hpr_number = StringField(_l("HPR number"), validators=[Optional(), Length(max=9)])


def _session_kind(kind: str) -> str:
    return _("Staff portal") if kind == "portal" else _("App or API")


@login_required
def my_account():
    ctx = portal_ctx()
    sessions = lifecycle.own_sessions(ctx, g.get("portal_session_id"))
    return render_template(
        "staff_portal/account.html",
        sessions=sessions,
        form=PlainForm(),
        kind_name=_session_kind,
        end_url=lambda sid: url_for("portal.end_my_session", session_id=sid),
    )


@login_required
def end_my_session(session_id: str):
    if PlainForm().validate_on_submit():
        try:
            lifecycle.end_own_session(portal_ctx(), parse_id(session_id))
            flash(_("The session has ended."), "success")
        except NotFound:
            flash(_("That session had already ended."), "warning")
    return redirect(url_for("portal.my_account"))


@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        ctx = portal_ctx()
        try:
            lifecycle.change_own_password(
                ctx, form.current_password.data, form.new_password.data, keep=g.get("portal_session_id")
            )
        except ValidationFailed as error:
            if error.keep_changes:
                db.session.commit()  # the failed attempt is audited
            password_errors(form, error)
        else:
            flash(_("Your password is changed. You were signed out everywhere else."), "success")
            return redirect(url_for("portal.my_account"))
    status = 400 if form.errors else 200
    return render_template("staff_portal/password.html", form=form), status


@login_required
def admin_accounts():
    ctx = portal_ctx()
    return render_template(
        "staff_portal/admin_accounts.html",
        accounts=lifecycle.staff_accounts(ctx),
        form=PlainForm(),
        role_names=ROLE_NAMES,
    )


@login_required
def admin_account(account_id: str):
    ctx = portal_ctx()
    wanted = parse_id(account_id)
    account = next((a for a in lifecycle.staff_accounts(ctx) if a.account_id == wanted), None)
    if account is None:
        raise NotFound("No such staff account.")
    return render_template(
        "staff_portal/admin_account.html",
        account=account,
        sessions=lifecycle.staff_sessions(ctx, wanted),
        form=PlainForm(),
        kind_name=_session_kind,
        own=wanted == ctx.actor.account_id,
        role_names=ROLE_NAMES,
        helseid_form=HelseIdForm(),
        end_url=lambda sid: url_for("portal.admin_end_session", account_id=wanted, session_id=sid),
    )


@login_required
def admin_action(account_id: str, action: str):
    wanted = parse_id(account_id)
    ctx = portal_ctx()
    lifecycle.require_admin(ctx)
    if not PlainForm().validate_on_submit():
        return redirect(url_for("portal.admin_account", account_id=wanted))
    if action == "totp-reset":
        new = lifecycle.reset_totp(ctx, wanted)  # shown on this page only, never again
        return render_template(
            "staff_portal/admin_totp.html", secret=new.secret, uri=new.uri, account_id=wanted
        )
    run, done = ACTIONS[action]
    try:
        run(ctx, wanted)
    except MuliError as error:
        if error.status >= 500:
            raise
        flash(message_of(error), "error")
        return redirect(url_for("portal.admin_account", account_id=wanted))
    flash(str(done), "success")
    return redirect(url_for("portal.admin_account", account_id=wanted))


@login_required
def admin_helseid(account_id: str):
    """Link the account for HelseID (the numbers are kept as blind indexes, never shown)."""
    wanted = parse_id(account_id)
    form = HelseIdForm()
    if form.validate_on_submit():
        try:
            oidc.link_helseid(portal_ctx(), wanted, form.national_id.data, form.hpr_number.data)
        except MuliError as error:
            if error.status >= 500:
                raise
            flash(message_of(error), "error")
            return redirect(url_for("portal.admin_account", account_id=wanted))
        linked = bool((form.national_id.data or "").strip() or (form.hpr_number.data or "").strip())
        flash(
            _("The account is linked for HelseID.") if linked else _("The HelseID link is removed."),
            "success",
        )
    return redirect(url_for("portal.admin_account", account_id=wanted))


@login_required
def admin_end_session(account_id: str, session_id: str):
    wanted = parse_id(account_id)
    if PlainForm().validate_on_submit():
        try:
            lifecycle.end_staff_session(portal_ctx(), wanted, parse_id(session_id))
            flash(_("The session has ended."), "success")
        except NotFound:
            flash(_("That session had already ended."), "warning")
    return redirect(url_for("portal.admin_account", account_id=wanted))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/account/", view_func=my_account, endpoint="my_account")
    bp.add_url_rule("/account/password", view_func=change_password, methods=["GET", "POST"])
    bp.add_url_rule(
        "/account/sessions/<session_id>/end",
        view_func=end_my_session,
        endpoint="end_my_session",
        methods=["POST"],
    )
    bp.add_url_rule("/admin/accounts/", view_func=admin_accounts, endpoint="admin_accounts")
    bp.add_url_rule("/admin/accounts/<account_id>", view_func=admin_account, endpoint="admin_account")
    for action in (*ACTIONS, "totp-reset"):
        bp.add_url_rule(
            f"/admin/accounts/<account_id>/{action}",
            endpoint=f"admin_{action.replace('-', '_')}",
            view_func=admin_action,
            methods=["POST"],
            defaults={"action": action},
        )
    bp.add_url_rule(
        "/admin/accounts/<account_id>/helseid",
        view_func=admin_helseid,
        endpoint="admin_helseid",
        methods=["POST"],
    )
    bp.add_url_rule(
        "/admin/accounts/<account_id>/sessions/<session_id>/end",
        view_func=admin_end_session,
        endpoint="admin_end_session",
        methods=["POST"],
    )
