"""A real Web Push service for the tests: the npm package web-push-testing on 127.0.0.1.

It creates subscriptions (as a browser's PushManager would), accepts messages at their
endpoints only with a valid VAPID signature for the subscription's applicationServerKey,
decrypts them (RFC 8291 aes128gcm) with the subscription's keys, and lists what arrived;
an expired subscription answers 410. Installed by scripts/ensure-node-packages.sh.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

NODE_DIR = Path(__file__).resolve().parent / "node"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PushService:
    def __init__(self):
        if not (NODE_DIR / "node_modules" / "web-push-testing").is_dir() or not shutil.which("node"):
            raise RuntimeError("the Web Push service is not installed: run scripts/ensure-node-packages.sh")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.http = requests.Session()

    def __enter__(self) -> PushService:
        self.proc = subprocess.Popen(
            ["node", str(NODE_DIR / "push-service.js"), str(self.port)],
            cwd=NODE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when the process does
            if line.strip() == "ready":
                return self
            if time.monotonic() > deadline:
                break
        self.__exit__()
        raise RuntimeError("the Web Push service did not start")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        self.http.close()

    def subscribe(self, application_server_key: str) -> dict:
        """A new subscription (endpoint, keys, clientHash), as PushManager.subscribe answers."""
        response = self.http.post(
            self.url + "/subscribe",
            json={"userVisibleOnly": "true", "applicationServerKey": application_server_key},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["data"]

    def messages(self, client_hash: str) -> list[str]:
        """The decrypted payloads the service accepted for this subscription, in order."""
        response = self.http.post(
            self.url + "/get-notifications", json={"clientHash": client_hash}, timeout=10
        )
        response.raise_for_status()
        return response.json()["data"]["messages"]

    def wait_for(self, client_hash: str, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(client_hash)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def expire(self, client_hash: str) -> None:
        """The browser unsubscribed: the endpoint answers 410 Gone from now on."""
        self.http.post(f"{self.url}/expire-subscription/{client_hash}", timeout=10).raise_for_status()
