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


def _sealed_under_two_old_keys():
    """Tokens sealed under k1 and k0 in turn (as after an interrupted earlier rotation),
    their associated data, and a ring whose newest key is k2."""
    index, k1, k0 = new_key(), f"k1:{new_key()}", f"k0:{new_key()}"
    rows, tokens, aads = [], [], []
    for i in range(7):
        row = Row()
        KeyRing.parse(k1 if i % 3 else k0, index).seal(row, "text", f"linje {i}")
        rows.append(row)
        tokens.append(row.text_enc)
        aads.append(f"diary_entry|text|{row.id}".encode())
    return rows, tokens, aads, KeyRing.parse(f"k2:{new_key()},{k1},{k0}", index)


def test_a_batch_under_several_old_keys_is_sealed_again_under_the_newest_alone():
    rows, tokens, aads, ring = _sealed_under_two_old_keys()
    assert {t.split(".")[1] for t in tokens} == {"k0", "k1"}
    sealed = ring.reencrypt_many(tokens, aads)
    only_new = KeyRing(keys=ring.keys[:1], index_key=ring.index_key)
    for i, (row, token) in enumerate(zip(rows, sealed, strict=True)):
        assert token.startswith("v1.k2.") and "=" not in token
        row.text_enc = token
        assert only_new.open(row, "text") == f"linje {i}"
    assert len({t[6:22] for t in sealed}) == len(sealed)  # a fresh nonce each


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:20] + " " + t[20:],  # whitespace a lenient decoder would skip
        lambda t: t[:20] + "==" + t[20:],  # padding inside
        lambda t: "v2" + t[2:],  # another format
        lambda t: t.replace("v1.k1.", "v1.k9."),  # a key not in the ring
        lambda t: t.replace("v1.k1.", "v1.k1.."),  # an extra dot after a known key's prefix
        lambda t: "\0" + t,  # not even the format's start
        lambda t: t[:-1],  # one character short: the tag does not match
    ],
    ids=["space", "padding", "format", "unknown-key", "dot", "nul", "short"],
)
def test_a_batch_with_one_malformed_token_is_refused_whole(damage):
    _rows, tokens, aads, ring = _sealed_under_two_old_keys()
    assert tokens[4].startswith("v1.k1.") and tokens[5].startswith("v1.k1.")
    tokens[5] = damage(tokens[5])  # after a good token under the same key
    with pytest.raises(DecryptionError):
        ring.reencrypt_many(tokens, aads)
