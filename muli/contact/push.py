"""Web Push (RFC 8030) to staff devices and the patient's app: subscriptions and sending.

A payload is encrypted for the subscription (RFC 8291, aes128gcm) and signed with our
VAPID key (RFC 8292) by pywebpush. Like the emails, a payload holds **no name and no
health text**: a fixed sentence per kind of event, the outbox row's id (the same on a
retry, so the service worker can drop a duplicate) and the link that opens the request
(after signing in when needed). What happened is read in the app or the portal.

Subscriptions are per account and device. The endpoint and the keys are encrypted at rest
(`__encrypted__`), a keyed hash of the endpoint finds a device that subscribes again. A
subscription the push service no longer knows (404/410) is deleted when a send finds out.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

import requests as http
from py_vapid import Vapid02
from sqlalchemy import bindparam, delete, select

from muli.models.push import PushSubscription
from muli.platform.context import Ctx
from muli.platform.errors import NotFound, ValidationFailed
from muli.trust import access, audit

MAX_SUBSCRIPTIONS = 10  # per account: phones, tablets, the office PC
TTL_SECONDS = 3600  # an alert older than an hour is the escalation's business, not the phone's

# What each event says on a lock screen: never a name, never what the patient wrote.
TEXTS = {
    # staff
    "request": ("MULI", "En ny forespørsel venter på deg. / A new request is waiting for you."),
    "escalation-backup": ("MULI", "En forespørsel venter fortsatt på svar. / A request is still waiting."),
    "escalation-team": ("MULI", "En forespørsel venter fortsatt på svar. / A request is still waiting."),
    "message": ("MULI", "Ny melding i en forespørsel. / A new message in a request."),
    "reminder": ("MULI", "En forespørsel du har tatt er ikke avsluttet. / A request you took is not closed."),
    # the patient
    "seen": (
        "MULI",
        "Noen i teamet har sett forespørselen din. / Someone on your team has seen your request.",
    ),
    "answered": ("MULI", "Du har fått svar. / You have an answer."),
    "closed": ("MULI", "Forespørselen din er avsluttet. / Your request is closed."),
    "escalated": (
        "MULI",
        "Ingen har svart ennå: ring 116 117, eller 113 hvis livet er i fare. "
        "/ No answer yet: call 116 117, or 113 if life is in danger.",
    ),
}


class PushGone(Exception):
    """The push service no longer knows the subscription (404 or 410): drop it."""

    def __init__(self, status: int):
        super().__init__(f"subscription gone ({status})")
        self.status = status


class PushRejected(Exception):
    """The push service refused the message for good (another 4xx): do not retry."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}"[:300])
        self.status = status


class PushFailed(Exception):
    """A failure worth retrying (5xx, 429, network)."""

    def __init__(self, status: int | None, reason: str):
        super().__init__(f"{status or ''} {reason}".strip()[:300])
        self.status = status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Vapid:
    """Our VAPID identity: the private key (base64url raw P-256 scalar, or DER) and a subject
    (`mailto:` or `https:`) the push services can contact."""

    private_key: str
    subject: str

    @cached_property
    def signer(self) -> Vapid02:
        return Vapid02.from_string(self.private_key)

    @cached_property
    def public_key(self) -> str:
        """What a browser's PushManager.subscribe takes as applicationServerKey (base64url)."""
        from cryptography.hazmat.primitives import serialization

        raw = self.signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64(raw)


# --- subscriptions -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewSubscription:
    endpoint: str
    p256dh: str
    auth: str
    label: str = ""


def _check_endpoint(endpoint: str, allow_local: bool) -> str:
    """An https address of a push service. We POST to it, so a client may never point us at
    our own network; development and tests may use a push service on this machine (http)."""
    endpoint = (endpoint or "").strip()
    parts = urlsplit(endpoint)
    host = parts.hostname
    if len(endpoint) > 2000 or not host or parts.username or parts.password:
        raise ValidationFailed("endpoint", "Not a push service address.")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    local = host == "localhost" or (address is not None and address.is_loopback)
    if allow_local and local and parts.scheme in ("http", "https"):
        return endpoint
    if parts.scheme != "https":
        raise ValidationFailed("endpoint", "The push service address must use https.")
    if local or (address is not None and not address.is_global):
        raise ValidationFailed("endpoint", "Not a push service address.")
    return endpoint


def _check_key(field_name: str, value: str, size: int) -> str:
    try:
        raw = _unb64((value or "").strip())
    except ValueError:
        raise ValidationFailed(field_name, "Not base64url.")
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise ValidationFailed(field_name, "Not a key of the right kind.")
    return _b64(raw)


def _record(ctx: Ctx, action: str, subscription_id: uuid.UUID) -> None:
    audit.record(
        ctx.session,
        ctx.actor,
        action,
        patient_id=ctx.actor.patient_id,
        resource="push_subscription",
        resource_id=subscription_id,
    )


def subscribe(ctx: Ctx, data: NewSubscription) -> PushSubscription:
    """Store (or refresh) this device's subscription for the signed-in account."""
    account_id = ctx.actor.account_id
    if account_id is None:
        raise NotFound("No account.")
    endpoint = _check_endpoint(data.endpoint, ctx.settings.push_allow_http)
    keys = {"p256dh": _check_key("p256dh", data.p256dh, 65), "auth": _check_key("auth", data.auth, 16)}
    label = (data.label or "").strip()[:100]
    digest = ctx.keys.keyed_hash("push-endpoint", endpoint)
    # The same device subscribing again (or handed to another person): one row, its latest owner.
    ctx.session.execute(
        delete(PushSubscription)
        .where(PushSubscription.endpoint_hash == digest)
        .execution_options(synchronize_session=False)
    )
    count = len(mine(ctx))
    if count >= MAX_SUBSCRIPTIONS:
        raise ValidationFailed(
            "endpoint", "At most %(n)d devices; remove one first.", {"n": MAX_SUBSCRIPTIONS}
        )
    row = PushSubscription(
        account_id=account_id,
        endpoint_hash=digest,
        label=label,
        service_host=urlsplit(endpoint).hostname or "",
        created_at=ctx.now(),
    )
    ctx.keys.seal(row, "endpoint", endpoint)
    ctx.keys.seal(row, "keys", json.dumps(keys))
    ctx.session.add(row)
    ctx.session.flush()
    _record(ctx, "push_subscription.create", row.id)
    return row


def mine(ctx: Ctx) -> list[PushSubscription]:
    """The signed-in account's devices, oldest first."""
    return list(
        ctx.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.account_id == ctx.actor.account_id)
            .order_by(PushSubscription.created_at, PushSubscription.id)
        )
    )


def view(row: PushSubscription) -> dict:
    """What the owner sees: never the endpoint (a capability) nor the keys."""
    return {
        "id": row.id,
        "label": row.label,
        "service": row.service_host,
        "created_at": row.created_at,
        "last_success_at": row.last_success_at,
        "last_failure_at": row.last_failure_at,
    }


def remove(ctx: Ctx, subscription_id: uuid.UUID) -> None:
    """Remove one of my devices; someone else's does not exist (404)."""
    row = ctx.session.get(PushSubscription, subscription_id)
    if row is None or row.account_id != ctx.actor.account_id:
        raise access.refused(
            ctx,
            NotFound("No such push subscription."),
            resource="push_subscription",
            resource_id=subscription_id,
        )
    ctx.session.delete(row)
    ctx.session.flush()
    _record(ctx, "push_subscription.delete", subscription_id)


def for_accounts(ctx: Ctx, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The subscription ids of each account (one query)."""
    wanted = set(account_ids)
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not wanted:
        return out
    for row in ctx.session.execute(_SUBSCRIPTIONS, {"accounts": list(wanted)}):
        out.setdefault(row.account_id, []).append(row.id)
    return out


# Core, on the table, built once (every contact request asks for its recipients' devices).
_SUBSCRIPTION = PushSubscription.__table__
_SUBSCRIPTIONS = (
    select(_SUBSCRIPTION.c.id, _SUBSCRIPTION.c.account_id)
    .where(_SUBSCRIPTION.c.account_id.in_(bindparam("accounts", expanding=True)))
    .order_by(_SUBSCRIPTION.c.created_at, _SUBSCRIPTION.c.id)
)


def subscription_info(ctx: Ctx, row: PushSubscription) -> dict:
    endpoint = ctx.keys.open(row, "endpoint")
    keys = json.loads(ctx.keys.open(row, "keys") or "{}")
    return {"endpoint": endpoint, "keys": keys}


# --- payloads ------------------------------------------------------------------------------


def payload(message_id: uuid.UUID, kind: str, url: str, request_id: uuid.UUID | None) -> str:
    """The JSON a service worker receives. Fixed text per kind: no name, no health text."""
    title, body = TEXTS[kind]
    return json.dumps(
        {
            "id": str(message_id),
            "kind": kind,
            "title": title,
            "body": body,
            "url": url,
            "tag": f"muli-{request_id}" if request_id else f"muli-{message_id}",
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def staff_url(request_id: uuid.UUID) -> str:
    return f"/portal/queue/?request={request_id}#r-{request_id}"


def patient_url(request_id: uuid.UUID) -> str:
    return f"/app/#/contact/{request_id}"


def new_row(
    ctx: Ctx,
    *,
    dedupe_key: str,
    account_id: uuid.UUID,
    subscription_id: uuid.UUID,
    kind: str,
    url: str,
    request_id: uuid.UUID | None,
) -> dict:
    """The columns of a push's outbox row (inserted with Core by `notifications`)."""
    row_id = uuid.uuid4()
    return {
        "id": row_id,
        "dedupe_key": dedupe_key[:200],
        "channel": "push",
        "recipient": str(subscription_id),
        "subject": kind,
        "body": payload(row_id, kind, url, request_id),
        "state": "pending",
        "next_attempt_at": ctx.now(),
        "account_id": account_id,
    }


# --- sending -----------------------------------------------------------------------------------


@dataclass
class WebPushTransport:
    """Sends an outbox row to its subscription's push service, signed with our VAPID key."""

    vapid: Vapid
    timeout: float = 10.0
    ttl: int = TTL_SECONDS
    session: http.Session = field(default_factory=http.Session)

    def push(self, info: dict, data: str) -> int:
        """POST the encrypted message; answers the service's status (201 accepted)."""
        # Imported here, in the worker that sends: pywebpush brings aiohttp (~30 MB), which
        # the web processes (subscriptions, the VAPID public key) never need.
        from pywebpush import WebPushException, webpush

        try:
            response = webpush(
                info,
                data=data,
                vapid_private_key=self.vapid.signer,
                vapid_claims={"sub": self.vapid.subject},  # a fresh dict: webpush fills in aud/exp
                content_encoding="aes128gcm",
                timeout=self.timeout,
                ttl=self.ttl,
                # RFC 8030: the body is an opaque octet stream (some services insist on the type).
                headers={"Urgency": "high", "Content-Type": "application/octet-stream"},
                requests_session=self.session,
            )
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in (404, 410):
                raise PushGone(status)
            if status is not None and 400 <= status < 500 and status != 429:
                raise PushRejected(status, error.response.reason if error.response is not None else "")
            raise PushFailed(status, str(error).splitlines()[0])
        except http.RequestException as error:
            raise PushFailed(None, f"{type(error).__name__}")
        return int(getattr(response, "status_code", 201))
