#!/usr/bin/env bash
# `make bench`: the MULI benchmarks (see benchmarks/README.md). Not part of `make test`.
# BENCH_QUICK=1 skips the 10^6-row growth run and shortens each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >&2
fi
exec .venv/bin/python benchmarks/run.py "$@"
