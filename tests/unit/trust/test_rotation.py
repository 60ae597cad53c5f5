"""rotate-keys: re-encrypt under the newest key, in batches, resumable after a crash."""

import pytest
from sqlalchemy import insert, select

from muli.extensions import db
from muli.models import Base
from muli.models.accounts import Account
from muli.platform import crypto
from muli.platform.crypto import KeyRing, new_key

ROWS = 2000


class Interrupted(Exception):
    pass


@pytest.fixture
def old_and_new(app, app_ctx):
    """2,000 accounts whose TOTP secrets are sealed under the old key."""
    index = new_key()
    old = f"old:{new_key()}"
    old_ring = KeyRing.parse(old, index)
    new_ring = KeyRing.parse(f"new:{new_key()},{old}", index)
    rows = []
    for i in range(ROWS):
        account = Account(username=f"rot{i}", kind="staff", password_hash="x")
        old_ring.seal(account, "totp_secret", f"SECRET{i:05d}")
        rows.append({"id": account.id, "username": account.username, "kind": "staff",
                     "password_hash": "x", "totp_secret_enc": account.totp_secret_enc})  # fmt: skip
    db.session.execute(insert(Account), rows)
    db.session.commit()
    return old_ring, new_ring, index


def _rotate(ring, after_batch=None):
    return crypto.rotate(
        db.session, ring, crypto.encrypted_models(Base), batch_size=250, after_batch=after_batch
    )


def test_an_interrupted_rotation_resumes_and_leaves_everything_readable_under_the_new_key(old_and_new):
    _old_ring, new_ring, _index = old_and_new

    def crash_halfway(done):
        db.session.commit()
        if done >= ROWS // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        _rotate(new_ring, crash_halfway)
    db.session.rollback()
    stale = db.session.scalars(select(Account).where(Account.totp_secret_enc.like("v1.old.%"))).all()
    assert 0 < len(stale) < ROWS

    _rotate(new_ring, lambda done: db.session.commit())
    db.session.commit()
    db.session.expunge_all()

    # The old key is removed from the ring: everything must still open.
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
    accounts = db.session.scalars(select(Account).order_by(Account.username)).all()
    assert len(accounts) == ROWS
    assert {only_new.open(a, "totp_secret") for a in accounts} == {f"SECRET{i:05d}" for i in range(ROWS)}


def test_a_second_run_finds_nothing_left_to_do(old_and_new):
    _old, new_ring, _index = old_and_new
    assert _rotate(new_ring, lambda done: db.session.commit()) == ROWS
    db.session.commit()
    assert _rotate(new_ring) == 0


def test_a_value_changed_while_its_batch_is_re_encrypted_is_left_as_it_was_changed(old_and_new):
    # The update of each row names the ciphertext it replaces (one statement per batch on
    # PostgreSQL, one per row on SQLite): a value written meanwhile must not be overwritten.
    from sqlalchemy import update

    _old, new_ring, _index = old_and_new
    raced: list = []

    class Racing:
        current_prefix = new_ring.current_prefix

        def reencrypt(self, token, aad, nonce):
            if not raced:
                account = db.session.scalars(select(Account).where(Account.totp_secret_enc == token)).one()
                changed = new_ring.encrypt("CHANGED", crypto.aad_for(account, "totp_secret"))
                db.session.execute(
                    update(Account).where(Account.id == account.id).values(totp_secret_enc=changed)
                )
                raced.append(account.id)
            return new_ring.reencrypt(token, aad, nonce)

    crypto.rotate(db.session, Racing(), crypto.encrypted_models(Base), batch_size=250)
    db.session.commit()
    db.session.expunge_all()
    accounts = {a.id: a for a in db.session.scalars(select(Account))}
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)  # every row rotated
    assert only_new.open(accounts[raced[0]], "totp_secret") == "CHANGED"
    others = {only_new.open(a, "totp_secret") for i, a in accounts.items() if i != raced[0]}
    assert len(others) == ROWS - 1 and "CHANGED" not in others


def test_rotation_re_encrypts_a_patients_name(app, app_ctx, world):
    """The name is one of the patient's `__encrypted__` fields: after `rotate-keys` it is
    under the newest key and opens with that key alone."""
    from muli.models.people import Patient
    from tests.conftest import TEST_DATA_KEYS, TEST_INDEX_KEY

    login = world.patient(world.team(), name="Rotert Navn")
    new_ring = KeyRing.parse(f"rotated:{new_key()},{TEST_DATA_KEYS}", TEST_INDEX_KEY)
    assert _rotate(new_ring, lambda done: db.session.commit()) > 0
    db.session.commit()
    db.session.expunge_all()
    patient = db.session.get(Patient, login.id)
    assert patient.display_name_enc.startswith("v1.rotated.")
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
    assert only_new.open(patient, "display_name") == "Rotert Navn"
