#!/usr/bin/env bash
# Debian packages the tests drive for real: installed here when missing, never by hand.
#   chromium      the browser tests (Playwright with Debian's chromium)
#   postgresql    the PostgreSQL suite (scripts/ensure-postgres.sh installs it when it starts one)
#   nginx         the multi-host run (tests/reliability/test_multi_host.py): nginx in front of two app instances
#   redis-server  the same run: the rate-limit storage the app instances share
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the tests..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
