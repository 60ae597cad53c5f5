#!/usr/bin/env bash
# `make run`, once the demo is set up: the Procfile's web app, worker and mail sink under
# honcho, all three stopped together by one Ctrl-C (honcho sends each SIGTERM, SIGKILL after
# 5 s). The app and the worker send to the sink; the sink keeps mails in instance/mail/.
#   MULI_DEMO_PORT       the web app's port (default 5000)
#   MULI_DEMO_SMTP_PORT  the mail sink's port (default 8025)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${MULI_DEMO_PORT:-5000}"
export MULI_SMTP_URL="smtp://127.0.0.1:${MULI_DEMO_SMTP_PORT:-8025}"
export MULI_PUBLIC_URL="${MULI_PUBLIC_URL:-http://127.0.0.1:$port}"
export PATH="$PWD/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1  # the worker's lines reach the console as they happen, not at exit
echo "Serving MULI on http://127.0.0.1:$port (portal /portal/, patient app /app/, API docs /api/docs)"
echo "with the worker (every 5 s) and a mail sink on $MULI_SMTP_URL: mails in ${MULI_INSTANCE_DIR:-instance}/mail/. Ctrl-C stops all three."
exec honcho start --port "$port"
