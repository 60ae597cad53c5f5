"""The portal's message catalogues, compiled when the server starts if they need it.

`make` compiles them (`pybabel compile`), but a server started any other way (`gunicorn
wsgi:app` in a fresh checkout, an install from the package) found no .mo files and silently
spoke English. So at start-up every catalogue whose .mo is missing or older than its .po is
compiled with Babel's own compiler, as `pybabel compile` does (fuzzy entries left out): next
to its .po when that folder can be written, otherwise into the instance folder, which is
then the folder Flask-Babel reads.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def _stale(po: Path, mo: Path) -> bool:
    return not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime


def _compile(po: Path, mo: Path) -> None:
    """po -> mo, written whole under another name and then renamed (several workers may
    start at once; none reads half a file)."""
    locale = po.relative_to(po.parents[2]).parts[0]
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    mo.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalog, use_fuzzy=False)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def compiled(source: Path, spare: Path) -> Path:
    """The folder of compiled catalogues for the .po files under `source`: `source` itself
    when its .mo files are (or could be made) current, else `spare`."""
    catalogues = sorted(source.glob("*/LC_MESSAGES/*.po"))
    try:
        for po in catalogues:
            if _stale(po, po.with_suffix(".mo")):
                _compile(po, po.with_suffix(".mo"))
        return source
    except OSError:
        for po in catalogues:
            mo = spare / po.relative_to(source).with_suffix(".mo")
            if _stale(po, mo):
                _compile(po, mo)
        return spare
