"""The demo's mail sink (the Procfile's `mail:` line, started by `make run`).

An SMTP server (aiosmtpd) on the address MULI_SMTP_URL names, the same URL the app and
the worker send to. Every mail it receives is kept as an .eml file in
$MULI_INSTANCE_DIR/mail/ (instance/mail/ by default) and shown on the console: who it is
for, its subject and its text (MULI's emails carry a link, never health data). Nothing is
relayed anywhere. Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "smtp://127.0.0.1:8025"


class Keep:
    """aiosmtpd handler: write each message to `folder` and print a summary."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.count += 1
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{self.count:05d}.eml"
        path = self.folder / name
        path.write_bytes(envelope.content)
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content().strip() if body is not None else ""
        lines = [f"mail to {', '.join(envelope.rcpt_tos)}: {message['Subject']}  ({path})"]
        lines += [f"    {line}" for line in text.splitlines()[:20]]
        print("\n".join(lines), flush=True)
        return "250 OK"


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "smtp" or not parts.hostname:
        raise SystemExit(f"mail sink: MULI_SMTP_URL must be smtp://host:port for the demo sink, not {url!r}")
    return parts.hostname, parts.port or 25


def main() -> None:
    host, port = address(os.environ.get("MULI_SMTP_URL") or DEFAULT_URL)
    folder = Path(os.environ.get("MULI_INSTANCE_DIR") or ROOT / "instance") / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    controller = Controller(Keep(folder), hostname=host, port=port)
    controller.start()
    print(f"mail sink: smtp://{host}:{port}, mails kept in {folder}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
    print("mail sink stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
