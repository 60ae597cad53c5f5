"""The audit chain against someone who can write to the database (issue 15, item 5): the
chain is keyed (HMAC with a key outside the database) and anchored (signed checkpoints in a
file outside the database and in the privacy officer's downloads), and `muli verify-audit`
checks both. Each attack here is what a database writer can do without the keys."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import delete, select, update

from muli.app import create_app
from muli.extensions import db
from muli.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from muli.platform.context import Actor
from muli.platform.crypto import new_key
from muli.trust import audit
from tests.conftest import TEST_AUDIT_KEYS, TEST_AUDIT_SIGNING_KEYS, make_config

NURSE = Actor(kind="staff", name="Ola Vakt", role="member", agency_name="Fjordvik DPS")


def old_event_hash(values: dict) -> str:
    """muli/trust/audit.py's chain function before keys, as an attacker would copy it."""

    def text(v):
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return str(v)

    canonical = json.dumps({k: text(values[k]) for k in audit._HASHED}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(n: int, start: int = 0) -> None:
    """`n` events, each in its own commit, then sealed (as the worker would)."""
    for i in range(start, start + n):
        audit.record(db.session, NURSE, "crisis_plan.read", resource="crisis_plan", resource_id=i)
        db.session.commit()
    audit.seal_all(db.session, db.session.commit)


def rows() -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def rechain(hash_of, *, drop: set[int] = frozenset(), key_id: str | bool | None = False) -> None:
    """The attack: delete events `drop`, renumber and re-hash the rest with `hash_of`, move
    the head. `key_id` False leaves each event's key id as it is."""
    kept = [
        {c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns}
        for e in rows()
        if e.seq not in drop
    ]
    db.session.execute(delete(AuditEvent))
    prev = audit.GENESIS
    for n, values in enumerate(kept, 1):
        values.update(seq=n, chain_pos=n, prev_hash=prev)
        if key_id is not False and "key_id" in values:
            values["key_id"] = key_id
        values["hash"] = prev = hash_of(values)
        db.session.execute(AuditEvent.__table__.insert().values(**values))
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=len(kept), hash=prev))
    db.session.commit()


def verify_audit(runner, *checkpoints) -> tuple[int, str]:
    result = runner.invoke(args=["muli", "verify-audit", *map(str, checkpoints)])
    return result.exit_code, result.output


def checkpoint(runner) -> dict:
    result = runner.invoke(args=["muli", "audit-checkpoint"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the JSON alone (output mixes in the log lines on stderr)


@pytest.fixture
def five(app, app_ctx):
    record(5)


# --- keyed: a rewrite with the chain's own (old) function is caught -----------------------


@pytest.mark.parametrize("claimed_key", [False, None], ids=["keeping-key-ids", "claiming-unkeyed"])
def test_deleting_events_and_rehashing_with_the_old_function_is_caught(five, runner, claimed_key):
    assert verify_audit(runner)[0] == 0
    rechain(old_event_hash, drop={2}, key_id=claimed_key)
    code, output = verify_audit(runner)
    assert code == 1, output
    assert "BROKEN" in output


def test_events_are_keyed_with_the_newest_audit_key(five):
    assert {e.key_id for e in rows()} == {"testa1"}
    assert all(e.hash != old_event_hash({**e.__dict__}) for e in rows())


# --- anchored: a cut-off tail with a moved head is caught ---------------------------------


def _cut_tail(keep: int) -> None:
    """Delete the events after `keep` and move the head back to the last one kept: the
    rest of the chain stays valid under the key, so only an anchor can tell."""
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.chain_pos == keep)).one()
    db.session.execute(delete(AuditEvent).where(AuditEvent.chain_pos > keep))
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=keep, hash=last.hash))
    db.session.commit()


def test_a_cut_tail_with_a_moved_head_is_caught_by_the_anchor_file(app, five, runner):
    made = checkpoint(runner)
    assert made["seq"] == 5
    anchor_file = app.config["MULI_AUDIT_ANCHOR_FILE"]
    assert json.loads(anchor_file.read_text().splitlines()[-1]) == made
    _cut_tail(3)
    db.session.execute(delete(AuditCheckpoint))  # the database's copies go too
    db.session.commit()
    code, output = verify_audit(runner)
    assert code == 1 and "vouches for event 5 (its place in the chain), which is missing" in output, output


def test_a_cut_tail_is_caught_by_a_downloaded_checkpoint_alone(app, five, runner, world, tmp_path):
    checkpoint(runner)
    officer = world.staff(role="privacy_officer")
    answer = app.test_client().get("/api/v1/staff/audit/checkpoint", headers=officer.headers)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert json.loads(answer.data)["seq"] == 5
    download = tmp_path / "downloaded.json"
    download.write_bytes(answer.data)
    # Everything the operator and the database had is gone; the privacy officer's copy is not.
    _cut_tail(3)
    db.session.execute(delete(AuditCheckpoint))
    db.session.commit()
    app.config["MULI_AUDIT_ANCHOR_FILE"].unlink()
    code, output = verify_audit(runner)
    assert code == 0, output  # nothing left to compare with (and the warning says so)
    assert "no anchor file" in output
    code, output = verify_audit(runner, download)
    assert code == 1 and "vouches for event 5 (its place in the chain), which is missing" in output, output


def test_a_rewritten_middle_is_caught_by_the_anchor_even_with_the_audit_key(app, five, runner):
    """Should the audit key leak, a rewrite re-hashed with it passes the key check; the
    signed checkpoint (a different key, not in the database) still catches it."""
    checkpoint(runner)
    key = app.extensions["muli.audit_keys"].hmac_key("testa1")
    rechain(lambda values: audit.keyed_hash(key, values), drop={2})
    code, output = verify_audit(runner)
    assert code == 1 and "vouches for event" in output, output


def test_a_forged_checkpoint_is_refused(app, five, runner, tmp_path):
    made = checkpoint(runner)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**made, "seq": 2}))
    code, output = verify_audit(runner, forged)
    assert code == 1 and "signature does not match" in output, output


def test_a_broken_chain_is_never_signed(app, five, runner):
    checkpoint(runner)
    record(2, start=5)
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 6).values(actor_name="Someone Else"))
    db.session.commit()
    lines = app.config["MULI_AUDIT_ANCHOR_FILE"].read_text().count("\n")
    result = runner.invoke(args=["muli", "audit-checkpoint"])
    assert result.exit_code == 1 and "no checkpoint written" in result.output
    assert app.config["MULI_AUDIT_ANCHOR_FILE"].read_text().count("\n") == lines
    # Nor is a chain cut back behind its last checkpoint.
    _cut_tail(4)
    result = runner.invoke(args=["muli", "audit-checkpoint"])
    assert result.exit_code == 1 and "vouches for event 5" in result.output


def test_a_checkpoint_with_nothing_new_is_not_written_again(app, five, runner):
    checkpoint(runner)
    result = runner.invoke(args=["muli", "audit-checkpoint"])
    assert result.exit_code == 0 and "nothing new" in result.output
    record(1, start=5)
    assert checkpoint(runner)["seq"] == 6
    assert len(app.config["MULI_AUDIT_ANCHOR_FILE"].read_text().splitlines()) == 2
    assert verify_audit(runner)[0] == 0


def test_only_the_privacy_officer_downloads_checkpoints(app, world, runner):
    officer = world.staff(role="privacy_officer")
    nurse = world.staff(world.team())
    client = app.test_client()
    assert client.get("/api/v1/staff/audit/checkpoint", headers=officer.headers).status_code == 404
    with app.app_context():
        record(1)
    checkpoint(runner)
    assert client.get("/api/v1/staff/audit/checkpoint", headers=nurse.headers).status_code == 403
    assert client.get("/api/v1/staff/audit/checkpoint", headers=officer.headers).status_code == 200


# --- rotation: old keys keep verifying ----------------------------------------------------


@pytest.fixture
def rotated_app(app, tmp_path):
    """The same database, after the audit key and the signing key were rotated: new keys
    first, the old audit key kept for verifying, the old signing key by its public half."""
    old_signing = audit.AuditKeys.parse(TEST_AUDIT_KEYS, TEST_AUDIT_SIGNING_KEYS)
    kid, private = old_signing.signing_key
    config = make_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    config.MULI_AUDIT_KEYS = f"testa2:{new_key()},{TEST_AUDIT_KEYS}"
    public = audit.public_key_text(private.public_key())
    config.MULI_AUDIT_SIGNING_KEYS = f"tests2:{audit.new_signing_key()},{kid}:pub:{public}"
    application = create_app(config)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_chain_written_across_a_key_rotation_verifies(app, runner, rotated_app):
    # (No app context is held across the commands: a command runs in the one it finds.)
    with app.app_context():
        record(5)
        checkpoint(runner)  # signed with the old signing key
        db.session.remove()
    new_runner = rotated_app.test_cli_runner()
    with rotated_app.app_context():
        record(3, start=5)
        assert [e.key_id for e in rows()] == ["testa1"] * 5 + ["testa2"] * 3
        db.session.remove()
    made = json.loads(new_runner.invoke(args=["muli", "audit-checkpoint"]).stdout)
    assert (made["seq"], made["key_id"], made["signing_key_id"]) == (8, "testa2", "tests2")
    code, output = verify_audit(new_runner)
    assert code == 0, output
    # Two in the database, one in this app's anchor file.
    assert "checked against 3 checkpoint copies, the newest at event 8" in output
    # Without the old audit key the old events cannot be verified, and it says which.
    assert rotated_app.extensions["muli.audit_keys"].hmac_key("testa1") is not None
    only_new = audit.AuditKeys.parse(
        rotated_app.config["MULI_AUDIT_KEYS"].split(",")[0], rotated_app.config["MULI_AUDIT_SIGNING_KEYS"]
    )
    with rotated_app.app_context():
        breaks = list(audit.verify(db.session, only_new))
        db.session.remove()
    assert [b.seq for b in breaks] == [1, 2, 3, 4, 5]
    assert "'testa1', which is not configured" in breaks[0].problem


# --- events from before keys ---------------------------------------------------------------


def _legacy_events(n: int) -> None:
    """A chain as the code before audit keys wrote it: key_id NULL, plain SHA-256."""
    record(n)
    rechain(old_event_hash, key_id=None)


def test_events_from_before_keys_verify_once_a_checkpoint_vouches_for_them(app, app_ctx, runner):
    _legacy_events(4)
    code, output = verify_audit(runner)
    assert code == 1 and "no checkpoint vouches for them" in output, output
    assert checkpoint(runner)["legacy_until"] == 4
    record(3, start=4)
    assert [e.key_id for e in rows()] == [None] * 4 + ["testa1"] * 3
    assert checkpoint(runner)["legacy_until"] == 4
    code, output = verify_audit(runner)
    assert code == 0, output
    # Passing a keyed event off as one from before keys is caught.
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(key_id=None))
    db.session.commit()
    code, output = verify_audit(runner)
    assert code == 1 and "checkpoints vouch for unkeyed events only up to 4" in output, output


def test_audit_keys_shows_public_halves_and_no_secret(app, runner):
    result = runner.invoke(args=["muli", "audit-keys"])
    assert result.exit_code == 0, result.output
    keys = app.extensions["muli.audit_keys"]
    public = audit.public_key_text(keys.signing_key[1].public_key())
    assert f"signing key tests1 (signs): public {public}" in result.output
    assert "audit keys (newest first): testa1" in result.output
    for secret in (TEST_AUDIT_KEYS.split(":", 1)[1], TEST_AUDIT_SIGNING_KEYS.split(":", 1)[1]):
        assert secret not in result.output


def test_a_long_anchor_file_is_read_from_its_end(app, five, runner):
    """A year of checkpoints: a new one reads only the file's end (and the newest rows)."""
    anchor_file = app.config["MULI_AUDIT_ANCHOR_FILE"]
    checkpoint(runner)
    line = anchor_file.read_text()
    anchor_file.write_text(line * 400)  # over 64 KiB: the tail read starts mid-line
    assert anchor_file.stat().st_size > 100_000
    record(1, start=5)
    assert checkpoint(runner)["seq"] == 6
    _cut_tail(5)
    result = runner.invoke(args=["muli", "audit-checkpoint"])
    assert result.exit_code == 1 and "vouches for event 6" in result.output
