#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:$MULI_PG_PORT for the tests.
# Installs Debian's postgresql if missing and starts a throwaway cluster as the postgres
# user (the server refuses to run as root). Prints "started" if this call started it.
set -euo pipefail
PORT="${MULI_PG_PORT:-54329}"
DIR="${MULI_PG_DIR:-/tmp/muli-pg-$PORT}"

if pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  echo "running"; exit 0
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql (Debian package)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
  as_pg "$BIN/initdb" -D "$DIR" -A trust -U postgres -E UTF8 >/dev/null
fi
as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >&2
echo "started"
