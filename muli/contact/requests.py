"""Contact requests ("Når du vil snakke med noen"): never refused, never lost, answered once.

Who sees what on the staff side (a deliberate choice, see docs/contact-requests.md):
every clinician on the patient's team sees that a request exists, its kind, urgency,
state, waiting time and the callback number, because the on-call responder must be able
to answer whatever the consents say (the patient asked to be contacted). The free text
(the messages and the closing note) is clinical content and needs the `contact_requests`
consent for the reader's agency, or break-the-glass access. The crisis-plan summary
beside a request needs the `crisis_plan` consent. Every read is audited.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, insert, literal_column, select, union_all, update

from muli.contact import notifications, on_call
from muli.models.contact import (
    OUTCOMES,
    REQUEST_KINDS,
    URGENCIES,
    ContactEscalation,
    ContactMessage,
    ContactQueueVersion,
    ContactRequest,
    queue_changed,
)
from muli.models.people import CLINICAL_ROLES, Agency, Patient, Staff, TeamMembership
from muli.models.push import PushSubscription
from muli.patient import profile
from muli.platform.context import Ctx
from muli.platform.crypto import aad
from muli.platform.errors import (
    BadRequest,
    Conflict,
    ConsentRequired,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from muli.platform.pagination import decode, encode, keyset
from muli.platform.text import make_storable
from muli.platform.words import N_
from muli.trust import access, audit, audit_words

MAX_MESSAGE = 2000
REMIND_AFTER = timedelta(hours=12)
QUEUE_STATES = {"open": ("open",), "acknowledged": ("acknowledged",), "closed": ("closed", "cancelled")}
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class NewRequest:
    kind: str
    urgency: str
    message: str | None = None
    callback_phone: str | None = None


def normalise_phone(raw: str) -> str:
    """E.164: `+` and 7-15 digits; an 8-digit Norwegian number gets +47. Spaces and dashes ignored."""
    phone = re.sub(r"[\s\-().]", "", raw)
    if re.fullmatch(r"\d{8}", phone):  # first: "000 00 199" is Norwegian, not 00 + 000199
        phone = "+47" + phone
    elif phone.startswith("00"):
        phone = "+" + phone[2:]
    if not _PHONE.match(phone):
        raise ValidationFailed("callback_phone", "Not a phone number: use +47 and 8 digits, or E.164.")
    return phone


def _text(field: str, value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationFailed(field, "Write something.")
        return None
    if len(value) > MAX_MESSAGE:
        raise ValidationFailed(field, "At most %(n)d characters.", {"n": MAX_MESSAGE})
    return value


def _message_text(field: str, value: str | None) -> str:
    """A message body: some text, not too long."""
    text = _text(field, value, required=True)
    if text is None:  # _text raised already; this tells the type checker
        raise ValidationFailed(field, "Write something.")
    return text


def team_staff(ctx: Ctx, team_id: uuid.UUID, roles=CLINICAL_ROLES) -> list[Staff]:
    return list(
        ctx.session.scalars(
            select(Staff)
            .join(TeamMembership, TeamMembership.staff_id == Staff.id)
            .where(TeamMembership.team_id == team_id, Staff.role.in_(roles))
            .order_by(Staff.display_name)
        )
    )


class Recipients(NamedTuple):
    """Whom a new request notifies first, and their devices (None: not read yet)."""

    people: list[notifications.Recipient]
    devices: dict[uuid.UUID, list[uuid.UUID]] | None = None


def _first_recipients(ctx: Ctx, patient: Patient, routed_to: str, responder: Staff | None) -> Recipients:
    if routed_to == "on_call":
        return Recipients([responder] if responder else [])
    if routed_to == "office":
        # The patient's trusted contact, then the team's coordinators by name, each with their
        # devices (one statement): only the columns a notification needs.
        people: list[notifications.Recipient] = []
        devices: dict[uuid.UUID, list[uuid.UUID]] = {}
        last = None
        for row in ctx.session.connection().execute(
            _OFFICE_RECIPIENTS, {"staff_id": patient.trusted_contact_id, "team_id": patient.team_id}
        ):
            if row.id != last:
                last = row.id
                people.append(row)
                mine = devices.setdefault(row.account_id, [])
            if row.subscription_id is not None and row.subscription_id not in mine:
                mine.append(row.subscription_id)  # the trusted contact's are also a coordinator's
        return Recipients(people, devices)
    # Nobody is reachable: the escalation rules alert the coordinators after one window.
    return Recipients([], {})


# Core statements on the tables (built once, compiled once): no ORM compile step per request.
_STAFF = Staff.__table__
_MEMBERSHIP = TeamMembership.__table__
_SUBSCRIPTION = PushSubscription.__table__
_RECIPIENT = (
    _STAFF.c.id,
    _STAFF.c.account_id,
    _STAFF.c.email,
    _STAFF.c.display_name,
    _SUBSCRIPTION.c.id.label("subscription_id"),
    _SUBSCRIPTION.c.created_at.label("subscribed_at"),
)
_DEVICES = _SUBSCRIPTION.c.account_id == _STAFF.c.account_id
# The trusted contact first (none when the id is NULL), then the team's coordinators by name;
# each person's rows together, one per device (one with none), in `push.for_accounts`' order.
_OFFICE = union_all(
    select(*_RECIPIENT, literal_column("0").label("rank"))
    .select_from(_STAFF.outerjoin(_SUBSCRIPTION, _DEVICES))
    .where(_STAFF.c.id == bindparam("staff_id")),
    select(*_RECIPIENT, literal_column("1").label("rank"))
    .select_from(
        _STAFF.join(_MEMBERSHIP, _MEMBERSHIP.c.staff_id == _STAFF.c.id).outerjoin(_SUBSCRIPTION, _DEVICES)
    )
    .where(_MEMBERSHIP.c.team_id == bindparam("team_id"), _STAFF.c.role == "coordinator"),
).subquery("office")
_OFFICE_RECIPIENTS = select(_OFFICE).order_by(
    _OFFICE.c.rank, _OFFICE.c.display_name, _OFFICE.c.id, _OFFICE.c.subscribed_at, _OFFICE.c.subscription_id
)
_INSERT_REQUEST = insert(ContactRequest.metadata.tables["contact_request"])
_INSERT_MESSAGE = insert(ContactMessage.metadata.tables["contact_message"])
_REQUEST_COLUMNS = (
    "id",
    "patient_id",
    "team_id",
    "kind",
    "urgency",
    "callback_phone_enc",
    "state",
    "routed_to",
    "routed_staff_id",
    "acknowledge_within_minutes",
    "escalation_level",
    "escalate_at",
    "created_at",
)
# PostgreSQL: the request and the patient's first message in one statement, one round trip
# (the request's INSERT as the message INSERT's common table expression; the message's
# foreign key is checked at the statement's end, when the request is there). The message
# has the request's `created_at`. SQLite has no INSERT in a WITH: two statements there.
_INSERT_REQUEST_AND_MESSAGE = _INSERT_MESSAGE.values(
    id=bindparam("message_id"),
    request_id=bindparam("id"),
    author_kind=bindparam("author_kind"),
    author_staff_id=bindparam("author_staff_id"),
    body_enc=bindparam("body_enc"),
    created_at=bindparam("created_at"),
).add_cte(_INSERT_REQUEST.values({name: bindparam(name) for name in _REQUEST_COLUMNS}).cte("new_request"))


@dataclass(frozen=True)
class NewContactRequest:
    """A request `create` has just written (with Core): the columns and relations its views
    read, as a ContactRequest loaded now would have them (nobody has taken it yet)."""

    __tablename__ = "contact_request"  # its encrypted field is bound to the table (keys.open)

    id: uuid.UUID
    patient: Patient
    kind: str
    urgency: str
    routed_to: str
    routed_staff: Staff | None
    acknowledge_within_minutes: int
    escalate_at: datetime
    created_at: datetime
    callback_phone: str | None
    callback_phone_enc: str | None
    state: str = "open"
    escalation_level: int = 0
    escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: Staff | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    outcome: str | None = None
    call_started_at: datetime | None = None
    call_started_by: Staff | None = None

    @property
    def patient_id(self) -> uuid.UUID:
        return self.patient.id

    @property
    def team_id(self) -> uuid.UUID:
        return self.patient.team_id

    @property
    def routed_staff_id(self) -> uuid.UUID | None:
        return self.routed_staff.id if self.routed_staff else None


AnyRequest = ContactRequest | NewContactRequest


class Created(NamedTuple):
    request: NewContactRequest
    # The message held text that cannot be stored (half an emoji, NUL): replaced by U+FFFD.
    message_altered: bool
    # The request's messages as `messages` reads them (its first, if the patient wrote one).
    messages: list[dict] | None = None


def create(ctx: Ctx, data: NewRequest) -> Created:
    """Store a request, its message, deadline, notification and audit event in one transaction.

    The request matters more than its text: a message that cannot be stored as sent (a lone
    surrogate, what a phone sends for an emoji cut in two; NUL) is stored with U+FFFD in
    place of each such character, and the answer says so (`message_altered`)."""
    patient = access.own_patient(ctx)
    if data.kind not in REQUEST_KINDS:
        raise ValidationFailed("kind", "One of: %(values)s.", {"values": ", ".join(REQUEST_KINDS)})
    if data.urgency not in URGENCIES:
        raise ValidationFailed("urgency", "One of: %(values)s.", {"values": ", ".join(URGENCIES)})
    sent, altered = make_storable(data.message) if data.message else (data.message, False)
    message = _text("message", sent, required=False)
    phone = normalise_phone(data.callback_phone) if data.callback_phone else None
    now = ctx.now()
    team = patient.team
    routed_to, responder = on_call.responder_now(ctx, team, now)
    window = team.acknowledge_window_minutes
    request_id = uuid.uuid4()
    request = NewContactRequest(
        id=request_id,
        patient=patient,
        kind=data.kind,
        urgency=data.urgency,
        routed_to=routed_to,
        routed_staff=responder,
        acknowledge_within_minutes=window,
        escalate_at=now + timedelta(minutes=window),
        created_at=now,
        callback_phone=phone,
        callback_phone_enc=None
        if phone is None
        else ctx.keys.encrypt(phone, aad("contact_request", "callback_phone", request_id)),
    )
    written = write_new_request(ctx, request, message, _first_recipients(ctx, patient, routed_to, responder))
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.create",
        patient_id=patient.id,
        resource="contact_request",
        resource_id=request.id,
    )
    return Created(request, altered, written)


def write_new_request(
    ctx: Ctx, request: NewContactRequest, message: str | None, recipients: Recipients
) -> list[dict]:
    """Every row a new request writes, with Core statements built once, in foreign-key order
    and in the request's one transaction (a failure rolls back all of them): the request, the
    patient's first message, the notifications of its first recipients. Answers the request's
    messages as `messages` reads them."""
    connection = ctx.session.connection()  # the request's transaction, without the ORM's layer
    values = {
        "id": request.id,
        "patient_id": request.patient_id,
        "team_id": request.team_id,
        "kind": request.kind,
        "urgency": request.urgency,
        "callback_phone_enc": request.callback_phone_enc,
        "state": request.state,
        "routed_to": request.routed_to,
        "routed_staff_id": request.routed_staff_id,
        "acknowledge_within_minutes": request.acknowledge_within_minutes,
        "escalation_level": request.escalation_level,
        "escalate_at": request.escalate_at,
        "created_at": request.created_at,
    }
    queue_changed(ctx.session, request.team_id)  # a new card on the team's queue
    written = []
    if not message:
        connection.execute(_INSERT_REQUEST, values)
    else:
        message_id = uuid.uuid4()
        body_enc = ctx.keys.encrypt(message, aad("contact_message", "body", message_id))
        if connection.dialect.name == "postgresql":
            connection.execute(
                _INSERT_REQUEST_AND_MESSAGE,
                {
                    **values,
                    "message_id": message_id,
                    "author_kind": "patient",
                    "author_staff_id": None,
                    "body_enc": body_enc,
                },
            )
        else:
            connection.execute(_INSERT_REQUEST, values)
            connection.execute(
                _INSERT_MESSAGE,
                {
                    "id": message_id,
                    "request_id": request.id,
                    "author_kind": "patient",
                    "author_staff_id": None,
                    "body_enc": body_enc,
                    "created_at": request.created_at,
                },
            )
        written.append(
            {
                "id": message_id,
                "author": "patient",
                "name": None,
                "agency": None,
                "body": message,
                "created_at": request.created_at,
            }
        )
    notifications.enqueue(ctx, recipients.people, "request", request.id, devices=recipients.devices)
    return written


def _add_message(
    ctx: Ctx, request: ContactRequest, author: str, body: str, *, at: datetime, staff_id=None
) -> ContactMessage:
    message = ContactMessage(
        request_id=request.id, author_kind=author, author_staff_id=staff_id, created_at=at
    )
    ctx.keys.seal(message, "body", body)
    ctx.session.add(message)
    return message


def messages(ctx: Ctx, request: AnyRequest) -> list[dict]:
    rows = ctx.session.scalars(
        select(ContactMessage)
        .where(ContactMessage.request_id == request.id)
        .order_by(ContactMessage.created_at, ContactMessage.id)
    )
    out = []
    for m in rows:
        staff = m.author_staff
        out.append(
            {
                "id": m.id,
                "author": m.author_kind,
                "name": staff.display_name if staff else ("MULI" if m.author_kind == "system" else None),
                "agency": staff.agency.name if staff else None,
                "body": ctx.keys.open(m, "body"),
                "created_at": m.created_at,
            }
        )
    return out


def _person(staff: Staff | None) -> dict | None:
    return (
        None if staff is None else {"id": staff.id, "name": staff.display_name, "agency": staff.agency.name}
    )


ESCALATION_ADVICE = (
    "Ingen i teamet har svart ennå. Hvis det haster: ring legevakten på 116 117, "
    "eller 113 hvis livet er i fare. Forespørselen din er ikke glemt."
)


def escalation_view(request: AnyRequest) -> dict:
    return {
        "level": request.escalation_level,
        "label": ("none", "backup_and_coordinators", "whole_team")[min(request.escalation_level, 2)],
        "escalated_at": request.escalated_at,
        "next_at": request.escalate_at if request.state == "open" else None,
        "advice": ESCALATION_ADVICE if request.escalation_level >= 2 else None,
    }


def _waiting_minutes(ctx: Ctx, request: AnyRequest) -> int:
    until = request.acknowledged_at or request.closed_at or request.cancelled_at or ctx.now()
    return max(0, int((until - request.created_at).total_seconds() // 60))


def base_view(ctx: Ctx, request: AnyRequest) -> dict:
    """What both sides see about a request (no free text)."""
    return {
        "id": request.id,
        "kind": request.kind,
        "urgency": request.urgency,
        "state": request.state,
        "routed_to": request.routed_to,
        "responder": _person(request.routed_staff),
        "acknowledge_within_minutes": None
        if request.routed_to == "none"
        else request.acknowledge_within_minutes,
        "created_at": request.created_at,
        "waiting_minutes": _waiting_minutes(ctx, request),
        "acknowledged_by": _person(request.acknowledged_by),
        "acknowledged_at": request.acknowledged_at,
        "closed_at": request.closed_at,
        "cancelled_at": request.cancelled_at,
        "outcome": request.outcome,
        "call_started_at": request.call_started_at,
        "call_started_by": _person(request.call_started_by),
        "escalation": escalation_view(request),
        "emergency_numbers": profile.emergency_numbers(request.patient.team),
    }


# --- the patient's side ---------------------------------------------------------------


def _mine(ctx: Ctx, request_id: uuid.UUID) -> tuple[Patient, ContactRequest]:
    patient = access.own_patient(ctx)
    request = ctx.session.get(ContactRequest, request_id)
    if request is None or request.patient_id != patient.id:
        raise access.refused(
            ctx,
            NotFound("No such contact request."),
            patient_id=request.patient_id if request else None,
            resource="contact_request",
            resource_id=request_id,
        )
    return patient, request


def patient_view(ctx: Ctx, request: AnyRequest, written: list[dict] | None = None) -> dict:
    """The patient's view of a request; `written`: its messages when the caller has just
    written them all (`Created.messages`), so they are not read back (nor its number)."""
    view = base_view(ctx, request)
    if isinstance(request, NewContactRequest):
        view["callback_phone"] = request.callback_phone
    else:
        view["callback_phone"] = ctx.keys.open(request, "callback_phone")
    view["messages"] = messages(ctx, request) if written is None else written
    return view


def list_mine(ctx: Ctx, *, cursor: str | None, limit: int):
    """My requests, newest first."""
    patient = access.own_patient(ctx)
    query = select(ContactRequest).where(ContactRequest.patient_id == patient.id)
    page = keyset(
        ctx.session, query, ctx.keys, ContactRequest.created_at, ContactRequest.id, cursor=cursor, limit=limit
    )
    audit.record(
        ctx.session, ctx.actor, "contact_request.list", patient_id=patient.id, resource="contact_request"
    )
    return type(page)([patient_view(ctx, r) for r in page.items], page.next_cursor)


def get_mine(ctx: Ctx, request_id: uuid.UUID) -> dict:
    patient, request = _mine(ctx, request_id)
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.read",
        patient_id=patient.id,
        resource="contact_request",
        resource_id=request.id,
    )
    return patient_view(ctx, request)


# Why a request that has ended takes no more messages, and why it cannot be taken.
ENDED = {
    "closed": N_("This request is closed; start a new one if you want to talk."),
    "cancelled": N_("This request is cancelled; start a new one if you want to talk."),
}
STATE_IS = {
    "open": N_("This request is open."),
    "acknowledged": N_("This request is taken."),
    "closed": N_("This request is closed."),
    "cancelled": N_("This request is cancelled."),
}


def _require_live(request: ContactRequest) -> None:
    if request.state not in ("open", "acknowledged"):
        raise InvalidState(ENDED.get(request.state, ENDED["closed"]))


def patient_message(ctx: Ctx, request_id: uuid.UUID, body: str) -> dict:
    """The patient writes in an open or acknowledged request."""
    patient, request = _mine(ctx, request_id)
    _require_live(request)
    text = _message_text("body", body)
    message = _add_message(ctx, request, "patient", text, at=ctx.now())
    # The responder (or, while nobody has it, whoever it was routed to) hears that something waits.
    target = request.acknowledged_by or request.routed_staff
    notifications.enqueue(ctx, [target] if target else [], "message", message.id, request_id=request.id)
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.message",
        patient_id=patient.id,
        resource="contact_request",
        resource_id=request.id,
    )
    return patient_view(ctx, request)


def cancel(ctx: Ctx, request_id: uuid.UUID) -> dict:
    """ "I'm OK now": no escalation, no reminder; staff still see it in the hand-over."""
    patient, request = _mine(ctx, request_id)
    now = ctx.now()
    done = ctx.rows_changed(
        update(ContactRequest)
        .where(ContactRequest.id == request.id, ContactRequest.state.in_(("open", "acknowledged")))
        .values(state="cancelled", cancelled_at=now, escalate_at=None, remind_at=None)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(request)
    if done != 1:
        _require_live(request)
    queue_changed(ctx.session, request.team_id)
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.cancel",
        patient_id=patient.id,
        resource="contact_request",
        resource_id=request.id,
    )
    return patient_view(ctx, request)


# --- the staff side ---------------------------------------------------------------------


def _for_staff(ctx: Ctx, request_id: uuid.UUID) -> ContactRequest:
    """A request of a patient on my teams; others do not exist (404)."""
    access.require_clinical_staff(ctx)
    request = ctx.session.get(ContactRequest, request_id)
    if request is None:
        raise access.refused(
            ctx, NotFound("No such contact request."), resource="contact_request", resource_id=request_id
        )
    access.team_patient(ctx, request.patient_id)
    return request


def _content_grant(ctx: Ctx, patient_id: uuid.UUID, scope: str) -> access.Grant | None:
    try:
        return access.staff_patient(ctx, patient_id, scope)
    except ConsentRequired:
        return None


def _responder_summary(ctx: Ctx, patient: Patient) -> dict | None:
    try:
        from muli.patient import plans  # written in parallel (issue 4); absent until then
    except ImportError:
        return None
    summary = getattr(plans, "responder_summary", None)
    return summary(ctx, patient) if summary else None


def _phones(ctx: Ctx, request: ContactRequest, view: dict) -> None:
    """The numbers to call back on, for whoever may answer the request (the team's clinicians;
    the read is audited with the request): the one given for tonight, the patient's own, and
    `call_back_on`, the first of them."""
    view["callback_phone"] = ctx.keys.open(request, "callback_phone")
    view["patient_phone"] = profile.phone_of(ctx, request.patient)
    view["call_back_on"] = view["callback_phone"] or view["patient_phone"]


def staff_view(ctx: Ctx, request: ContactRequest) -> dict:
    """The responder's view: the request, how to reach the patient, and what helps them."""
    patient = request.patient
    view = base_view(ctx, request)
    view["patient"] = {"id": patient.id, "display_name": ctx.keys.open(patient, "display_name")}
    _phones(ctx, request, view)
    view["trusted_contact"] = _person(patient.trusted_contact)
    if patient.trusted_contact:
        view["trusted_contact"]["phone"] = patient.trusted_contact.phone
    grant = _content_grant(ctx, patient.id, "contact_requests")
    view["content_visible"] = grant is not None
    view["messages"] = messages(ctx, request) if grant else []
    view["close_note"] = ctx.keys.open(request, "close_note") if grant else None
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.read",
        patient_id=patient.id,
        resource="contact_request",
        resource_id=request.id,
        emergency=bool(grant and grant.emergency),
    )
    view["crisis_plan"] = None
    plan_grant = _content_grant(ctx, patient.id, "crisis_plan")
    if plan_grant is not None:
        view["crisis_plan"] = _responder_summary(ctx, patient)
        if view["crisis_plan"] is not None:
            audit.record(
                ctx.session,
                ctx.actor,
                "crisis_plan.read",
                patient_id=patient.id,
                resource="crisis_plan",
                reason=audit_words.REASON_BESIDE_REQUEST,
                emergency=plan_grant.emergency,
            )
    return view


def get_for_staff(ctx: Ctx, request_id: uuid.UUID) -> dict:
    return staff_view(ctx, _for_staff(ctx, request_id))


def queue(ctx: Ctx, *, state: str, cursor: str | None, limit: int):
    """My teams' requests in a state. Open ones oldest first (longest wait on top), others newest first."""
    page = queue_page(ctx, state=state, cursor=cursor, limit=limit)
    return page.items, page.next_cursor


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue: its cards (None when `unless` said the client has this page),
    the next page's cursor, the first page's validator and the patients it names."""

    items: list[dict] | None
    next_cursor: str | None
    etag: str | None
    patient_ids: list[uuid.UUID]


# The queue's rows: the request columns the cards show with the ciphertext of its patient's
# name and of the patient's phone, in one Core statement per shape (per state: open oldest first,
# the others newest first; from a cursor or not), built once with bound parameters so a request
# only binds values (compiled once and cached): no ORM objects, no identity map, no
# relationship loading, and no column the cards do not use (each costs a conversion a row).
_REQUEST = ContactRequest.__table__
_PATIENT = Patient.__table__
_AGENCY = Agency.__table__
_CARD_COLUMNS = (
    "id",
    "patient_id",
    "kind",
    "urgency",
    "state",
    "routed_to",
    "routed_staff_id",
    "acknowledge_within_minutes",
    "created_at",
    "acknowledged_by_id",
    "acknowledged_at",
    "closed_at",
    "cancelled_at",
    "outcome",
    "call_started_at",
    "call_started_by_id",
    "escalation_level",
    "escalated_at",
    "escalate_at",
    "callback_phone_enc",
)


def _in_state(column, state: str):
    """The state condition (`=` for one state: nothing to expand at each execution)."""
    states = QUEUE_STATES[state]
    return column == states[0] if len(states) == 1 else column.in_(states)


def _queue_statement(state: str, from_cursor: bool):
    c = _REQUEST.c
    oldest_first = state == "open"
    query = (
        select(*(c[name] for name in _CARD_COLUMNS), _PATIENT.c.display_name_enc, _PATIENT.c.phone_enc)
        .join(_PATIENT, _PATIENT.c.id == c.patient_id)
        .where(c.team_id.in_(bindparam("teams", expanding=True)), _in_state(c.state, state))
    )
    at, row_id = bindparam("at", type_=c.created_at.type), bindparam("row_id", type_=c.id.type)
    if from_cursor and oldest_first:
        query = query.where(
            c.created_at >= at, (c.created_at > at) | ((c.created_at == at) & (c.id > row_id))
        )
    elif from_cursor:
        query = query.where(
            c.created_at <= at, (c.created_at < at) | ((c.created_at == at) & (c.id < row_id))
        )
    if oldest_first:
        query = query.order_by(c.created_at, c.id)
    else:
        query = query.order_by(c.created_at.desc(), c.id.desc())
    return query.limit(bindparam("limit"))


_QUEUE_STATEMENTS = {
    (state, cur): _queue_statement(state, cur) for state in QUEUE_STATES for cur in (True, False)
}
_PEOPLE = select(Staff.__table__.c.id, Staff.__table__.c.display_name, _AGENCY.c.name).join(
    _AGENCY, _AGENCY.c.id == Staff.__table__.c.agency_id
)
_PEOPLE_NAMED = _PEOPLE.where(Staff.__table__.c.id.in_(bindparam("ids", expanding=True)))


def _invalid_cursor() -> BadRequest:
    return BadRequest("The cursor is not valid.", code="invalid-cursor")


def _queue_rows(ctx: Ctx, state: str, cursor: str | None, limit: int) -> list:
    """Up to `limit` + 1 rows from `cursor`: open requests oldest first, others newest first
    (the cursor of `keyset`, same conditions, so the index range starts at the cursor)."""
    params: dict = {
        "teams": list(ctx.actor.team_ids),
        "limit": limit + 1,
    }
    if cursor:
        at, row_id = decode(ctx.keys, cursor)
        try:
            params["row_id"] = uuid.UUID(row_id)
        except (ValueError, TypeError):
            raise _invalid_cursor()
        params["at"] = at
    statement = _QUEUE_STATEMENTS[(state, bool(cursor))]
    return list(ctx.session.connection().execute(statement, params).all())


def _people(ctx: Ctx, rows) -> list[tuple]:
    """(id, name, agency) of the staff the rows name, ordered by id."""
    staff_ids = (
        {row.routed_staff_id for row in rows if row.routed_staff_id}
        | {row.acknowledged_by_id for row in rows if row.acknowledged_by_id}
        | {row.call_started_by_id for row in rows if row.call_started_by_id}
    )
    if not staff_ids:
        return []
    found = ctx.session.connection().execute(_PEOPLE_NAMED, {"ids": list(staff_ids)})
    return sorted(map(tuple, found), key=lambda person: str(person[0]))


def _waited(row, now: datetime) -> int:
    until = row.acknowledged_at or row.closed_at or row.cancelled_at or now
    return max(0, int((until - row.created_at).total_seconds() // 60))


_VERSIONS = ContactQueueVersion.__table__
_TEAM_VERSIONS = select(_VERSIONS.c.team_id, _VERSIONS.c.version).where(
    _VERSIONS.c.team_id.in_(bindparam("teams", expanding=True))
)
# Bumped when the cards change form, so an ETag of the old form never matches the new cards.
_CARDS_FORM = 1
_ETAG = re.compile(r"^(queue|poll)-([0-9a-f]{24})-(\d{1,20})$")


def _versions(ctx: Ctx) -> tuple:
    """My teams' queue versions (one indexed read of `contact_queue_version`): what every
    change the queue shows moves (`queue_changed`). A team with no change yet has "0"."""
    teams = sorted(ctx.actor.team_ids, key=str)
    found: dict = {}
    if teams:
        found = {
            row.team_id: row.version
            for row in ctx.session.connection().execute(_TEAM_VERSIONS, {"teams": teams})
        }
    return tuple((str(team), found.get(team, "0")) for team in teams)


# A first page read with its teams' versions in the same statement (one round trip, one
# snapshot): the page's statement with one scalar subquery per team, for up to this many
# teams (more: the versions are read first, on their own). Built once per (state, teams).
_MERGED_TEAMS = 8
_VERSION_OF = [
    select(_VERSIONS.c.version)
    .where(_VERSIONS.c.team_id == bindparam(f"team_{n}", type_=_VERSIONS.c.team_id.type))
    .scalar_subquery()
    .label(f"team_version_{n}")
    for n in range(_MERGED_TEAMS)
]
_ROWS_WITH_VERSIONS = {
    (state, teams): _QUEUE_STATEMENTS[(state, False)].add_columns(*_VERSION_OF[:teams])
    for state in QUEUE_STATES
    for teams in range(1, _MERGED_TEAMS + 1)
}


def _rows_and_versions(ctx: Ctx, state: str, limit: int) -> tuple[list, tuple]:
    """A first page's rows (as `_queue_rows`) and my teams' versions (as `_versions`), read
    in one statement, so the versions are exactly those of the rows read. An empty page
    carries no versions: then they are read first and the rows after, as for a poll."""
    teams = sorted(ctx.actor.team_ids, key=str)
    if 1 <= len(teams) <= _MERGED_TEAMS:
        params: dict = {"teams": teams, "limit": limit + 1}
        params.update((f"team_{n}", team) for n, team in enumerate(teams))
        statement = _ROWS_WITH_VERSIONS[(state, len(teams))]
        rows = list(ctx.session.connection().execute(statement, params).all())
        if rows:
            first = rows[0]._mapping
            found = (first[f"team_version_{n}"] for n in range(len(teams)))
            versions = tuple((str(team), version or "0") for team, version in zip(teams, found, strict=True))
            return rows, versions
    versions = _versions(ctx)
    return _queue_rows(ctx, state, None, limit), versions


def _next_tick(rows, waited: list[int]) -> int:
    """The moment (µs since the epoch, 0 for never) the first `waiting_minutes` on the page
    grows: the page is the same until then, unless a change moves its teams' versions. A
    request still waits while it has no acknowledged, closed or cancelled time (the poll's
    rows, all open, carry none of those columns)."""
    ticks = [
        row.created_at + timedelta(minutes=minutes + 1)
        for row, minutes in zip(rows, waited, strict=True)
        if not (
            getattr(row, "acknowledged_at", None)
            or getattr(row, "closed_at", None)
            or getattr(row, "cancelled_at", None)
        )
    ]
    return _micros(min(ticks)) if ticks else 0


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _etag_of(versions: tuple, state: str, limit: int, tick: int, kind: str = "queue") -> str:
    """The first page's ETag (without `W/` and quotes): a digest of the teams' versions and
    the page's parameters, and, in clear, the moment its waiting minutes next change (also in
    the digest, so it cannot be moved)."""
    parts = (_CARDS_FORM, kind, versions, state, limit, tick)
    return f"{kind}-{hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()}-{tick}"


def _still_held(
    held, versions: tuple, state: str, limit: int, now: datetime, kind: str = "queue"
) -> str | None:
    """The ETag the client holds that is still the page's (same versions, same parameters,
    no waiting minute grown since), or None."""
    at = _micros(now)
    for tag in held:
        match = _ETAG.match(tag) if isinstance(tag, str) else None
        if match is None:
            continue
        tick = int(match.group(3))
        if (tick == 0 or at < tick) and tag == _etag_of(versions, state, limit, tick, kind):
            return tag
    return None


class CardForm(NamedTuple):
    """How a card writes its ids and instants. The service's own form keeps them as values
    (`uuid.UUID`, `datetime`); the API passes its wire form (the text its schema dumps them
    as), so the cards are built once, ready to be sent, instead of built and then dumped."""

    ident: Callable[[uuid.UUID], object]
    instant: Callable[[datetime | None], object]


def _same(value):
    return value


VALUES = CardForm(_same, _same)


def _cards(ctx: Ctx, rows, people: list[tuple], waited: list[int], form: CardForm = VALUES) -> list[dict]:
    """The queue's cards, as `base_view` and `_phones` make them (the same keys in the same
    order), from Core rows: each request's callback number and each patient's own number
    decrypted once; ids and instants written in `form`."""
    ident, instant = form
    persons = {pid: {"id": ident(pid), "name": name, "agency": agency} for pid, name, agency in people}
    # Per patient on the page: (the patient as the card shows them, their own number).
    patients: dict[uuid.UUID, tuple[dict, str | None]] = {}
    keys = ctx.keys
    out = []
    for row, minutes in zip(rows, waited, strict=False):
        level = row.escalation_level
        patient_id = row.patient_id
        known = patients.get(patient_id)
        if known is None:
            name = keys.decrypt(row.display_name_enc, aad("patient", "display_name", patient_id))
            phone = (
                None
                if row.phone_enc is None
                else keys.decrypt(row.phone_enc, aad("patient", "phone", patient_id))
            )
            known = patients[patient_id] = ({"id": ident(patient_id), "display_name": name}, phone)
        patient, patient_phone = known
        callback = (
            None
            if row.callback_phone_enc is None
            else keys.decrypt(row.callback_phone_enc, aad("contact_request", "callback_phone", row.id))
        )
        out.append(
            {
                "id": ident(row.id),
                "kind": row.kind,
                "urgency": row.urgency,
                "state": row.state,
                "routed_to": row.routed_to,
                "responder": _copy(persons.get(row.routed_staff_id)),
                "acknowledge_within_minutes": None
                if row.routed_to == "none"
                else row.acknowledge_within_minutes,
                "created_at": instant(row.created_at),
                "waiting_minutes": minutes,
                "acknowledged_by": _copy(persons.get(row.acknowledged_by_id)),
                "acknowledged_at": instant(row.acknowledged_at),
                "closed_at": instant(row.closed_at),
                "cancelled_at": instant(row.cancelled_at),
                "outcome": row.outcome,
                "call_started_at": instant(row.call_started_at),
                "call_started_by": _copy(persons.get(row.call_started_by_id)),
                "escalation": {
                    "level": level,
                    "label": ("none", "backup_and_coordinators", "whole_team")[min(level, 2)],
                    "escalated_at": instant(row.escalated_at),
                    "next_at": instant(row.escalate_at) if row.state == "open" else None,
                    "advice": ESCALATION_ADVICE if level >= 2 else None,
                },
                "patient": dict(patient),
                "callback_phone": callback,
                "patient_phone": patient_phone,
                "call_back_on": callback or patient_phone,
            }
        )
    return out


def _copy(person: dict | None) -> dict | None:
    return None if person is None else dict(person)


def queue_page(
    ctx: Ctx,
    *,
    state: str,
    cursor: str | None,
    limit: int,
    held: Collection[str] = (),
    form: CardForm = VALUES,
) -> QueuePage:
    """A page of my teams' requests in a state, read with one Core statement (and one for the
    staff it names), each patient on it audited as read (`contact_request.queue`).

    The first page carries its validator: my teams' queue versions (`queue_changed` moves a
    team's version in the transaction of every change the queue shows), the page's
    parameters, and the moment its first `waiting_minutes` grows. `held`: the ETags the
    client sent (If-None-Match, without `W/` and quotes; `*` for any). When one of them is
    still the page's, the answer is None (a 304) from the versions alone: one indexed read,
    no request and nothing about a patient read, audited once as that check
    (`contact_request.queue_checked`, no patient: none was read). Without `held`, a first
    page reads its rows and the versions in one statement (`_rows_and_versions`): the ETag
    is exactly the page's. Otherwise the versions are read before the rows, so a change
    committed in between can only make the ETag older than the page (one more 200 later),
    never newer.

    `form`: how the cards write ids and instants (`CardForm`); the patient ids are values.
    """
    access.require_clinical_staff(ctx)
    now = ctx.now()
    if cursor is None and not held:
        rows, versions = _rows_and_versions(ctx, state, limit)
    else:
        versions = _versions(ctx) if cursor is None else ()
        if cursor is None:
            tag = _still_held(held, versions, state, limit, now)
            if tag is not None:
                queue_checked(ctx)
                return QueuePage(None, None, f'W/"{tag}"', [])
        rows = _queue_rows(ctx, state, cursor, limit)
    shown = rows[:limit]
    people = _people(ctx, shown)
    waited = [_waited(row, now) for row in shown]
    patient_ids = sorted({row.patient_id for row in shown}, key=str)
    etag = None
    if cursor is None:
        etag = f'W/"{_etag_of(versions, state, limit, _next_tick(shown, waited))}"'
        if "*" in held:  # "any version you have": the page exists (rows read, nothing sent)
            queue_checked(ctx)
            return QueuePage(None, None, etag, [])
    items = _cards(ctx, shown, people, waited, form)
    next_cursor = encode(ctx.keys, shown[-1].created_at, shown[-1].id) if len(rows) > limit else None
    for patient_id in patient_ids:
        audit.record(
            ctx.session, ctx.actor, "contact_request.queue", patient_id=patient_id, resource="contact_request"
        )
    return QueuePage(items, next_cursor, etag, patient_ids)


def page_etag(items: list[dict]) -> str:
    """A later page's ETag, from the items it holds (read and audited as any page)."""
    return f'W/"queue-{hashlib.blake2b(repr(items).encode(), digest_size=12).hexdigest()}"'


def queue_checked(ctx: Ctx) -> None:
    """A 304 for the queue: the reader's teams' queue versions were read and found as the
    client has them; no request and nothing about a patient was read or sent, so one event
    on no patient (`contact_request.queue_checked`; docs/audit-trail.md). Before issue 19
    item 3 a 304 read the page's rows and wrote `contact_request.queue_unchanged` per patient
    (those events keep their words)."""
    audit.record(ctx.session, ctx.actor, "contact_request.queue_checked", resource="contact_queue")


def history_for_patient(ctx: Ctx, patient_id: uuid.UUID, limit: int = 10) -> list[dict]:
    """A team patient's latest requests, newest first: when, how, who took it, how long it
    took and how it ended. No free text. The history is activity about the patient, so it
    needs the `contact_requests` consent for my agency, or break-the-glass opened for the
    contact history (403 `consent-required` otherwise); the queue, which answers the
    patient's own call for contact, still shows every open request to the team."""
    grant = access.staff_patient(ctx, patient_id, "contact_requests")
    patient = grant.patient
    rows = ctx.session.scalars(
        select(ContactRequest)
        .where(ContactRequest.patient_id == patient.id)
        .order_by(ContactRequest.created_at.desc(), ContactRequest.id.desc())
        .limit(limit)
    ).all()
    if rows:
        action = "contact_request.history"
        audit.record(
            ctx.session,
            ctx.actor,
            action,
            patient_id=patient.id,
            resource="contact_request",
            emergency=grant.emergency,
        )
    out = []
    for request in rows:
        view = base_view(ctx, request)
        view.pop("emergency_numbers")
        out.append(view)
    return out


def open_digest(ctx: Ctx, limit: int = 200, held: Collection[str] = ()) -> tuple[str, list[dict] | None]:
    """The open requests of my teams as the queue's poll needs them: id, wait, urgency and
    escalation, oldest first, with no patient and no text; and their ETag (without `W/` and
    quotes), made as the queue page's is (my teams' queue versions, and the moment the first
    `waiting_minutes` grows). When `held` (If-None-Match) names it, no list (a 304): only
    the versions were read.

    Not audited: it names nobody and holds no content, and the portal polls it every few
    seconds, which would bury the patients' access logs. Who it is and what they wrote are
    read (and audited) through `queue` when the cards load.
    """
    access.require_clinical_staff(ctx)
    versions = _versions(ctx)
    now = ctx.now()
    if held:
        tag = _still_held(held, versions, "open", limit, now, "poll")
        if tag is not None:
            return tag, None
    rows = ctx.session.execute(
        select(
            ContactRequest.id,
            ContactRequest.created_at,
            ContactRequest.urgency,
            ContactRequest.escalation_level,
        )
        .where(ContactRequest.team_id.in_(ctx.actor.team_ids), ContactRequest.state == "open")
        .order_by(ContactRequest.created_at, ContactRequest.id)
        .limit(limit)
    ).all()
    waited = [max(0, int((now - row.created_at).total_seconds() // 60)) for row in rows]
    tag = _etag_of(versions, "open", limit, _next_tick(rows, waited), "poll")
    items = [
        {
            "id": row.id,
            "waiting_minutes": minutes,
            "urgency": row.urgency,
            "escalation_level": row.escalation_level,
        }
        for row, minutes in zip(rows, waited, strict=True)
    ]
    return tag, None if "*" in held else items


def _take(ctx: Ctx, request: ContactRequest, now: datetime, **also) -> bool:
    """Compare-and-set an open request to acknowledged by me: exactly one responder wins.
    The winner's take is audited and the patient hears at once that someone has it."""
    won = ctx.rows_changed(
        update(ContactRequest)
        .where(ContactRequest.id == request.id, ContactRequest.state == "open")
        .values(
            state="acknowledged",
            acknowledged_by_id=ctx.actor.staff_id,
            acknowledged_at=now,
            escalate_at=None,
            remind_at=now + REMIND_AFTER,
            **also,
        )
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        return False
    queue_changed(ctx.session, request.team_id)
    notifications.enqueue_patient(ctx, request.patient, "seen", request.id, request.id)
    _audit_staff(ctx, request, "contact_request.acknowledge")
    return True


def _not_yours(request: ContactRequest) -> Exception:
    """Why a request cannot be taken: who has it (409 naming them), or its state."""
    who, since = request.acknowledged_by, request.acknowledged_at
    if request.state == "acknowledged" and who is not None and since is not None:
        return Conflict(
            "%(name)s (%(agency)s) has this request since %(since)s.",
            code="already-acknowledged",
            params={"name": who.display_name, "agency": who.agency.name, "since": since},
        )
    return InvalidState(STATE_IS.get(request.state, STATE_IS["closed"]))


def _audit_staff(ctx: Ctx, request: ContactRequest, action: str) -> None:
    audit.record(
        ctx.session,
        ctx.actor,
        action,
        patient_id=request.patient_id,
        resource="contact_request",
        resource_id=request.id,
    )


def acknowledge(ctx: Ctx, request_id: uuid.UUID) -> dict:
    """Take the request. Exactly one responder wins; the others get 409 naming who has it."""
    request = _for_staff(ctx, request_id)
    won = _take(ctx, request, ctx.now())
    ctx.session.refresh(request)
    if not won:
        raise _not_yours(request)
    return staff_view(ctx, request)


def start_call(ctx: Ctx, request_id: uuid.UUID) -> dict:
    """Ringer nå: the responder is calling the patient now, and the patient's app says so.

    An open request is taken at the same time (as `acknowledge` takes it, and the patient
    hears it was seen); one acknowledged by me gets a new call time (a second try); one
    another responder has is a 409 naming them, a closed or cancelled one a 409
    `invalid-state`. Audited.
    """
    request = _for_staff(ctx, request_id)
    now = ctx.now()
    me = ctx.actor.staff_id
    ours = _take(ctx, request, now, call_started_at=now, call_started_by_id=me) or (
        ctx.rows_changed(
            update(ContactRequest)
            .where(
                ContactRequest.id == request.id,
                ContactRequest.state == "acknowledged",
                ContactRequest.acknowledged_by_id == me,
            )
            .values(call_started_at=now, call_started_by_id=me)
            .execution_options(synchronize_session=False)
        )
        == 1
    )
    ctx.session.refresh(request)
    if not ours:
        raise _not_yours(request)
    queue_changed(ctx.session, request.team_id)
    _audit_staff(ctx, request, "contact_request.call")
    return staff_view(ctx, request)


def staff_message(ctx: Ctx, request_id: uuid.UUID, body: str) -> dict:
    """A responder writes to the patient (shown in the app)."""
    request = _for_staff(ctx, request_id)
    _require_live(request)
    text = _message_text("body", body)
    message = _add_message(ctx, request, "staff", text, at=ctx.now(), staff_id=ctx.actor.staff_id)
    ctx.session.flush()
    notifications.enqueue_patient(ctx, request.patient, "answered", message.id, request.id)
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.message",
        patient_id=request.patient_id,
        resource="contact_request",
        resource_id=request.id,
    )
    return staff_view(ctx, request)


def close(ctx: Ctx, request_id: uuid.UUID, outcome: str, note: str | None) -> dict:
    """Record the outcome. Closing an open request also counts as taking it."""
    request = _for_staff(ctx, request_id)
    if outcome not in OUTCOMES:
        raise ValidationFailed("outcome", "One of: %(values)s.", {"values": ", ".join(OUTCOMES)})
    note = _text("note", note, required=False)
    now = ctx.now()
    values = dict(
        state="closed",
        closed_by_id=ctx.actor.staff_id,
        closed_at=now,
        outcome=outcome,
        escalate_at=None,
        remind_at=None,
    )
    done = ctx.rows_changed(
        update(ContactRequest)
        .where(ContactRequest.id == request.id, ContactRequest.state.in_(("open", "acknowledged")))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(request)
    if done != 1:
        _require_live(request)
    if request.acknowledged_at is None:
        request.acknowledged_at, request.acknowledged_by_id = now, ctx.actor.staff_id
    ctx.keys.seal(request, "close_note", note)
    ctx.session.flush()
    queue_changed(ctx.session, request.team_id)
    notifications.enqueue_patient(ctx, request.patient, "closed", request.id, request.id)
    audit.record(
        ctx.session,
        ctx.actor,
        "contact_request.close",
        patient_id=request.patient_id,
        resource="contact_request",
        resource_id=request.id,
    )
    return staff_view(ctx, request)


def escalations(ctx: Ctx, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ContactEscalation]]:
    by_request: dict[uuid.UUID, list[ContactEscalation]] = {}
    if not request_ids:
        return by_request
    for row in ctx.session.scalars(
        select(ContactEscalation)
        .where(ContactEscalation.request_id.in_(request_ids))
        .order_by(ContactEscalation.occurred_at)
    ):
        by_request.setdefault(row.request_id, []).append(row)
    return by_request
