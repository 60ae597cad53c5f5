"""Slow clients on real sockets, for the front-door tests: half-open requests and stalled bodies."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PATH = "/api/v1/me/contact-requests"
# A request line and one header, then nothing: the server waits for the rest of the headers.
HALF_OPEN = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
BODY_BYTES = 50


def stalled_body(headers: dict) -> bytes:
    """Whole headers (with `headers`: a patient's bearer token, an Idempotency-Key) announcing
    a 50-byte body, and its first byte; the rest comes one byte every few seconds. With a
    valid token the app goes on to read the body: a server that hands the connection to a
    thread before the body is in would have that thread wait for it."""
    lines = [f"POST {PATH} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {BODY_BYTES}", "", "{"]
    return "\r\n".join(lines).encode()


@dataclass
class Stalled:
    """One stalled-body connection: what it sent, what came back, when the server closed it."""

    sock: socket.socket
    started: float
    sent: int = 1
    received: bytes = b""
    closed_after: float | None = None
    next_drip: float = 0.0


@dataclass
class SlowClients:
    """`half_open` connections kept open for `seconds` (one the server closes is opened again
    at once, as an attacker would), and `stalled` connections whose 50-byte body gets one
    byte every `drip` seconds, never the last one (they are not opened again: their fate is
    recorded). One thread, one selector; every socket is closed by `stop()`."""

    port: int
    half_open: int
    stalled: int
    seconds: float
    stalled_headers: Callable[[], dict] = dict  # the headers of each stalled body, called once each
    drip: float = 3.0
    opened: int = 0
    closed_by_server: int = 0  # half-open connections the server closed (a header deadline)
    answered: list[bytes] = field(default_factory=list)  # first bytes the server sent them
    connect_errors: int = 0
    stalls: list[Stalled] = field(default_factory=list)

    def __post_init__(self):
        self._sel = selectors.DefaultSelector()
        self._open: set[socket.socket] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="slow-clients")

    @property
    def held(self) -> int:
        """Half-open connections open right now."""
        return len(self._open)

    def _connect(self, first: bytes) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(first)
        except OSError:
            self.connect_errors += 1
            return None
        sock.setblocking(False)
        return sock

    def _open_half(self) -> None:
        sock = self._connect(HALF_OPEN)
        if sock is not None:
            self.opened += 1
            self._open.add(sock)
            self._sel.register(sock, selectors.EVENT_READ, "half")

    def start(self) -> SlowClients:
        for _ in range(self.half_open):
            self._open_half()
        now = time.monotonic()
        for _ in range(self.stalled):
            sock = self._connect(stalled_body(self.stalled_headers()))
            if sock is not None:
                stall = Stalled(sock, now, next_drip=now + self.drip)
                self.stalls.append(stall)
                self._sel.register(sock, selectors.EVENT_READ, stall)
        self._deadline = now + self.seconds
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            for key, _ in self._sel.select(0.1):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if key.data == "half":
                    self._sel.unregister(sock)
                    self._open.discard(sock)
                    sock.close()
                    self.closed_by_server += 1
                    if data:
                        self.answered.append(data[:64])
                    self._open_half()
                    continue
                stall: Stalled = key.data
                stall.received += data
                if not data:
                    stall.closed_after = time.monotonic() - stall.started
                    self._sel.unregister(sock)
                    sock.close()
            now = time.monotonic()
            for stall in self.stalls:
                if stall.closed_after is None and stall.sent < BODY_BYTES - 1 and now >= stall.next_drip:
                    with contextlib.suppress(OSError):
                        stall.sock.send(b" ")
                        stall.sent += 1
                    stall.next_drip = now + self.drip

    def stop(self) -> None:
        """Close every socket; safe to call again."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self._sel.get_map() is None:
            return
        for key in list(self._sel.get_map().values()):
            with contextlib.suppress(Exception):
                self._sel.unregister(key.fileobj)
            key.fileobj.close()
        self._open.clear()
        self._sel.close()

    def wait(self) -> None:
        """Until `seconds` are over (the thread ends by itself), then close everything."""
        self._thread.join(self.seconds + 10)
        self.stop()
