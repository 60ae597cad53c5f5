#!/usr/bin/env bash
# Node packages the tests drive for real, from tests/node/package-lock.json:
#   web-push-testing   a Web Push service (subscribe, receive, VAPID check, decrypt, expire)
#   oidc-provider      an OpenID Provider (the local ID-porten and HelseID)
#   axe-core           the accessibility checks of the browser tests
#   lighthouse         benchmarks/lighthouse.py
# package.json's overrides pin two packages that a Lighthouse dependency asks for as "latest":
# a tag moves, and `npm ci` refuses a lock file that "latest" has moved past.
# Installed when missing or when the lock file changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node 20 (Debian: nodejs npm) for the Web Push tests" >&2
  exit 1
fi
stamp=tests/node/node_modules/.muli-lock
if [ ! -f "$stamp" ] || ! cmp -s tests/node/package-lock.json "$stamp"; then
  echo "installing tests/node (npm ci)..."
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error >/dev/null
  cp tests/node/package-lock.json "$stamp"
fi
