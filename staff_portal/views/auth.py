"""Sign in (password + TOTP), sign out, language, and the start page."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp

from muli.contact import on_call
from muli.extensions import db, device_cookie, oidc_flow, said_errors
from muli.platform.errors import AuthenticationFailed, Forbidden, TooManyAttempts, ValidationFailed
from muli.trust import accounts, lifecycle, throttle
from staff_portal.auth_state import base_ctx, login_required, portal_ctx, safe_next, sign_in, sign_out
from staff_portal.errors import error_page

LOCALES = ("nb", "en")
LANG_COOKIE = "muli_lang"


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=150)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1000)])
    totp = StringField(
        _l("Code from your authenticator app"),
        validators=[InputRequired(), Regexp(r"^\s*\d{6}\s*$", message=_l("Six digits."))],
    )
    next = HiddenField()
    # Shown only when an administrator asked for a new password (the sign-in then sets it).
    new_password = PasswordField(_l("New password"), validators=[Optional(), Length(max=1000)])
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new_password", message=_l("The two passwords differ."))],
    )


def password_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Put a refused password's message, in the page's language, on the field it names."""
    for name, messages in (said_errors(error) or {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = messages


class PlainForm(FlaskForm):
    """A form with only the CSRF token: buttons that change something."""


def login():
    form = LoginForm(next=request.args.get("next", ""))
    expired = request.args.get("expired") == "1"
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        must_change = bool(form.new_password.data or form.new_password_again.data)
        return render_template(
            "staff_portal/login.html",
            form=form,
            expired=expired,
            must_change=must_change,
            helseid=oidc_flow.provider("helseid") is not None,
            signed_out=request.args.get("signed_out") == "1",
        ), status
    ctx = base_ctx()
    presented = device_cookie.read()
    try:
        account = accounts.authenticate(
            ctx,
            form.username.data.strip(),
            form.password.data,
            form.totp.data,
            device_id=presented,
            on_call=on_call.on_call_now,
        )
    except TooManyAttempts as error:
        db.session.commit()  # the refusal is audited even though we answer 429
        return error_page(error)
    except AuthenticationFailed:
        db.session.commit()
        return _failed(form)
    if account.kind != "staff":
        # Patients use the app; the portal is for staff. Roll back the login's bookkeeping.
        return _failed(form)
    try:
        lifecycle.finish_sign_in(ctx, account, form.new_password.data or None)
    except (Forbidden, ValidationFailed) as error:
        # A new password is due (or the one given is refused): nothing is kept (an answer of
        # 400 and over rolls back), not even the code's use, so the same code works again.
        if isinstance(error, ValidationFailed):
            password_errors(form, error)
        form.password.data = form.new_password.data = form.new_password_again.data = ""
        return render_template("staff_portal/login.html", form=form, must_change=True), 403
    sign_in(account)
    response = redirect(safe_next(form.next.data))
    # Password and second factor passed: this browser is now known for the account.
    device_cookie.set(response, throttle.remember_device(ctx, account, presented))
    return response


def _failed(form: LoginForm):
    form.password.data = form.totp.data = ""
    message = _("Wrong username, password or code.")
    return render_template("staff_portal/login.html", form=form, failed=message), 401


def logout():
    form = PlainForm()
    if form.validate_on_submit():
        sign_out()
        # The login page then offers HelseID's end-session too, when HelseID is on.
        return redirect(url_for("portal.login", signed_out=1))
    return redirect(url_for("portal.login"))


def language(code: str):
    form = PlainForm()
    if code not in LOCALES or not form.validate_on_submit():
        return redirect(url_for("portal.home"))
    response = make_response(redirect(safe_next(request.form.get("next"))))
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@login_required
def home():
    actor = portal_ctx().actor
    return render_template("staff_portal/home.html", actor=actor)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    bp.add_url_rule("/language/<code>", view_func=language, methods=["POST"])
    bp.add_url_rule("/", view_func=home, endpoint="home")
