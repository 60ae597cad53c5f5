"""Field encryption: AES-256-GCM bound to table, column and row; the blind index."""

import uuid

import pytest

from muli.platform.crypto import DecryptionError, KeyRing, KeyRingError, new_key


class Row:
    __tablename__ = "diary_entry"

    def __init__(self):
        self.id = uuid.uuid4()
        self.text_enc = None
        self.note_enc = None


@pytest.fixture
def keys():
    return KeyRing.parse(f"k2:{new_key()},k1:{new_key()}", new_key())


def test_a_sealed_field_opens_to_the_same_text(keys):
    row = Row()
    keys.seal(row, "text", "får ikke sove, stemmene er sterke")
    assert keys.open(row, "text") == "får ikke sove, stemmene er sterke"


def test_the_stored_form_names_format_and_key_and_hides_the_text(keys):
    row = Row()
    keys.seal(row, "text", "hemmelig")
    assert row.text_enc.startswith("v1.k2.")
    assert "hemmelig" not in row.text_enc


def test_the_same_text_encrypts_differently_each_time(keys):
    a, b = Row(), Row()
    b.id = a.id
    keys.seal(a, "text", "samme")
    keys.seal(b, "text", "samme")
    assert a.text_enc != b.text_enc


def test_a_ring_without_the_key_refuses_to_decrypt(keys):
    row = Row()
    keys.seal(row, "text", "x")
    other = KeyRing.parse(f"k3:{new_key()}", new_key())
    with pytest.raises(DecryptionError):
        other.open(row, "text")


def test_a_different_key_under_the_same_id_refuses_to_decrypt(keys):
    row = Row()
    keys.seal(row, "text", "x")
    impostor = KeyRing.parse(f"k2:{new_key()}", new_key())
    with pytest.raises(DecryptionError):
        impostor.open(row, "text")


def test_tampered_ciphertext_is_refused(keys):
    row = Row()
    keys.seal(row, "text", "hello world")
    head, payload = row.text_enc.rsplit(".", 1)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    row.text_enc = f"{head}.{flipped}"
    with pytest.raises(DecryptionError):
        keys.open(row, "text")


def test_a_ciphertext_moved_to_another_row_is_refused(keys):
    source, target = Row(), Row()
    keys.seal(source, "text", "Karis dagbok")
    target.text_enc = source.text_enc
    with pytest.raises(DecryptionError):
        keys.open(target, "text")


def test_a_ciphertext_moved_to_another_column_is_refused(keys):
    row = Row()
    keys.seal(row, "text", "x")
    row.note_enc = row.text_enc
    with pytest.raises(DecryptionError):
        keys.open(row, "note")


def test_garbage_is_refused_not_crashed_on(keys):
    row = Row()
    row.text_enc = "not a ciphertext"
    with pytest.raises(DecryptionError):
        keys.open(row, "text")


def test_an_older_key_still_decrypts_what_it_sealed():
    old = f"k1:{new_key()}"
    index = new_key()
    row = Row()
    KeyRing.parse(old, index).seal(row, "text", "gammel")
    rotated = KeyRing.parse(f"k2:{new_key()},{old}", index)
    assert rotated.open(row, "text") == "gammel"
    assert not rotated.is_current(row.text_enc)


FIXED_KEY = "A" * 43  # 32 bytes in base64url; fixed so test ids are the same in every worker


@pytest.mark.parametrize(
    "data_keys",
    ["", "nokey", "k1:" + "A" * 10, f"bad id!:{FIXED_KEY}", f"k1:{FIXED_KEY},k1:{FIXED_KEY}"],
    ids=["empty", "no-colon", "short-key", "bad-id", "duplicate-id"],
)
def test_a_malformed_key_ring_is_refused(data_keys):
    with pytest.raises(KeyRingError):
        KeyRing.parse(data_keys, new_key())


def test_the_blind_index_ignores_case_and_spacing_and_depends_on_its_key(keys):
    assert keys.blind_index(" 15819012345 ") == keys.blind_index("15819012345")
    other = KeyRing.parse(f"k1:{new_key()}", new_key())
    assert other.blind_index("15819012345") != keys.blind_index("15819012345")
