"""Text as UTF-8 and PostgreSQL can hold it: what is refused, what is replaced."""

from muli.platform.text import (
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    make_storable,
    printable_name,
    unstorable_reason,
)


def test_text_that_can_be_stored_is_left_as_it_is():
    for text in ("", "Hjelp meg 😀", "æøå \ufffd \u200b", "\\ud83d"):
        assert unstorable_reason(text) is None
        assert make_storable(text) == (text, False)


def test_half_a_character_and_nul_are_named_and_replaced_one_for_one():
    assert unstorable_reason("Hjelp meg \ud83d") == SURROGATE_MESSAGE
    assert unstorable_reason("a\x00b\udc00") == NUL_MESSAGE
    assert make_storable("\ude00Hjelp\ud83d\ud83d\x00") == ("\ufffdHjelp\ufffd\ufffd\ufffd", True)
    fixed, _ = make_storable("x\ud800y")
    assert fixed.encode("utf-8") == "x\ufffdy".encode()


def test_a_field_name_with_half_a_character_is_printable():
    assert printable_name("tekst\ud800") == "tekst\\ud800"
    assert printable_name("tekst").encode("utf-8") == b"tekst"
