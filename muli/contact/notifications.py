"""Notifications through an outbox: queued in the transaction of the change, sent later by the worker.

An email says only that something waits in MULI, with a link: never health information,
never a patient's name (a mailbox is not a health record, and mail leaves our control).

Delivery is **at least once**, not exactly once. A sender claims a row (conditional UPDATE
to `sending` with a lease), commits, talks to the SMTP server, then marks it `sent`. A
crash after the server accepted the mail but before `sent` is committed leaves the claim
to expire and the mail is sent again. Every copy carries the same Message-ID (the row id),
so a receiving system can drop the duplicate. Without crashes each row is sent once: two
workers cannot both win the claim.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from muli.contact import push
from muli.models.outbox import OutboxAttempt, OutboxMessage
from muli.models.people import Patient, Staff
from muli.models.push import PushSubscription
from muli.platform.context import Ctx

log = logging.getLogger("muli.notifications")

SUBJECT = "MULI: noe venter på deg"
LEASE = timedelta(minutes=2)
# A push is one HTTPS request with a 10 s timeout: a sender killed mid-push is taken over by
# another worker after 20 s, not the 2 minutes an SMTP conversation may need.
PUSH_LEASE = timedelta(seconds=20)
MAX_ATTEMPTS = 12
# A push is tried 3 times (1 s, 2 s apart) before the person is emailed instead.
PUSH_MAX_ATTEMPTS = 3
PUSH_MARK = ":push:"
CHANNEL = "muli_outbox"  # PostgreSQL LISTEN/NOTIFY channel that wakes the relay


def queue_link(ctx: Ctx) -> str:
    return ctx.settings.public_url.rstrip("/") + "/portal/queue"


def body_text(link: str) -> str:
    """The whole email: deliberately the same for every notification."""
    return (
        "Hei,\n\n"
        "det venter noe i MULI som trenger deg. Logg inn for å se det:\n"
        f"{link}\n\n"
        "Denne e-posten inneholder ingen opplysninger om pasienter.\n"
        "(Something in MULI needs you. Sign in to see it. This email holds no patient information.)\n"
    )


class Recipient(Protocol):
    """Whom a staff notification is for: a Staff, or a row of these three columns."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def account_id(self) -> uuid.UUID: ...

    @property
    def email(self) -> str | None: ...


def enqueue(
    ctx: Ctx,
    recipients: Iterable[Recipient | None],
    purpose: str,
    ref: uuid.UUID,
    *,
    request_id: uuid.UUID | None = None,
    devices: dict[uuid.UUID, list[uuid.UUID]] | None = None,
) -> int:
    """Queue one notification per recipient: a Web Push to each of their devices, or, with
    none, an email; the dedupe key makes each unique. A None (nobody on call) is skipped.
    `devices`: each recipient's subscription ids (as `push.for_accounts` answers them) when
    the caller read them with the recipients; otherwise they are read here.
    Answers how many people will be reached."""
    people: list[Recipient] = []
    seen: set[uuid.UUID] = set()
    for person in recipients:
        if person is not None and person.id not in seen:
            seen.add(person.id)
            people.append(person)
    if devices is None:
        devices = push.for_accounts(ctx, [p.account_id for p in people])
    link = queue_link(ctx)
    target = request_id or ref
    rows = []
    queued = 0
    for person in people:
        key = f"{purpose}:{ref}:{person.id}"
        subscriptions = devices.get(person.account_id, [])
        for subscription_id in subscriptions:
            rows.append(
                push.new_row(
                    ctx,
                    dedupe_key=f"{key}{PUSH_MARK}{subscription_id}",
                    account_id=person.account_id,
                    subscription_id=subscription_id,
                    kind=purpose,
                    url=push.staff_url(target),
                    request_id=target,
                )
            )
        if subscriptions:
            queued += 1
        elif person.email:
            rows.append(_email_values(ctx, key, person, link))
            queued += 1
    _insert(ctx, rows)  # a row for each person reached, and the relay woken (PostgreSQL)
    return queued


def enqueue_patient(ctx: Ctx, patient: Patient, kind: str, ref: uuid.UUID, request_id: uuid.UUID) -> int:
    """Tell the patient's devices (seen, answered, closed, escalated). Patients give us no
    email address: without a device the app shows it when opened. Answers rows queued."""
    if patient.account_id is None:
        return 0
    subscriptions = push.for_accounts(ctx, [patient.account_id]).get(patient.account_id, [])
    _insert(
        ctx,
        [
            push.new_row(
                ctx,
                dedupe_key=f"patient-{kind}:{ref}:{patient.id}{PUSH_MARK}{subscription_id}",
                account_id=patient.account_id,
                subscription_id=subscription_id,
                kind=kind,
                url=push.patient_url(request_id),
                request_id=request_id,
            )
            for subscription_id in subscriptions
        ],
    )
    return len(subscriptions)


# Outbox rows go in with one Core statement, built once (`created_at` and `attempts` take
# their column defaults, as the model's would), in the transaction of the change.
_INSERT = insert(OutboxMessage.metadata.tables["outbox_message"])
# PostgreSQL: the same statement wakes the relay (`wake`): NOTIFY from its RETURNING clause,
# one round trip instead of two. A notification is delivered on commit and not at all on a
# rollback, and identical ones in one transaction are delivered once, however many rows.
_INSERT_AND_WAKE = _INSERT.returning(func.pg_notify(CHANNEL, ""))


def _insert(ctx: Ctx, rows: list[dict]) -> None:
    """Queue `rows` in the change's transaction and wake the relay when it commits."""
    if not rows:
        return
    connection = ctx.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_INSERT_AND_WAKE, rows).all()
    else:  # SQLite's relay polls its indexed due query
        connection.execute(_INSERT, rows)


def _email_values(ctx: Ctx, key: str, person: Recipient, link: str) -> dict:
    return {
        "id": uuid.uuid4(),
        "dedupe_key": key,
        "channel": "email",
        "recipient": person.email,
        "subject": SUBJECT,
        "body": body_text(link),
        "state": "pending",
        "next_attempt_at": ctx.now(),
        "account_id": person.account_id,
    }


def _email_row(ctx: Ctx, key: str, person: Recipient, link: str) -> OutboxMessage:
    return OutboxMessage(**_email_values(ctx, key, person, link))


_WAKE = select(func.pg_notify(CHANNEL, ""))


def wake(ctx: Ctx) -> None:
    """Wake the relay when this transaction commits (PostgreSQL NOTIFY is delivered on commit,
    and not at all on a rollback). SQLite's relay polls an indexed due query instead."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        ctx.session.connection().execute(_WAKE)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class SmtpTransport:
    """Sends over SMTP: `smtp://host:port`, `smtp+starttls://...`, `smtps://...`, user:password optional."""

    url: str
    mail_from: str
    timeout: float = 10.0

    def send(self, message: OutboxMessage, now: datetime) -> None:
        parts = urlsplit(self.url)
        scheme = parts.scheme.lower()
        host = parts.hostname or "127.0.0.1"
        if scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=self.timeout)
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=self.timeout)
        with client:
            if scheme == "smtp+starttls":
                client.starttls()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(_email(message, self.mail_from, now))


def _email(message: OutboxMessage, mail_from: str, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    # The same Message-ID on every attempt: a retried (duplicate) delivery can be recognised.
    mail["Message-ID"] = f"<{message.id}@muli.outbox>"
    mail.set_content(message.body)
    return mail


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    fallbacks: int = 0


def push_backoff(attempts: int) -> timedelta:
    """1 s, 2 s: a phone that does not answer is emailed within seconds, not minutes."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 60))


def lease(channel: str) -> timedelta:
    return PUSH_LEASE if channel == "push" else LEASE


def _claimable(now: datetime, channels):
    return and_(
        OutboxMessage.channel.in_(channels),
        or_(
            and_(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.state == "sending", OutboxMessage.claimed_until < now),
        ),
    )


def _transports(transport) -> dict:
    """`transport` is one email transport (as before push existed) or {channel: transport}.
    Push rows are always handled: with no push transport they fall back to email at once."""
    table = dict(transport) if isinstance(transport, dict) else {"email": transport}
    table.setdefault("push", None)
    return table


def _channels(transports: dict) -> list[str]:
    return [c for c, t in transports.items() if t is not None or c == "push"]


def send_due(ctx: Ctx, transport, *, commit: Callable[[], None], batch: int = 100) -> SendReport:
    """Send everything due: claim a row, commit, send, mark it sent. Safe with many workers.
    Pushes go first: they are the seconds-fast path."""
    report = SendReport()
    transports = _transports(transport)
    channels = _channels(transports)
    while True:
        due = list(
            ctx.session.execute(
                select(
                    OutboxMessage.id, OutboxMessage.channel, OutboxMessage.state, OutboxMessage.claimed_until
                )
                .where(_claimable(ctx.now(), channels))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(batch)
            )
        )
        commit()
        if not due:
            return report
        if not sum(_send_one(ctx, transports, row, commit, report) for row in due):
            return report  # every one was taken by another worker meanwhile


def _send_one(ctx: Ctx, transports: dict, row, commit, report: SendReport) -> bool:
    now = ctx.now()
    claimed = ctx.rows_changed(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, _claimable(now, _channels(transports)))
        .values(state="sending", claimed_until=now + lease(row.channel), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    commit()
    if claimed != 1:
        return False  # another worker has it
    message = ctx.session.get_one(OutboxMessage, row.id, populate_existing=True)
    if row.state == "sending":
        # The last sender stopped (killed, host lost) before it could record what happened:
        # the message may or may not have arrived. Say so, as the attempt it was.
        ctx.session.add(
            OutboxAttempt(
                message_id=message.id,
                attempt=message.attempts - 1,
                channel=message.channel,
                started_at=row.claimed_until - lease(row.channel),
                finished_at=now,
                outcome="unknown",
                detail="the sender stopped before recording a result; taken over when its lease ran out",
            )
        )
    if message.channel == "push":
        _send_push(ctx, transports.get("push"), message, now, report)
    else:
        _send_email(ctx, transports[message.channel], message, now, report)
    message.claimed_until = None
    commit()
    return True


def _attempt(ctx: Ctx, message: OutboxMessage, started: datetime, outcome: str, status=None, detail=None):
    ctx.session.add(
        OutboxAttempt(
            message_id=message.id,
            attempt=message.attempts,
            channel=message.channel,
            started_at=started,
            finished_at=ctx.now(),
            outcome=outcome,
            status=status,
            detail=None if detail is None else str(detail)[:300],
        )
    )


def _send_email(ctx: Ctx, transport, message: OutboxMessage, now: datetime, report: SendReport) -> None:
    try:
        transport.send(message, now)
    except Exception as error:  # any failure is retried later
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.state = "failed"
            report.failed += 1
            _attempt(ctx, message, now, "failed", detail=message.last_error)
            log.error("email %s given up after %s attempts", message.id, message.attempts)
        else:
            message.state = "pending"
            message.next_attempt_at = now + backoff(message.attempts)
            report.retried += 1
            _attempt(ctx, message, now, "retry", detail=message.last_error)
        return
    message.state, message.sent_at = "sent", ctx.now()
    _attempt(ctx, message, now, "sent")
    report.sent += 1


def _send_push(ctx: Ctx, transport, message: OutboxMessage, now: datetime, report: SendReport) -> None:
    subscription = ctx.session.get(PushSubscription, uuid.UUID(message.recipient))
    if transport is None or subscription is None:
        why = "push is not configured" if transport is None else "the device was removed"
        _give_up(ctx, message, now, report, "failed", None, why)
        return
    try:
        status = transport.push(push.subscription_info(ctx, subscription), message.body)
    except push.PushGone as gone:
        ctx.session.delete(subscription)  # the browser unsubscribed or the service forgot it
        _give_up(ctx, message, now, report, "gone", gone.status, str(gone))
        return
    except push.PushRejected as rejected:
        subscription.last_failure_at = ctx.now()
        _give_up(ctx, message, now, report, "failed", rejected.status, str(rejected))
        return
    except Exception as error:  # network, 5xx, 429: again soon, then email
        subscription.last_failure_at = ctx.now()
        status = getattr(error, "status", None)
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        if message.attempts >= PUSH_MAX_ATTEMPTS:
            _give_up(ctx, message, now, report, "failed", status, message.last_error)
            return
        message.state = "pending"
        message.next_attempt_at = now + push_backoff(message.attempts)
        report.retried += 1
        _attempt(ctx, message, now, "retry", status, message.last_error)
        return
    message.state, message.sent_at = "sent", ctx.now()
    subscription.last_success_at = message.sent_at
    _attempt(ctx, message, now, "sent", status)
    report.sent += 1


def _give_up(ctx: Ctx, message: OutboxMessage, now: datetime, report: SendReport, outcome, status, why):
    """This push will not arrive: record it and email the person at once instead."""
    message.state, message.last_error = "failed", str(why)[:500]
    report.failed += 1
    fallback = _fall_back(ctx, message)
    _attempt(ctx, message, now, outcome, status, f"{why}; {fallback}")
    if fallback == "email queued":
        report.fallbacks += 1
    log.warning("push %s not delivered (%s): %s", message.id, outcome, fallback)


def _fall_back(ctx: Ctx, message: OutboxMessage) -> str:
    """Queue the email this person would have had without a device (once per notification,
    however many of their devices fail: the key is the email's own)."""
    person = ctx.session.scalars(select(Staff).where(Staff.account_id == message.account_id)).first()
    if person is None:
        return "no fallback: a patient has no email address"
    if not person.email:
        return "no fallback: no email address"
    key = message.dedupe_key.split(PUSH_MARK)[0]
    if ctx.session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
        return "email already queued"
    try:
        with ctx.session.begin_nested():
            ctx.session.add(_email_row(ctx, key, person, queue_link(ctx)))
    except IntegrityError:  # another worker queued it a moment ago
        return "email already queued"
    wake(ctx)
    return "email queued"


def purge(ctx: Ctx) -> tuple[int, int]:
    """Retention (docs/retention.md): forget outbox rows done with — sent, or given up — more
    than `outbox_keep_days` ago, every delivery attempt older than that, and attempts whose row
    is gone. Pending and sending rows stay whatever their age. Answers (rows, attempts)."""
    cutoff = ctx.now() - timedelta(days=ctx.settings.outbox_keep_days)
    done = or_(
        and_(OutboxMessage.state == "sent", OutboxMessage.sent_at < cutoff),
        and_(OutboxMessage.state == "failed", OutboxMessage.created_at < cutoff),
    )
    old = select(OutboxMessage.id).where(done)
    attempts = ctx.rows_changed(
        delete(OutboxAttempt).where(
            or_(
                OutboxAttempt.finished_at < cutoff,
                OutboxAttempt.message_id.in_(old),
                ~exists().where(OutboxMessage.id == OutboxAttempt.message_id),
            )
        )
    )
    messages = ctx.rows_changed(delete(OutboxMessage).where(done))
    return messages, attempts
