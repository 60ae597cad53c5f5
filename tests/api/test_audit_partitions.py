"""Audit at national scale (issue 19, item 4), PostgreSQL: `audit_event` is partitioned by
month of `occurred_at`, the worker makes partitions ahead, and the queries the service runs
for the access log and the privacy officer read each partition through its own index, and
only the partitions a time filter allows. Plan shape only: no timing is asserted here (the
figures are in benchmarks/README.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from muli.extensions import db
from muli.models.base import utcnow
from muli.trust import audit
from tests.conftest import database_kind

pytestmark = pytest.mark.skipif(database_kind() != "postgresql", reason="native partitioning: PostgreSQL")

AUDIT = "/api/v1/staff/audit"
LOG = "/api/v1/me/access-log"


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def officer(world):
    return world.staff(role="privacy_officer")


def _partitions() -> set[str]:
    rows = db.session.execute(
        text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'audit_event'::regclass")
    )
    return {r[0] for r in rows}


def test_the_audit_table_is_partitioned_by_month_with_partitions_made_ahead(app, app_ctx):
    strategy, key = db.session.execute(
        text(
            "SELECT partstrat, pg_get_partkeydef('audit_event'::regclass) FROM pg_partitioned_table "
            "WHERE partrelid = 'audit_event'::regclass"
        )
    ).one()
    assert (strategy, key) == ("r", "RANGE (occurred_at)")
    now = utcnow()
    months = {audit.partition_name(audit._month(now, add)) for add in range(audit.PARTITIONS_AHEAD + 1)}
    assert months | {"audit_event_default"} <= _partitions()
    # Every partition carries the indexes declared on the parent.
    indexes = {
        r[0]
        for r in db.session.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": audit.partition_name(now)}
        )
    }
    for columns in ("(patient_id, seq)", "(occurred_at, seq)", "(patient_id, occurred_at, seq)"):
        assert any(columns in d for d in indexes), indexes
    assert any("(actor_account_id, occurred_at, seq)" in d for d in indexes)
    assert any("WHERE (chain_pos IS NULL)" in d for d in indexes)


def test_housekeeping_makes_the_coming_months_partitions_once(app, app_ctx):
    later = datetime(now_year() + 3, 2, 10, tzinfo=UTC)
    wanted = [audit.partition_name(audit._month(later, add)) for add in range(3)]
    try:
        assert audit.ensure_partitions(db.session, later) == wanted
        db.session.commit()
        assert audit.ensure_partitions(db.session, later) == []
        assert set(wanted) <= _partitions()
        # An event in such a month lands in its partition, not in the default one.
        with audit.dated(db.session, lambda: later):
            audit.record(db.session, audit_actor(), "diary.read")
        db.session.commit()
        where = db.session.execute(text("SELECT tableoid::regclass::text FROM audit_event")).scalar_one()
        assert where == wanted[0]
    finally:
        db.session.rollback()
        db.session.execute(text("DELETE FROM audit_event"))
        for name in wanted:
            db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        db.session.commit()


def now_year() -> int:
    return utcnow().year


def audit_actor():
    from muli.platform.context import Actor

    return Actor(kind="system", name="test")


def _plans(app, client, url: str, headers, seen=None, **query) -> list[str]:
    """The plans of the SELECTs on audit_event that answering `url` ran, as PostgreSQL would
    run them with sequential scans discouraged (so a usable index shows, however few rows);
    the statements and parameters themselves into `seen`, if given."""
    seen = [] if seen is None else seen

    def grab(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "FROM audit_event" in statement:
            seen.append((statement, parameters))

    # (No app context held around the request: it would share `g`, the signed-in actor.)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        assert client.get(url, query_string=query, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert seen, "no query on audit_event"
    plans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for statement, parameters in seen:
            rows = conn.exec_driver_sql("EXPLAIN (COSTS OFF) " + statement, parameters)
            plans.append("\n".join(r[0] for r in rows))
    return plans


def _scans(plan: str) -> list[tuple[str, str, str]]:
    """(kind, index, partition) for every scan of a partition in the plan."""
    return re.findall(
        r"(Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan)(?: Backward)?(?: using (\S+))? on (\S+)",
        plan,
    )


def _read_overview(client, care) -> None:
    url = f"/api/v1/staff/patients/{care.patient.id}"
    assert client.get(url, headers=care.member.headers).status_code == 200


def test_the_patients_access_log_reads_recent_months_first_through_its_patient_index(app, client, care):
    _read_overview(client, care)
    with app.app_context():
        audit.seal_all(db.session, db.session.commit)
        db.session.remove()
    with _an_older_month(app) as (recent, every):
        # The recent window first, pruned when planning; it holds no full page here (one
        # read), so then every month, each through its (patient, time) index.
        window, whole = _plans(app, client, LOG, care.patient.headers)
        _assert_window_then_whole(window, whole, "patient_id_occurred_at_seq_idx", recent, every)


@contextmanager
def _an_older_month(app) -> Iterator[tuple[set[str], set[str]]]:
    """An older month's partition, for the recent window to leave out: yields the recent
    window's partitions (its months, those made ahead, the default) and every partition."""
    now = utcnow()
    recent = {audit.partition_name(audit._month(now, add)) for add in range(-1, audit.PARTITIONS_AHEAD + 1)}
    old = audit._month(now, -3)
    with app.app_context():
        db.session.execute(
            text(
                f"CREATE TABLE {audit.partition_name(old)} PARTITION OF audit_event "
                f"FOR VALUES FROM ('{old.isoformat()}') TO ('{audit._month(old, 1).isoformat()}')"
            )
        )
        db.session.commit()
        every = _partitions()
        db.session.remove()
    assert every - recent - {"audit_event_default"}
    try:
        yield recent, every
    finally:
        with app.app_context():
            db.session.execute(text(f"DROP TABLE {audit.partition_name(old)}"))
            db.session.commit()
            db.session.remove()


def _assert_window_then_whole(window: str, whole: str, suffix: str, recent: set, every: set) -> None:
    tables = set(re.findall(r" on (audit_event_\w+) audit_event_\d+", window))
    assert tables and tables <= recent | {"audit_event_default"}, window
    assert "Seq Scan" not in window and suffix in window, window
    scans = _scans(whole)
    assert scans and {kind for kind, _, _ in scans} <= {"Index Scan", "Index Only Scan"}, whole
    assert all(index.endswith(suffix) for _, index, _ in scans), whole
    assert {table for _, _, table in scans} == every, whole


def test_the_privacy_officers_searches_use_an_index_in_each_partition(app, client, care, officer):
    _read_overview(client, care)
    with _an_older_month(app) as (recent, every):
        for query, suffix in (
            ({"patient_id": str(care.patient.id)}, "patient_id_occurred_at_seq_idx"),
            ({"staff_id": str(care.member.id)}, "actor_account_id_occurred_at_seq_idx"),
            ({}, "occurred_at_seq_idx"),
        ):
            # First the recent window; it holds no full page here, so then the whole table.
            window, whole = _plans(app, client, AUDIT, officer.headers, **query)
            _assert_window_then_whole(window, whole, suffix, recent, every)


def test_a_time_filter_reads_only_the_partitions_of_those_months(app, client, care, officer):
    _read_overview(client, care)
    # A day in the middle of this month: the window's days are Oslo's, so the first of the
    # month began in last month's UTC hours (a partition the test database never made: the
    # default one), and this test failed on the first of every month.
    day = utcnow().date().replace(day=15)
    months = {audit.partition_name(audit._month(utcnow(), add)) for add in (0, 1)}
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    plan = _plans(app, client, AUDIT, officer.headers, **window)[0]
    partitions = {table for _, _, table in _scans(plan)}
    # Pruned to the month(s) of that day: not the other months, not the default partition.
    assert partitions and partitions <= months, plan
    with app.app_context():
        assert len(_partitions()) > len(months) + 1  # there were others to leave out
        db.session.remove()


def test_the_page_size_is_written_into_the_statement_not_sent_as_a_parameter(app, client, care, officer):
    # With `LIMIT $n` PostgreSQL costs a prepared statement's generic plan as reading a tenth
    # of the rows, so on a large table it plans every month's partition anew on each run
    # (pagination.page_limit; figures in benchmarks/README.md).
    _read_overview(client, care)
    for url, headers, query in (
        (LOG, care.patient.headers, {}),
        (AUDIT, officer.headers, {"patient_id": str(care.patient.id)}),
        (AUDIT, officer.headers, {"staff_id": str(care.member.id)}),
        (AUDIT, officer.headers, {}),
    ):
        seen: list = []
        _plans(app, client, url, headers, seen, limit=7, **query)
        for statement, _ in seen:
            assert re.search(r"\bLIMIT 8\s*$", statement), statement
