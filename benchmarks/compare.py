"""Before and after from two runs of `benchmarks/run.py` (issue 19): CPU ms per request of
each endpoint, its ratio to the issue's own figures and to the "before" run (the issue's figures
were taken on another machine; a "before" run on the same machine, the same hour, is the like-for-like
reading), each side's requests per second ÷ the ceiling's, and rotate-keys.

    .venv/bin/python benchmarks/compare.py BEFORE.json AFTER.json

BEFORE and AFTER are `latest.json` files written by the same run.py, one on the older tree
and one on this one, run back to back (see benchmarks/README.md, "Issue 19: before and
after"). CPU = process CPU of gunicorn's master and workers ÷ requests served.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The issue's own figures (CPU ms per request, SQLite / PostgreSQL), measured 2026-11 with
# `BENCH_QUICK=1 make bench` before any of its work.
ORIGINAL = {
    ("sqlite", "crisis_plan"): 6.8,
    ("postgresql", "crisis_plan"): 8.1,
    ("sqlite", "queue"): 14.8,
    ("postgresql", "queue"): 13.9,
    ("sqlite", "diary"): 7.9,
    ("postgresql", "diary"): 8.3,
    ("sqlite", "contact"): 15.7,
    ("postgresql", "contact"): 16.3,
}
TARGET = 1 / 3


def _rows(run: dict) -> dict:
    return {(r["db"], r["key"]): r for r in run["throughput"]}


def _cpu(row: dict | None, side: str = "muli") -> float | None:
    return None if row is None else row[side]["cpu_ms_per_request"]


def _ratio(row: dict | None) -> float | None:
    """MULI's requests per second ÷ the ceiling's, in the same run (the throughput ratio)."""
    return None if row is None else row["muli"]["rps"] / row["ceiling"]["rps"]


def _fmt(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def table(before: dict, after: dict) -> str:
    b, a = _rows(before), _rows(after)
    out = [
        f"Before: {before['started']} → {before['finished']} UTC, load {before['loadavg_start']:.1f} → "
        f"{before['loadavg_end']:.1f}. After: {after['started']} → {after['finished']} UTC, load "
        f"{after['loadavg_start']:.1f} → {after['loadavg_end']:.1f}. "
        f"{after['rounds']} rounds of {after['duration']} s per side.",
        "",
        "| db | endpoint | CPU ms/request original / before → after | after ÷ original (target ≤ 0.33) "
        "| after ÷ before (≤ 0.33) | ceiling CPU ms before / after | req/s before → after "
        "| ratio to ceiling before → after | non-2xx + errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, row in a.items():
        old = b.get(key)
        cpu, was, orig = _cpu(row), _cpu(old), ORIGINAL.get(key)
        vs_orig = "—" if orig is None else f"{cpu / orig:.2f}" + (" ✓" if cpu / orig <= TARGET else "")
        vs_before = "—" if was is None else f"{cpu / was:.2f}" + (" ✓" if cpu / was <= TARGET else "")
        out.append(
            f"| {key[0]} | {row['label']} | {_fmt(orig)} / {_fmt(was)} → **{cpu:.1f}** "
            f"| {vs_orig} | {vs_before} "
            f"| {_fmt(_cpu(old, 'ceiling'), 2)} / {_fmt(_cpu(row, 'ceiling'), 2)} "
            f"| {_fmt(old and old['muli']['rps'], 0)} → {row['muli']['rps']:.0f} "
            f"| {_fmt(_ratio(old), 2)} → {_ratio(row):.2f} "
            f"| {(old['muli']['bad'] if old else '—')} / {row['muli']['bad']} |"
        )
    rb = {r["db"]: r for r in before.get("rotation", [])}
    out += [
        "",
        "| db | fields before / after | rotate-keys s before → after | raw AES-GCM s before / after "
        "| ratio before → after (target ≥ 0.25) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in after.get("rotation", []):
        o = rb.get(r["db"], {})
        out.append(
            f"| {r['db']} | {o.get('fields', '—')} / {r['fields']} | {_fmt(o.get('rotate_seconds'), 2)} → "
            f"{r['rotate_seconds']:.2f} | {_fmt(o.get('raw_seconds'), 3)} / {r['raw_seconds']:.3f} "
            f"| {_fmt(o.get('ratio'), 3)} → **{r['ratio']:.3f}** |"
        )
    mem = [f"{m['db']} {max(m['worker_rss_mb']):.0f} MB ({m['phase']})" for m in after.get("memory", [])]
    out += ["", "Largest worker RSS after: " + "; ".join(mem) + " (target ≤ 150)."]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = (json.loads(Path(p).read_text()) for p in argv[1:])
    print(table(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
