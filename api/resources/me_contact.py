"""The patient's contact requests: "Når du vil snakke med noen"."""

from __future__ import annotations

import uuid

from flask import jsonify
from flask.views import MethodView

from api.body import Blueprint
from api.contact_schemas import ContactMessageIn, ContactRequestIn, CreatedRequestOut, PatientRequestOut
from api.context import current_ctx, require_kind
from api.dump import dumper
from api.idempotency import HEADER_DOC, idempotent
from api.schemas import PageArgs, page_of
from muli.contact import requests as contact_requests
from muli.platform.pagination import Page

blp = Blueprint(
    "me_contact",
    __name__,
    url_prefix="/api/v1/me/contact-requests",
    description="Ask to talk to someone; see who answered",
)
blp.before_request(lambda: require_kind("patient"))


@blp.route("")
class ContactRequests(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(PatientRequestOut))
    def get(self, args):
        """My contact requests, newest first."""
        page: Page = contact_requests.list_mine(current_ctx(), cursor=args["cursor"], limit=args["limit"])
        return {"items": page.items, "next_cursor": page.next_cursor}

    @idempotent(required=True, claim_last=True)  # create writes in its transaction only
    @blp.doc(parameters=[{**HEADER_DOC, "required": True}])
    @blp.arguments(ContactRequestIn)  # one instance for every request (api.body)
    @blp.response(201, CreatedRequestOut)
    def post(self, data):
        """Ask to be called or to chat. Never refused: with nobody reachable, `routed_to` is `none`.

        A message that cannot be stored as sent (half an emoji, NUL) is stored with U+FFFD in
        place of each such character: `message_altered` is then true."""
        ctx = current_ctx()
        created = contact_requests.create(ctx, contact_requests.NewRequest(**data))
        view = contact_requests.patient_view(ctx, created.request, created.messages)
        response = jsonify(_dump_created({**view, "message_altered": created.message_altered}))
        response.status_code = 201
        return response


_dump_created = dumper(CreatedRequestOut)  # compiled (api/dump.py)


@blp.route("/<uuid:request_id>")
class ContactRequest(MethodView):
    @blp.response(200, PatientRequestOut)
    def get(self, request_id: uuid.UUID):
        """One request: its state, who acknowledged it and when, messages, escalation."""
        return contact_requests.get_mine(current_ctx(), request_id)


@blp.route("/<uuid:request_id>/messages")
class Messages(MethodView):
    @idempotent()
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(ContactMessageIn)
    @blp.response(201, PatientRequestOut)
    def post(self, data, request_id: uuid.UUID):
        """Write in an open request; answers the request with its messages."""
        return contact_requests.patient_message(current_ctx(), request_id, data["body"])


@blp.route("/<uuid:request_id>/cancel")
class Cancel(MethodView):
    @blp.response(200, PatientRequestOut)
    def post(self, request_id: uuid.UUID):
        """ "I'm OK now": no one needs to call any more."""
        return contact_requests.cancel(current_ctx(), request_id)
