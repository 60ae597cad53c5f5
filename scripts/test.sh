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

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian package) for the browser tests..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi

started=""
if [ -z "${MULI_TEST_PG_URL:-}" ]; then
  state="$(./scripts/ensure-postgres.sh)"
  [ "$state" = "started" ] && started=1
  export MULI_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
fi
cleanup() { if [ -n "$started" ]; then ./scripts/stop-postgres.sh || true; fi; }
trap cleanup EXIT

echo "== SQLite"
MULI_TEST_DB=sqlite "$VENV/bin/pytest" -n 2 --dist loadgroup "$@"
echo "== PostgreSQL"
MULI_TEST_DB=postgresql "$VENV/bin/pytest" -n 2 --dist loadgroup "$@"
