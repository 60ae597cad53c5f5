#!/usr/bin/env bash
# Debian packages the tests drive for real: installed here when missing, never by hand.
#   chromium    the browser tests (Playwright with Debian's chromium)
#   postgresql  the PostgreSQL suite (scripts/ensure-postgres.sh installs it when it starts one)
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the tests..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
