"""Audit at national scale on PostgreSQL (issue 19, item 4): the access-log and privacy-officer
queries with 10^3 and with 10^7 audit events in the monthly-partitioned `audit_event`.

    MULI_PG_PORT=5447 .venv/bin/python benchmarks/audit_growth.py   # ~10 minutes on 2 cores

Two databases, each migrated (`flask db upgrade heads`, so migration 0036's partitions and
indexes), with monthly partitions back 24 months, filled server-side (INSERT ... SELECT from
generate_series, 10^6 rows a transaction) with events spread evenly over those 24 months.
Both have the same shape per patient and per staff member — every patient 1,000 events,
every staff member 500 — so only the size of the table differs (10^3 events: 1 patient, 2
staff; 10^7: 10,000 patients, 20,000 staff). The queries are the service's own (built
from the same SQLAlchemy expressions as muli/patient/record.py and muli/trust/audit_review.py),
each run REPEAT times, round robin over all queries and both sizes, one at a time; p50/p99 in ms, ratio =
large p50 / small p50 (target <= 1.3). Compiled as the service sends them (the page's LIMIT
written into the text, pagination.page_limit). EXPLAIN ANALYZE of each one's prepared
statement after 6 runs (the plan the service runs: PostgreSQL's generic or a custom plan) shows
partition pruning and the index per partition. Results:
benchmarks/results/audit_growth.json and .md. The databases are dropped at the end
(BENCH_KEEP=1 keeps them). To try something quicker: BENCH_AUDIT_ROWS=1000000 (~1 minute's
fill instead of ~12), BENCH_AUDIT_REPEAT=100, BENCH_OUT=/tmp/somewhere (the committed
results stay as they are).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import psycopg  # noqa: E402
from run import PG_ADMIN, VENV_BIN, Database, log, run  # noqa: E402
from sqlalchemy import or_, select  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from muli.models.audit import AuditEvent  # noqa: E402
from muli.platform.pagination import page_limit  # noqa: E402
from muli.trust import audit, audit_review  # noqa: E402

LARGE = int(os.environ.get("BENCH_AUDIT_ROWS", "10000000"))
SMALL = 1000
MONTHS = 24
PER_PATIENT = 1000
PER_STAFF = 500
REPEAT = int(os.environ.get("BENCH_AUDIT_REPEAT", "300"))
CHUNK = 1_000_000
OUT = Path(os.environ.get("BENCH_OUT", HERE / "results"))
ACTIONS = [
    "crisis_plan.read",
    "diary.read",
    "record.read",
    "contact_request.read",
    "plan.update",
    "auth.login",
]


def patient(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)  # lpad(to_hex(n), 32, '0')::uuid in SQL


def _month(at: datetime, add: int = 0) -> datetime:
    n = at.year * 12 + at.month - 1 + add
    return datetime(n // 12, n % 12 + 1, 1, tzinfo=UTC)


NOW = datetime.now(UTC)
START = _month(NOW, -MONTHS)
SPAN = (NOW - timedelta(minutes=5) - START).total_seconds()


def fill(conn: psycopg.Connection, n: int) -> float:
    """Partitions for the past months, then `n` sealed-looking events spread over them.
    (The chain fields are filler: these queries do not read them, and verify-audit is
    not run on this data.)"""
    started = time.monotonic()
    for add in range(-MONTHS, 0):
        month = _month(NOW, add)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {audit.partition_name(month)} PARTITION OF audit_event "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_month(month, 1).isoformat()}')"
        )
    patients, staff = max(1, n // PER_PATIENT), max(1, n // PER_STAFF)
    actions = "ARRAY[" + ",".join(f"'{a}'" for a in ACTIONS) + "]"
    for lo in range(1, n + 1, CHUNK):
        hi = min(n, lo + CHUNK - 1)
        # Patient and staff numbers as UUIDs, as patient(k) and staff_account(k) make them.
        conn.execute(
            f"""
            INSERT INTO audit_event (seq, id, occurred_at, action, outcome, actor_account_id,
                actor_kind, actor_name, actor_role, actor_agency_name, patient_id, resource,
                resource_id, emergency, reason, ip, request_id, chain_pos, prev_hash, hash, key_id)
            SELECT i, md5('e' || i)::uuid,
                   %(start)s::timestamptz + make_interval(secs => (i - 1)::float8 / %(n)s * %(span)s),
                   ({actions})[1 + i %% {len(ACTIONS)}], 'ok',
                   lpad(to_hex(1000000000 + i %% %(staff)s), 32, '0')::uuid,
                   'staff', 'Bench Staff', 'member', 'Bench DPS',
                   lpad(to_hex(i %% %(patients)s), 32, '0')::uuid,
                   'crisis_plan', (i %% 1000)::text, i %% 997 = 0, NULL, '127.0.0.1', md5('r' || i),
                   i, repeat('0', 64), md5(i::text) || md5(i::text), 'bench'
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
            """,  # noqa: S608
            {"start": START, "n": n, "span": SPAN, "staff": staff, "patients": patients, "lo": lo, "hi": hi},
        )
        conn.commit()
        log(f"  {hi:,} / {n:,} events ({time.monotonic() - started:.0f} s)")
    conn.execute("SELECT setval('audit_event_seq', %s)", (n,))
    conn.execute("ANALYZE audit_event")
    conn.commit()
    return time.monotonic() - started


def staff_account(k: int) -> uuid.UUID:
    return patient(1_000_000_000 + k)


# Queries whose one statement must return a full page (a page and one more) on both sizes.
PAGE_FULL = ("access log, first page", "privacy officer: a time range")


def queries(n: int) -> dict:
    """The service's own queries, compiled for PostgreSQL with their parameters (one patient,
    one staff member and one day near the middle of the span)."""
    p, s = patient(n // PER_PATIENT // 2 if n > PER_PATIENT else 0), staff_account(0)
    nobody = staff_account(n // PER_STAFF + 7)  # a staff member with no events at all
    day = START + timedelta(days=365)
    # The time-range search compares like with like: a range holding a page of events (a day
    # at 10^7, about 16 days at 10^3), so both sizes return a full page and only the table
    # differs (one day at 10^3 held one or two events: a near-empty answer is cheaper to send).
    span = max(timedelta(days=1), (NOW - START) * 25 / n)
    refusal = "access.refused"

    def access_log(who: uuid.UUID):  # record.by_others
        return select(AuditEvent).where(
            AuditEvent.patient_id == who,
            or_(AuditEvent.actor_account_id.is_(None), AuditEvent.actor_account_id != uuid.uuid4()),
            AuditEvent.action != refusal,
        )

    nobody_patient = patient(n // PER_PATIENT + 7)  # a patient nobody has read yet
    newest = (AuditEvent.occurred_at.desc(), AuditEvent.seq.desc())
    # audit_review.search without a lower time bound reads from recent_since(now) first, and
    # the whole table only when that window holds no full page.
    recent = AuditEvent.occurred_at >= audit_review.recent_since(NOW)
    built = {
        # record.access_log reads as the officer's search does (audit_review.newest_first): the
        # recent window, which here holds a full page (about 40 events a month per patient).
        "access log, first page (record.access_log)": access_log(p)
        .where(recent)
        .order_by(*newest)
        .limit(page_limit(20)),
        "access log of a patient nobody has read: recent window, then the whole table": [
            access_log(nobody_patient).where(recent).order_by(*newest).limit(page_limit(20)),
            access_log(nobody_patient).order_by(*newest).limit(page_limit(20)),
        ],
        "privacy officer: events about a patient (audit_review.search)": select(AuditEvent)
        .where(AuditEvent.patient_id == p, recent)
        .order_by(*newest)
        .limit(page_limit(20)),
        "privacy officer: events by a staff member (audit_review.search)": select(AuditEvent)
        .where(AuditEvent.actor_account_id == s, recent)
        .order_by(*newest)
        .limit(page_limit(20)),
        "privacy officer: a staff member with no events: recent window, then the whole table": [
            select(AuditEvent)
            .where(AuditEvent.actor_account_id == nobody, recent)
            .order_by(*newest)
            .limit(page_limit(20)),
            select(AuditEvent)
            .where(AuditEvent.actor_account_id == nobody)
            .order_by(*newest)
            .limit(page_limit(20)),
        ],
        "privacy officer: a time range holding a page, all events (audit_review.search)": select(AuditEvent)
        .where(AuditEvent.occurred_at >= day, AuditEvent.occurred_at < day + span)
        .order_by(*newest)
        .limit(page_limit(20)),
        "privacy officer: newest events, no filter (audit_review.search)": select(AuditEvent)
        .where(recent)
        .order_by(*newest)
        .limit(page_limit(20)),
        "emergency access review: a patient, a staff member, a week (audit_review)": select(AuditEvent)
        .where(
            AuditEvent.patient_id == p,
            AuditEvent.actor_account_id == s,
            AuditEvent.occurred_at >= day,
            AuditEvent.occurred_at < day + timedelta(days=7),
        )
        .order_by(AuditEvent.seq)
        .limit(200),
    }
    dialect = postgresql.psycopg.dialect()
    out = {}
    for name, steps in built.items():
        out[name] = []
        for q in steps if isinstance(steps, list) else [steps]:
            compiled = q.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
            out[name].append((str(compiled), dict(compiled.params)))
    return out


def timed(conn: psycopg.Connection, steps: list) -> float:
    """One run as the service sends it (every statement), in ms."""
    started = time.perf_counter()
    for sql, params in steps:
        conn.execute(sql, params).fetchall()
    return (time.perf_counter() - started) * 1000


def explain(conn: psycopg.Connection, options: str, sql: str, params: dict) -> str:
    """EXPLAIN of the plan the service gets: the statement prepared and run 6 times first (as
    psycopg prepares after 5), so PostgreSQL's plan cache has chosen generic or custom; its
    planning time is then what each run pays."""
    names = list(params)
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
    args = ", ".join(psycopg.sql.Literal(params[k]).as_string(conn) for k in names)
    execute = f"EXECUTE bench_q({args})" if names else "EXECUTE bench_q"
    conn.execute("PREPARE bench_q AS " + numbered)
    for _ in range(6):
        conn.execute(execute).fetchall()
    text = "\n".join(r[0] for r in conn.execute(f"EXPLAIN ({options}) {execute}"))
    conn.execute("DEALLOCATE bench_q")
    return text


def plan_summary(text: str) -> dict:
    scans = re.findall(
        r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)? (?:using (\S+) )?on (\S+)",
        text,
    )
    return {
        "partitions_in_plan": len({t for _, _, t in scans}),
        "index_scans": sum(1 for kind, _, _ in scans if "Index" in kind),
        "seq_scans": sum(1 for kind, _, _ in scans if kind == "Seq Scan"),
        "subplans_removed": sum(int(x) for x in re.findall(r"Subplans Removed: (\d+)", text)),
        "indexes": sorted({re.sub(r"^audit_event_\w+?_(\d{2}_)?", "", i) for _, i, _ in scans if i}),
    }


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="muli-audit-growth-"))
    dbs = {"small": Database("postgresql", "muli_audit_growth_small", workdir),
           "large": Database("postgresql", "muli_audit_growth_large", workdir)}  # fmt: skip
    results: dict = {
        "started": f"{NOW:%Y-%m-%d %H:%M}",
        "loadavg_start": os.getloadavg()[0],
        "repeat": REPEAT,
    }
    conns: dict[str, psycopg.Connection] = {}
    try:
        for size, db in dbs.items():
            db._drop()
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db.name}"')
            run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads"], db.env())
            conns[size] = psycopg.connect(db.url.replace("+psycopg", ""))
            n = SMALL if size == "small" else LARGE
            log(f"filling {size}: {n:,} audit events over {MONTHS} months")
            results[f"fill_seconds_{size}"] = fill(conns[size], n)
            results[f"rows_{size}"] = n
            results[f"partitions_{size}"] = (
                conns[size]
                .execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_event'::regclass")
                .fetchone()[0]
            )
        qs = {size: queries(results[f"rows_{size}"]) for size in dbs}
        results["queries"] = []
        # Round robin: each round runs every query once on each database, so a burst of load
        # from elsewhere on the machine falls on all queries and both sizes alike.
        every: dict[str, dict[str, list[float]]] = {name: {"small": [], "large": []} for name in qs["small"]}
        for name in qs["small"]:
            for size in dbs:
                # The service runs the whole table's statement only when the recent window
                # held no full page (a page and one more): check each case sends what it would.
                steps = qs[size][name]
                if "recent window" in name or name.startswith(PAGE_FULL):
                    held = len(conns[size].execute(*steps[0]).fetchall())
                    assert (held > 20) == (len(steps) == 1), (name, size, held)
                for _ in range(10):  # warm up (and let psycopg prepare the statement)
                    timed(conns[size], qs[size][name])
        for _ in range(REPEAT):
            for name in qs["small"]:
                for size in dbs:
                    every[name][size].append(timed(conns[size], qs[size][name]))
        for name in qs["small"]:
            times = every[name]
            # (Of the last statement: the whole table's, where the window held no full page.)
            plan = explain(conns["large"], "ANALYZE, COSTS OFF, TIMING OFF", *qs["large"][name][-1])
            row = {"query": name, "plan_large": plan, "plan": plan_summary(plan)}
            # Where the server's time goes: planning and execution, median of 11 EXPLAIN ANALYZE.
            for size in dbs:
                split = {"planning": [], "execution": [], "buffers": []}
                for _ in range(11):  # (summed over the statements of a run)
                    texts = [
                        explain(conns[size], "ANALYZE, BUFFERS, COSTS OFF", *step) for step in qs[size][name]
                    ]
                    for key, pattern in (
                        ("planning", r"Planning Time: ([\d.]+)"),
                        ("execution", r"Execution Time: ([\d.]+)"),
                    ):
                        split[key].append(sum(float(re.search(pattern, t).group(1)) for t in texts))
                    buffers = 0
                    for t in texts:
                        hits = re.findall(
                            r"Buffers: shared hit=(\d+)(?: read=(\d+))?", t.split("Planning")[0]
                        )
                        buffers += int(hits[0][0]) + int(hits[0][1] or 0) if hits else 0
                    split["buffers"].append(buffers)
                row[f"server_{size}"] = {k: statistics.median(v) for k, v in split.items()}
            for size in dbs:
                ts = sorted(times[size])
                row[size] = {"p50": statistics.median(ts), "p99": ts[int(0.99 * (len(ts) - 1))]}
            row["ratio"] = row["large"]["p50"] / row["small"]["p50"]
            results["queries"].append(row)
            small, large = row["small"]["p50"], row["large"]["p50"]
            log(f"{name}: p50 {small:.2f} -> {large:.2f} ms, ratio {row['ratio']:.2f}")
        results["table_size_large"] = (
            conns["large"]
            .execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                "WHERE inhparent = 'audit_event'::regclass"
            )
            .fetchone()[0]
        )
    finally:
        for conn in conns.values():
            conn.close()
        results["loadavg_end"] = os.getloadavg()[0]
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "audit_growth.json").write_text(json.dumps(results, indent=2, default=str))
        if os.environ.get("BENCH_KEEP") != "1":
            for db in dbs.values():
                db._drop()
    (OUT / "audit_growth.md").write_text(table(results))
    print(table(results))
    return 0


def server(split: dict) -> str:
    return f"{split['planning']:.2f} + {split['execution']:.2f} ({split['buffers']:.0f})"


def table(results: dict) -> str:
    lines = [
        f"Run {results['started']} (UTC), `benchmarks/audit_growth.py`: {results['rows_small']:,} and "
        f"{results['rows_large']:,} audit events over {MONTHS} months "
        f"({results['partitions_large']} partitions), filled in {results['fill_seconds_small']:.0f} + "
        f"{results['fill_seconds_large']:.0f} s; large table {results.get('table_size_large')}; each query "
        f"{results['repeat']} times, round robin over queries and sizes, one at a time. Load average "
        f"{results['loadavg_start']:.1f} at start, {results['loadavg_end']:.1f} at end.",
        "",
        "| query | p50 / p99 ms, 10^3 | p50 / p99 ms, 10^7 | p50 ratio (≤ 1.3) "
        "| server plan + execute ms (buffers), 10^3 → 10^7 "
        "| plan on 10^7: partitions, index scans, seq scans, pruned | met |",
        "| --- | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for q in results["queries"]:
        p = q["plan"]
        lines.append(
            f"| {q['query']} | {q['small']['p50']:.2f} / {q['small']['p99']:.2f} | "
            f"{q['large']['p50']:.2f} / {q['large']['p99']:.2f} | {q['ratio']:.2f} | "
            f"{server(q['server_small'])} → {server(q['server_large'])} | "
            f"{p['partitions_in_plan']}, {p['index_scans']}, {p['seq_scans']}, {p['subplans_removed']} "
            f"({', '.join(p['indexes'])}) | {'yes' if q['ratio'] <= 1.3 else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
