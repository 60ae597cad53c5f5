"""`flask muli worker` as a real process seals the audit events requests appended and anchors
the chain: a signed checkpoint of the head into the anchor file at start and every
MULI_AUDIT_CHECKPOINT_SECONDS, only when the chain has grown."""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy import func

from muli.extensions import db
from muli.models.audit import AuditEvent
from muli.platform.context import Actor
from muli.trust import audit, audit_anchor
from tests.reliability.live import environment, explain, run_cli

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

NURSE = Actor(kind="staff", name="Ola Vakt", role="member", agency_name="Fjordvik DPS")


def _record(app, n: int) -> int:
    with app.app_context():
        for i in range(n):
            audit.record(db.session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=i)
            db.session.commit()
        # The worker seals them (places 1..n) before it signs: the head it signs is at n.
        total = db.session.execute(db.select(func.count()).select_from(AuditEvent)).scalar_one()
        db.session.remove()
        return total


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_for(path, seq: int, seconds: float = 60) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = _lines(path)
        if lines and lines[-1]["seq"] == seq:
            return lines
        time.sleep(0.2)
    return _lines(path)


def test_the_worker_writes_signed_checkpoints_of_the_growing_chain(app, tmp_path):
    first = _record(app, 3)
    anchor_file = tmp_path / "anchors" / "audit-anchors.jsonl"
    env = environment(
        app, tmp_path, MULI_AUDIT_ANCHOR_FILE=str(anchor_file), MULI_AUDIT_CHECKPOINT_SECONDS="1"
    )
    worker = run_cli(env, "worker", "--interval", "0.5", "--no-relay")
    try:
        at_start = _wait_for(anchor_file, first)
        second = _record(app, 2)
        grown = _wait_for(anchor_file, second)
        time.sleep(2.5)  # two more intervals with nothing new: no more lines
        idle = _lines(anchor_file)
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert [c["seq"] for c in at_start] == [first], explain(app, env, output)
    assert [c["seq"] for c in grown] == [first, second], explain(app, env, output)
    assert idle == grown
    assert anchor_file.stat().st_mode & 0o077 == 0
    with app.app_context():
        keys = app.extensions["muli.audit_keys"]
        anchors, problems = audit_anchor.read_file(anchor_file, keys)
        assert problems == [] and len(anchors) == 2
        assert list(audit.verify(db.session, keys, anchors)) == []
        db.session.remove()
