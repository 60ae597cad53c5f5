"""The login throttle's rules, one at a time (the whole story: tests/api/test_login_throttle.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from muli.contact import on_call
from muli.models.accounts import Account, KnownDevice, LoginThrottle
from muli.models.audit import AuditEvent
from muli.models.on_call import OnCallShift
from muli.platform.context import Actor
from muli.platform.errors import AuthenticationFailed, TooManyAttempts
from muli.trust import accounts, throttle
from tests.factories import PASSWORD

NOW = datetime(2026, 11, 21, 0, 40, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("cheap_argon2")


def test_waits_start_after_the_free_failures_and_double_up_to_the_cap():
    waits = [throttle.wait_after(n, free=5, first=1, cap=300) for n in range(1, 17)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert throttle.wait_after(10_000, free=5, first=1, cap=300) == 300


def test_over_the_ceiling_there_are_no_free_failures_and_waits_start_higher():
    assert [throttle.wait_after(n, free=0, first=30, cap=300) for n in range(1, 6)] == [30, 60, 120, 240, 300]


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),  # the same household or phone
        ("::ffff:192.0.2.10", "192.0.2.10"),
        ("not an address", "unknown"),
        (None, "unknown"),
    ],
)
def test_an_address_is_counted_alone_and_an_ipv6_one_by_its_64(address, network):
    assert throttle.address_network(address) == network


def _ctx(ctx, clock_at, ip="203.0.113.5"):
    ctx.clock = lambda: clock_at[0]
    return ctx.acting_as(Actor(kind="anonymous", ip=ip))


def _fail(ctx, username, n=1):
    for _ in range(n):
        with pytest.raises((AuthenticationFailed, TooManyAttempts)):
            accounts.authenticate(ctx, username, "wrong password", None)
        ctx.session.commit()


def test_a_quiet_day_forgives_a_source(world, ctx):
    patient = world.patient(world.team())
    at = [NOW]
    attempt = _ctx(ctx, at)
    _fail(attempt, patient.account.username, 6)
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(attempt, patient.account.username, PASSWORD, None)
    attempt.session.commit()
    at[0] = NOW + timedelta(days=1, seconds=1)
    _fail(attempt, patient.account.username, 1)
    row = attempt.session.scalars(select(LoginThrottle)).one()
    assert (row.failures, row.next_try_at) == (1, None)


def test_crossing_the_ceiling_is_audited_once(world, ctx):
    at = [NOW]
    for n in range(25):  # 25 sources, one failure each: nobody waits, the username crosses 20
        _fail(_ctx(ctx, at, ip=f"198.51.100.{n}"), "ghost")
    events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.throttle")).all()
    assert [(e.outcome, e.resource) for e in events] == [("ceiling", "login_address")]
    failed = ctx.session.scalar(
        select(func.count()).where(AuditEvent.action == "auth.login", AuditEvent.outcome == "failed")
    )
    assert failed == 25


def test_purge_forgets_quiet_sources_and_unused_devices(world, ctx):
    patient = world.patient(world.team())
    ctx.clock = lambda: NOW
    old, recent = NOW - timedelta(days=2), NOW - timedelta(hours=1)
    ctx.session.add_all(
        [
            LoginThrottle(username_key="a" * 64, source_key="1" * 64, failures=9, updated_at=old),
            LoginThrottle(username_key="a" * 64, source_key="2" * 64, failures=9, updated_at=recent),
            KnownDevice(
                account_id=patient.account.id, device_hash="3" * 64, first_seen_at=old, last_seen_at=old
            ),
            KnownDevice(
                account_id=patient.account.id,
                device_hash="4" * 64,
                first_seen_at=old,
                last_seen_at=NOW - timedelta(days=181),
            ),
        ]
    )
    ctx.session.commit()
    assert throttle.purge(ctx) == (1, 1)
    ctx.session.commit()
    assert [r.source_key for r in ctx.session.scalars(select(LoginThrottle))] == ["2" * 64]
    assert [d.device_hash for d in ctx.session.scalars(select(KnownDevice))] == ["3" * 64]


def test_a_device_unused_for_half_a_year_is_no_longer_known(world, ctx):
    patient = world.patient(world.team())
    ctx.clock = lambda: NOW
    account = ctx.session.get(Account, patient.account.id)
    device_id = throttle.remember_device(ctx, account, None)
    ctx.session.commit()
    assert throttle.is_known_device(ctx, account.id, device_id)
    assert not throttle.is_known_device(ctx, account.id, device_id + "x")
    ctx.clock = lambda: NOW + timedelta(days=181)
    assert not throttle.is_known_device(ctx, account.id, device_id)


def test_on_call_now_means_on_the_rota_now_or_within_the_hour(world, ctx):
    team = world.team()
    nurse = world.staff(team)
    ctx.session.add(
        OnCallShift(
            team_id=team.id,
            staff_id=nurse.staff.id,
            starts_at=NOW,
            ends_at=NOW + timedelta(hours=8),
            level="backup",
        )
    )
    ctx.session.commit()
    for at, expected in [
        (NOW - timedelta(hours=2), False),
        (NOW - timedelta(minutes=59), True),
        (NOW + timedelta(hours=4), True),
        (NOW + timedelta(hours=8), False),
    ]:
        ctx.clock = lambda at=at: at
        assert on_call.on_call_now(ctx, nurse.account.id) is expected, at
