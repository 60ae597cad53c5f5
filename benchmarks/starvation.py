"""Starvation benchmark: contact-request latency while N slow clients hold connections.

    BENCH_ONLY=starvation make bench        # or: .venv/bin/python benchmarks/starvation.py

For each front door and each N: a fresh server on a migrated, seeded SQLite copy, N
half-open connections (a request line and one header, then silence; one the server closes
is opened again at once), then REQUESTS contact requests (after 4 not counted, before the
slow clients come, so that first-request costs stay out) one after another, each on a new
connection with a TIMEOUT-second limit. A cell ends after its requests or after CELL_SECONDS,
whichever comes first (requests not sent by then are counted as not sent).

Front doors:
  old         gunicorn gthread, 2 workers x 4 threads, as `make run` had it
  new         the Procfile's `web:` line (serve.py: waitress with header/request deadlines)
  nginx       production: deploy/nginx-muli.conf in front of gunicorn 2 x 4 (if nginx exists)

Settings (environment): BENCH_STARVATION_N=0,8,64,512  BENCH_STARVATION_REQUESTS=20
BENCH_STARVATION_TIMEOUT=10  BENCH_STARVATION_CELL=30  BENCH_STARVATION_DOORS=old,new,nginx
BENCH_OUT=benchmarks/results  BENCH_UPDATE_README=1 (rewrite the table in benchmarks/README.md).
`starvation.py --table` writes the table again from the last run's starvation.json.
Every server listens on 127.0.0.1 in its own process group and is killed in `finally`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = ROOT / ".venv" / "bin"
NGINX = "/usr/sbin/nginx"

NS = [int(n) for n in os.environ.get("BENCH_STARVATION_N", "0,8,64,512").split(",") if n]
REQUESTS = int(os.environ.get("BENCH_STARVATION_REQUESTS", "20"))
TIMEOUT = float(os.environ.get("BENCH_STARVATION_TIMEOUT", "10"))
CELL_SECONDS = float(os.environ.get("BENCH_STARVATION_CELL", "30"))
DOORS = os.environ.get("BENCH_STARVATION_DOORS", "old,new,nginx").split(",")
OUT = Path(os.environ.get("BENCH_OUT", HERE / "results"))
UPDATE_README = os.environ.get("BENCH_UPDATE_README", "1") == "1"

HALF_OPEN = b"POST /api/v1/me/contact-requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
CONTACT = json.dumps(
    {"kind": "call_me", "urgency": "crisis", "message": "får ikke sove", "callback_phone": "+4791234567"},
    ensure_ascii=False,
).encode()
LABELS = {
    "old": "old: gunicorn gthread 2 x 4 (make run before)",
    "new": "new: serve.py (waitress, Procfile `web:`)",
    "nginx": "production: nginx (deploy/nginx-muli.conf) + gunicorn 2 x 4",
}

_GROUPS: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    if proc in _GROUPS:
        _GROUPS.remove(proc)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own programs
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _GROUPS.append(proc)
    return proc


def wait_healthy(port: int, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log_path}")
        time.sleep(0.1)
    raise RuntimeError(f"server did not come up; see {log_path}")


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError("no web: line in the Procfile")


class FrontDoor:
    """One front door on a free port: start() until /healthz answers, stop() kills it all."""

    def __init__(self, kind: str, env: dict, workdir: Path):
        self.kind, self.env, self.workdir = kind, env, workdir
        self.procs: list[subprocess.Popen] = []
        self.port = 0

    def _gunicorn(self, port: int, log_path: Path) -> subprocess.Popen:
        args = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
        if self.kind == "old":
            args += ["--access-logfile", "-"]  # as make run had it
        else:
            args += ["--timeout", "30"]  # as a production instance (docs/DEPLOYMENT.md)
        env = {**self.env, "MULI_TRUSTED_PROXIES": "1"} if self.kind == "nginx" else self.env
        return spawn([*args, "wsgi:app"], env, log_path)

    def start(self) -> FrontDoor:
        log_path = self.workdir / f"{self.kind}.log"
        if self.kind == "old":
            self.port = free_port()
            self.procs.append(self._gunicorn(self.port, log_path))
        elif self.kind == "new":
            self.port = free_port()
            env = {**self.env, "PORT": str(self.port), "PATH": f"{VENV_BIN}{os.pathsep}{self.env['PATH']}"}
            self.procs.append(spawn(["/bin/sh", "-c", procfile_web()], env, log_path))
        else:
            app_port = free_port()
            app = self._gunicorn(app_port, log_path)
            self.procs.append(app)
            wait_healthy(app_port, app, log_path)
            self.port = free_port()
            conf = nginx_conf(self.workdir / "nginx", self.port, app_port)
            self.procs.append(
                spawn(
                    [
                        NGINX,
                        "-c",
                        str(conf),
                        "-p",
                        str(conf.parent),
                        *("-e", str(conf.parent / "error.log")),
                        "-g",
                        "daemon off;",
                    ],
                    self.env,
                    log_path,
                )
            )
        wait_healthy(self.port, self.procs[-1], log_path)
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            kill(proc)
        self.procs = []


def nginx_conf(folder: Path, port: int, app_port: int) -> Path:
    """deploy/nginx-muli.conf with its placeholders filled, in a main configuration that keeps
    everything nginx writes in `folder` (as tests/reliability/cluster.py does)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    site = (ROOT / "deploy" / "nginx-muli.conf").read_text()
    for name, value in (
        ("APP_SERVERS", f"server 127.0.0.1:{app_port} max_fails=1 fail_timeout=5s;"),
        ("LISTEN", f"127.0.0.1:{port}"),
        ("TLS", ""),
        ("LOG_DIR", str(folder)),
    ):
        site = site.replace(f"@{name}@", value)
    (folder / "muli.conf").write_text(site)
    temps = "".join(
        f"    {k}_temp_path {folder}/{k}_temp;\n"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = " user root;" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"worker_processes 2;{user}\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        f"events {{ worker_connections 4096; }}\nhttp {{\n{temps}    include {folder}/muli.conf;\n}}\n"
    )
    return main


class SlowClients:
    """`n` half-open connections; one the server closes is opened again (by `tend()`)."""

    def __init__(self, port: int, n: int):
        self.port, self.n = port, n
        self.sel = selectors.DefaultSelector()
        self.opened = self.closed_by_server = self.errors = 0
        for _ in range(n):
            self._open()

    def _open(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(HALF_OPEN)
        except OSError:
            self.errors += 1
            return
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ)
        self.opened += 1

    @property
    def held(self) -> int:
        return len(self.sel.get_map())

    def tend(self) -> None:
        for key, _ in self.sel.select(0):
            sock = key.fileobj
            with contextlib.suppress(OSError):
                sock.recv(4096)
            self.sel.unregister(sock)
            sock.close()
            self.closed_by_server += 1
            self._open()

    def close(self) -> None:
        for key in list(self.sel.get_map().values()):
            self.sel.unregister(key.fileobj)
            key.fileobj.close()
        self.sel.close()


def contact_request(port: int, token: str, timeout: float) -> tuple[int, float]:
    """One contact request on a new connection: (status, seconds); status 0 = timed out,
    -1 = connection error."""
    started = time.monotonic()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": str(uuid.uuid4()),
    }
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", "/api/v1/me/contact-requests", body=CONTACT, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status, time.monotonic() - started
    except TimeoutError:
        return 0, time.monotonic() - started
    except (OSError, http.client.HTTPException):
        return -1, time.monotonic() - started


def login(port: int, patient: dict) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"username": patient["username"], "password": patient["password"]})
    conn.request("POST", "/api/v1/auth/token", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    if response.status != 200:
        raise RuntimeError(f"login failed: {response.status} {raw[:200]!r}")
    return json.loads(raw)["access_token"]


WARM_UP = 4  # contact requests before the slow clients come, not counted (first-request costs)


def cell(door: FrontDoor, n: int, token: str) -> dict:
    for _ in range(WARM_UP):
        contact_request(door.port, token, TIMEOUT)
    slow = SlowClients(door.port, n)
    time.sleep(1)  # let the server take them in
    started = time.monotonic()
    results = []
    try:
        for _ in range(REQUESTS):
            if time.monotonic() - started > CELL_SECONDS:
                break
            slow.tend()
            results.append(contact_request(door.port, token, TIMEOUT))
        slow.tend()
    finally:
        held = slow.held
        slow.close()
    times = sorted(took for _, took in results)
    statuses: dict = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "door": door.kind,
        "n": n,
        "sent": len(results),
        "not_sent": REQUESTS - len(results),
        "ok": statuses.get(201, 0),
        "timed_out": statuses.get(0, 0),
        "statuses": statuses,
        "p50": statistics.median(times) if times else None,
        "p99": statistics.quantiles(times, n=100, method="inclusive")[98] if len(times) > 1 else None,
        "max": times[-1] if times else None,
        "slow_opened": slow.opened,
        "slow_closed_by_server": slow.closed_by_server,
        "slow_connect_errors": slow.errors,
        "slow_held_at_end": held,
        "seconds": round(time.monotonic() - started, 1),
    }


def prepare(workdir: Path) -> tuple[dict, dict]:
    """A migrated, seeded SQLite database with fresh keys; answers (env, a demo patient)."""
    sys.path.insert(0, str(ROOT))
    from muli.platform.crypto import new_key
    from muli.trust.audit import new_signing_key

    instance = workdir / "instance"
    instance.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "MULI_"))}
    secret = new_key() + new_key()
    env.update(
        MULI_ENV="production",
        MULI_ALLOW_SQLITE="1",
        MULI_DATABASE_URL=f"sqlite:///{instance / 'muli.sqlite3'}",
        MULI_INSTANCE_DIR=str(instance),
        MULI_DATA_KEYS=f"bench1:{new_key()}",
        MULI_BLIND_INDEX_KEY=new_key(),
        MULI_AUDIT_KEYS=f"bench1:{new_key()}",
        MULI_AUDIT_SIGNING_KEYS=f"bench1:{new_signing_key()}",
        MULI_JWT_SECRET=secret,
        MULI_SECRET_KEY=secret[::-1],
        MULI_LOG_LEVEL="WARNING",
        MULI_TRUSTED_PROXIES="0",
        PYTHONPATH=str(ROOT),
    )
    flask = [str(VENV_BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade", "heads"], env=env, cwd=ROOT, check=True, capture_output=True)  # noqa: S603
    seeded = subprocess.run(  # noqa: S603
        [*flask, "muli", "seed-demo", "--json"], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    logins = json.loads(seeded[seeded.index("{") :])
    return env, logins["patients"][0]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f}"


def table(results: dict) -> str:
    lines = [
        f"Run {results['started']} (UTC), `{results['command']}`: {REQUESTS} contact requests one after "
        f"another per cell, each on a new connection with a {TIMEOUT:g} s limit, a cell cut off after "
        f"{CELL_SECONDS:g} s; SQLite; {results['machine']}. Load average at start "
        f"{results['loadavg_start']:.2f}, end {results['loadavg_end']:.2f}.",
        "",
        "| front door | slow clients | 201 / sent (not sent) | timed out | p50 ms | p99 ms | max ms "
        "| slow connections held at the end |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in results["cells"]:
        timeout_mark = " (limit)" if c["timed_out"] else ""
        lines.append(
            f"| {LABELS[c['door']]} | {c['n']} | {c['ok']} / {c['sent']}"
            + (f" ({c['not_sent']})" if c["not_sent"] else "")
            + f" | {c['timed_out']} | {_ms(c['p50'])} | {_ms(c['p99'])} | {_ms(c['max'])}{timeout_mark} "
            f"| {c['slow_held_at_end']} |"
        )
    return "\n".join(lines) + "\n"


def update_readme(text: str) -> None:
    readme = HERE / "README.md"
    content = readme.read_text()
    start, end = "<!-- starvation:start -->", "<!-- starvation:end -->"
    if start not in content or end not in content:
        return
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{text}{end}{tail}")


def main() -> int:
    if sys.argv[1:] == ["--table"]:  # the table again from the last run's figures
        text = table(json.loads((OUT / "starvation.json").read_text()))
        (OUT / "starvation.md").write_text(text)
        print(text)
        if UPDATE_README:
            update_readme(text)
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * max(NS, default=0) + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    doors = [d for d in DOORS if d != "nginx" or os.path.exists(NGINX)]
    results: dict = {
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "command": "BENCH_ONLY=starvation make bench",
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "loadavg_start": os.getloadavg()[0],
        "cells": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="muli-starvation-"))
    try:
        env, patient = prepare(workdir)
        token = None
        for kind in doors:
            for n in NS:
                door = FrontDoor(kind, env, workdir).start()
                try:
                    token = token or login(door.port, patient)
                    result = cell(door, n, token)
                finally:
                    door.stop()
                results["cells"].append(result)
                log(
                    f"{kind:5} N={n:3}: {result['ok']}/{result['sent']} answered, "
                    f"{result['timed_out']} timed out, p50 {_ms(result['p50'])} ms, "
                    f"max {_ms(result['max'])} ms ({result['seconds']} s)"
                )
    finally:
        for proc in list(_GROUPS):
            kill(proc)
        shutil.rmtree(workdir, ignore_errors=True)
        results["loadavg_end"] = os.getloadavg()[0]
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "starvation.json").write_text(json.dumps(results, indent=2, default=str))
    text = table(results)
    (OUT / "starvation.md").write_text(text)
    print("\n" + text)
    if UPDATE_README:
        update_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
