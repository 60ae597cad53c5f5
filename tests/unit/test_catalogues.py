"""Every text a person reads is in the catalogues, in bokmål and English.

Read from the code, not by running it:
  (a) the portal's Jinja templates: every visible text node and every attribute a person
      reads (title, placeholder, aria-label, alt, a button's value) goes through gettext, and
      so does every string in a template expression that reads as language;
  (b) the portal's Python: no text that reads as language outside gettext (flash messages,
      form labels, error pages); the domain's and the API's error messages are literals the
      catalogue can find (never an f-string or built by `%`, `+` or `.format`: the web layers
      translate them, `muli.platform.words`);
  (c) the patient app: every key its code uses is in both catalogues (static/i18n/nb.json,
      en.json), they hold the same keys with the same {placeholders} and plural forms, no key
      is unused, and no text that reads as language is written into the code;
  (d) the portal's .po files are in line with the code (`python -m staff_portal.catalogues`),
      every entry has a bokmål translation, none is fuzzy or obsolete, and `msgfmt -c` passes.

Text that is not language (the product's name, phone numbers, formats) is allowed by the
short lists below, each with its reason.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from babel.messages.pofile import read_po

from staff_portal.catalogues import ERRORS, extract

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "staff_portal" / "templates"
TRANSLATIONS = ROOT / "staff_portal" / "translations"
APP = ROOT / "patient_app" / "static"

LETTER = re.compile(r"[^\W\d_]")
# A word as language has it: a capital followed by small letters ("Send", "Pasient").
WORD = re.compile(r"\b[A-ZÆØÅ][a-zæøå]{1,}\b")
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l", "lazy_gettext", "lazy_ngettext", "N_"}

# Text that is not language. Keep it short, and say why.
NOT_LANGUAGE = {
    "MULI",  # the product's name
    "116 117",  # the out-of-hours GP (legevakt): a number, the same in every language
    "113",  # the medical emergency number
    "·",  # a separator
    "→",
    "←",
    "✓",
    "\u00d7",  # multiplication sign
    "\u2014",  # em dash
    "\u2013",  # en dash
    "English",  # the language switch names each language in itself
    "Norsk (bokmål)",
    "YAML",  # file formats, named the same in every language (the programme export links)
    "JSON",
}
# Strings in template expressions and portal code that look like words but are not read as
# language: formats, zone and endpoint names.
NOT_LANGUAGE_STRINGS = {
    "Europe/Oslo",  # a time zone's name
    "HH:mm",  # a time format
    "MMM yy",  # a date format
    "PAM",  # the default facility of an admission: the acute ward's name, a proper noun
}


def _language(text: str) -> bool:
    """Whether text reads as language once what is allowed is taken out."""
    for allowed in sorted(NOT_LANGUAGE, key=len, reverse=True):
        text = text.replace(allowed, " ")
    return bool(LETTER.search(text))


def _reads_as_language(value: str) -> bool:
    """A string in code that a person would read: a capitalised word and a space or a full
    stop, and not an identifier, a format or an allowed name."""
    if value in NOT_LANGUAGE_STRINGS or value in NOT_LANGUAGE:
        return False
    return bool(WORD.search(value)) and (" " in value.strip() or value.rstrip().endswith((".", "?", "!")))


# --- (a) templates --------------------------------------------------------------------------

PLACEHOLDER = "0"  # what an expression prints, for the HTML reader: no letter, and valid in a tag
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "aria-description", "aria-roledescription")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        read = [n for n in READ_ATTRIBUTES if n in values]
        if tag == "input" and (values.get("type") or "") in ("submit", "button", "reset"):
            read.append("value")  # the button's text
        for name in read:
            value = (values.get(name) or "").replace(PLACEHOLDER, " ")
            if _language(value):
                self.found.append(f'<{tag} {name}="{value.strip()}">')
        # Text a page's script shows (queue.js: data-expired) travels in data attributes.
        for name, value in values.items():
            if name.startswith("data-") and _reads_as_language((value or "").replace(PLACEHOLDER, " ")):
                self.found.append(f'<{tag} {name}="{value.strip()}">')

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        text = data.replace(PLACEHOLDER, " ").strip()
        if not self._skip and _language(text):
            self.found.append(" ".join(text.split()))


def template_offences(source: str) -> list[str]:
    """Text outside gettext in one template: visible text nodes, attributes a person reads,
    and strings in expressions that read as language."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    html: list[str] = []
    offences: list[str] = []
    calls: list[str | None] = []  # the call each open bracket belongs to
    prev_kind, prev_value = "", ""
    in_trans = False
    for _, kind, value in env.lex(source):
        if kind == "data":
            if not in_trans:
                html.append(value)
        elif kind == "variable_begin":
            html.append(PLACEHOLDER)
        elif kind == "whitespace":
            continue
        elif kind == "name" and prev_kind == "block_begin" and value in ("trans", "endtrans"):
            in_trans = value == "trans"
        elif kind == "operator" and value in "([{":
            calls.append(prev_value if value == "(" and prev_kind == "name" else None)
        elif kind == "operator" and value in ")]}":
            if calls:
                calls.pop()
        elif kind == "string" and not (calls and calls[-1] in GETTEXT):
            text = ast.literal_eval(value)
            if _reads_as_language(text):
                offences.append(f"{{{{ {text!r} }}}}")
        prev_kind, prev_value = kind, value
    parser = _Visible()
    parser.feed("".join(html))
    parser.close()
    return offences + parser.found


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_text_goes_through_gettext(path):
    assert template_offences(path.read_text()) == []


def test_the_template_reader_finds_untranslated_text():
    found = template_offences(
        '<p title="Last seen">{{ _("Hello") }} Welcome back</p>'
        '<button type="submit" aria-label="{{ _(\'Send\') }}">{{ _("Send") }}</button>'
        '<input type="submit" value="Go on">{{ field(form.x, hint=\'Write a short note.\') }}'
        '<p data-expired="Signed out. Sign in again." data-poll="{{ url }}"></p>'
        "<script>const a = 'Not read';</script>{% trans %}Translated{% endtrans %} MULI · 116 117"
    )
    assert found == [
        "{{ 'Write a short note.' }}",
        '<p title="Last seen">',
        "Welcome back",
        '<input value="Go on">',
        '<p data-expired="Signed out. Sign in again.">',
    ]


# --- (b) Python ------------------------------------------------------------------------------


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _inside(node: ast.AST, parents: dict, names: set[str]) -> bool:
    """Inside a call of one of `names` (gettext), or of a logger (not read by users)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in names:
                return True
            f = node.func
            if isinstance(f, ast.Attribute) and getattr(f.value, "id", "") in ("log", "logging", "logger"):
                return True
    return False


def _docstring(node: ast.AST, parents: dict) -> bool:
    parent = parents.get(node)
    owner = parents.get(parent) if isinstance(parent, ast.Expr) else None
    return isinstance(owner, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and (
        owner.body[0] is parent
    )


def portal_offences(source: str, filename: str = "<portal>") -> list[str]:
    """Strings in the portal's Python that read as language and are not translated."""
    tree = ast.parse(source, filename)
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if isinstance(parents.get(node), ast.JoinedStr):
                continue
            value = node.value
        elif isinstance(node, ast.JoinedStr):
            value = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        else:
            continue
        if _reads_as_language(value) and not _docstring(node, parents) and not _inside(node, parents, SHOWN):
            found.append(f"{filename}:{node.lineno}: {value!r}")
    return found


# Calls whose text is translated where it is shown: gettext's and the domain's errors.
SHOWN = GETTEXT | {*ERRORS, "ValidationFailed"}


def _python(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def test_portal_code_translates_what_people_read():
    found = []
    for path in _python("staff_portal"):
        found += portal_offences(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_the_portal_reader_finds_untranslated_text():
    source = (
        '"""A docstring. Not read by users."""\n'
        'flash(_("Saved."), "success")\n'
        'flash("The shift is removed.", "success")\n'
        'flash(f"Version {n} is proposed.", "success")\n'
        'log.info("Something Happened here")\n'
        'label = StringField(_l("Who"))\n'
        'other = StringField("Who is on call")\n'
        'endpoint = "portal.queue"\n'
    )
    assert portal_offences(source) == [
        "<portal>:3: 'The shift is removed.'",
        "<portal>:4: 'Version  is proposed.'",
        "<portal>:7: 'Who is on call'",
    ]


ERROR_CALLS = {*ERRORS, "ValidationFailed"}


def error_message_offences(source: str, filename: str = "<domain>") -> list[str]:
    """Error messages the catalogue cannot find: built at run time instead of written out."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call) or _call_name(node) not in ERROR_CALLS:
            continue
        position = 1 if _call_name(node) == "ValidationFailed" else 0
        message = node.args[position] if len(node.args) > position else None
        if isinstance(message, (ast.JoinedStr, ast.BinOp)) or (
            isinstance(message, ast.Call)
            and isinstance(message.func, ast.Attribute)
            and message.func.attr in ("format", "join")
        ):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(message)}")
    return found


def test_domain_and_api_error_messages_can_be_translated():
    found = []
    for package in ("muli", "api", "staff_portal"):
        for path in _python(package):
            found += error_message_offences(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_the_error_reader_finds_messages_built_at_run_time():
    source = (
        'raise Conflict("%(name)s has it.", params={"name": n})\n'
        'raise Conflict(f"{n} has it.")\n'
        'raise ValidationFailed(f"items.{i}", "Too long.")\n'
        'raise ValidationFailed("kind", "One of: " + ", ".join(KINDS))\n'
        'raise NotFound("No such {}.".format(thing))\n'
    )
    assert error_message_offences(source) == [
        "<domain>:2: f'{n} has it.'",
        "<domain>:4: 'One of: ' + ', '.join(KINDS)",
        "<domain>:5: 'No such {}.'.format(thing)",
    ]


# --- (c) the patient app ---------------------------------------------------------------------

KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`((?:[^`\\]|\\.)*)`')
PLURAL_FORMS = {"one", "other"}


def _catalogue(lang: str) -> dict:
    return json.loads((APP / "i18n" / f"{lang}.json").read_text())


def _scripts():
    return sorted((APP / "js").rglob("*.js"))


def app_keys(sources: list[str]) -> tuple[set[str], list[re.Pattern]]:
    """Keys the code names: every string that has a key's shape, and the patterns of keys
    built at run time (t(`crisis.status_${v.status}`))."""
    named: set[str] = set()
    patterns = []
    for source in sources:
        for match in JS_STRING.finditer(source):
            value = next(g for g in match.groups() if g is not None)
            if match.group(3) is not None and "${" in value:
                shape = re.sub(r"\\\$\\\{[^}]*\\\}", "[a-z0-9_]+", re.escape(value))
                if KEY.match(re.sub(r"\$\{[^}]*\}", "x", value)):
                    patterns.append(re.compile(f"^{shape}$"))
            elif KEY.match(value):
                named.add(value)
    return named, patterns


def _placeholders(text) -> set[str]:
    texts = text.values() if isinstance(text, dict) else [text]
    return {name for t in texts for name in re.findall(r"\{(\w+)\}", t)}


def test_app_catalogues_hold_the_same_keys_placeholders_and_plural_forms():
    nb, en = _catalogue("nb"), _catalogue("en")
    assert sorted(set(nb) ^ set(en)) == []
    differ = [key for key in nb if _placeholders(nb[key]) != _placeholders(en[key])]
    assert differ == []
    plurals = [k for k, v in {**nb, **en}.items() if isinstance(v, dict)]
    bad = [k for k in plurals if not (isinstance(nb[k], dict) and isinstance(en[k], dict))]
    bad += [k for k in plurals if set(nb[k]) != PLURAL_FORMS or set(en[k]) != PLURAL_FORMS]
    assert bad == []
    empty = [
        k for lang in (nb, en) for k, v in lang.items() if not (all(v.values()) if isinstance(v, dict) else v)
    ]
    assert empty == []


T_CALL = re.compile(r"\bt\(([^()]*)[,)]")


def translated_keys(source: str) -> set[str]:
    """The keys written into t(...) calls (both sides of a `?:` too)."""
    keys = set()
    for call in T_CALL.finditer(source):
        for match in JS_STRING.finditer(call.group(1)):
            value = next(g for g in match.groups() if g is not None)
            if KEY.match(value):
                keys.add(value)
    return keys


def test_every_key_the_app_uses_is_in_the_catalogues_and_every_key_is_used():
    nb = _catalogue("nb")
    sources = [p.read_text() for p in _scripts()]
    missing = sorted(k for source in sources for k in translated_keys(source) if k not in nb)
    assert missing == []
    named, patterns = app_keys(sources)
    unused = sorted(k for k in nb if k not in named and not any(p.match(k) for p in patterns))
    assert unused == []


def app_text_offences(source: str, filename: str = "<app>") -> list[str]:
    """Strings in the app's code that read as language (they belong in the catalogues)."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("//", "*", "import ", "console.")) or "new Error(" in line:
            continue
        for match in JS_STRING.finditer(line):
            value = next(g for g in match.groups() if g is not None)
            if not KEY.match(value) and _reads_as_language(re.sub(r"\$\{[^}]*\}", "", value)):
                found.append(f"{filename}:{number}: {value!r}")
    return found


def test_the_app_writes_no_text_outside_its_catalogues():
    found = []
    for path in _scripts():
        found += app_text_offences(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []
    # The page the app starts in speaks bokmål until the app has loaded its catalogue and
    # redraws it: each of its texts is a bokmål text of the catalogue (a key the app uses).
    # Only <noscript> is left as written: without script there is no language to choose.
    index = re.sub(r"<noscript>.*?</noscript>", "", (APP / "index.html").read_text(), flags=re.S)
    parser = _Visible()
    parser.feed(index)
    texts = {re.sub(r'^<\w+ [\w-]+="(.*)">$', r"\1", found) for found in parser.found}
    bokmal = {text for text in _catalogue("nb").values() if isinstance(text, str)}
    assert sorted(texts - bokmal) == []


def test_the_app_readers_find_untranslated_text_and_keys():
    source = 'h("p", {}, t("home.hello"));\nh("p", {}, "Try again later.");\n// A comment. Fine.\n'
    assert app_text_offences(source) == ["<app>:2: 'Try again later.'"]
    named, patterns = app_keys(['t("home.hello"); t(`crisis.status_${v.status}`); store.get("muli.lang");'])
    assert named == {"home.hello", "muli.lang"}
    assert translated_keys('t("home.hello"); t(ok ? "a.yes" : "a.no", {n}); get("muli.lang")') == {
        "home.hello",
        "a.yes",
        "a.no",
    }
    assert patterns[0].match("crisis.status_current") and not patterns[0].match("crisis.title")


# --- (d) the portal's .po files --------------------------------------------------------------


def _po(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted():
    return extract()


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_po_files_are_in_line_with_the_code(lang, extracted):
    """Run `python -m staff_portal.catalogues` (`make messages`) and translate what is new."""
    catalog = _po(lang)
    assert sorted(_ids(extracted) - _ids(catalog)) == [], "in the code, not in the catalogue"
    assert sorted(_ids(catalog) - _ids(extracted)) == [], "in the catalogue, no longer in the code"
    assert list(catalog.obsolete) == []


def test_every_entry_has_a_bokmal_translation():
    catalog = _po("nb")
    untranslated = [
        m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_msgfmt_checks_pass(lang, tmp_path):
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is needed (Debian: gettext)"
    po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    done = subprocess.run(
        ["msgfmt", "-c", "-o", str(tmp_path / "messages.mo"), str(po)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
