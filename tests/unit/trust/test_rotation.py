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


def _another_connection():
    """A concurrent writer, as another process would be: its own connection, committed.
    (The rotation's session must not be used meanwhile: on PostgreSQL its connection is in
    pipeline mode while a batch is re-encrypted.)"""
    return db.engine.begin()


def test_a_value_changed_while_its_batch_is_re_encrypted_is_left_as_it_was_changed(old_and_new):
    # The update of each row names the ciphertext it replaces (one statement per batch on
    # PostgreSQL, one per row on SQLite): a value written meanwhile must not be overwritten.
    from sqlalchemy import update

    _old, new_ring, _index = old_and_new
    raced: list = []

    class Racing:
        current_prefix = new_ring.current_prefix

        def reencrypt_many(self, tokens, aads):
            if not raced:
                with _another_connection() as other:
                    account_id = other.scalars(
                        select(Account.id).where(Account.totp_secret_enc == tokens[0])
                    ).one()
                    changed = new_ring.encrypt("CHANGED", crypto.aad("account", "totp_secret", account_id))
                    other.execute(
                        update(Account).where(Account.id == account_id).values(totp_secret_enc=changed)
                    )
                raced.append(account_id)
            return new_ring.reencrypt_many(tokens, aads)

    crypto.rotate(
        db.session,
        Racing(),
        crypto.encrypted_models(Base),
        batch_size=250,
        after_batch=lambda d: db.session.commit(),
    )
    db.session.commit()
    db.session.expunge_all()
    accounts = {a.id: a for a in db.session.scalars(select(Account))}
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)  # every row rotated
    assert only_new.open(accounts[raced[0]], "totp_secret") == "CHANGED"
    others = {only_new.open(a, "totp_secret") for i, a in accounts.items() if i != raced[0]}
    assert len(others) == ROWS - 1 and "CHANGED" not in others


# Rows of several encrypted fields (the diary: text, tags, mood, sleep), some stale, some
# already under the new key, some empty; run on each database (MULI_TEST_DB), which takes
# its own path: rowid order and one UPDATE per row on SQLite (the next batch re-encrypted
# on a second thread during the commit), one UPDATE ... FROM unnest(...) per batch in
# pipeline mode on PostgreSQL.

FIELDS = ("text", "tags", "mood", "sleep_hours")


@pytest.fixture
def diary(app, app_ctx, world):
    """12 diary entries: entry i has field j under the old key, under the new key already,
    or empty, varying with i and j, so batches mix every combination."""
    from datetime import UTC, datetime, timedelta

    from muli.models.diary import DiaryEntry

    patient_id = world.patient(world.team()).id
    index = new_key()
    old = f"old:{new_key()}"
    old_ring = KeyRing.parse(old, index)
    new_ring = KeyRing.parse(f"new:{new_key()},{old}", index)
    expected: dict = {}
    rows = []
    for i in range(12):
        entry = DiaryEntry(patient_id=patient_id, created_at=datetime.now(UTC) - timedelta(minutes=i))
        plain = {}
        for j, name in enumerate(FIELDS):
            state = (i + j) % 3 if name != "text" else (0 if i % 2 else 1)  # text is NOT NULL
            if state == 2:
                continue
            plain[name] = f"{name} {i}"
            (old_ring if state == 0 else new_ring).seal(entry, name, plain[name])
        expected[entry.id] = plain
        rows.append({c.name: getattr(entry, c.key) for c in DiaryEntry.__table__.columns})
    db.session.execute(insert(DiaryEntry), rows)
    db.session.commit()
    return old_ring, new_ring, expected


def _diary_rows():
    from muli.models.diary import DiaryEntry

    db.session.expunge_all()
    return {e.id: e for e in db.session.scalars(select(DiaryEntry))}


def test_rows_of_several_fields_rotate_the_stale_ones_and_leave_the_others_as_they_were(diary):
    _old_ring, new_ring, expected = diary
    before = {i: {n: getattr(e, f"{n}_enc") for n in FIELDS} for i, e in _diary_rows().items()}
    stale = sum(1 for r in before.values() if any(v and v.startswith("v1.old.") for v in r.values()))

    assert _rotate_diary(new_ring, after_batch=lambda done: db.session.commit()) == stale
    db.session.commit()

    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
    nonces = []
    for row_id, entry in _diary_rows().items():
        for name in FIELDS:
            token, was = getattr(entry, f"{name}_enc"), before[row_id][name]
            if was is None:
                assert token is None
            elif was.startswith("v1.new."):
                assert token == was  # already under the new key: not written again
            else:
                assert token.startswith("v1.new.")
                assert only_new.open(entry, name) == expected[row_id][name]
                nonces.append(crypto._unb64(token.split(".")[2])[:12])
                nonces.append(crypto._unb64(was.split(".")[2])[:12])
    # A fresh nonce for every field: none repeats, none is the old one.
    assert len(nonces) > 12 and len(set(nonces)) == len(nonces)


def test_a_field_changed_meanwhile_leaves_its_row_for_the_next_run_which_finishes_it(diary):
    from sqlalchemy import update

    from muli.models.diary import DiaryEntry

    old_ring, new_ring, expected = diary
    before = {i: {n: getattr(e, f"{n}_enc") for n in FIELDS} for i, e in _diary_rows().items()}
    raced: list = []

    class Racing:
        current_prefix = new_ring.current_prefix

        def reencrypt_many(self, tokens, aads):
            stale = set(tokens)
            with _another_connection() as other:
                entry = next(
                    (
                        e
                        for e in other.execute(select(DiaryEntry.__table__))
                        if e.tags_enc in stale and {e.text_enc, e.mood_enc, e.sleep_hours_enc} & stale
                    ),
                    None,
                )
                if not raced and entry is not None:
                    # A row with stale tags and another stale field: the service (still on
                    # the old key) writes new tags while the batch is being re-encrypted.
                    changed = old_ring.encrypt("CHANGED", crypto.aad("diary_entry", "tags", entry.id))
                    other.execute(
                        update(DiaryEntry).where(DiaryEntry.id == entry.id).values(tags_enc=changed)
                    )
                    raced.append(entry.id)
            return new_ring.reencrypt_many(tokens, aads)

    _rotate_diary(Racing(), after_batch=lambda done: db.session.commit())
    db.session.commit()
    entry = _diary_rows()[raced[0]]
    # Its whole row is left as it was changed: the row's other fields are as they were.
    assert entry.tags_enc.startswith("v1.old.") and old_ring.open(entry, "tags") == "CHANGED"
    assert {n: getattr(entry, f"{n}_enc") for n in FIELDS if n != "tags"} == {
        n: v for n, v in before[raced[0]].items() if n != "tags"
    }
    assert any(v and v.startswith("v1.old.") for n, v in before[raced[0]].items() if n != "tags")
    assert all(
        getattr(e, f"{n}_enc") is None or getattr(e, f"{n}_enc").startswith("v1.new.")
        for i, e in _diary_rows().items()
        if i != raced[0]
        for n in FIELDS
    )

    assert _rotate_diary(new_ring, after_batch=lambda done: db.session.commit()) == 1
    db.session.commit()
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
    entry = _diary_rows()[raced[0]]
    assert only_new.open(entry, "tags") == "CHANGED"
    assert {n: only_new.open(entry, n) for n in FIELDS if n != "tags"} == {
        n: expected[raced[0]].get(n) for n in FIELDS if n != "tags"
    }


@pytest.mark.parametrize("damage", ["moved", "not base64url"])
def test_a_ciphertext_that_does_not_open_in_its_place_stops_the_run_before_its_batch_is_written(
    diary, damage
):
    from sqlalchemy import update

    from muli.models.diary import DiaryEntry

    _old_ring, new_ring, _expected = diary
    stale = [e for e in _diary_rows().values() if e.text_enc.startswith("v1.old.")]
    first, second = stale[0], stale[1]
    if damage == "moved":  # bound to another row by its associated data
        values = {first.id: second.text_enc, second.id: first.text_enc}
    else:  # a tab inside the base64: a lenient decoder skips it, COPY's text format would not
        token = first.text_enc
        values = {first.id: token[:20] + "\t" + token[20:]}
    for row_id, value in values.items():
        db.session.execute(update(DiaryEntry).where(DiaryEntry.id == row_id).values(text_enc=value))
    db.session.commit()
    before = {i: e.text_enc for i, e in _diary_rows().items()}

    with pytest.raises(crypto.DecryptionError):  # one batch: all 12 rows
        _rotate_diary(new_ring, batch_size=100, after_batch=lambda done: db.session.commit())
    db.session.rollback()
    assert {i: e.text_enc for i, e in _diary_rows().items()} == before


def test_no_temporary_table_or_planner_setting_outlives_a_rotation(diary):
    from sqlalchemy import text

    _old, new_ring, _expected = diary
    assert _rotate_diary(new_ring, batch_size=4) > 0  # one transaction, several batches
    session = db.session
    if session.connection().dialect.name == "postgresql":
        temporary = "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()"
        assert session.execute(text(temporary)).scalar() == 0
        assert session.connection().connection.driver_connection.pgconn.pipeline_status == 0  # off
        settings = "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        assert tuple(session.execute(text(settings)).one()) == ("on", "on")
    else:
        assert session.execute(text("SELECT count(*) FROM sqlite_temp_master")).scalar() == 0
    db.session.commit()


def _rotate_diary(ring, *, batch_size=5, after_batch=None):
    from muli.models.diary import DiaryEntry

    return crypto.rotate(db.session, ring, [DiaryEntry], batch_size=batch_size, after_batch=after_batch)


def test_the_command_rotates_every_model_in_batches_and_says_how_many(app, runner, world):
    """`muli rotate-keys` with a new key first in the ring: the world's own fields (sealed
    under the test keys) and 2,500 accounts' secrets, in batches of 1,000 committed one by one."""
    from sqlalchemy import text

    from tests.conftest import TEST_DATA_KEYS, TEST_INDEX_KEY

    patient = world.patient(world.team())
    old_ring = app.extensions["muli.keys"]
    with app.app_context():
        rows = []
        for i in range(2500):
            account = Account(username=f"cli{i}", kind="staff", password_hash="x")
            old_ring.seal(account, "totp_secret", f"S{i}")
            rows.append({"id": account.id, "username": account.username, "kind": "staff",
                         "password_hash": "x", "totp_secret_enc": account.totp_secret_enc})  # fmt: skip
        db.session.execute(insert(Account), rows)
        db.session.commit()
    new_ring = KeyRing.parse(f"cli:{new_key()},{TEST_DATA_KEYS}", TEST_INDEX_KEY)
    app.extensions["muli.keys"] = new_ring
    try:
        result = runner.invoke(args=["muli", "rotate-keys", "--batch-size", "1000"])
    finally:
        app.extensions["muli.keys"] = old_ring
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "re-encrypted 1000 rows" in lines and "re-encrypted 2000 rows" in lines
    assert lines[-1].startswith("done: ") and lines[-1].endswith("rows re-encrypted under key 'cli'")
    with app.app_context():
        only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
        stale = "SELECT count(*) FROM account WHERE totp_secret_enc NOT LIKE 'v1.cli.%'"
        assert db.session.execute(text(stale)).scalar() == 0
        from muli.models.people import Patient

        assert only_new.open(db.session.get(Patient, patient.id), "national_id")


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


def test_a_re_encryption_that_answers_a_field_short_stops_the_run_before_its_batch_is_written(diary):
    # The new tokens are put back by position: one missing would shift the rest onto the
    # wrong rows (where they would not open) if it were written.
    from muli.models.diary import DiaryEntry

    _old, new_ring, _expected = diary

    class Short:
        current_prefix = new_ring.current_prefix

        def reencrypt_many(self, tokens, aads):
            return new_ring.reencrypt_many(tokens, aads)[1:]

    before = {e.id: {n: getattr(e, f"{n}_enc") for n in FIELDS} for e in _diary_rows().values()}
    with pytest.raises(ValueError, match="different number"):
        crypto.rotate(
            db.session, Short(), [DiaryEntry], batch_size=100, after_batch=lambda d: db.session.commit()
        )
    db.session.rollback()
    assert {e.id: {n: getattr(e, f"{n}_enc") for n in FIELDS} for e in _diary_rows().values()} == before


@pytest.mark.parametrize(
    ("old_kid", "new_kid"),
    [("kx2", "k_2"), ("K2", "k2")],
    ids=["underscore", "case"],
)
def test_a_field_under_an_old_key_whose_id_looks_like_the_newest_is_rotated(app, app_ctx, old_kid, new_kid):
    # Key ids may hold "_" and differ only in case: a field is current only if its
    # token starts with exactly `v1.<newest id>.` (not by LIKE, where "_" matches any
    # character and SQLite ignores case).
    index = new_key()
    old = f"{old_kid}:{new_key()}"
    old_ring = KeyRing.parse(old, index)
    new_ring = KeyRing.parse(f"{new_kid}:{new_key()},{old}", index)
    account = Account(username="lookalike", kind="staff", password_hash="x")
    old_ring.seal(account, "totp_secret", "SECRET")
    row = {"id": account.id, "username": account.username, "kind": "staff", "password_hash": "x"}
    db.session.execute(insert(Account), [{**row, "totp_secret_enc": account.totp_secret_enc}])
    db.session.commit()

    assert _rotate(new_ring, lambda done: db.session.commit()) == 1
    db.session.commit()
    db.session.expunge_all()
    rotated = db.session.get(Account, account.id)
    assert rotated.totp_secret_enc.startswith(f"v1.{new_kid}.")
    only_new = KeyRing(keys=new_ring.keys[:1], index_key=new_ring.index_key)
    assert only_new.open(rotated, "totp_secret") == "SECRET"
