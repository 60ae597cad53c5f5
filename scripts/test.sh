#!/usr/bin/env bash
# The whole suite: lint, the import rule, then every test on SQLite and on PostgreSQL.
# Starts (and afterwards stops) a local PostgreSQL unless MULI_TEST_PG_URL is given, and
# installs Debian's chromium for the browser tests if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PORT="${MULI_PG_PORT:-54329}"

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"  # muli/, as set in pyproject.toml

./scripts/ensure-debian-packages.sh
./scripts/ensure-node-packages.sh

started=""
if [ -z "${MULI_TEST_PG_URL:-}" ]; then
  state="$(./scripts/ensure-postgres.sh)"
  [ "$state" = "started" ] && started=1
  export MULI_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
fi
cleanup() { if [ -n "$started" ]; then ./scripts/stop-postgres.sh || true; fi; }
trap cleanup EXIT

# The reliability suite (real servers, SIGKILL, worker processes) runs in a pytest process
# of its own: after the rest of the suite in the same process its escalation subprocesses
# were seen to find nothing to do (3 of 4 runs on 2026-11-22, before these tests shared one
# xdist worker; not reproduced since in 6 runs). On a failure they now print what a fresh
# process sees (tests/reliability/live.py). -rP prints each run's figures (lost, duplicated...).
for db in sqlite postgresql; do
  echo "== $db"
  MULI_TEST_DB=$db "$VENV/bin/pytest" -n 2 --dist loadgroup --ignore=tests/reliability "$@"
  echo "== $db: reliability"
  MULI_TEST_DB=$db "$VENV/bin/pytest" -n 2 --dist loadgroup -rP tests/reliability "$@"
done
