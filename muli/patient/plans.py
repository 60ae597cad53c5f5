"""The crisis plan ("Når det er krise"), and the versions both plans are kept in.

Each plan is a chain of versions. The patient's edits become current at once, guarded by an
ETag (`If-Match`): the `plan` row's `current_version` moves only by a compare-and-set update,
so of two devices editing at once one wins and the other gets 412. Staff write proposals,
which become current only when the patient approves them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from muli.models.people import Patient
from muli.models.plans import Plan, PlanVersion
from muli.patient import programme
from muli.patient.consent import record_access
from muli.patient.profile import emergency_numbers
from muli.platform.context import Ctx
from muli.platform.crypto import aad
from muli.platform.errors import (
    InvalidState,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from muli.platform.pagination import Page, keyset
from muli.trust import access, audit

# Crisis plan sections: lists of items, or one text in the patient's words (MULI's template;
# another programme renames, hides, reorders and adds to them: muli.patient.programme).
CRISIS_LIST_SECTIONS = programme.CRISIS_LIST_SECTIONS
CRISIS_TEXT_SECTIONS = programme.CRISIS_TEXT_SECTIONS
CRISIS_SECTIONS = CRISIS_LIST_SECTIONS + CRISIS_TEXT_SECTIONS
RESPONDER_SECTIONS = programme.RESPONDER_SECTIONS

# Limits, shared with the API schemas so both doors refuse the same input.
MAX_ITEMS = 30
MAX_ITEM_CHARS = 500
MAX_TEXT_CHARS = 2000
MAX_NAME_CHARS = 200
MAX_PHONE_CHARS = 32


def empty_crisis_document() -> dict:
    return {**{s: [] for s in CRISIS_LIST_SECTIONS}, **{s: None for s in CRISIS_TEXT_SECTIONS}}


def empty_mastery_document() -> dict:
    return {"strategies": [], "goals": []}


EMPTY = {"crisis": empty_crisis_document, "mastery": empty_mastery_document}


@dataclass(frozen=True)
class PlanDoc:
    """A plan as the API answers it, and its ETag."""

    body: dict
    etag: str


# --- versions, shared by both plans (the mastery plan is in muli.patient.mastery) ---------------------


def find_plan(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> Plan | None:
    """The patient's plan of this kind, if it was ever written or proposed."""
    return ctx.session.scalars(select(Plan).where(Plan.patient_id == patient_id, Plan.kind == kind)).first()


MAX_VERSION_NUMBER = 2**31 - 1


def version_of(ctx: Ctx, plan: Plan | None, number: int) -> PlanVersion | None:
    """One version by number (0, the empty plan, has no row)."""
    # A number past the column's range names no version, and must not reach the database
    # (SQLite and PostgreSQL both fail on it: a URL like /versions/10**20/approve was a 500).
    if plan is None or not 1 <= number <= MAX_VERSION_NUMBER:
        return None
    return ctx.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.version == number)
    ).first()


def current(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> tuple[Plan | None, PlanVersion | None]:
    """The plan and its current version (either may be None), in one query: every read of a
    plan (the crisis plan above all) starts here."""
    row = ctx.session.execute(
        select(Plan, PlanVersion)
        .outerjoin(
            PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.version == Plan.current_version)
        )
        .where(Plan.patient_id == patient_id, Plan.kind == kind)
    ).first()
    if row is None:
        return None, None
    plan, version = row
    return plan, version


def document_of(ctx: Ctx, kind: str, pv: PlanVersion | Row | None) -> dict:
    """The decrypted document of a version (a PlanVersion, or a row of its columns with `id`
    and `document_enc`), every part present."""
    if pv is None:
        return EMPTY[kind]()
    token = pv.document_enc
    text = None if token is None else ctx.keys.decrypt(token, aad("plan_version", "document", pv.id))
    return {**EMPTY[kind](), **json.loads(text or "{}")}


# The current version of a patient's plan of a kind, as the columns a read shows (Core, on the
# tables, built once): no row when there is no plan or no version yet.
_PLAN = Plan.__table__
_VERSION = PlanVersion.__table__
_CURRENT_VERSION = (
    select(
        _VERSION.c.id,
        _VERSION.c.version,
        _VERSION.c.document_enc,
        _VERSION.c.author_kind,
        _VERSION.c.author_name,
        _VERSION.c.author_agency_name,
        _VERSION.c.last_reviewed_with_team_on,
        _VERSION.c.created_at,
    )
    .select_from(
        _PLAN.join(
            _VERSION, (_VERSION.c.plan_id == _PLAN.c.id) & (_VERSION.c.version == _PLAN.c.current_version)
        )
    )
    .where(_PLAN.c.patient_id == bindparam("patient_id"), _PLAN.c.kind == bindparam("kind"))
)


def current_version_row(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> Row | None:
    """The current version for reading (`document_of`, `written_by` take it), in one Core query."""
    return ctx.session.execute(_CURRENT_VERSION, {"patient_id": patient_id, "kind": kind}).first()


# The patient's own crisis-plan read and plan sync need the team's programme definition as
# well: it comes in the same statement (`programme.DEFINITION_COLUMN`), one row always, from
# a one-row select of the definition (NULL: none) with the plan and its current version
# outer-joined (NULLs: no plan, or no version yet).
_DEFINITION_ROW = select(programme.DEFINITION_COLUMN).subquery("team_programme")
_CURRENT_VERSION_AND_DEFINITION = (
    select(_DEFINITION_ROW.c.programme_definition, *_CURRENT_VERSION.selected_columns)
    .select_from(_DEFINITION_ROW)
    .outerjoin(_PLAN, (_PLAN.c.patient_id == bindparam("patient_id")) & (_PLAN.c.kind == bindparam("kind")))
    .outerjoin(_VERSION, (_VERSION.c.plan_id == _PLAN.c.id) & (_VERSION.c.version == _PLAN.c.current_version))
)


def _programme_params(patient: Patient, kind: str) -> dict:
    team = patient.team
    return {"patient_id": patient.id, "kind": kind, "programme_id": team.programme_id if team else None}


def _current_version_and_definition(ctx: Ctx, patient: Patient, kind: str) -> tuple[Row | None, dict]:
    """The current version for reading (None: none yet) and the definition of the programme
    the patient's team runs (`programme_of`'s answer), in one statement."""
    row = ctx.session.execute(_CURRENT_VERSION_AND_DEFINITION, _programme_params(patient, kind)).one()
    definition = programme.read_for_team(ctx, patient.team, row.programme_definition)
    return (row if row.id is not None else None), definition


def written_by(ctx: Ctx, pv: PlanVersion | Row, patient: Patient) -> dict:
    """Who wrote a version of `patient`'s plan: patient or staff, with name and agency. A
    version the patient wrote does not hold their name (it is sealed in their row, and
    0045_patient_author cleared the copies): it is opened from the patient's row, read by
    whoever reads the plan."""
    if pv.author_kind != "patient":
        name = pv.author_name
    elif ctx.actor.is_patient and ctx.actor.patient_id == patient.id:
        name = ctx.actor.name  # the reader's own name, opened on first read (token_actor)
    else:
        name = ctx.keys.open(patient, "display_name")
    return {"kind": pv.author_kind, "name": name, "agency": pv.author_agency_name}


def plan_for_update(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> Plan:
    """The plan row, created at version 0 if the patient has none yet (race-safe)."""
    plan = find_plan(ctx, patient_id, kind)
    if plan is not None:
        return plan
    try:
        with ctx.session.begin_nested():
            plan = Plan(patient_id=patient_id, kind=kind, current_version=0, last_version=0)
            ctx.session.add(plan)
    except IntegrityError:
        # Another request created it at this moment; whoever moves the version first wins.
        plan = find_plan(ctx, patient_id, kind)
        if plan is None:
            raise
    return plan


def new_version(ctx: Ctx, plan: Plan, document: dict, *, make_current: bool, expected: int | None, **meta):
    """Store a version under the next number; the patient's is made current if still `expected`."""
    stmt = update(Plan).where(Plan.id == plan.id)
    if make_current:
        stmt = stmt.where(Plan.current_version == expected).values(
            current_version=Plan.last_version + 1, last_version=Plan.last_version + 1
        )
    else:
        stmt = stmt.values(last_version=Plan.last_version + 1)
    number = ctx.session.execute(
        stmt.returning(Plan.last_version).execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if number is None:
        raise PreconditionFailed("The plan was changed elsewhere. Reload it and try again.")
    ctx.session.expire(plan)
    actor = ctx.actor
    pv = PlanVersion(
        plan_id=plan.id,
        version=number,
        author_kind="patient" if actor.is_patient else "staff",
        author_account_id=actor.account_id,
        author_name=None if actor.is_patient else actor.name,  # a patient's: `written_by`
        author_agency_name=actor.agency_name,
        approved_at=ctx.now() if make_current else None,
        created_at=ctx.now(),
        **meta,
    )
    ctx.keys.seal(pv, "document", json.dumps(document, ensure_ascii=False, default=str))
    ctx.session.add(pv)
    ctx.session.flush()
    return pv


def check_if_match(
    if_match: str | Collection[str] | None, current_etag: str, plan_tag: Callable[[str], str] | None = None
) -> None:
    """`if_match`: the ETag(s) the client sent, `*` for any; None when it sent none. `plan_tag`
    reduces a sent tag to the part that names the plan's version (the crisis plan's)."""
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag of the plan you edited.")
    tags = {if_match} if isinstance(if_match, str) else set(if_match)
    if plan_tag is not None:
        tags = {plan_tag(tag) for tag in tags}
    if "*" not in tags and current_etag not in tags:
        raise PreconditionFailed("The plan was changed elsewhere. Reload it and try again.")


# --- the crisis plan -----------------------------------------------------------------------


def crisis_etag(version: int) -> str:
    """The tag naming a version of the crisis plan: what If-Match guards (a save)."""
    return f"crisis-{version}"


# json.dumps with options makes a new encoder on every call; one made once writes the same.
_ETAG_TEXT = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def crisis_answer_etag(version: int, patient: Patient, definition: dict, numbers: list | None = None) -> str:
    """The ETag of the whole answer (what If-None-Match compares): the plan's version and a
    digest of everything else the answer holds that the version does not fix, the team's
    emergency numbers (and name, in their labels) and the programme's crisis-plan sections
    (`extra`, `sections_meta`). Changing the team's numbers changes the ETag, so a phone
    holding the old numbers gets them anew rather than a 304. Cheap: no plan document is
    read or decrypted. `numbers`: the team's emergency numbers when the caller has them."""
    if numbers is None:
        numbers = emergency_numbers(patient.team)
    context = [numbers, programme.crisis_sections(definition)]
    digest = hashlib.blake2b(_ETAG_TEXT(context).encode(), digest_size=8).hexdigest()
    return f"{crisis_etag(version)}-{digest}"


_CRISIS_TAG = re.compile(r"(crisis-\d+)(?:-[0-9a-f]+)?")


def crisis_plan_tag(tag: str) -> str:
    """The version part of a crisis-plan ETag (`crisis-3-<digest>` → `crisis-3`): a save is
    guarded by the plan's version, not by the team's numbers or the programme."""
    match = _CRISIS_TAG.fullmatch(tag)
    return match.group(1) if match else tag


def normalise_crisis(document: dict, definition: dict | None = None) -> dict:
    """Every section present, unknown sections refused, text trimmed, empty items dropped.

    A programme's own sections (`definition`, MULI's template when None) come under `extra`,
    each a list of text items or one text; MULI's plan has no `extra`.
    """
    definition = definition or programme.default()
    added = programme.added_sections(definition)
    document = dict(document)
    extra = document.pop("extra", None)
    unknown = set(document) - set(CRISIS_SECTIONS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(name, "Not a section of the crisis plan.")
    out = empty_crisis_document()
    for name in CRISIS_TEXT_SECTIONS:
        out[name] = _clean_text(document.get(name), name)
    for name in CRISIS_LIST_SECTIONS:
        items = document.get(name) or []
        if len(items) > MAX_ITEMS:
            raise ValidationFailed(name, "At most %(n)d items.", {"n": MAX_ITEMS})
        cleaned: list[dict | str] = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                item = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in item.items()}
                if any(item.values()):
                    cleaned.append(item)
            elif isinstance(item, str) and item.strip():
                if len(item.strip()) > MAX_ITEM_CHARS:
                    raise ValidationFailed(f"{name}.{i}", "At most %(n)d characters.", {"n": MAX_ITEM_CHARS})
                cleaned.append(item.strip())
        out[name] = cleaned
    if extra is None and not added:
        return out
    if not isinstance(extra, dict | None):
        raise ValidationFailed("extra", "An object of the programme's own sections.")
    extra = extra or {}
    kinds = {s["key"]: s["kind"] for s in added}
    unknown = set(extra) - set(kinds)
    if unknown:
        name = sorted(map(str, unknown))[0]
        raise ValidationFailed(f"extra.{name}", "Not a section of this programme's crisis plan.")
    out["extra"] = {key: _clean_extra(extra.get(key), key, kind) for key, kind in kinds.items()}
    return out


def _clean_text(value, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(field, "A text, or null.")
    text = (value or "").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationFailed(field, "At most %(n)d characters.", {"n": MAX_TEXT_CHARS})
    return text or None


def _clean_extra(value, key: str, kind: str):
    """A programme's own section: one text, or a list of text items."""
    field = f"extra.{key}"
    if kind == "text":
        return _clean_text(value, field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(field, "A list of texts.")
    if len(value) > MAX_ITEMS:
        raise ValidationFailed(field, "At most %(n)d items.", {"n": MAX_ITEMS})
    cleaned = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationFailed(f"{field}.{i}", "A text.")
        if len(item.strip()) > MAX_ITEM_CHARS:
            raise ValidationFailed(f"{field}.{i}", "At most %(n)d characters.", {"n": MAX_ITEM_CHARS})
        if item.strip():
            cleaned.append(item.strip())
    return cleaned


def _keep_extra(ctx: Ctx, document: dict, previous: PlanVersion | None) -> dict:
    """A plan sent without `extra` (an app that knows only MULI's sections) keeps the
    programme's own sections as they are, rather than emptying them."""
    if "extra" in document or previous is None:
        return document
    stored = document_of(ctx, "crisis", previous).get("extra")
    return {**document, "extra": stored} if stored else document


def programme_of(ctx: Ctx, patient: Patient) -> dict:
    """The definition of the programme the patient's team runs."""
    return programme.for_team(ctx, patient.team)


def with_programme(document: dict, definition: dict) -> dict:
    """A crisis document as the patient's programme shows it: MULI's exactly as before
    programmes existed; another programme's with `extra` holding each of its own sections."""
    document = dict(document)
    stored = document.pop("extra", None) or {}
    added = programme.added_sections(definition)
    if added:
        document["extra"] = {
            s["key"]: stored.get(s["key"], None if s["kind"] == "text" else []) for s in added
        }
    return document


def sections_meta(definition: dict) -> list[dict]:
    """Each section of the programme's crisis plan in its order: key, title (nb, en), kind,
    whether it is required and whether the programme hides it."""
    return [
        {
            "key": s["key"],
            "title": s["title"],
            "kind": s["kind"],
            "required": s["required"],
            "hidden": s["hidden"],
            "order": i,
            "in_extra": s["key"] not in programme.STANDARD_KINDS,
        }
        for i, s in enumerate(programme.crisis_sections(definition))
    ]


def _crisis_doc(
    ctx: Ctx, patient: Patient, pv: PlanVersion | Row | None, definition: dict | None = None
) -> PlanDoc:
    """The crisis plan's answer; `definition`: the team's programme when already read."""
    version = pv.version if pv else 0
    if definition is None:
        definition = programme_of(ctx, patient)
    body = {
        **with_programme(document_of(ctx, "crisis", pv), definition),
        "version": version,
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on if pv else None,
        "updated_at": pv.created_at if pv else None,
        "written_by": written_by(ctx, pv, patient) if pv else None,
        "emergency_numbers": emergency_numbers(patient.team),
    }
    if not programme.is_default_crisis_plan(definition):
        body["sections_meta"] = sections_meta(definition)
    return PlanDoc(body, crisis_answer_etag(version, patient, definition, body["emergency_numbers"]))


def my_crisis_plan(ctx: Ctx) -> PlanDoc:
    """The patient's current crisis plan (an empty version 0 if they have none yet)."""
    patient = access.own_patient(ctx)
    pv, definition = _current_version_and_definition(ctx, patient, "crisis")
    audit.record(ctx.session, ctx.actor, "crisis_plan.read", patient_id=patient.id, resource="crisis_plan")
    return _crisis_doc(ctx, patient, pv, definition)


def my_crisis_plan_unless(ctx: Ctx, has_etag: Callable[[str], bool]) -> tuple[str, PlanDoc | None]:
    """The plan sync's conditional read (`If-None-Match`): the current ETag, and no plan when
    `has_etag(etag)` says the app already holds the current version. Then only the plan's
    version number is read (no document, nothing decrypted) and the audit trail says so:
    `crisis_plan.unchanged`, not a read of the plan. Otherwise the whole plan, read and
    audited as `my_crisis_plan` does."""
    patient = access.own_patient(ctx)
    row = ctx.session.execute(_CURRENT_NUMBER_AND_DEFINITION, _programme_params(patient, "crisis")).one()
    number: int | None = row[0]
    definition = programme.read_for_team(ctx, patient.team, row.programme_definition)
    etag = crisis_answer_etag(number or 0, patient, definition)
    if has_etag(etag):
        audit.record(
            ctx.session, ctx.actor, "crisis_plan.unchanged", patient_id=patient.id, resource="crisis_plan"
        )
        return etag, None
    doc = my_crisis_plan(ctx)
    return doc.etag, doc


# The current version's number alone (built once: the poll runs every few seconds per app),
# with the team's programme definition, in one statement (one row: NULL for no plan).
_CURRENT_NUMBER_AND_DEFINITION = select(
    select(_PLAN.c.current_version)
    .where(_PLAN.c.patient_id == bindparam("patient_id"), _PLAN.c.kind == bindparam("kind"))
    .scalar_subquery(),
    programme.DEFINITION_COLUMN,
)


def staff_crisis_plan(ctx: Ctx, patient_id: uuid.UUID) -> PlanDoc:
    grant = access.staff_patient(ctx, patient_id, "crisis_plan")
    _, pv = current(ctx, grant.patient.id, "crisis")
    record_access(ctx, grant, "crisis_plan.read", "crisis_plan")
    return _crisis_doc(ctx, grant.patient, pv)


def save_my_crisis_plan(
    ctx: Ctx,
    document: dict,
    if_match: str | Collection[str] | None,
    last_reviewed_with_team_on: date | None = None,
) -> PlanDoc:
    """The patient's edit: a new version, current at once, if nobody changed the plan meanwhile."""
    patient = access.own_patient(ctx)
    plan = plan_for_update(ctx, patient.id, "crisis")
    check_if_match(if_match, crisis_etag(plan.current_version), crisis_plan_tag)
    previous = version_of(ctx, plan, plan.current_version)
    document = normalise_crisis(_keep_extra(ctx, document, previous), programme_of(ctx, patient))
    reviewed = last_reviewed_with_team_on or (previous.last_reviewed_with_team_on if previous else None)
    expected = plan.current_version
    pv = new_version(
        ctx,
        plan,
        document,
        make_current=True,
        expected=expected,
        based_on_version=expected,
        last_reviewed_with_team_on=reviewed,
    )
    audit.record(
        ctx.session,
        ctx.actor,
        "crisis_plan.update",
        patient_id=patient.id,
        resource="crisis_plan",
        resource_id=pv.version,
    )
    return _crisis_doc(ctx, patient, pv)


def propose_crisis_plan(
    ctx: Ctx, patient_id: uuid.UUID, document: dict, last_reviewed_with_team_on: date | None = None
) -> dict:
    """A staff proposal: a version that waits for the patient's approval."""
    grant = access.staff_patient(ctx, patient_id, "crisis_plan")
    definition = programme_of(ctx, grant.patient)
    _, now = current(ctx, grant.patient.id, "crisis")
    document = normalise_crisis(_keep_extra(ctx, document, now), definition)
    plan = plan_for_update(ctx, grant.patient.id, "crisis")
    pv = new_version(
        ctx,
        plan,
        document,
        make_current=False,
        expected=None,
        based_on_version=plan.current_version,
        last_reviewed_with_team_on=last_reviewed_with_team_on,
    )
    record_access(ctx, grant, "crisis_plan.propose", "crisis_plan", pv.version)
    _, now_current = current(ctx, grant.patient.id, "crisis")
    current_doc = with_programme(document_of(ctx, "crisis", now_current), definition)
    return _version_item(ctx, grant.patient, pv, plan.current_version, definition, current_doc)


# --- what a proposal changes ---------------------------------------------------------------

# The part of a structured item that names it: an item with the same name whose other parts
# differ is shown as changed (old -> new), not as one removed and one added.
ITEM_KEYS = {"warning_signs": "sign", "people_to_ask": "name", "professionals": "service"}


def _item_name(section: str, item) -> str | None:
    key = ITEM_KEYS.get(section)
    if key is None or not isinstance(item, dict):
        return None
    name = item.get(key)
    return name.casefold() if isinstance(name, str) and name else None


def _list_changes(section: str, before: list, after: list) -> dict:
    """Items added, removed and changed (same name, other parts differ); order alone: `reordered`."""
    removed = list(before)
    added: list = []
    for item in after:
        if item in removed:
            removed.remove(item)
        else:
            added.append(item)
    changed = []
    for item in list(added):
        name = _item_name(section, item)
        match = next((old for old in removed if name is not None and _item_name(section, old) == name), None)
        if match is not None:
            removed.remove(match)
            added.remove(item)
            changed.append({"before": match, "after": item})
    reordered = not (added or removed or changed) and before != after
    return {"added": added, "removed": removed, "changed": changed, "reordered": reordered}


def crisis_changes(before: dict, after: dict, definition: dict | None = None) -> list[dict]:
    """Section by section, what `after` changes in `before` (every section, in plan order).

    List sections: items added, removed, changed (structured items with the same name);
    text sections: the old and the new text. `status` is unchanged or changed. A programme's
    own sections (under `extra`) follow MULI's, in the programme's order.
    """
    out = []
    added = programme.added_sections(definition) if definition else []
    texts = set(CRISIS_TEXT_SECTIONS) | {s["key"] for s in added if s["kind"] == "text"}
    old_extra, new_extra = before.get("extra") or {}, after.get("extra") or {}
    before = {**before, **{s["key"]: old_extra.get(s["key"]) for s in added}}
    after = {**after, **{s["key"]: new_extra.get(s["key"]) for s in added}}
    for section in CRISIS_SECTIONS + tuple(s["key"] for s in added):
        entry: dict = {"section": section, "added": [], "removed": [], "changed": [], "reordered": False}
        if section in texts:
            old, new = before.get(section) or None, after.get(section) or None
            entry |= {
                "kind": "text",
                "before": old,
                "after": new,
                "status": "changed" if old != new else "unchanged",
            }
        else:
            entry |= {"kind": "list", "before": None, "after": None}
            entry |= _list_changes(section, before.get(section) or [], after.get(section) or [])
            differs = entry["added"] or entry["removed"] or entry["changed"] or entry["reordered"]
            entry["status"] = "changed" if differs else "unchanged"
        out.append(entry)
    return out


def _changes_against(
    ctx: Ctx, pv: PlanVersion, current_number: int, definition: dict, current_doc: dict | None
) -> dict | None:
    """What approving a proposal would change in the current plan (None for other versions)."""
    if pv.version == current_number or pv.approved_at is not None or pv.declined_at is not None:
        return None
    before = current_doc if current_doc is not None else with_programme(EMPTY["crisis"](), definition)
    after = with_programme(document_of(ctx, "crisis", pv), definition)
    return {"compared_with_version": current_number, "sections": crisis_changes(before, after, definition)}


def _version_item(
    ctx: Ctx,
    patient: Patient,
    pv: PlanVersion,
    current_number: int,
    definition: dict,
    current_doc: dict | None = None,
) -> dict:
    if pv.version == current_number:
        status = "current"
    elif pv.declined_at is not None:
        status = "declined"
    elif pv.approved_at is None:
        status = "proposed"
    else:
        status = "superseded"
    return {
        "version": pv.version,
        "written_at": pv.created_at,
        "written_by": written_by(ctx, pv, patient),
        "approved": pv.approved_at is not None,
        "approved_at": pv.approved_at,
        "declined_at": pv.declined_at,
        "status": status,
        "based_on_version": pv.based_on_version,
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on,
        "sections": with_programme(document_of(ctx, "crisis", pv), definition),
        "changes": _changes_against(ctx, pv, current_number, definition, current_doc),
    }


def my_crisis_plan_versions(ctx: Ctx, *, cursor: str | None, limit: int):
    """Every version, newest first: who wrote it, when, approved or not, and its sections."""
    patient = access.own_patient(ctx)
    plan = find_plan(ctx, patient.id, "crisis")
    query = select(PlanVersion).where(PlanVersion.plan_id == (plan.id if plan else None))
    page = keyset(
        ctx.session, query, ctx.keys, PlanVersion.created_at, PlanVersion.id, cursor=cursor, limit=limit
    )
    audit.record(
        ctx.session, ctx.actor, "crisis_plan.versions", patient_id=patient.id, resource="crisis_plan"
    )
    number = plan.current_version if plan else 0
    definition = programme_of(ctx, patient)
    current_doc = None
    if any(pv.approved_at is None for pv in page.items):
        current_doc = with_programme(document_of(ctx, "crisis", version_of(ctx, plan, number)), definition)
    return Page(
        [_version_item(ctx, patient, pv, number, definition, current_doc) for pv in page.items],
        page.next_cursor,
    )


def approve_my_crisis_plan_version(ctx: Ctx, number: int) -> PlanDoc:
    """The patient approves a staff proposal; it becomes the current plan."""
    patient = access.own_patient(ctx)
    plan = find_plan(ctx, patient.id, "crisis")
    # A number beyond what the column holds is simply not a version (not a database error).
    pv = version_of(ctx, plan, number) if 0 < number < 2**31 else None
    if plan is None or pv is None:
        raise NotFound("No such version of your crisis plan.")
    if pv.author_kind != "staff" or pv.approved_at is not None or pv.declined_at is not None:
        raise InvalidState(
            "Only a proposal from the team that is not yet approved or declined can be approved."
        )
    moved = ctx.rows_changed(
        update(Plan)
        .where(Plan.id == plan.id, Plan.current_version == plan.current_version)
        .values(current_version=pv.version)
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        raise PreconditionFailed("The plan was changed elsewhere. Reload it and try again.")
    ctx.session.expire(plan)
    pv.approved_at = ctx.now()
    audit.record(
        ctx.session,
        ctx.actor,
        "crisis_plan.approve",
        patient_id=patient.id,
        resource="crisis_plan",
        resource_id=pv.version,
    )
    return _crisis_doc(ctx, patient, pv)


def decline_my_crisis_plan_version(ctx: Ctx, number: int) -> dict:
    """The patient says no to a staff proposal: it stays in the history as declined, the plan
    stays as it is, and the team sees it (the version list, the portal)."""
    patient = access.own_patient(ctx)
    plan = find_plan(ctx, patient.id, "crisis")
    pv = version_of(ctx, plan, number)
    if plan is None or pv is None:
        raise NotFound("No such version of your crisis plan.")
    moved = ctx.rows_changed(
        update(PlanVersion)
        .where(
            PlanVersion.id == pv.id,
            PlanVersion.author_kind == "staff",
            PlanVersion.approved_at.is_(None),
            PlanVersion.declined_at.is_(None),
        )
        .values(declined_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        raise InvalidState(
            "Only a proposal from the team that is not yet approved or declined can be declined."
        )
    ctx.session.refresh(pv)
    audit.record(
        ctx.session,
        ctx.actor,
        "crisis_plan.decline",
        patient_id=patient.id,
        resource="crisis_plan",
        resource_id=pv.version,
    )
    return _version_item(ctx, patient, pv, plan.current_version, programme_of(ctx, patient))


def responder_summary(ctx: Ctx, patient: Patient) -> dict | None:
    """What the on-call responder sees beside a contact request, or None without a plan.

    No access check and no audit here: the caller (the contact-request service) does both.
    """
    _, pv = current(ctx, patient.id, "crisis")
    if pv is None:
        return None
    document = document_of(ctx, "crisis", pv)
    return {name: document.get(name) for name in RESPONDER_SECTIONS}


def crisis_plan_for_print(ctx: Ctx, patient: Patient) -> dict:
    """The current plan for the PDF (caller checks access and audits)."""
    _, pv = current(ctx, patient.id, "crisis")
    return _crisis_doc(ctx, patient, pv).body


def all_versions(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> list[dict]:
    """Every version of a plan, oldest first, decrypted (for the export)."""
    plan = find_plan(ctx, patient_id, kind)
    if plan is None:
        return []
    patient = ctx.session.get_one(Patient, patient_id)  # the plan's patient: there is one
    definition = programme_of(ctx, patient)
    rows = ctx.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.version)
    )
    out = []
    for pv in rows:
        item = _version_item(ctx, patient, pv, plan.current_version, definition)
        item["document"] = item.pop("sections") if kind == "crisis" else document_of(ctx, kind, pv)
        item.pop("sections", None)
        item.pop("changes", None)  # the export keeps every version whole; the diff is the app's
        out.append(item)
    return out


def current_summary(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> dict | None:
    """The current version of a plan with its document (for the staff overview), or None."""
    _, pv = current(ctx, patient_id, kind)
    if pv is None:
        return None
    return {
        "version": pv.version,
        "updated_at": pv.created_at,
        "written_by": written_by(ctx, pv, ctx.session.get_one(Patient, patient_id)),
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on,
        "document": document_of(ctx, kind, pv),
    }
