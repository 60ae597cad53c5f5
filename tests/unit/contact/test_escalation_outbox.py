"""The outbox sender: claims a row, sends it once, retries failures with back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from muli.contact import notifications
from muli.models.outbox import OutboxMessage
from tests.contact_support import SATURDAY_NIGHT


class Recorder:
    def __init__(self, fail: bool = False):
        self.sent, self.fail = [], fail

    def send(self, message, now):
        if self.fail:
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message.id)


@pytest.fixture
def queued(ctx):
    ctx.clock = lambda: SATURDAY_NIGHT
    message = OutboxMessage(
        dedupe_key="test:1",
        recipient="ola@muli.invalid",
        subject=notifications.SUBJECT,
        body=notifications.body_text("https://muli.invalid/portal/queue"),
        next_attempt_at=SATURDAY_NIGHT,
    )
    ctx.session.add(message)
    ctx.session.commit()
    return message.id


def test_a_due_email_is_sent_and_marked_sent(ctx, queued):
    transport = Recorder()
    report = notifications.send_due(ctx, transport, commit=ctx.session.commit)
    assert (report.sent, transport.sent, ctx.session.get(OutboxMessage, queued).state) == (
        1,
        [queued],
        "sent",
    )


def test_a_sent_email_is_not_sent_again(ctx, queued):
    transport = Recorder()
    notifications.send_due(ctx, transport, commit=ctx.session.commit)
    notifications.send_due(ctx, transport, commit=ctx.session.commit)
    assert transport.sent == [queued]


def test_an_email_claimed_by_another_sender_is_left_alone(ctx, queued):
    row = ctx.session.get(OutboxMessage, queued)
    row.state, row.claimed_until = "sending", SATURDAY_NIGHT + timedelta(minutes=2)
    ctx.session.commit()
    assert notifications.send_due(ctx, Recorder(), commit=ctx.session.commit).sent == 0


def test_a_claim_of_a_sender_that_died_expires_and_the_email_is_sent(ctx, queued):
    row = ctx.session.get(OutboxMessage, queued)
    row.state, row.claimed_until = "sending", SATURDAY_NIGHT - timedelta(seconds=1)
    ctx.session.commit()
    assert notifications.send_due(ctx, Recorder(), commit=ctx.session.commit).sent == 1


def test_a_failed_send_is_retried_later_with_back_off(ctx, queued):
    report = notifications.send_due(ctx, Recorder(fail=True), commit=ctx.session.commit)
    row = ctx.session.get(OutboxMessage, queued)
    assert (report.retried, row.state, row.next_attempt_at) == (
        1,
        "pending",
        SATURDAY_NIGHT + timedelta(seconds=30),
    )
    assert "smtp down" in row.last_error


def test_back_off_doubles_and_stops_at_an_hour():
    assert [notifications.backoff(n).total_seconds() for n in (1, 2, 3, 12)] == [30, 60, 120, 3600]


def test_an_email_is_given_up_after_the_last_attempt(ctx, queued):
    row = ctx.session.get(OutboxMessage, queued)
    row.attempts = notifications.MAX_ATTEMPTS - 1
    ctx.session.commit()
    assert notifications.send_due(ctx, Recorder(fail=True), commit=ctx.session.commit).failed == 1
