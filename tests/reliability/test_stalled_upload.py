"""A phone on one bar of signal: its body arrives a byte at a time, and nobody else waits for it.

Before (2026-11-30): on SQLite the token check ran inside BEGIN IMMEDIATE before the body was
read, so one stalled upload held the write lock and every other patient's contact request,
the staff queue and logins answered 503 after 30 s for as long as the upload lasted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
import requests

from tests.reliability.live import CONTACT_REQUEST, Server, environment

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

STALL_SECONDS = 40
BYTE_EVERY = 2.0
OTHERS = 20


def slow_post(url: str, path: str, headers: dict, body: bytes, answer: dict) -> None:
    """POST `body` one byte every BYTE_EVERY seconds for STALL_SECONDS, then the rest at once."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection((host, int(port)), timeout=STALL_SECONDS + 30) as sock:
        sock.sendall("\r\n".join(lines).encode())
        slow = int(STALL_SECONDS / BYTE_EVERY)
        for i in range(slow):
            sock.sendall(body[i : i + 1])
            time.sleep(BYTE_EVERY)
        sock.sendall(body[slow:])
        answer["sent_at"] = time.monotonic()
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        answer["status_line"] = reply.split(b"\r\n", 1)[0].decode(errors="replace")


def test_a_stalled_upload_holds_up_no_other_patient_nor_the_queue(app, world, tmp_path):
    team = world.team(office_hours={})
    nurse = world.staff(team)
    slow_patient = world.patient(team)
    others = [world.patient(team) for _ in range(OTHERS)]
    body = json.dumps(CONTACT_REQUEST).encode()
    assert len(body) > STALL_SECONDS / BYTE_EVERY

    server = Server(environment(app, tmp_path), tmp_path / "gunicorn.log", workers=2, threads=4)
    server.start()
    answer: dict = {}
    try:
        headers = {**slow_patient.headers, "Idempotency-Key": str(uuid.uuid4())}
        stalled = threading.Thread(
            target=slow_post,
            args=(server.url, "/api/v1/me/contact-requests", headers, body, answer),
        )
        stalled.start()
        time.sleep(3 * BYTE_EVERY)  # the upload is under way, its token already sent

        answered = []  # (status, seconds) of each other patient's request, one after another
        queue = []
        for patient in others:
            started = time.monotonic()
            response = requests.post(
                server.url + "/api/v1/me/contact-requests",
                json=CONTACT_REQUEST,
                headers={**patient.headers, "Idempotency-Key": str(uuid.uuid4())},
                timeout=35,
            )
            answered.append((response.status_code, round(time.monotonic() - started, 3)))
            started = time.monotonic()
            page = requests.get(
                server.url + "/api/v1/staff/contact-requests", headers=nurse.headers, timeout=35
            )
            queue.append((page.status_code, round(time.monotonic() - started, 3)))
        still_uploading = stalled.is_alive()
        stalled.join(STALL_SECONDS + 30)
    finally:
        server.kill()

    slowest = max(seconds for _, seconds in answered)
    print(
        f"\nstalled upload ({STALL_SECONDS} s, a byte every {BYTE_EVERY} s): {OTHERS} other requests "
        f"{sorted({s for s, _ in answered})}, slowest {slowest} s; staff queue "
        f"{sorted({s for s, _ in queue})}, slowest {max(s for _, s in queue)} s; "
        f"the stalled one answered {answer.get('status_line')!r}"
    )
    assert still_uploading, "the other requests must have been sent while the upload stalled"
    assert [status for status, _ in answered] == [201] * OTHERS
    assert slowest < 2.0, answered
    assert [status for status, _ in queue] == [200] * OTHERS
    assert max(seconds for _, seconds in queue) < 2.0, queue
    assert answer.get("status_line", "").startswith("HTTP/1.1 201"), answer
