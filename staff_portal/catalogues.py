"""The portal's message catalogues, compiled when the server starts if they need it; and
how their entries are found in the code (`python -m staff_portal.catalogues`, `make messages`).

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

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "translations"
# The calls whose text is a message: gettext's, Flask-Babel's lazy ones, `N_` (marks text that
# is translated where it is shown) and the domain's errors, whose message is their first
# argument (a ValidationFailed's second): the web layers show it in the reader's language.
ERRORS = (
    "MuliError",
    "BadRequest",
    "AuthenticationFailed",
    "ActivationFailed",
    "Forbidden",
    "ConsentRequired",
    "NotOnTeam",
    "NotFound",
    "Conflict",
    "InvalidState",
    "PreconditionFailed",
    "PreconditionRequired",
)
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "N_": None,
    "ValidationFailed": (2,),
    **dict.fromkeys(ERRORS),
}


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


def extract(root: Path = ROOT) -> Catalog:
    """Every message in the code and templates, as `pybabel extract -F babel.cfg` finds them
    with KEYWORDS, plus the audit trail's plain words (named in a table, not in calls)."""
    from muli.trust import audit_words

    with (root / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog(project="MULI", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text in audit_words.all_words():
        if text not in catalog:
            catalog.add(text, None, [("muli/trust/audit_words.py", 0)])
    return catalog


def update(source: Path = SOURCE) -> None:
    """Bring every .po file in line with the code, keeping its order (parallel branches
    merge): new messages appended untranslated, gone ones dropped (no obsolete `#~` entries)."""
    template = extract()
    wanted = {message.id if isinstance(message.id, str) else message.id[0] for message in template}
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parts[-3])
        for message in list(catalog):
            key = message.id if isinstance(message.id, str) else message.id[0]
            if message.id and key not in wanted:
                catalog.delete(message.id, context=message.context)
        for message in template:
            if message.id and message.id not in catalog:
                catalog.add(message.id, "" if isinstance(message.id, str) else ("", ""), flags=message.flags)
            if message.id and message.auto_comments:
                catalog[message.id].auto_comments = list(message.auto_comments)
        catalog.obsolete.clear()
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100, no_location=True, include_previous=False)


if __name__ == "__main__":
    update()
