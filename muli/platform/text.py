"""Text as UTF-8 and PostgreSQL can hold it.

Two things in a Python string cannot be stored as sent: a lone UTF-16 surrogate (what
`JSON.stringify` makes of a string cut in the middle of an emoji, `"\\ud83d"`: it has no
UTF-8 form, so encrypting or writing it fails) and NUL (PostgreSQL refuses it in text).
The web layers refuse such text with a 4xx naming the field; where the request matters
more than its text (a contact request's message) the domain replaces each with U+FFFD.
"""

from __future__ import annotations

import re

from muli.platform.words import N_

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

NUL_MESSAGE = "Text cannot contain the NUL character."
# Marked for the catalogue: a programme file's text is refused with it (`muli.patient.programme`),
# shown in the reader's language.
SURROGATE_MESSAGE = N_(
    "Text cannot contain half a character (a lone UTF-16 surrogate such as \\ud83d, "
    "e.g. an emoji cut in two)."
)


def unstorable_reason(text: str) -> str | None:
    """Why `text` cannot be stored as sent, or None if it can."""
    if _UNSTORABLE.search(text) is None:
        return None
    return NUL_MESSAGE if "\x00" in text else SURROGATE_MESSAGE


def make_storable(text: str) -> tuple[str, bool]:
    """`text` with each lone surrogate and NUL replaced by U+FFFD, and whether any was."""
    fixed, count = _UNSTORABLE.subn(REPLACEMENT, text)
    return fixed, count > 0


def printable_name(name: str) -> str:
    """A field name fit for an error message: a lone surrogate written as `\\udXXX`."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)
