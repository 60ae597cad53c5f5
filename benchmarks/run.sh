#!/usr/bin/env bash
# `make bench`: the MULI benchmarks (see benchmarks/README.md). Not part of `make test`.
# BENCH_QUICK=1 skips the 10^6-row growth run and shortens each phase.
# BENCH_ONLY=starvation runs only the starvation benchmark (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
# BENCH_ONLY=starvation: only the starvation benchmark (benchmarks/starvation.py, a few
# minutes; no wrk, no PostgreSQL): contact-request latency while slow clients hold connections.
if [ "${BENCH_ONLY:-}" = "starvation" ]; then
  exec .venv/bin/python benchmarks/starvation.py "$@"
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >&2
fi
exec .venv/bin/python benchmarks/run.py "$@"
