"""The front door of `make run` (the Procfile's `web:` line): waitress in front of wsgi:app.

    python serve.py --host 127.0.0.1 --port 5000

Why not gunicorn's gthread worker, as before: it hands a connection to a worker thread as
soon as it is accepted and the thread then reads the request itself, with no time limit. A
few clients that send a request line and one header and then wait held every thread
(2 workers x 4 threads: about 8 such connections stopped contact requests being answered).
waitress reads every request whole, headers and body (bodies over 512 KiB spooled to a
temporary file), in its one I/O thread, and only a complete request reaches a worker thread.
A slow client costs a socket, never a thread. See docs/DEPLOYMENT.md, "The front door".

On top of waitress's own limits (an idle connection closes after IDLE_SECONDS, at most
CONNECTION_LIMIT connections, bodies up to the app's MAX_CONTENT_LENGTH) this adds two
deadlines waitress does not have, so a client that trickles a byte now and then cannot keep
a connection for ever: the request line and headers within HEADER_SECONDS of the request's
first byte, the whole request within REQUEST_SECONDS. A connection past either is closed
(checked every CLEANUP_SECONDS).

In production nginx stands in front of the app instances and does the same job
(`deploy/nginx-muli.conf`: client_header_timeout, client_body_timeout, request buffering).
"""

from __future__ import annotations

import argparse
import logging
import resource
import signal
import sys
import time

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer

from muli.config import Config

THREADS = 8  # as many as gunicorn's 2 workers x 4 threads had
CONNECTION_LIMIT = 1000  # beyond this waitress stops accepting until some close
HEADER_SECONDS = 10  # request line and headers, from the request's first byte
REQUEST_SECONDS = 30  # the whole request, body included, from its first byte
IDLE_SECONDS = 10  # no byte in or out: a silent new connection, an idle keep-alive, a stalled body or reader
CLEANUP_SECONDS = 1  # how often the deadlines are checked
MAX_HEADER_BYTES = 64 * 1024

log = logging.getLogger("muli.serve")


class _TimedParser(HTTPRequestParser):
    """waitress's request parser, remembering when the request's first byte came."""

    def __init__(self, adj):
        super().__init__(adj)
        self.started = time.time()


class _Channel(HTTPChannel):
    parser_class = _TimedParser


class FrontDoor(TcpWSGIServer):
    """waitress's TCP server with header and whole-request deadlines."""

    channel_class = _Channel
    header_seconds = HEADER_SECONDS
    request_seconds = REQUEST_SECONDS

    def maintenance(self, now):
        super().maintenance(now)  # idle connections (channel_timeout)
        # Runs in the I/O thread, the only one that feeds the parsers: no lock needed.
        for channel in list(self.active_channels.values()):
            request = channel.request  # a request still being read; None between requests
            if request is None or request.completed or channel.will_close:
                continue
            limit = self.request_seconds if request.headers_finished else self.header_seconds
            if now - request.started > limit:
                channel.will_close = True


def _file_limit(connections: int) -> int:
    """Raise the soft open-files limit so the connection limit can be reached (a connection
    takes a socket, up to two more while it spools a big body or answer); answers how many
    connections fit."""
    wanted = 3 * connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return connections
    return max(16, (soft - 64) // 3)


def make_server(app, host: str, port: int, threads: int = THREADS) -> FrontDoor:
    connections = _file_limit(CONNECTION_LIMIT)
    adj = Adjustments(
        listen=f"{host}:{port}",
        threads=threads,
        connection_limit=connections,
        channel_timeout=IDLE_SECONDS,
        cleanup_interval=CLEANUP_SECONDS,
        max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=Config.MAX_CONTENT_LENGTH,
        # poll(), not select(): select() cannot watch a descriptor numbered 1024 or above.
        asyncore_use_poll=True,
        # Whether X-Forwarded-* are believed is the app's decision (MULI_TRUSTED_PROXIES).
        clear_untrusted_proxy_headers=False,
        ident="muli",
    )
    if len(adj.listen) != 1:
        raise SystemExit(f"serve.py: {host!r} names {len(adj.listen)} addresses; give one IP address")
    return FrontDoor(app, adj=adj, sockinfo=adj.listen[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve MULI (wsgi:app) behind waitress's buffering front door."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)

    from wsgi import app  # after the arguments: --help needs no keys or database

    server = make_server(app, args.host, args.port, args.threads)
    # SIGTERM (honcho on Ctrl-C, a supervisor) ends the loop the way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"front door: waitress on http://{server.effective_host}:{server.effective_port}, "
        f"{args.threads} threads, at most {server.adj.connection_limit} connections; headers within "
        f"{HEADER_SECONDS} s, a whole request within {REQUEST_SECONDS} s, closed after {IDLE_SECONDS} s idle",
        flush=True,
    )
    server.run()
    print("front door stopped", flush=True)


if __name__ == "__main__":
    main()
