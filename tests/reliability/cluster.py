"""The multi-host layout on loopback: nginx in front of app instances, Redis, `muli worker` processes.

Every server binds 127.0.0.1 and runs in a process group of its own, so a SIGKILL takes it
whole and teardown leaves nothing behind. nginx is configured from the production template
`deploy/nginx-muli.conf`, wrapped in a minimal main configuration that keeps its pid,
temporary files and logs in the test's directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import redis
import requests

from tests.reliability.live import BIN, ROOT, free_port, kill_group

NGINX = "/usr/sbin/nginx"
REDIS_SERVER = "/usr/bin/redis-server"
TEMPLATE = ROOT / "deploy" / "nginx-muli.conf"


def render_site(listen: str, app_servers: list[str], log_dir: Path, tls: str = "") -> str:
    """The production template with its placeholders filled in."""
    lines = "\n    ".join(f"server {addr} max_fails=1 fail_timeout=5s;" for addr in app_servers)
    text = TEMPLATE.read_text()
    for name, value in (("APP_SERVERS", lines), ("LISTEN", listen), ("TLS", tls), ("LOG_DIR", str(log_dir))):
        assert f"@{name}@" in text, name
        text = text.replace(f"@{name}@", value)
    return text


class Group:
    """A process started in its own session (process group); killed whole with SIGKILL."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict | None = None):
        self.name, self.args, self.log_path, self.env = name, args, log, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        kill_group(self.proc)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _wait(check, what: str, group: Group, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if not group.alive():
            raise RuntimeError(f"{what} exited:\n{group.log()[-2000:]}")
        time.sleep(0.05)
    group.kill()
    raise RuntimeError(f"{what} did not come up:\n{group.log()[-2000:]}")


class Redis(Group):
    """redis-server on a free loopback port, nothing written to disk (no RDB, no AOF)."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        args = [
            REDIS_SERVER,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(tmp),
            "--daemonize", "no",
        ]  # fmt: skip
        super().__init__("redis", args, tmp / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        _wait(lambda: redis.Redis.from_url(self.url).ping(), "redis-server", self)


class Nginx(Group):
    """nginx in the foreground with everything it writes under `tmp`."""

    def __init__(self, tmp: Path, app_servers: list[str]):
        self.port = free_port()
        self.dir = tmp / "nginx"
        self.dir.mkdir()
        site = self.dir / "muli.conf"
        site.write_text(render_site(f"127.0.0.1:{self.port}", app_servers, self.dir))
        main = self.dir / "nginx.conf"
        main.write_text(
            "worker_processes 2;\n"
            f"pid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/error.log warn;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            + "".join(
                f"    {kind}_temp_path {self.dir}/{kind}_temp;\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {site};\n"
            "}\n"
        )
        # As root the workers would switch to nobody, who cannot enter pytest's private tmp.
        extra = " user root;" if os.geteuid() == 0 else ""
        args = [NGINX, "-c", str(main), "-p", str(self.dir), "-e", str(self.dir / "error.log")]
        super().__init__("nginx", [*args, "-g", f"daemon off;{extra}"], self.dir / "stdout.log")
        self.access_log = self.dir / "muli-access.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        test = subprocess.run([*self.args, "-t"], capture_output=True, text=True, check=False)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{test.stderr}")
        super().start()
        _wait(lambda: requests.get(self.url + "/healthz", timeout=2).status_code == 200, "nginx", self)


def worker(env: dict, log: Path, interval: float = 1.0) -> Group:
    """`flask --app wsgi muli worker`: escalation passes and the outbox, every `interval` s."""
    args = [str(BIN / "flask"), "--app", "wsgi", "muli", "worker", "--interval", str(interval)]
    return Group("worker", args, log, env)
