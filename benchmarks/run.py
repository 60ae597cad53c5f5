"""MULI benchmarks: the real service under gunicorn against a bare-Flask ceiling, on SQLite
and PostgreSQL, measured with wrk. See benchmarks/README.md for what each figure means.

    make bench                       # everything (growth to 10^6 rows included)
    BENCH_QUICK=1 make bench         # skip the 10^6 growth run (and shorten the phases)

Settings (environment): BENCH_DBS=sqlite,postgresql  BENCH_DURATION=8 (s per wrk run)
BENCH_ROUNDS=2 (alternations of service and ceiling)  BENCH_WORKERS=2  BENCH_THREADS=4
BENCH_CONNECTIONS=8  BENCH_GROWTH_ROWS=1000000  BENCH_ROTATE_FIELDS=100000
BENCH_PHASES=growth,throughput,rotate  BENCH_OUT=benchmarks/results
BENCH_UPDATE_README=1 (default on full runs: rewrites the table in benchmarks/README.md)
BENCH_PROFILE=1 (py-spy one worker per endpoint; BENCH_PROFILE_IDLE=0 for on-CPU samples only)
BENCH_KEEP=1 (keep the work directory). BENCH_ENDPOINTS=crisis_plan,diary (only these).
BENCH_BALANCE_TRIES=5 (tries for a throughput round one worker carried; see measure_spread).

Every server this starts listens on 127.0.0.1 on a free port, in its own process group,
and is stopped in `finally`, at exit and on SIGTERM/SIGINT: no gunicorn is left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = ROOT / ".venv" / "bin"
LUA = HERE / "wrk" / "request.lua"

QUICK = os.environ.get("BENCH_QUICK") == "1"
DBS = [d for d in os.environ.get("BENCH_DBS", "sqlite,postgresql").split(",") if d]
DURATION = int(os.environ.get("BENCH_DURATION", "5" if QUICK else "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if QUICK else "2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
GROWTH_ROWS = int(os.environ.get("BENCH_GROWTH_ROWS", "1000000"))
SMALL_ROWS = 1000
GROWTH = not QUICK and os.environ.get("BENCH_GROWTH", "1") == "1"
ROTATE_FIELDS = int(os.environ.get("BENCH_ROTATE_FIELDS", "100000"))
OUT = Path(os.environ.get("BENCH_OUT", HERE / "results"))
UPDATE_README = os.environ.get("BENCH_UPDATE_README", "0" if QUICK else "1") == "1"
PG_PORT = int(os.environ.get("MULI_PG_PORT", "54329"))
PG_ADMIN = f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres"
OPEN_REQUESTS = 200
PHASES = os.environ.get("BENCH_PHASES", "growth,throughput,rotate").split(",")
# BENCH_PROFILE=1: py-spy records one service worker during the first round of each endpoint
# (collapsed stacks, idle threads included, in BENCH_OUT/profile-<db>-<endpoint>.txt).
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
# BENCH_ENDPOINTS=crisis_plan,diary: only these endpoints in the throughput phase (keys of ENDPOINTS).
ONLY = {k for k in os.environ.get("BENCH_ENDPOINTS", "").split(",") if k}
# BENCH_PROFILE_IDLE=0: only threads on the CPU (where the CPU per request goes, not the wall time).
PROFILE_IDLE = os.environ.get("BENCH_PROFILE_IDLE", "1") == "1"
# BENCH_WORKER=1: `muli worker --interval 1 --no-relay` runs beside the service during the
# throughput phase, as in production (escalation passes; since issue 19 it also seals the
# audit events the requests appended), so its database work is in the figures.
WORKER = os.environ.get("BENCH_WORKER") == "1"

DIARY_BODY = json.dumps(
    {
        "text": "Sov dårlig i natt, men gikk en tur langs fjorden og ringte søsteren min. "
        "Kjente uro på ettermiddagen; skrev ned tre ting som gikk bra.",
        "mood": 5,
        "sleep_hours": 6.5,
        "tags": ["søvn", "tur"],
    },
    ensure_ascii=False,
)
CONTACT_BODY = json.dumps(
    {
        "kind": "call_me",
        "urgency": "talk",
        "message": "Jeg vil gjerne snakke med noen i kveld.",
        "callback_phone": "+4791234567",
    },
    ensure_ascii=False,
)

# endpoint key -> (label, method, path, body, idempotency, ratio target, p99 factor target)
# Keys ending in "_304" are conditional GETs: If-None-Match carries the ETag the service
# answered just before, so every request should be a 304 (the app's plan sync when nothing
# changed); the ceiling then only checks the token and answers 304.
ENDPOINTS = {
    "crisis_plan": ("GET /api/v1/me/crisis-plan", "GET", "/api/v1/me/crisis-plan", None, False, 0.5, 3.0),
    "crisis_plan_304": (
        "GET /api/v1/me/crisis-plan, If-None-Match (304)",
        "GET",
        "/api/v1/me/crisis-plan",
        None,
        False,
        None,
        None,
    ),
    "queue": (
        f"GET /api/v1/staff/contact-requests ({OPEN_REQUESTS} open)",
        "GET",
        "/api/v1/staff/contact-requests",
        None,
        False,
        0.3,
        None,
    ),
    "queue_304": (
        f"GET /api/v1/staff/contact-requests ({OPEN_REQUESTS} open), If-None-Match (304)",
        "GET",
        "/api/v1/staff/contact-requests",
        None,
        False,
        None,
        None,
    ),
    "diary": ("POST /api/v1/me/diary", "POST", "/api/v1/me/diary", DIARY_BODY, False, 0.35, None),
    "contact": (
        "POST /api/v1/me/contact-requests",
        "POST",
        "/api/v1/me/contact-requests",
        CONTACT_BODY,
        True,
        0.3,
        None,
    ),
}


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


# --- processes --------------------------------------------------------------------------

_SERVERS: list[Server] = []


def _stop_all() -> None:
    for server in list(_SERVERS):
        server.stop()


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


atexit.register(_stop_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (None: it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (ticks)


@dataclass
class Server:
    """gunicorn on 127.0.0.1 with a fixed number of workers, in its own process group."""

    name: str
    app: str
    env: dict
    log_path: Path
    chdir: Path = ROOT
    port: int = 0
    proc: subprocess.Popen | None = None
    last_headers: dict = field(default_factory=dict)

    def start(self) -> Server:
        self.port = free_port()
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--worker-class",
            "gthread",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--chdir",
            str(self.chdir),
            self.app,
        ]
        logf = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own gunicorn from .venv
            cmd, env=self.env, stdout=logf, stderr=logf, start_new_session=True, cwd=self.chdir
        )
        logf.close()
        _SERVERS.append(self)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if len(self.worker_pids()) == WORKERS:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.name} did not start; see {self.log_path}")
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Workers are in the same group; make sure none outlived the master.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
        if self in _SERVERS:
            _SERVERS.remove(self)

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (not the database server's)."""
        pids = [self.proc.pid, *self.worker_pids()] if self.proc else []
        return sum(cpu for cpu in map(_process_cpu, pids) if cpu is not None)

    def worker_cpu(self) -> dict[int, float]:
        """Each worker's user + system CPU seconds so far."""
        return {pid: cpu for pid in self.worker_pids() if (cpu := _process_cpu(pid)) is not None}

    def worker_rss_mb(self) -> list[float]:
        out = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return out

    # HTTP helper for set-up requests (not for measuring).
    def call(self, method: str, path: str, body=None, token: str | None = None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else body
            data = data.encode() if isinstance(data, str) else data
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        self.last_headers = dict(resp.getheaders())
        conn.close()
        return resp.status, raw

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def run(cmd: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, **kw)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


# --- the service's environment ----------------------------------------------------------


def new_key() -> str:
    from muli.platform.crypto import new_key as make

    return make()


@functools.cache
def audit_keys() -> tuple[str, str]:
    """The audit chain's keys (HMAC, signing), the same for every database of the run."""
    from muli.trust.audit import new_signing_key

    return f"bench1:{new_key()}", f"bench1:{new_signing_key()}"


@dataclass
class Database:
    """One database kind. `prepare()` makes a template (migrated, seeded, logged in, with the
    open contact requests); every phase then works on a fresh clone of it."""

    kind: str  # sqlite | postgresql
    name: str
    workdir: Path
    keys: str = field(default_factory=lambda: f"bench1:{new_key()}")
    index_key: str = field(default_factory=new_key)
    jwt_secret: str = field(default_factory=lambda: new_key() + new_key())
    template: Database | None = None
    logins: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/{self.name}"

    @property
    def path(self) -> Path:
        return self.workdir / f"{self.kind}-{self.name}.sqlite3"

    def env(self, data_keys: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
        instance = self.workdir / f"instance-{self.kind}-{self.name}"
        instance.mkdir(parents=True, exist_ok=True)
        env.update(
            MULI_ENV="production",
            MULI_ALLOW_SQLITE="1",
            MULI_DATABASE_URL=self.url,
            MULI_INSTANCE_DIR=str(instance),
            MULI_DATA_KEYS=data_keys or self.keys,
            MULI_BLIND_INDEX_KEY=self.index_key,
            MULI_AUDIT_KEYS=audit_keys()[0],
            MULI_AUDIT_SIGNING_KEYS=audit_keys()[1],
            MULI_JWT_SECRET=self.jwt_secret,
            MULI_SECRET_KEY=self.jwt_secret[::-1],
            PYTHONPATH=str(ROOT),
        )
        return env

    def prepare(self) -> None:
        """Migrate and seed the template, log in, and open the queue's contact requests."""
        started = time.monotonic()
        self._drop()
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        env = self.env()
        run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade", "heads"], env)
        seeded = run([str(VENV_BIN / "flask"), "--app", "wsgi", "muli", "seed-demo", "--json"], env).stdout
        self.logins = json.loads(seeded[seeded.index("{") :])
        service = self.service().start()
        try:
            session = Session(service, self)
            open_requests(service, session, OPEN_REQUESTS)
            self.tokens = {"patient": session.patient, "staff": session.staff}
        finally:
            service.stop()
        log(f"[{self.kind}] template ready in {time.monotonic() - started:.0f} s")

    def clone(self, name: str) -> Database:
        """A fresh copy of this template (same keys, logins and refresh tokens)."""
        db = Database(self.kind, name, self.workdir, self.keys, self.index_key, self.jwt_secret, self)
        db.logins, db.tokens = self.logins, self.tokens
        db._drop()
        if self.kind == "sqlite":
            import sqlite3

            src, dst = sqlite3.connect(self.path), sqlite3.connect(db.path)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db.name}" TEMPLATE "{self.name}"')
        return db

    def _drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def drop(self) -> None:
        with contextlib.suppress(Exception):
            self._drop()

    def engine(self):
        from sqlalchemy import create_engine

        return create_engine(self.url)

    def keyring(self, data_keys: str | None = None):
        from muli.platform.crypto import KeyRing

        return KeyRing.parse(data_keys or self.keys, self.index_key)

    def service(self) -> Server:
        return Server(
            f"muli-{self.kind}-{self.name}",
            "wsgi:app",
            self.env(),
            self.workdir / f"{self.kind}-{self.name}.log",
        )

    def ceiling(self) -> Server:
        return Server(
            f"ceiling-{self.kind}",
            "ceiling:app",
            self.env(),
            self.workdir / f"ceiling-{self.kind}.log",
            chdir=HERE,
        )


class Session:
    """The patient's and a clinician's tokens; refreshed before each phase (access tokens
    live 15 minutes; a clone of the template still holds the template's refresh tokens)."""

    def __init__(self, server: Server, db: Database):
        self.server = server
        self.patient_id = uuid.UUID(db.logins["patients"][0]["id"])
        if db.tokens:
            self.patient, self.staff = db.tokens["patient"], db.tokens["staff"]
            self.refresh()
            return
        import pyotp

        patient = db.logins["patients"][0]
        clinician = next(s for s in db.logins["staff"] if s["username"] == "siv")
        self.patient = self._token(
            {"username": patient["username"], "password": patient["password"]}, "patient"
        )
        self.staff = self._token(
            {
                "username": clinician["username"],
                "password": clinician["password"],
                "totp": pyotp.TOTP(clinician["totp_secret"]).now(),
            },
            "staff",
        )

    def _token(self, body: dict, who: str) -> dict:
        status, raw = self.server.call("POST", "/api/v1/auth/token", body)
        if status != 200:
            raise RuntimeError(f"login as {who} failed: {status} {raw[:300]!r}")
        return json.loads(raw)

    def refresh(self) -> None:
        for attr in ("patient", "staff"):
            pair = getattr(self, attr)
            status, raw = self.server.call("POST", "/api/v1/auth/refresh", token=pair["refresh_token"])
            if status != 200:
                raise RuntimeError(f"refresh failed: {status} {raw[:300]!r}")
            setattr(self, attr, json.loads(raw))

    def token_for(self, key: str) -> str:
        return (self.staff if key.startswith("queue") else self.patient)["access_token"]


def open_requests(server: Server, session: Session, n: int) -> None:
    for _ in range(n):
        status, raw = server.call(
            "POST",
            "/api/v1/me/contact-requests",
            CONTACT_BODY,
            token=session.patient["access_token"],
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if status != 201:
            raise RuntimeError(f"contact request failed: {status} {raw[:300]!r}")


# --- load -------------------------------------------------------------------------------


def wrk(
    url: str,
    token: str,
    method: str,
    body: str | None,
    idem: bool,
    duration: int,
    conns: int,
    etag: str | None = None,
) -> dict:
    env = dict(os.environ)
    env.update(
        BENCH_TOKEN=token,
        BENCH_METHOD=method,
        BENCH_BODY=body or "",
        BENCH_IDEMPOTENCY="1" if idem else "0",
        BENCH_IF_NONE_MATCH=etag or "",
    )
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--timeout", "10s", "-s", str(LUA), url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)  # noqa: S603
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    expected = (lambda code: code == 304) if etag else (lambda code: 200 <= code < 300)
    ok = sum(n for code, n in data["statuses"].items() if expected(int(code)))
    data["bad"] = (
        data["requests"] - ok + sum(data["errors"][k] for k in ("connect", "read", "write", "timeout"))
    )
    data["loadavg"] = os.getloadavg()[0]
    return data


def profile(server: Server, name: str) -> subprocess.Popen:
    OUT.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(VENV_BIN / "py-spy"),
        "record",
        *(["--idle"] if PROFILE_IDLE else []),
        "--nonblocking",
        "--format",
        "raw",
        "-d",
        str(DURATION),
        "-p",
        str(server.worker_pids()[0]),
        "-o",
        str(OUT / f"profile-{name}.txt"),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def summarise(runs: list[dict]) -> dict:
    return {
        "rps": statistics.mean(r["rps"] for r in runs),
        "p50_ms": statistics.mean(r["latency_us"]["p50"] for r in runs) / 1000,
        "p99_ms": statistics.mean(r["latency_us"]["p99"] for r in runs) / 1000,
        "mean_ms": statistics.mean(r["latency_us"]["mean"] for r in runs) / 1000,
        "requests": sum(r["requests"] for r in runs),
        "cpu_ms_per_request": (
            sum(r.get("cpu_s", 0) for r in runs) * 1000 / max(1, sum(r["requests"] for r in runs))
        ),
        "bad": sum(r["bad"] for r in runs),
        "statuses": _merge(r["statuses"] for r in runs),
        "rounds": [
            {
                "rps": round(r["rps"], 1),
                "p50": r["latency_us"]["p50"],
                "p99": r["latency_us"]["p99"],
                "loadavg": r["loadavg"],
                "worker_share": r.get("worker_share"),
            }
            for r in runs
        ],
        "unbalanced": [u for r in runs for u in r.get("unbalanced", ())],
        "stale_tag": [r["stale_tag"] for r in runs if "stale_tag" in r],
    }


def measure(server: Server, *args, **kw) -> dict:
    """wrk against `server`, with the server's CPU seconds spent during the run."""
    before, workers = server.cpu_seconds(), server.worker_cpu()
    result = wrk(*args, **kw)
    result["cpu_s"] = server.cpu_seconds() - before
    # How the work fell between the workers: wrk's few keep-alive connections are accepted by
    # whichever worker wins each accept, so one worker may serve most of them (its GIL then
    # carries the round, and fewer requests are served for more CPU each).
    spent = [cpu - workers.get(pid, 0.0) for pid, cpu in server.worker_cpu().items()]
    result["worker_share"] = round(max(spent) / sum(spent), 2) if sum(spent) > 0 else None
    return result


# A throughput round is measured again (up to BENCH_BALANCE_TRIES=5 times in all) when one
# worker did more than BALANCED of its work: a deployment with 2 workers spreads its clients,
# but wrk's 8 keep-alive connections are accepted all at once by whichever worker wins each
# accept, and now and then one worker takes nearly all of them (busiest share 1.0, about half
# the requests per second, more CPU per request). Spread rounds show 0.50-0.66. The rounds
# measured again are kept in the results ("unbalanced"), and the table says how many.
BALANCED = 0.7
BALANCE_TRIES = int(os.environ.get("BENCH_BALANCE_TRIES", "5"))


def measure_spread(server: Server, *args, **kw) -> dict:
    """`measure`, again while the busiest worker did more than BALANCED of the round's CPU."""
    unbalanced = []
    tries = max(1, BALANCE_TRIES)
    for attempt in range(1, tries + 1):
        result = measure(server, *args, **kw)
        share = result["worker_share"]
        if attempt == tries or WORKERS < 2 or share is None or share <= BALANCED:
            break
        log(f"  {server.name}: one worker did {share} of the round's CPU ({result['rps']:.0f}/s); again")
        unbalanced.append({"rps": round(result["rps"], 1), "worker_share": share})
        time.sleep(1)  # the same worker took them again, 2 or 3 times in a row, when retried at once
    result["unbalanced"] = unbalanced
    return result


def _merge(dicts) -> dict:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def throughput(db: Database, results: dict) -> None:
    """The four endpoints, each alternating service and ceiling ROUNDS times."""
    log(f"[{db.kind}] throughput on {db.name}")
    service, ceiling = db.service().start(), db.ceiling().start()
    worker = None
    if WORKER:
        logf = (db.workdir / f"worker-{db.kind}.log").open("ab")
        worker = subprocess.Popen(  # noqa: S603 - our own flask from .venv
            [str(VENV_BIN / "flask"), "--app", "wsgi", "muli", "worker", "--interval", "1", "--no-relay"],
            env=db.env(),
            stdout=logf,
            stderr=logf,
            start_new_session=True,
            cwd=ROOT,
        )
        logf.close()
    try:
        session = Session(service, db)
        for key, (label, method, path, body, idem, target, p99_target) in ENDPOINTS.items():
            if ONLY and key not in ONLY:
                continue
            session.refresh()
            token = session.token_for(key)
            headers = {"Idempotency-Key": str(uuid.uuid4())} if idem else None
            status, raw = service.call(method, path, body, token=token, headers=headers)
            if status >= 300:
                raise RuntimeError(f"{label}: {status} {raw[:300]!r}")
            size = len(raw)
            ceiling_path = f"/ceiling/{size}"
            etag = None
            if key.endswith("_304"):
                etag = service.last_headers.get("ETag")
                if not etag:  # a tree from before this answer had a validator (a "before" run)
                    log(f"{label}: the answer has no ETag in this tree; not measured")
                    continue
                status, _ = service.call(method, path, token=token, headers={"If-None-Match": etag or ""})
                if not etag or status != 304:
                    raise RuntimeError(f"{label}: ETag {etag!r}, conditional GET answered {status}")
                ceiling_path = "/ceiling/not-modified"
            kw = {"etag": etag}
            # Warm both up (imports, connection pools, caches), then alternate.
            wrk(service.url(path), token, method, body, idem, 2, CONNECTIONS, **kw)
            wrk(ceiling.url(ceiling_path), token, method, body, False, 2, CONNECTIONS, **kw)
            svc_runs, ceil_runs = [], []

            def fresh_tag(method=method, path=path, token=token, kw=kw) -> None:
                service.call(method, path, token=token)
                kw["etag"] = service.last_headers.get("ETag")

            for r in range(ROUNDS):
                if etag and r > 0:
                    # The queue's tag holds the minute its waiting times next change: taken
                    # before round 1, it is rightly stale a minute later (every answer a 200).
                    fresh_tag()
                spy = profile(service, f"{db.kind}-{key}") if PROFILE and r == 0 else None
                run_ = measure_spread(
                    service, service.url(path), token, method, body, idem, DURATION, CONNECTIONS, **kw
                )
                if etag and run_["statuses"].get("200") and set(run_["statuses"]) <= {"200", "304"}:
                    # The queue's waiting times turned a minute during the round: from then on
                    # its tag was rightly stale and every answer a 200. Measured once more with
                    # a fresh tag; the round with the turn is kept in the results.
                    log(f"  {label}: the tag went stale during the round ({run_['statuses']}); again")
                    fresh_tag()
                    stale = {"rps": round(run_["rps"], 1), "statuses": run_["statuses"]}
                    run_ = measure_spread(
                        service, service.url(path), token, method, body, idem, DURATION, CONNECTIONS, **kw
                    )
                    run_["stale_tag"] = stale
                svc_runs.append(run_)
                if spy:
                    spy.wait(30)
                ceil_runs.append(
                    measure_spread(
                        ceiling,
                        ceiling.url(ceiling_path),
                        token,
                        method,
                        body,
                        False,
                        DURATION,
                        CONNECTIONS,
                        **kw,
                    )
                )
                log(
                    f"[{db.kind}] {label} round {r + 1}: muli {svc_runs[-1]['rps']:.0f}/s "
                    f"p99 {svc_runs[-1]['latency_us']['p99'] / 1000:.1f} ms, "
                    f"ceiling {ceil_runs[-1]['rps']:.0f}/s "
                    f"p99 {ceil_runs[-1]['latency_us']['p99'] / 1000:.1f} ms, bad {svc_runs[-1]['bad']}, "
                    f"busiest worker {svc_runs[-1]['worker_share']} / "
                    f"{ceil_runs[-1]['worker_share']} of the CPU"
                )
            results.setdefault("throughput", []).append(
                {
                    "db": db.kind,
                    "key": key,
                    "label": label,
                    "response_bytes": size,
                    "target_ratio": target,
                    "target_p99_factor": p99_target,
                    "muli": summarise(svc_runs),
                    "ceiling": summarise(ceil_runs),
                }
            )
        results.setdefault("memory", []).append(
            {
                "db": db.kind,
                "phase": "after the throughput phases",
                "worker_rss_mb": service.worker_rss_mb(),
                "ceiling_rss_mb": ceiling.worker_rss_mb(),
            }
        )
    finally:
        service.stop()
        ceiling.stop()
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(5)


# --- growth -----------------------------------------------------------------------------

GROWTH_PROBES = {
    "diary_first": ("GET /me/diary (first page)", "/api/v1/me/diary", "patient"),
    "diary_deep": ("GET /me/diary (page at entry n/2)", "/api/v1/me/diary?cursor={cursor}", "patient"),
    "crisis_plan": ("GET /me/crisis-plan", "/api/v1/me/crisis-plan", "patient"),
    "queue": (
        f"GET /staff/contact-requests ({OPEN_REQUESTS} open)",
        "/api/v1/staff/contact-requests",
        "queue",
    ),
}


def fill(db: Database, size: int) -> dict:
    """Add diary entries (the demo patient's) and audit events until each table holds `size`."""
    import bulk
    from sqlalchemy import select

    from muli.models.accounts import Account
    from muli.trust.audit import AuditKeys

    engine = db.engine()
    keys = db.keyring()
    patient_id = uuid.UUID(db.logins["patients"][0]["id"])
    started = time.monotonic()
    try:
        with engine.connect() as conn:
            account_id = conn.scalar(
                select(Account.id).where(Account.username == db.logins["patients"][0]["username"])
            )
        diary_now, audit_now = bulk.count_diary(engine, patient_id), bulk.count_audit(engine)
        step = max(size // 5, bulk.BATCH)

        def progress(n, what):
            if n % step == 0:
                log(f"[{db.kind}]   {db.name} {what}: +{n} ({time.monotonic() - started:.0f} s)")

        bulk.add_diary(
            engine, keys, patient_id, max(0, size - diary_now), progress=lambda n: progress(n, "diary")
        )
        bulk.add_audit(
            engine,
            AuditKeys.parse(*audit_keys()),
            max(0, size - audit_now),
            patient_id=patient_id,
            actor_account_id=account_id,
            progress=lambda n: progress(n, "audit"),
        )
        if db.kind == "postgresql":
            # Vacuum now, so autovacuum does not wake up on these tables during a later phase.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        counts = {"diary": bulk.count_diary(engine, patient_id), "audit": bulk.count_audit(engine)}
        cursor = bulk.deep_cursor(engine, keys, patient_id, counts["diary"] // 2)
    finally:
        engine.dispose()
    seconds = time.monotonic() - started
    log(f"[{db.kind}] {db.name}: {counts} ({seconds:.0f} s to fill)")
    return {"counts": counts, "fill_seconds": seconds, "cursor": cursor}


def fill_all(jobs: list[tuple[Database, int]]) -> list[dict]:
    """Fill several databases at once, one process per core (filling is set-up, not measured)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][1])  # the biggest first
    with ProcessPoolExecutor(
        max_workers=os.cpu_count() or 2, mp_context=multiprocessing.get_context("fork")
    ) as ex:
        futures = {i: ex.submit(fill, *jobs[i]) for i in order}
        return [futures[i].result() for i in range(len(jobs))]


def growth(kind: str, sizes: dict, results: dict) -> None:
    """First and deep diary page, crisis plan, queue: 10^3 vs 10^6 diary entries and audit events.

    `sizes`: {"small": (clone, fill info), "large": (clone, fill info)}: two clones of the
    template, one filled to 10^3 rows and one to 10^6, each served by its own gunicorn; the
    measurements alternate between the two, so the machine's noise falls on both alike.
    """
    small, large = sizes["small"][0], sizes["large"][0]
    try:
        servers = {name: db.service().start() for name, (db, _) in sizes.items()}
        sessions = {name: Session(servers[name], db) for name, (db, _) in sizes.items()}
        runs: dict = {name: {} for name in sizes}
        for key, (label, path_template, who) in GROWTH_PROBES.items():
            paths = {}
            for name, (_, info) in sizes.items():
                sessions[name].refresh()
                paths[name] = path_template.format(cursor=info["cursor"])
                token = sessions[name].token_for(who)
                status, raw = servers[name].call("GET", paths[name], token=token)
                if status != 200:
                    raise RuntimeError(f"growth {label} ({name}): {status} {raw[:300]!r}")
                wrk(servers[name].url(paths[name]), token, "GET", None, False, 2, 2)  # warm both workers
            for _ in range(ROUNDS):
                for name in sizes:
                    # One connection: the latency of one request at a time, not of a queue.
                    run_ = measure(
                        servers[name],
                        servers[name].url(paths[name]),
                        sessions[name].token_for(who),
                        "GET",
                        None,
                        False,
                        max(3, DURATION // 2),
                        1,
                    )
                    runs[name].setdefault(key, []).append(run_)
            s_, l_ = summarise(runs["small"][key]), summarise(runs["large"][key])
            log(
                f"[{kind}] growth {label}: p50 {s_['p50_ms']:.2f} -> {l_['p50_ms']:.2f} ms, "
                f"p99 {s_['p99_ms']:.2f} -> {l_['p99_ms']:.2f} ms"
            )
        for name, server in servers.items():
            results.setdefault("memory", []).append(
                {
                    "db": kind,
                    "phase": f"growth, {sizes[name][1]['counts']['diary']} rows",
                    "worker_rss_mb": server.worker_rss_mb(),
                }
            )
            server.stop()
        phases = {}
        for name, (_, info) in sizes.items():
            phases[name] = {
                "counts": info["counts"],
                "fill_seconds": info["fill_seconds"],
                "endpoints": {
                    key: {"label": GROWTH_PROBES[key][0], **summarise(r)} for key, r in runs[name].items()
                },
            }
        results.setdefault("growth", []).append({"db": kind, **phases})
    finally:
        _stop_all()
        small.drop()
        large.drop()


# --- rotate-keys ------------------------------------------------------------------------


def rotation(db: Database, results: dict) -> None:
    """rotate-keys over ROTATE_FIELDS encrypted fields vs raw AES-GCM on the same data."""
    import bulk

    log(f"[{db.kind}] rotate-keys on {db.name}: {ROTATE_FIELDS} encrypted fields")
    engine = db.engine()
    patient_id = uuid.UUID(db.logins["patients"][0]["id"])
    # Each diary entry holds two encrypted fields (text, tags); the template has a few hundred more.
    bulk.add_diary(engine, db.keyring(), patient_id, ROTATE_FIELDS // 2)
    engine.dispose()
    new = f"bench2:{new_key()},{db.keys}"
    out = run(
        [str(VENV_BIN / "python"), str(HERE / "rotate_probe.py")], db.env(data_keys=new), timeout=1800
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    data["db"] = db.kind
    data["ratio"] = data["raw_seconds"] / data["rotate_seconds"]
    log(
        f"[{db.kind}] rotate-keys: {data['fields']} fields in {data['rotate_seconds']:.2f} s; raw AES-GCM "
        f"{data['raw_seconds']:.3f} s; ratio {data['ratio']:.3f}"
    )
    results.setdefault("rotation", []).append(data)


# --- report -----------------------------------------------------------------------------


def machine() -> dict:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]  # noqa: S607
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version.strip(),
    }


def _ok(flag: bool) -> str:
    return "yes" if flag else "**no**"


def table(results: dict) -> str:
    lines = []
    m = results["machine"]
    lines += [
        f"Run {results['started']} → {results['finished']} (UTC), `{results['command']}`, "
        f"{'quick' if results['quick'] else 'full'} run.",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gb']} GB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}, {m['wrk']}. gunicorn {WORKERS} workers x {THREADS} threads (gthread), "
        f"wrk 1 thread x {CONNECTIONS} connections, {results['rounds']} x {results['duration']} s per side, "
        f"alternating. Load average at start {results['loadavg_start']:.2f}, "
        f"end {results['loadavg_end']:.2f}.",
        "",
        "| db | endpoint | MULI req/s | ceiling req/s | ratio (target) | MULI p50 / p99 ms "
        "| ceiling p50 / p99 ms | p99 x ceiling (target) | non-2xx + errors "
        "| CPU ms/request MULI / ceiling | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in results.get("throughput", []):
        mu, ce = t["muli"], t["ceiling"]
        ratio = mu["rps"] / ce["rps"]
        p99x = mu["p99_ms"] / ce["p99_ms"] if ce["p99_ms"] else float("inf")
        met = ratio >= t["target_ratio"] if t["target_ratio"] else None
        target_cell = f" (≥ {t['target_ratio']:g})" if t["target_ratio"] else ""
        p99_cell = "—"
        if t["target_p99_factor"]:
            met = met and p99x <= t["target_p99_factor"]
            p99_cell = f"{p99x:.1f} (≤ {t['target_p99_factor']:g})"
        else:
            p99_cell = f"{p99x:.1f}"
        if t["key"] == "contact":
            met = met and mu["bad"] == 0
        lines.append(
            f"| {t['db']} | {t['label']} | {mu['rps']:.0f} | {ce['rps']:.0f} "
            f"| {ratio:.2f}{target_cell} | {mu['p50_ms']:.1f} / {mu['p99_ms']:.1f} "
            f"| {ce['p50_ms']:.1f} / {ce['p99_ms']:.1f} | {p99_cell} "
            f"| {mu['bad']} | {mu['cpu_ms_per_request']:.1f} / {ce['cpu_ms_per_request']:.2f} "
            f"| {'—' if met is None else _ok(met)} |"
        )
    again = [
        f"{t['db']} {t['label']} ({side}: {', '.join(str(u['worker_share']) for u in t[side]['unbalanced'])})"
        for t in results.get("throughput", [])
        for side in ("muli", "ceiling")
        if t[side].get("unbalanced")
    ]
    if again:
        lines += [
            "",
            f"Rounds measured again because one worker did more than {BALANCED} of the work "
            f"(its share): {'; '.join(again)}.",
        ]
    if results.get("growth"):
        lines += [
            "",
            "Growth (one request at a time; p50 latency; ratio = 10^6 / 10^3; target ≤ 1.3):",
            "",
            "| db | endpoint | p50 / p99 ms, small | p50 / p99 ms, large | p50 ratio "
            "| CPU ms/request small / large | met |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for g in results["growth"]:
            small, large = g["small"], g["large"]
            for key, s in small["endpoints"].items():
                big = large["endpoints"][key]
                ratio = big["p50_ms"] / s["p50_ms"] if s["p50_ms"] else float("nan")
                lines.append(
                    f"| {g['db']} | {s['label']} "
                    f"| {s['p50_ms']:.2f} / {s['p99_ms']:.2f} | {big['p50_ms']:.2f} / {big['p99_ms']:.2f} "
                    f"| {ratio:.2f} | {s['cpu_ms_per_request']:.1f} / {big['cpu_ms_per_request']:.1f} "
                    f"| {_ok(ratio <= 1.3)} |"
                )
            lines.append(
                f"| {g['db']} | *rows: small {small['counts']}, large {large['counts']}; "
                f"filled in {small['fill_seconds']:.0f} + {large['fill_seconds']:.0f} s* | | | | | |"
            )
    if results.get("memory"):
        lines += [
            "",
            "| db | phase | largest worker RSS MB (target ≤ 150) | met |",
            "| --- | --- | ---: | --- |",
        ]
        for mem in results["memory"]:
            peak = max(mem["worker_rss_mb"] or [0])
            lines.append(f"| {mem['db']} | {mem['phase']} | {peak:.0f} | {_ok(peak <= 150)} |")
    if results.get("rotation"):
        lines += [
            "",
            "| db | fields | rotate-keys s | raw AES-GCM s | ratio (target ≥ 0.25) | met |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in results["rotation"]:
            lines.append(
                f"| {r['db']} | {r['fields']} | {r['rotate_seconds']:.2f} | {r['raw_seconds']:.3f} "
                f"| {r['ratio']:.3f} | {_ok(r['ratio'] >= 0.25)} |"
            )
    return "\n".join(lines) + "\n"


def update_readme(text: str) -> None:
    readme = HERE / "README.md"
    if not readme.exists():
        return
    content = readme.read_text()
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    if start not in content or end not in content:
        return
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{text}{end}{tail}")


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get update && apt-get install wrk", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    results: dict = {
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "command": "BENCH_QUICK=1 make bench" if QUICK else "make bench",
        "quick": QUICK,
        "rounds": ROUNDS,
        "duration": DURATION,
        "machine": machine(),
        "loadavg_start": os.getloadavg()[0],
    }
    workdir = Path(tempfile.mkdtemp(prefix="muli-bench-"))
    made: list[Database] = []
    try:
        if "postgresql" in DBS:
            run([str(ROOT / "scripts" / "ensure-postgres.sh")], dict(os.environ))
        templates = []
        for kind in DBS:
            template = Database(kind, "muli_bench_template", workdir)
            made.append(template)
            template.prepare()
            templates.append(template)
        growth_sets: dict = {}
        if "growth" in PHASES and GROWTH:
            jobs = []
            for template in templates:
                small = template.clone("muli_bench_growth_small")
                large = template.clone("muli_bench_growth_large")
                made += [small, large]
                jobs += [(small, SMALL_ROWS), (large, GROWTH_ROWS)]
            started = time.monotonic()
            infos = fill_all(jobs)
            results["growth_fill_seconds"] = time.monotonic() - started
            for (db, _), info in zip(jobs, infos, strict=True):
                growth_sets.setdefault(db.kind, {})["large" if "large" in db.name else "small"] = (db, info)
        for template in templates:
            kind = template.kind
            if kind in growth_sets:
                growth(kind, growth_sets[kind], results)
            for phase, fn in (("throughput", throughput), ("rotate", rotation)):
                if phase not in PHASES:
                    continue
                clone = template.clone(f"muli_bench_{phase}")
                made.append(clone)
                try:
                    fn(clone, results)
                finally:
                    clone.drop()
            template.drop()
    finally:
        _stop_all()
        for d in made:
            d.drop()
        results["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
        results["loadavg_end"] = os.getloadavg()[0]
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "latest.json").write_text(json.dumps(results, indent=2, default=str))
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
        if sys.exc_info()[0] is not None:
            with contextlib.suppress(Exception):
                print("\nPartial results (the run failed):\n" + table(results))
    text = table(results)
    (OUT / "latest.md").write_text(text)
    print("\n" + text)
    if UPDATE_README:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
