"""Real processes for the reliability tests: a gunicorn server, `flask muli` commands, an SMTP sink."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

from muli.config import TestingConfig
from tests.conftest import TEST_AUDIT_KEYS, TEST_AUDIT_SIGNING_KEYS, TEST_DATA_KEYS, TEST_INDEX_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class Stats:
    """Counters shared by the client threads of a run (attempts, statuses, kills...)."""

    def __init__(self):
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def __getitem__(self, name: str) -> int:
        return self.counts[name]


CONTACT_REQUEST = {
    "kind": "call_me",
    "urgency": "crisis",
    "message": "får ikke sove",
    "callback_phone": "+4791234567",
}


def send_until_answered(url: str, patient, key: str, stats: Stats, stop: threading.Event) -> str | None:
    """The phone's outbox: the same key and body again until the service answers 201
    (a refused connection, a 502 from a proxy whose instance died, a 409 while the first
    attempt runs, a 503 busy: all are tried again). Answers the request's id, or None if
    `stop` came first (counted as lost by the caller)."""
    headers = {**patient.headers, "Idempotency-Key": key}
    while not stop.is_set():
        stats.add("attempts")
        try:
            response = requests.post(
                url + "/api/v1/me/contact-requests", json=CONTACT_REQUEST, headers=headers, timeout=20
            )
        except requests.RequestException as error:
            stats.add("connection_errors")
            stats.add(type(error).__name__)
            time.sleep(random.uniform(0.02, 0.15))
            continue
        stats.add(f"status_{response.status_code}")
        if response.status_code == 201:
            stats.add("answered")
            if response.headers.get("Idempotent-Replayed") == "true":
                stats.add("replayed")
            return response.json()["id"]
        time.sleep(random.uniform(0.02, 0.15))
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(app, tmp_path, **extra) -> dict:
    """The app's settings as the environment a separate process reads them from."""
    env = dict(os.environ)
    env.update(
        MULI_ENV="testing",
        MULI_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        MULI_DATA_KEYS=TEST_DATA_KEYS,
        MULI_BLIND_INDEX_KEY=TEST_INDEX_KEY,
        MULI_AUDIT_KEYS=TEST_AUDIT_KEYS,
        MULI_AUDIT_SIGNING_KEYS=TEST_AUDIT_SIGNING_KEYS,
        MULI_INSTANCE_DIR=str(tmp_path),
        MULI_JWT_SECRET=TestingConfig.JWT_SECRET_KEY,
        MULI_SECRET_KEY=TestingConfig.SECRET_KEY,
        MULI_LOG_LEVEL="WARNING",
        MULI_PUBLIC_URL="https://muli.invalid",
    )
    env.update(extra)
    return env


class Server:
    """gunicorn on 127.0.0.1 in its own process group, so SIGKILL takes master and workers at once."""

    def __init__(self, env: dict, log: Path, workers: int = 2, threads: int = 4):
        self.env, self.log_path, self.workers, self.threads = env, log, workers, threads
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                    "--timeout",
                    "30",
                    "--preload",  # import once in the master: a restart after a kill is quicker
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"gunicorn did not come up; see {self.log_path}")

    def kill_workers(self) -> int:
        """SIGKILL the worker processes only (mid-request); the master forks new ones at once."""
        if self.proc is None:
            return 0
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        return len(children)

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, no finished transactions."""
        kill_group(self.proc)
        self.proc = None


# What a separate process sees of the escalation work: printed when a reliability test fails,
# so "the worker found nothing" shows whether it looked at another database, another time,
# or rows it cannot see.
_VIEW = r"""
import os, sys
from sqlalchemy import func, select, text
from muli.app import create_app
from muli.extensions import db
from muli.models.base import utcnow
from muli.models.contact import ContactRequest
from muli.models.on_call import OnCallShift

app = create_app()
now = utcnow()
with app.app_context():
    print("pid", os.getpid(), "now", now.isoformat(), "url", app.config["SQLALCHEMY_DATABASE_URI"])
    print("MULI_* env", sorted(k for k in os.environ if k.startswith("MULI_")), "TZ", os.environ.get("TZ"))
    by_state = select(ContactRequest.state, func.count()).group_by(ContactRequest.state)
    print("requests by state", dict(db.session.execute(by_state).all()))
    due = db.session.scalar(
        select(func.count()).select_from(ContactRequest).where(
            ContactRequest.state == "open", ContactRequest.escalate_at <= now
        )
    )
    print("open and due now", due)
    raw = "SELECT state, escalation_level, escalate_at, {t} FROM contact_request ORDER BY escalate_at LIMIT 5"
    t = "typeof(escalate_at)" if db.engine.dialect.name == "sqlite" else "pg_typeof(escalate_at)"
    for row in db.session.execute(text(raw.format(t=t))):
        print("  row", tuple(row))
    for shift in db.session.scalars(select(OnCallShift)):
        print("  shift", shift.level, shift.starts_at.isoformat(), shift.ends_at.isoformat())
    if db.engine.dialect.name == "sqlite":
        print("journal", db.session.execute(text("PRAGMA journal_mode")).scalar())
    else:
        # The worker reads FOR UPDATE SKIP LOCKED: rows another transaction holds are skipped
        # without a word. Count what this process could lock, and who else is connected.
        lockable = db.session.execute(
            text("SELECT id FROM contact_request WHERE state = 'open' FOR UPDATE SKIP LOCKED")
        ).all()
        print("open and lockable (not held by another transaction)", len(lockable))
        others = text(
            "SELECT pid, state, now() - xact_start, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for row in db.session.execute(others):
            print("  other connection", tuple(row))
    db.session.rollback()
"""


def subprocess_view(env: dict, timeout: float = 60) -> str:
    """Run a small script with `env` that prints the open requests, their due times, its own
    now, its database URL and the on-call shifts: a failed test's answer to "why nothing?"."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _VIEW],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
        return done.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as exc:
        return f"the view timed out after {timeout} s (a held database lock?): {exc.output!r}"


def test_process_view(app) -> str:
    """The same questions asked in the test process, for comparison with subprocess_view."""
    from sqlalchemy import func, select

    from muli.extensions import db
    from muli.models.base import utcnow
    from muli.models.contact import ContactRequest

    now = utcnow()
    with app.app_context():
        by_state = select(ContactRequest.state, func.count()).group_by(ContactRequest.state)
        states = dict(db.session.execute(by_state).all())
        due = db.session.scalar(
            select(func.count())
            .select_from(ContactRequest)
            .where(ContactRequest.state == "open", ContactRequest.escalate_at <= now)
        )
        clock = app.extensions["muli.clock"]
        db.session.remove()
    return (
        f"test process {os.getpid()}: now {now.isoformat()}, url {app.config['SQLALCHEMY_DATABASE_URI']}, "
        f"requests by state {states}, open and due now {due}, app clock {clock!r}"
    )


def explain(app, env: dict, output: str) -> str:
    """A failed assertion's message: the process's own output, and both views of the database.
    Never raises: a view that fails (a locked database, say) is itself the answer."""
    try:
        here = test_process_view(app)
    except Exception as error:  # a diagnostic must not hide the failure it explains
        here = f"test process {os.getpid()}: the view failed: {error!r}"
    return f"{output}\n--- {here}\n--- a fresh process with the same environment:\n" + subprocess_view(env)


def kill_group(proc: subprocess.Popen | None) -> None:
    """SIGKILL a process started with start_new_session=True, and everything it started."""
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def run_cli(env: dict, *args: str, timeout: float = 120) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "muli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class Sink:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
