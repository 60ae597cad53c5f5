"""Staff: the queue of contact requests, acknowledging, messages and closing."""

from __future__ import annotations

import uuid

from flask import Response, jsonify, request
from flask.views import MethodView
from marshmallow import fields, validate

from api.body import Blueprint
from api.contact_schemas import ContactCloseIn, ContactMessageIn, ContactQueueItemOut, ContactStaffRequestOut
from api.context import current_ctx, require_kind
from api.dump import dumper
from api.idempotency import HEADER_DOC, idempotent
from api.schemas import PageArgs, instant_text, page_of
from muli.contact import requests as contact_requests

blp = Blueprint(
    "staff_contact",
    __name__,
    url_prefix="/api/v1/staff/contact-requests",
    description="The contact-request queue of my teams",
)
blp.before_request(lambda: require_kind("staff"))


class ContactQueueArgs(PageArgs):
    state = fields.String(load_default="open", validate=validate.OneOf(("open", "acknowledged", "closed")))


# The page as `page_of(ContactQueueItemOut)` dumps it, compiled (api/dump.py).
QueuePage = page_of(ContactQueueItemOut)
_dump_page = dumper(QueuePage)
# The first page's cards are built in the schema's wire form (`UUID` and `Instant` fields as
# they dump), in one pass, and sent as built: the same JSON as `_dump_page` makes of the
# service's own form (tests/api/test_queue_wire.py holds the two equal). A later page keeps
# the service's form, which its ETag digests (`page_etag`), and is dumped.
WIRE = contact_requests.CardForm(str, instant_text)


@blp.route("")
class Queue(MethodView):
    @blp.arguments(ContactQueueArgs, location="query")
    @blp.response(200, QueuePage)
    @blp.alt_response(304, description="Not modified (If-None-Match): the first page as you have it")
    def get(self, args):
        """My teams' requests: open ones oldest first with waiting time and escalation. The
        first page has a (weak) ETag; send it as If-None-Match to poll: 304 while the page,
        waiting minutes included, is as you have it."""
        ctx = current_ctx()
        first = args["cursor"] is None
        page = contact_requests.queue_page(
            ctx,
            state=args["state"],
            cursor=args["cursor"],
            limit=args["limit"],
            held=_held() if first else (),
            form=WIRE if first else contact_requests.VALUES,
        )
        if page.items is None:
            return Response(status=304, headers={"ETag": page.etag})
        answer = {"items": page.items, "next_cursor": page.next_cursor}
        if first:
            response = jsonify(answer)
            response.headers["ETag"] = page.etag
            return response
        # A later page: its ETag from what it holds (no cheap check; each page is read).
        etag = contact_requests.page_etag(page.items)
        if _has_etag(etag):
            return Response(status=304, headers={"ETag": etag})
        response = jsonify(_dump_page(answer))
        response.headers["ETag"] = etag
        return response


def _held() -> tuple[str, ...]:
    """The ETags If-None-Match names, weak or strong, without `W/` and quotes; `*` for any."""
    tags = request.if_none_match
    # (werkzeug reads an empty tag, `""`, as None.)
    return ("*",) if tags.star_tag else tuple(t for t in tags.as_set(include_weak=True) if t)


def _has_etag(etag: str) -> bool:
    """The client holds this (weak) ETag: If-None-Match names it."""
    return request.if_none_match.contains_weak(etag.removeprefix("W/").strip('"'))


@blp.route("/<uuid:request_id>")
class Request(MethodView):
    @blp.response(200, ContactStaffRequestOut)
    def get(self, request_id: uuid.UUID):
        """The responder's view: request, callback number, trusted contact, what helps (with consent)."""
        return contact_requests.get_for_staff(current_ctx(), request_id)


@blp.route("/<uuid:request_id>/acknowledge")
class Acknowledge(MethodView):
    @blp.response(200, ContactStaffRequestOut)
    def post(self, request_id: uuid.UUID):
        """Take the request. One responder wins; the next gets 409 naming who has it."""
        return contact_requests.acknowledge(current_ctx(), request_id)


@blp.route("/<uuid:request_id>/call")
class Call(MethodView):
    @blp.response(200, ContactStaffRequestOut)
    def post(self, request_id: uuid.UUID):
        """Ringer nå: I am calling the patient now (takes an open request; the app shows it)."""
        return contact_requests.start_call(current_ctx(), request_id)


@blp.route("/<uuid:request_id>/messages")
class Messages(MethodView):
    @idempotent()
    @blp.doc(parameters=[HEADER_DOC])
    @blp.arguments(ContactMessageIn)
    @blp.response(201, ContactStaffRequestOut)
    def post(self, data, request_id: uuid.UUID):
        """Write to the patient."""
        return contact_requests.staff_message(current_ctx(), request_id, data["body"])


@blp.route("/<uuid:request_id>/close")
class Close(MethodView):
    @blp.arguments(ContactCloseIn)
    @blp.response(200, ContactStaffRequestOut)
    def post(self, data, request_id: uuid.UUID):
        """Record the outcome and a note (the note is clinical content, stored encrypted)."""
        return contact_requests.close(current_ctx(), request_id, data["outcome"], data["note"])
