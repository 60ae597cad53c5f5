"""Programmes as data: MULI, MULI vold, the next pathway.

A programme names who it is for, the kinds of agency that take part, the sections of its
crisis plan and mastery plan, its consent scopes, the events its meeting agenda puts first
and its outcome indicators. MULI's own (`muli/data/programmes/muli.yaml`) is the default
template: a programme may rename, add, hide or reorder sections, never drop the emergency
numbers or the four sections "to every service that meets me". The file format, field by
field: docs/programmes.md.

A definition is validated here, once, into a normalised form (every section with its key,
title in bokmål and English, kind, whether it is required and whether it is hidden), which is
what the database keeps and what an export writes. A team without a programme row runs the
built-in MULI template.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib import resources

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints
from sqlalchemy import bindparam, select

from muli.models.consent import CONSENT_SCOPES
from muli.models.people import AGENCY_KINDS, Team
from muli.models.programme import Programme
from muli.platform.context import Ctx
from muli.platform.errors import ValidationFailed
from muli.platform.text import SURROGATE_MESSAGE, printable_name, unstorable_reason
from muli.platform.words import N_, Word

FORMAT = "muli-programme/1"
DEFAULT_KEY = "muli"
MAX_FILE_BYTES = 256 * 1024

# The crisis plan's own sections: lists of items, or one text in the patient's words.
CRISIS_LIST_SECTIONS = (
    "warning_signs",  # {sign, action?}
    "coping_strategies",  # text items
    "distractions",  # text items: people and places
    "people_to_ask",  # {name, phone}
    "professionals",  # {service, phone, when_reachable?}
    "safe_environment",  # text items
    "reasons_to_live",  # text items
)
CRISIS_TEXT_SECTIONS = ("how_i_want_to_be_met", "what_helps", "what_does_not_help", "treatment_preferences")
# "To every service that meets me": what the on-call responder sees; no programme drops them.
RESPONDER_SECTIONS = CRISIS_TEXT_SECTIONS
# Shown from the team's numbers, not written by the patient; no programme drops it either.
NUMBERS_SECTION = "emergency_numbers"
REQUIRED_CRISIS_SECTIONS = (NUMBERS_SECTION, *RESPONDER_SECTIONS)
STANDARD_KINDS = {
    NUMBERS_SECTION: "numbers",
    **{s: "list" for s in CRISIS_LIST_SECTIONS},
    **{s: "text" for s in CRISIS_TEXT_SECTIONS},
}
ADDED_KINDS = ("list", "text")  # what a programme's own section may be: text items, or one text
MASTERY_SECTIONS = ("strategies", "goals")
# Names a section of a programme's own may not take: the plan's other fields in the API.
RESERVED_KEYS = frozenset(
    {"version", "last_reviewed_with_team_on", "updated_at", "written_by", "extra", "sections_meta"}
)
MAX_SECTIONS = 30
MAX_INDICATORS = 20

# What the meeting agenda counts for every programme; a programme's recorded indicators add theirs.
AGENDA_EVENTS = ("contact_requests", "escalations", "admissions")
# Outcome indicators the software computes from the admissions it holds.
COMPUTED_INDICATORS = ("acute_admissions", "bed_days", "involuntary_admissions")
INDICATOR_SOURCES = ("admissions", "recorded")
QUALITY_HEADINGS = ("effective", "safe", "user_involvement", "coordination", "resources", "access")

KEY_RE = re.compile(r"^[a-z][a-z0-9-]{1,59}$")
SECTION_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
UNIT_RE = re.compile(r"^[a-z][a-z_]{0,29}$")
LANGUAGES = ("nb", "en")


# --- reading a file ------------------------------------------------------------------------


def parse(text: str | bytes) -> dict:
    """A programme file (JSON or YAML) as data, refused with a 422 when it is neither."""
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            raise ValidationFailed("file", "At most %(n)d KiB.", {"n": MAX_FILE_BYTES // 1024})
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed("file", "Not UTF-8 text.") from None
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ValidationFailed("file", "At most %(n)d KiB.", {"n": MAX_FILE_BYTES // 1024})
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError:
        raise ValidationFailed("file", "Neither JSON nor YAML.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("file", "A programme file holds one object.")
    return data


def dump(definition: dict, fmt: str = "yaml") -> str:
    """The programme file of a definition: what an export writes and an import reads back."""
    out = exported(definition)
    if fmt == "json":
        return json.dumps(out, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=100)


def exported(definition: dict) -> dict:
    """The definition without what validation derives (whether a section is required)."""
    out = copy.deepcopy(definition)
    for plan in ("crisis_plan", "mastery_plan"):
        for section in out[plan]["sections"]:
            section.pop("required", None)
    return out


# --- validation ----------------------------------------------------------------------------


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value, field: str, max_chars: int, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(field, "A text is required.")
    value = value.strip()
    if len(value) > max_chars or "\x00" in value:
        raise ValidationFailed(field, "At most %(n)d characters, no NUL.", {"n": max_chars})
    # YAML's escapes ("\ud800") make half a character out of plain ASCII: it has no UTF-8
    # form, so the export and every page showing the text would fail.
    if unstorable_reason(value):
        raise ValidationFailed(field, SURROGATE_MESSAGE)
    # A programme's names and titles are shown to patients and staff as one line; direction
    # overrides (U+202A-202E, U+2066-2069) and control characters could make a section title
    # read as something else or break the page, and a name or title has no line breaks.
    allowed = "\r\n\t" if max_chars > 200 else ""
    if _CONTROL.search(value.translate({ord(c): None for c in allowed})):
        raise ValidationFailed(
            field,
            "No control or text-direction characters; line breaks only in longer texts.",
        )
    return value


def _bilingual(value, field: str, max_chars: int = 200, *, required: bool = True) -> dict | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(field, "Give the text in bokmål and English: {nb: ..., en: ...}.")
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        name = printable_name(sorted(map(str, unknown))[0])
        raise ValidationFailed(f"{field}.{name}", "Only nb and en.")
    return {lang: _text(value.get(lang), f"{field}.{lang}", max_chars) for lang in LANGUAGES}


def _integer(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(field, "A whole number from %(low)d to %(high)d.", {"low": low, "high": high})
    return value


def _no_unknown(data: dict, allowed: set[str], field: str) -> None:
    unknown = set(data) - allowed
    if unknown:
        name = printable_name(sorted(map(str, unknown))[0])
        raise ValidationFailed(f"{field}.{name}" if field else name, "Not a field of a programme file.")


def _object(value, field: str) -> dict:
    if not isinstance(value, dict):
        raise ValidationFailed(field, "An object is required.")
    return value


def _list(value, field: str, max_items: int) -> list:
    if not isinstance(value, list):
        raise ValidationFailed(field, "A list is required.")
    if len(value) > max_items:
        raise ValidationFailed(field, "At most %(n)d entries.", {"n": max_items})
    return value


def _flag(value, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed(field, "true or false.")
    return value


def _crisis_sections(raw, field: str) -> list[dict]:
    template = {s["key"]: s for s in _default_raw()["crisis_plan"]["sections"]}
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(_list(raw, field, MAX_SECTIONS)):
        where = f"{field}.{i}"
        entry = _object(entry, where)
        _no_unknown(entry, {"key", "title", "kind", "hidden", "required"}, where)
        key = entry.get("key")
        if not isinstance(key, str) or not SECTION_KEY_RE.match(key):
            raise ValidationFailed(f"{where}.key", "Lower-case letters, digits and _, 2-40 characters.")
        if key in seen:
            raise ValidationFailed(f"{where}.key", "The section %(key)s is listed twice.", {"key": key})
        seen.add(key)
        if key in RESERVED_KEYS:
            raise ValidationFailed(
                f"{where}.key", "%(key)s is a field of the plan, not a section name.", {"key": key}
            )
        standard = key in STANDARD_KINDS
        kind = entry.get("kind", STANDARD_KINDS.get(key))
        if standard and kind != STANDARD_KINDS[key]:
            raise ValidationFailed(
                f"{where}.kind",
                "The section %(key)s is a %(kind)s section.",
                {"key": key, "kind": STANDARD_KINDS[key]},
            )
        if not standard and kind not in ADDED_KINDS:
            raise ValidationFailed(f"{where}.kind", "A section of the programme's own is list or text.")
        title = entry.get("title")
        if title is None and standard:
            title = template[key]["title"]
        required = key in REQUIRED_CRISIS_SECTIONS
        hidden = _flag(entry.get("hidden"), f"{where}.hidden")
        if "required" in entry and _flag(entry["required"], f"{where}.required") != required:
            raise ValidationFailed(
                f"{where}.required", "Whether a section is required is not the file's choice."
            )
        if required and hidden:
            raise ValidationFailed(
                f"{where}.hidden", "The section %(key)s is required and cannot be hidden.", {"key": key}
            )
        out.append(
            {
                "key": key,
                "title": _bilingual(title, f"{where}.title"),
                "kind": kind,
                "required": required,
                "hidden": hidden,
            }
        )
    for key in REQUIRED_CRISIS_SECTIONS:
        if key not in seen:
            raise ValidationFailed(
                field, "The section %(key)s is required and cannot be dropped.", {"key": key}
            )
    # A section of the template the file leaves out is kept, hidden, at the end: what the plan
    # holds stays readable, and the API answers the same fields for every programme.
    for key, entry in template.items():
        if key not in seen:
            out.append(
                {**copy.deepcopy(entry), "kind": STANDARD_KINDS[key], "required": False, "hidden": True}
            )
    return out


def _mastery_sections(raw, field: str) -> list[dict]:
    titles = {s["key"]: s["title"] for s in _default_raw()["mastery_plan"]["sections"]}
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(_list(raw, field, MAX_SECTIONS)):
        where = f"{field}.{i}"
        entry = _object(entry, where)
        _no_unknown(entry, {"key", "title", "hidden"}, where)
        key = entry.get("key")
        if key not in MASTERY_SECTIONS:
            raise ValidationFailed(f"{where}.key", "The mastery plan's sections are strategies and goals.")
        if key in seen:
            raise ValidationFailed(f"{where}.key", "The section %(key)s is listed twice.", {"key": key})
        seen.add(key)
        title = entry.get("title", titles[key])
        out.append(
            {
                "key": key,
                "title": _bilingual(title, f"{where}.title"),
                "hidden": _flag(entry.get("hidden"), f"{where}.hidden"),
            }
        )
    for key in MASTERY_SECTIONS:
        if key not in seen:
            out.append({"key": key, "title": copy.deepcopy(titles[key]), "hidden": True})
    return out


def _indicators(raw, field: str) -> list[dict]:
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(_list(raw, field, MAX_INDICATORS)):
        where = f"{field}.{i}"
        entry = _object(entry, where)
        source = entry.get("source")
        if source not in INDICATOR_SOURCES:
            raise ValidationFailed(f"{where}.source", "admissions (computed) or recorded (by the team).")
        key = entry.get("key")
        if not isinstance(key, str) or not SECTION_KEY_RE.match(key):
            raise ValidationFailed(f"{where}.key", "Lower-case letters, digits and _, 2-40 characters.")
        if key in seen:
            raise ValidationFailed(f"{where}.key", "The indicator %(key)s is listed twice.", {"key": key})
        seen.add(key)
        if source == "admissions":
            _no_unknown(entry, {"key", "source"}, where)
            if key not in COMPUTED_INDICATORS:
                raise ValidationFailed(
                    f"{where}.key",
                    "Computed indicators: %(values)s",
                    {"values": ", ".join(COMPUTED_INDICATORS)},
                )
            out.append({"key": key, "source": source})
            continue
        _no_unknown(entry, {"key", "source", "heading", "unit", "title", "definition"}, where)
        if key in COMPUTED_INDICATORS or key in AGENDA_EVENTS:
            raise ValidationFailed(
                f"{where}.key", "%(key)s is computed by the software; record another.", {"key": key}
            )
        if entry.get("heading") not in QUALITY_HEADINGS:
            raise ValidationFailed(
                f"{where}.heading", "One of %(values)s", {"values": ", ".join(QUALITY_HEADINGS)}
            )
        unit = entry.get("unit")
        if not isinstance(unit, str) or not UNIT_RE.match(unit):
            raise ValidationFailed(f"{where}.unit", "Lower-case letters and _, at most 30.")
        out.append(
            {
                "key": key,
                "source": source,
                "heading": entry["heading"],
                "unit": unit,
                "title": _bilingual(entry.get("title"), f"{where}.title"),
                "definition": _bilingual(entry.get("definition"), f"{where}.definition", 2000),
            }
        )
    return out


def _choices(raw, field: str, allowed: tuple[str, ...], *, at_least_one: bool = True) -> list[str]:
    items = _list(raw, field, len(allowed))
    out: list[str] = []
    for i, item in enumerate(items):
        if item not in allowed:
            raise ValidationFailed(f"{field}.{i}", "One of %(values)s", {"values": ", ".join(allowed)})
        if item in out:
            raise ValidationFailed(f"{field}.{i}", "%(item)s is listed twice.", {"item": item})
        out.append(item)
    if at_least_one and not out:
        raise ValidationFailed(field, "At least one.")
    return out


TOP_FIELDS = {
    "format",
    "key",
    "name",
    "description",
    "enrolment",
    "agency_kinds",
    "crisis_plan",
    "mastery_plan",
    "consent_scopes",
    "agenda",
    "indicators",
}


def validate(raw) -> dict:
    """A programme file checked field by field into its normalised definition (422 naming the
    first field that is wrong)."""
    raw = _object(raw, "file")
    _no_unknown(raw, TOP_FIELDS, "")
    if raw.get("format") != FORMAT:
        raise ValidationFailed("format", "A programme file says format: %(format)s.", {"format": FORMAT})
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationFailed("key", "Lower-case letters, digits and -, 2-60 characters.")
    enrolment = _object(raw.get("enrolment"), "enrolment")
    _no_unknown(enrolment, {"criteria", "min_events", "event", "within_months"}, "enrolment")
    crisis = _object(raw.get("crisis_plan"), "crisis_plan")
    _no_unknown(crisis, {"sections"}, "crisis_plan")
    mastery = _object(raw.get("mastery_plan", {"sections": []}), "mastery_plan")
    _no_unknown(mastery, {"sections"}, "mastery_plan")
    agenda = _object(raw.get("agenda", {"first": []}), "agenda")
    _no_unknown(agenda, {"first"}, "agenda")
    indicators = _indicators(raw.get("indicators", []), "indicators")
    recorded = tuple(i["key"] for i in indicators if i["source"] == "recorded")
    scopes = _choices(raw.get("consent_scopes"), "consent_scopes", CONSENT_SCOPES)
    if "crisis_plan" not in scopes:
        raise ValidationFailed("consent_scopes", "The crisis plan is asked for in every programme.")
    event = enrolment.get("event")
    if event is not None and event not in COMPUTED_INDICATORS + recorded:
        raise ValidationFailed("enrolment.event", "An admissions indicator or one the programme records.")
    return {
        "format": FORMAT,
        "key": key,
        "name": _bilingual(raw.get("name"), "name"),
        "description": _bilingual(raw.get("description"), "description", 2000, required=False),
        "enrolment": {
            "criteria": _bilingual(enrolment.get("criteria"), "enrolment.criteria", 2000),
            "min_events": None
            if enrolment.get("min_events") is None
            else _integer(enrolment["min_events"], "enrolment.min_events", 1, 1000),
            "event": event,
            "within_months": None
            if enrolment.get("within_months") is None
            else _integer(enrolment["within_months"], "enrolment.within_months", 1, 120),
        },
        "agency_kinds": _choices(raw.get("agency_kinds"), "agency_kinds", AGENCY_KINDS),
        "crisis_plan": {"sections": _crisis_sections(crisis.get("sections"), "crisis_plan.sections")},
        "mastery_plan": {"sections": _mastery_sections(mastery.get("sections", []), "mastery_plan.sections")},
        "consent_scopes": scopes,
        "agenda": {
            "first": _choices(
                agenda.get("first", []), "agenda.first", AGENDA_EVENTS + recorded, at_least_one=False
            )
        },
        "indicators": indicators,
    }


# --- the built-in programmes ---------------------------------------------------------------

BUILT_IN = ("muli", "muli-vold")


def built_in_text(key: str) -> str:
    return resources.files("muli.data").joinpath("programmes", f"{key}.yaml").read_text(encoding="utf-8")


@cache
def _default_raw() -> dict:
    return yaml.safe_load(built_in_text(DEFAULT_KEY))


@cache
def _built_in(key: str) -> dict:
    return validate(parse(built_in_text(key)))


def built_in(key: str) -> dict:
    """A built-in programme's definition (a copy: callers may change theirs)."""
    return copy.deepcopy(_built_in(key))


def default() -> dict:
    """MULI's definition, the template every programme starts from."""
    return built_in(DEFAULT_KEY)


# --- a team's programme --------------------------------------------------------------------


def for_team(ctx: Ctx, team: Team | None) -> dict:
    """The definition of the programme the team runs (MULI's template for a team without one)."""
    if team is None or team.programme_id is None:
        return _built_in(DEFAULT_KEY)
    # A programme this unit of work holds already (perhaps changed, not yet flushed) is the
    # one to answer; otherwise only its definition is read, with Core (loading the whole row
    # through the ORM was a third of the crisis plan's view).
    held = _held(ctx, team.programme_id)
    if held is not None:
        return held.definition
    definition = ctx.session.execute(_DEFINITION, {"id": team.programme_id}).scalar()
    return definition if definition is not None else _built_in(DEFAULT_KEY)


def _held(ctx: Ctx, programme_id) -> Programme | None:
    return ctx.session.identity_map.get(ctx.session.identity_key(Programme, programme_id))


_DEFINITION = select(Programme.__table__.c.definition).where(Programme.__table__.c.id == bindparam("id"))

# The same definition as a column another statement can carry (bind `programme_id`, the team's
# `programme_id`, NULL for none): a read that needs the definition gets it along with its own
# row instead of in a statement of its own (the crisis plan and its plan sync). Give what it
# read to `read_for_team`.
DEFINITION_COLUMN = (
    select(Programme.__table__.c.definition)
    .where(Programme.__table__.c.id == bindparam("programme_id"))
    .scalar_subquery()
    .label("programme_definition")
)


def read_for_team(ctx: Ctx, team: Team | None, definition: dict | None) -> dict:
    """`for_team`'s answer from a definition read along with another statement
    (`DEFINITION_COLUMN`, bound to `team.programme_id`): the same rules, no statement."""
    if team is None or team.programme_id is None:
        return _built_in(DEFAULT_KEY)
    held = _held(ctx, team.programme_id)
    if held is not None:
        return held.definition
    return definition if definition is not None else _built_in(DEFAULT_KEY)


def consent_scopes_of(definition: dict) -> tuple[str, ...]:
    """The consent the programme asks for, in the service's order of scopes."""
    return tuple(s for s in CONSENT_SCOPES if s in definition["consent_scopes"])


# What each kind of agency is called where people read it (the codes are the file's words).
AGENCY_KIND_NAMES = {
    "municipality": N_("municipality"),
    "dps": N_("DPS (district psychiatric centre)"),
    "acute_ward": N_("acute ward"),
    "police": N_("police"),
    "nav": N_("NAV"),
    "correctional_service": N_("correctional service"),
    "prison_health": N_("prison health service"),
    "other": N_("other"),
}


def check_agency_kind(definition: dict, kind: str, field: str) -> None:
    """422 naming `field` when the programme does not include agencies of this kind (one
    message wherever an agency would join a team whose programme leaves its kind out)."""
    if kind not in definition["agency_kinds"]:
        raise ValidationFailed(
            field,
            "The programme %(programme)s does not include agencies of this kind (%(kind)s).",
            {"programme": definition["name"], "kind": Word(AGENCY_KIND_NAMES.get(kind, kind))},
        )


def find(ctx: Ctx, key: str) -> Programme | None:
    return ctx.session.scalars(select(Programme).where(Programme.key == key)).first()


def crisis_sections(definition: dict) -> list[dict]:
    return definition["crisis_plan"]["sections"]


def added_sections(definition: dict) -> list[dict]:
    """The programme's own crisis-plan sections (stored under `extra` in the plan)."""
    return [s for s in crisis_sections(definition) if s["key"] not in STANDARD_KINDS]


def is_default_crisis_plan(definition: dict) -> bool:
    """Whether the crisis plan's sections are the template's as they are: then the API answers the
    plan exactly as before programmes existed (no `extra`, no `sections_meta`)."""
    return crisis_sections(definition) == crisis_sections(_built_in(DEFAULT_KEY))


def is_default_mastery_plan(definition: dict) -> bool:
    """Whether the mastery plan's sections are MULI's as they are (titles, order, none hidden):
    then the API answers the plan exactly as before programmes existed (no `sections_meta`)."""
    return definition["mastery_plan"]["sections"] == _built_in(DEFAULT_KEY)["mastery_plan"]["sections"]


def mastery_sections_meta(definition: dict) -> list[dict]:
    """The mastery plan's sections in the programme's order: key, title (nb, en), hidden, order."""
    return [
        {"key": s["key"], "title": s["title"], "hidden": s["hidden"], "order": i}
        for i, s in enumerate(definition["mastery_plan"]["sections"])
    ]


def title(entry: dict, lang: str) -> str:
    return entry["title"].get(lang) or entry["title"]["en"]


def public_view(definition: dict) -> dict:
    """What a patient's app needs of the programme: its name and its plans' sections."""
    return {
        "key": definition["key"],
        "name": definition["name"],
        "crisis_plan": definition["crisis_plan"],
        "mastery_plan": definition["mastery_plan"],
        "consent_scopes": definition["consent_scopes"],
    }


def my_programme(ctx: Ctx) -> dict:
    """The programme of the patient's team: the sections their plans show, in order, titled."""
    from muli.trust import access, audit

    patient = access.own_patient(ctx)
    audit.record(ctx.session, ctx.actor, "programme.read", patient_id=patient.id, resource="programme")
    return public_view(for_team(ctx, patient.team))
