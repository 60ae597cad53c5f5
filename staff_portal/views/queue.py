"""The on-call queue: requests appear without reload; acknowledge, message, close."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from muli.contact import requests as contact_requests
from muli.extensions import db
from muli.platform.errors import MuliError
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import choices, parse_id, shown_refusal
from staff_portal.errors import message_of

OUTCOMES = {
    "talked": _l("Talked with the patient"),
    "chat": _l("Chatted with the patient"),
    "referred_emergency": _l("Referred to emergency services"),
    "no_answer": _l("No answer"),
    "other": _l("Other"),
}
KINDS = {"call_me": _l("Call me"), "chat": _l("Chat")}
SHOWN = 20


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message to the patient"), [InputRequired(), Length(max=2000)])


class CloseForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=choices(OUTCOMES.items()), validate_choice=True)
    note = TextAreaField(_l("Note for the team (optional)"), [Length(max=2000)])


def _cards(ctx, state: str) -> list[dict]:
    items, _next = contact_requests.queue(ctx, state=state, cursor=None, limit=SHOWN)
    return [contact_requests.get_for_staff(ctx, item["id"]) for item in items]


def _page_data(ctx) -> dict:
    closed, _next = contact_requests.queue(ctx, state="closed", cursor=None, limit=SHOWN)
    return {
        "open": _cards(ctx, "open"),
        "acknowledged": _cards(ctx, "acknowledged"),
        "closed": closed,
        "kinds": KINDS,
        "outcomes": OUTCOMES,
        "message_form": MessageForm(),
        "close_form": CloseForm(),
    }


@login_required
def queue():
    return render_template("staff_portal/queue.html", **_page_data(portal_ctx()))


@login_required(touch=False)
def open_fragment():
    """The open and acknowledged requests as HTML, fetched by the page when the queue changes."""
    return render_template("staff_portal/queue_live.html", **_page_data(portal_ctx()))


@login_required(touch=False, json=True)
def poll():
    """Which requests are open now: polled every few seconds (does not extend the session)."""
    # The page sends back the ETag it last had: while nothing opened, closed, escalated or
    # waited a minute longer, a 304 with no body, from the teams' queue versions alone (the
    # digest names no patient: not audited).
    tags = request.if_none_match
    held = ("*",) if tags.star_tag else tuple(t for t in tags.as_set(include_weak=True) if t)  # "" is None
    tag, items = contact_requests.open_digest(portal_ctx(), held=held)
    headers = {"ETag": f'W/"{tag}"', "Cache-Control": "no-store"}
    if items is None:
        return Response(status=304, headers=headers)
    body = {"signed_in": True, "open": [{**i, "id": str(i["id"])} for i in items]}
    return body, 200, headers


def _attempt(action, done_message: str):
    try:
        action()
    except MuliError as error:
        db.session.rollback()
        shown_refusal(error)
        flash(message_of(error), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for("portal.queue") + f"#r-{request.view_args['request_id']}")


@login_required
def acknowledge(request_id: str):
    ctx, rid = portal_ctx(), parse_id(request_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("portal.queue"))
    return _attempt(lambda: contact_requests.acknowledge(ctx, rid), _("You have taken the request."))


@login_required
def call(request_id: str):
    """Ringer nå: one tap before dialling; the patient's app then says "Ola ringer deg"."""
    ctx, rid = portal_ctx(), parse_id(request_id)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("portal.queue"))
    return _attempt(
        lambda: contact_requests.start_call(ctx, rid), _("The patient can see that you are calling.")
    )


@login_required
def request_page(request_id: str):
    """One request on its own page (a link to send a colleague, the same card as in the queue)."""
    ctx, rid = portal_ctx(), parse_id(request_id)
    data = _page_data_for(ctx, contact_requests.get_for_staff(ctx, rid))
    return render_template("staff_portal/request.html", **data)


def _page_data_for(ctx, view: dict) -> dict:
    return {
        "r": view,
        "kinds": KINDS,
        "outcomes": OUTCOMES,
        "message_form": MessageForm(),
        "close_form": CloseForm(),
    }


@login_required
def message(request_id: str):
    ctx, rid = portal_ctx(), parse_id(request_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash(_("Write a message first."), "error")
        return redirect(url_for("portal.queue"))
    return _attempt(lambda: contact_requests.staff_message(ctx, rid, form.body.data), _("Message sent."))


@login_required
def close(request_id: str):
    ctx, rid = portal_ctx(), parse_id(request_id)
    form = CloseForm()
    if not form.validate_on_submit():
        flash(_("Choose an outcome."), "error")
        return redirect(url_for("portal.queue"))
    return _attempt(
        lambda: contact_requests.close(ctx, rid, form.outcome.data, form.note.data),
        _("The request is closed."),
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queue/", view_func=queue, endpoint="queue")
    bp.add_url_rule("/queue/live", view_func=open_fragment, endpoint="queue_live")
    bp.add_url_rule("/queue/poll", view_func=poll, endpoint="queue_poll")
    bp.add_url_rule("/queue/<request_id>", view_func=request_page, endpoint="queue_request")
    for name, fn in (("acknowledge", acknowledge), ("call", call), ("message", message), ("close", close)):
        bp.add_url_rule(
            f"/queue/<request_id>/{name}", view_func=fn, endpoint=f"queue_{name}", methods=["POST"]
        )
