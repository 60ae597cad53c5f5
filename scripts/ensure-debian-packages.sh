#!/usr/bin/env bash
# Debian packages the tests drive for real: installed here when missing, never by hand.
#   chromium      the browser tests (Playwright with Debian's chromium)
#   postgresql    the PostgreSQL suite (scripts/ensure-postgres.sh installs it when it starts one)
#   nginx         the multi-host run (tests/reliability/test_multi_host.py): nginx in front of two app instances
#   redis-server  the same run: the rate-limit storage the app instances share
#   fonts-dejavu-core  the crisis plan PDF's font (muli/patient/pdf.py): every Norwegian and
#                      Sámi letter; production needs it too
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the tests..."
  # A fresh machine has no package lists yet: without them apt-get install finds nothing.
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
