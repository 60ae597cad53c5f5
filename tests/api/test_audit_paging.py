"""Paging the audit trail newest first over months (issue 19, item 4), on both databases: the
privacy officer's search reads a recent window first and the whole table only when that
window holds no full page (audit_review.newest_first), and so does the patient's access log
(newest first by time). Either way the pages must be exactly those of the
whole table: the same events, in the same order, cut at the same places, over a month
boundary, the recent window's edge, events at the same instant, and a gap of empty months."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import or_, select

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.models.base import utcnow
from muli.platform.context import Actor
from muli.trust import audit, audit_review

AUDIT = "/api/v1/staff/audit"
LOG = "/api/v1/me/access-log"


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def officer(world):
    return world.staff(role="privacy_officer")


@pytest.fixture
def scattered(app, care):
    """The member's reads of the patient's record at chosen times, written out of time order
    (so seq order, the access log's, is not time order, the search's)."""
    now = utcnow()
    this_month, window = audit._month(now, 0), audit_review.recent_since(now)
    instant = timedelta(microseconds=1)
    times = [
        now - timedelta(seconds=1),
        this_month,
        this_month,  # two at the same instant: seq decides
        this_month - instant,  # the month boundary
        window,
        window - instant,  # the recent window's edge
        audit._month(now, -9) + timedelta(days=3),  # after seven empty months
        audit._month(now, -10) + timedelta(days=20),
        audit._month(now, -10) + timedelta(days=2),
    ]
    staff = care.member.staff
    actor = Actor(kind="staff", account_id=staff.account_id, name=staff.display_name, role="member")
    with app.app_context():
        for i in (4, 0, 7, 2, 1, 8, 3, 6, 5):
            with audit.dated(db.session, lambda at=times[i]: at):
                audit.record(
                    db.session,
                    actor,
                    "crisis_plan.read",
                    patient_id=care.patient.id,
                    resource="crisis_plan",
                    resource_id=i,
                )
        db.session.commit()
        db.session.remove()
    return times


def _events(app, *where, order) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(*where).order_by(*order)).all()
        db.session.remove()
        return list(rows)


def _pages(client, url, headers, key, **query) -> list[list]:
    pages, cursor = [], None
    while True:
        page = client.get(
            url, query_string={**query, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert page.status_code == 200, page.json
        pages.append([key(item) for item in page.json["items"]])
        cursor = page.json["next_cursor"]
        if cursor is None:
            return pages


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _cut(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


NEWEST = (AuditEvent.occurred_at.desc(), AuditEvent.seq.desc())


@pytest.mark.parametrize("size", [1, 2, 3])
def test_the_officers_search_pages_exactly_as_the_whole_table_over_months_and_gaps(
    app, client, care, officer, scattered, size
):
    member = care.member.staff.account_id
    for query, where in (
        ({"patient_id": str(care.patient.id)}, [AuditEvent.patient_id == care.patient.id]),
        ({"staff_id": str(care.member.id)}, [AuditEvent.actor_account_id == member]),
        (
            {"to": (utcnow() - timedelta(days=40)).isoformat()},
            [AuditEvent.occurred_at < utcnow() - timedelta(days=40)],
        ),
        ({}, []),
    ):
        pages = _pages(client, AUDIT, officer.headers, lambda e: e["seq"], limit=size, **query)
        # Every event up to the officer's own first search (later ones are searches themselves).
        whole = [e.seq for e in _events(app, *where, order=NEWEST) if e.action != "audit.search"]
        found = [seq for page in pages for seq in page]
        assert [s for s in found if s in whole] == whole, query
        if query:
            assert pages == _cut(whole, size), query
    # The scattered events themselves, newest first by time (not by seq): all there, in order.
    mine = _pages(
        client, AUDIT, officer.headers, lambda e: e["seq"], limit=size, staff_id=str(care.member.id)
    )
    times = [
        e.occurred_at for e in _events(app, AuditEvent.seq.in_([s for p in mine for s in p]), order=NEWEST)
    ]
    assert sorted(scattered, reverse=True) == times


@pytest.mark.parametrize("size", [1, 2, 4])
def test_the_patients_access_log_pages_exactly_as_the_whole_table_over_months_and_gaps(
    app, client, care, scattered, size
):
    pages = _pages(client, LOG, care.patient.headers, lambda e: (_at(e["at"]), e["resource_id"]), limit=size)
    events = _events(
        app,
        AuditEvent.patient_id == care.patient.id,
        or_(AuditEvent.actor_account_id.is_(None), AuditEvent.actor_account_id != care.patient.account.id),
        order=NEWEST,
    )
    whole = [(e.occurred_at, e.resource_id) for e in events]
    assert pages == _cut(whole, size)
    assert {int(r) for _, r in whole if r is not None and r.isdigit()} >= set(range(len(scattered)))
