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
from urllib.parse import unquote, urlsplit

from sqlalchemy import and_, or_, select, update

from muli.models.outbox import OutboxMessage
from muli.models.people import Staff
from muli.platform.context import Ctx

log = logging.getLogger("muli.notifications")

SUBJECT = "MULI: noe venter på deg"
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12


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


def enqueue(ctx: Ctx, recipients: Iterable[Staff | None], purpose: str, ref: uuid.UUID) -> int:
    """Queue one email per recipient with an address; the dedupe key makes each notification unique.
    A None (nobody on call) is skipped."""
    link = queue_link(ctx)
    queued, seen = 0, set()
    for person in recipients:
        if person is None or not person.email or person.id in seen:
            continue
        seen.add(person.id)
        ctx.session.add(
            OutboxMessage(
                dedupe_key=f"{purpose}:{ref}:{person.id}",
                channel="email",
                recipient=person.email,
                subject=SUBJECT,
                body=body_text(link),
                state="pending",
                next_attempt_at=ctx.now(),
            )
        )
        queued += 1
    return queued


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


def _claimable(now: datetime):
    return or_(
        and_(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == "sending", OutboxMessage.claimed_until < now),
    )


def send_due(ctx: Ctx, transport, *, commit: Callable[[], None], batch: int = 100) -> SendReport:
    """Send everything due: claim a row, commit, send, mark it sent. Safe with many workers."""
    report = SendReport()
    while True:
        ids = list(
            ctx.session.scalars(
                select(OutboxMessage.id)
                .where(_claimable(ctx.now()))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(batch)
            )
        )
        commit()
        if not ids:
            return report
        if not sum(_send_one(ctx, transport, message_id, commit, report) for message_id in ids):
            return report  # every one was taken by another worker meanwhile


def _send_one(ctx: Ctx, transport, message_id: uuid.UUID, commit, report: SendReport) -> bool:
    now = ctx.now()
    claimed = ctx.rows_changed(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now))
        .values(state="sending", claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    commit()
    if claimed != 1:
        return False  # another worker has it
    message = ctx.session.get_one(OutboxMessage, message_id, populate_existing=True)
    try:
        transport.send(message, now)
    except Exception as error:  # any failure is retried later
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        if message.attempts >= MAX_ATTEMPTS:
            message.state = "failed"
            report.failed += 1
            log.error("email %s given up after %s attempts", message.id, message.attempts)
        else:
            message.state = "pending"
            message.next_attempt_at = now + backoff(message.attempts)
            report.retried += 1
        message.claimed_until = None
        commit()
        return True
    message.state, message.sent_at, message.claimed_until = "sent", ctx.now(), None
    commit()
    report.sent += 1
    return True
