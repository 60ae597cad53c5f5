"""Logs are JSON lines with a request id, and never carry a password or a token."""

import json
import logging

from muli.platform.log import configure


def test_request_logs_carry_the_request_id_and_no_secrets(client, world, caplog):
    team = world.team()
    patient = world.patient(team)
    caplog.set_level(logging.INFO, logger="muli.request")
    r = client.post("/api/v1/auth/token", json={"username": patient.account.username,
                                               "password": "correct-horse-battery-staple-7"},
                    headers={"X-Request-ID": "req-12345678"})  # fmt: skip
    token = r.json["access_token"]
    lines = [rec for rec in caplog.records if rec.name == "muli.request"]
    assert any(getattr(rec, "request_id", None) == "req-12345678" for rec in lines)
    text = " ".join(json.dumps(vars(rec), default=str) for rec in caplog.records)
    assert "correct-horse-battery-staple-7" not in text
    assert token not in text


def test_log_lines_are_json(capsys):
    configure("INFO")
    logging.getLogger("muli.test").info("hello", extra={"request_id": "abc"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert json.loads(line)["request_id"] == "abc"
