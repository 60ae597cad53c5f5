#!/usr/bin/env bash
# Stop the throwaway test cluster started by ensure-postgres.sh.
set -euo pipefail
PORT="${MULI_PG_PORT:-54329}"
DIR="${MULI_PG_DIR:-/tmp/muli-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null
