"""The crisis plan and the mastery plan: versioned, encrypted documents in the patient's words.

Each plan is a chain of versions. The patient's edits become current at once, guarded by an
ETag (`If-Match`): the `plan` row's `current_version` moves only by a compare-and-set update,
so of two devices editing at once one wins and the other gets 412. Staff write proposals,
which become current only when the patient approves them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from muli import access, audit
from muli.consent import record_access
from muli.context import Ctx
from muli.errors import InvalidState, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from muli.models.people import Patient
from muli.models.plans import Plan, PlanVersion, StrategyUse
from muli.pagination import Page, keyset
from muli.profile import emergency_numbers

# Crisis plan sections: lists of items, or one text in the patient's words.
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
CRISIS_SECTIONS = CRISIS_LIST_SECTIONS + CRISIS_TEXT_SECTIONS
RESPONDER_SECTIONS = CRISIS_TEXT_SECTIONS

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
SCOPE = {"crisis": "crisis_plan", "mastery": "mastery_plan"}


@dataclass(frozen=True)
class PlanDoc:
    """A plan as the API answers it, and its ETag."""

    body: dict
    etag: str


# --- versions, shared by both plans ---------------------------------------------------------


def _plan(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> Plan | None:
    return ctx.session.scalars(select(Plan).where(Plan.patient_id == patient_id, Plan.kind == kind)).first()


def _version(ctx: Ctx, plan: Plan | None, number: int) -> PlanVersion | None:
    if plan is None or number == 0:
        return None
    return ctx.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.version == number)
    ).first()


def _current(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> tuple[Plan | None, PlanVersion | None]:
    plan = _plan(ctx, patient_id, kind)
    return plan, _version(ctx, plan, plan.current_version if plan else 0)


def _document(ctx: Ctx, kind: str, pv: PlanVersion | None) -> dict:
    if pv is None:
        return EMPTY[kind]()
    return {**EMPTY[kind](), **json.loads(ctx.keys.open(pv, "document"))}


def _written_by(pv: PlanVersion) -> dict:
    return {"kind": pv.author_kind, "name": pv.author_name, "agency": pv.author_agency_name}


def _plan_for_update(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> Plan:
    """The plan row, created at version 0 if the patient has none yet (race-safe)."""
    plan = _plan(ctx, patient_id, kind)
    if plan is not None:
        return plan
    try:
        with ctx.session.begin_nested():
            plan = Plan(patient_id=patient_id, kind=kind, current_version=0, last_version=0)
            ctx.session.add(plan)
    except IntegrityError:
        # Another request created it at this moment; whoever moves the version first wins.
        plan = _plan(ctx, patient_id, kind)
        if plan is None:
            raise
    return plan


def _new_version(ctx: Ctx, plan: Plan, document: dict, *, make_current: bool, expected: int | None, **meta):
    """Hand out the next version number (and, for the patient, make it current if still `expected`)."""
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
        author_name=actor.name,
        author_agency_name=actor.agency_name,
        approved_at=ctx.now() if make_current else None,
        created_at=ctx.now(),
        **meta,
    )
    ctx.keys.seal(pv, "document", json.dumps(document, ensure_ascii=False, default=str))
    ctx.session.add(pv)
    ctx.session.flush()
    return pv


def _check_if_match(if_match: str | Collection[str] | None, current_etag: str) -> None:
    """`if_match`: the ETag(s) the client sent, `*` for any; None when it sent none."""
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag of the plan you edited.")
    tags = {if_match} if isinstance(if_match, str) else set(if_match)
    if "*" not in tags and current_etag not in tags:
        raise PreconditionFailed("The plan was changed elsewhere. Reload it and try again.")


# --- the crisis plan -----------------------------------------------------------------------


def crisis_etag(version: int) -> str:
    return f"crisis-{version}"


def normalise_crisis(document: dict) -> dict:
    """Every section present, unknown sections refused, text trimmed, empty items dropped."""
    unknown = set(document) - set(CRISIS_SECTIONS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(name, "Not a section of the crisis plan.")
    out = empty_crisis_document()
    for name in CRISIS_TEXT_SECTIONS:
        text = (document.get(name) or "").strip()
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationFailed(name, f"At most {MAX_TEXT_CHARS} characters.")
        out[name] = text or None
    for name in CRISIS_LIST_SECTIONS:
        items = document.get(name) or []
        if len(items) > MAX_ITEMS:
            raise ValidationFailed(name, f"At most {MAX_ITEMS} items.")
        cleaned = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                item = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in item.items()}
                if any(item.values()):
                    cleaned.append(item)
            elif isinstance(item, str) and item.strip():
                if len(item.strip()) > MAX_ITEM_CHARS:
                    raise ValidationFailed(f"{name}.{i}", f"At most {MAX_ITEM_CHARS} characters.")
                cleaned.append(item.strip())
        out[name] = cleaned
    return out


def _crisis_doc(ctx: Ctx, patient: Patient, pv: PlanVersion | None, number: int | None = None) -> PlanDoc:
    version = pv.version if pv else 0
    body = {
        **_document(ctx, "crisis", pv),
        "version": version if number is None else number,
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on if pv else None,
        "updated_at": pv.created_at if pv else None,
        "written_by": _written_by(pv) if pv else None,
        "emergency_numbers": emergency_numbers(patient.team),
    }
    return PlanDoc(body, crisis_etag(version))


def my_crisis_plan(ctx: Ctx) -> PlanDoc:
    """The patient's current crisis plan (an empty version 0 if they have none yet)."""
    patient = access.own_patient(ctx)
    _, pv = _current(ctx, patient.id, "crisis")
    audit.record(ctx.session, ctx.actor, "crisis_plan.read", patient_id=patient.id, resource="crisis_plan")
    return _crisis_doc(ctx, patient, pv)


def staff_crisis_plan(ctx: Ctx, patient_id: uuid.UUID) -> PlanDoc:
    grant = access.staff_patient(ctx, patient_id, "crisis_plan")
    _, pv = _current(ctx, grant.patient.id, "crisis")
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
    document = normalise_crisis(document)
    plan = _plan_for_update(ctx, patient.id, "crisis")
    _check_if_match(if_match, crisis_etag(plan.current_version))
    previous = _version(ctx, plan, plan.current_version)
    reviewed = last_reviewed_with_team_on or (previous.last_reviewed_with_team_on if previous else None)
    expected = plan.current_version
    pv = _new_version(
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
    document = normalise_crisis(document)
    plan = _plan_for_update(ctx, grant.patient.id, "crisis")
    pv = _new_version(
        ctx,
        plan,
        document,
        make_current=False,
        expected=None,
        based_on_version=plan.current_version,
        last_reviewed_with_team_on=last_reviewed_with_team_on,
    )
    record_access(ctx, grant, "crisis_plan.propose", "crisis_plan", pv.version)
    return _version_item(ctx, pv, plan.current_version)


def _version_item(ctx: Ctx, pv: PlanVersion, current: int) -> dict:
    if pv.version == current:
        status = "current"
    elif pv.approved_at is None:
        status = "proposed"
    else:
        status = "superseded"
    return {
        "version": pv.version,
        "written_at": pv.created_at,
        "written_by": _written_by(pv),
        "approved": pv.approved_at is not None,
        "approved_at": pv.approved_at,
        "status": status,
        "based_on_version": pv.based_on_version,
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on,
        "sections": _document(ctx, "crisis", pv),
    }


def my_crisis_plan_versions(ctx: Ctx, *, cursor: str | None, limit: int):
    """Every version, newest first: who wrote it, when, approved or not, and its sections."""
    patient = access.own_patient(ctx)
    plan = _plan(ctx, patient.id, "crisis")
    query = select(PlanVersion).where(PlanVersion.plan_id == (plan.id if plan else None))
    page = keyset(
        ctx.session, query, ctx.keys, PlanVersion.created_at, PlanVersion.id, cursor=cursor, limit=limit
    )
    audit.record(
        ctx.session, ctx.actor, "crisis_plan.versions", patient_id=patient.id, resource="crisis_plan"
    )
    current = plan.current_version if plan else 0
    return Page([_version_item(ctx, pv, current) for pv in page.items], page.next_cursor)


def approve_my_crisis_plan_version(ctx: Ctx, number: int) -> PlanDoc:
    """The patient approves a staff proposal; it becomes the current plan."""
    patient = access.own_patient(ctx)
    plan = _plan(ctx, patient.id, "crisis")
    pv = _version(ctx, plan, number)
    if plan is None or pv is None:
        raise NotFound("No such version of your crisis plan.")
    if pv.author_kind != "staff" or pv.approved_at is not None:
        raise InvalidState("Only a proposal from the team that is not yet approved can be approved.")
    moved = ctx.session.execute(
        update(Plan)
        .where(Plan.id == plan.id, Plan.current_version == plan.current_version)
        .values(current_version=pv.version)
        .execution_options(synchronize_session=False)
    ).rowcount
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


def responder_summary(ctx: Ctx, patient: Patient) -> dict | None:
    """What the on-call responder sees beside a contact request, or None without a plan.

    No access check and no audit here: the caller (the contact-request service) does both.
    """
    _, pv = _current(ctx, patient.id, "crisis")
    if pv is None:
        return None
    document = _document(ctx, "crisis", pv)
    return {name: document.get(name) for name in RESPONDER_SECTIONS}


def crisis_plan_for_print(ctx: Ctx, patient: Patient) -> dict:
    """The current plan for the PDF (caller checks access and audits)."""
    _, pv = _current(ctx, patient.id, "crisis")
    return _crisis_doc(ctx, patient, pv).body


def all_versions(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> list[dict]:
    """Every version of a plan, oldest first, decrypted (for the export)."""
    plan = _plan(ctx, patient_id, kind)
    if plan is None:
        return []
    rows = ctx.session.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.version)
    )
    out = []
    for pv in rows:
        item = _version_item(ctx, pv, plan.current_version)
        item["document"] = item.pop("sections") if kind == "crisis" else _document(ctx, kind, pv)
        item.pop("sections", None)
        out.append(item)
    return out


def current_summary(ctx: Ctx, patient_id: uuid.UUID, kind: str) -> dict | None:
    """The current version of a plan with its document (for the staff overview), or None."""
    _, pv = _current(ctx, patient_id, kind)
    if pv is None:
        return None
    return {
        "version": pv.version,
        "updated_at": pv.created_at,
        "written_by": _written_by(pv),
        "last_reviewed_with_team_on": pv.last_reviewed_with_team_on,
        "document": _document(ctx, kind, pv),
    }


def strategy_stats(ctx: Ctx, patient_id: uuid.UUID) -> dict[uuid.UUID, dict]:
    rows = ctx.session.execute(
        select(
            StrategyUse.strategy_id,
            func.count(StrategyUse.id),
            func.avg(StrategyUse.helped),
            func.max(StrategyUse.used_at),
        )
        .where(StrategyUse.patient_id == patient_id)
        .group_by(StrategyUse.strategy_id)
    )
    return {
        sid: {"times_tried": n, "average_helped": round(float(avg), 2), "last_tried_at": last}
        for sid, n, avg, last in rows
    }


# --- the mastery plan ----------------------------------------------------------------------

MASTERY_LISTS = ("strategies", "goals")
MASTERY_ITEM_FIELDS = {
    "strategies": ("id", "title", "description", "category"),
    "goals": ("id", "title", "description", "category", "target_date", "achieved"),
}


def mastery_etag(version: int, uses: int) -> str:
    # Uses change the per-strategy figures in the answer, so they are part of its ETag.
    return f"mastery-{version}-{uses}"


def normalise_mastery(document: dict, previous: dict) -> dict:
    """Known ids kept (so history follows a strategy across versions), new items get an id."""
    unknown = set(document) - set(MASTERY_LISTS)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "Not a part of the mastery plan.")
    out = empty_mastery_document()
    for name in MASTERY_LISTS:
        items = document.get(name) or []
        if len(items) > MAX_ITEMS * 2:
            raise ValidationFailed(name, f"At most {MAX_ITEMS * 2} items.")
        known = {item["id"] for item in previous.get(name, [])}
        seen: set[str] = set()
        for i, item in enumerate(items):
            extra = set(item) - set(MASTERY_ITEM_FIELDS[name])
            if extra:
                raise ValidationFailed(f"{name}.{i}.{sorted(extra)[0]}", "Unknown field.")
            item_id = str(item["id"]) if item.get("id") else str(uuid.uuid4())
            if item.get("id") and item_id not in known:
                raise ValidationFailed(f"{name}.{i}.id", "Not an item of your current plan; leave it out.")
            if item_id in seen:
                raise ValidationFailed(f"{name}.{i}.id", "Listed twice.")
            seen.add(item_id)
            title = (item.get("title") or "").strip()
            if not title:
                raise ValidationFailed(f"{name}.{i}.title", "Give it a title.")
            clean = {
                "id": item_id,
                "title": title[:MAX_NAME_CHARS],
                "description": (item.get("description") or "").strip() or None,
                "category": (item.get("category") or "").strip() or None,
            }
            if name == "goals":
                target = item.get("target_date")
                clean["target_date"] = target.isoformat() if isinstance(target, date) else target
                clean["achieved"] = bool(item.get("achieved"))
            out[name].append(clean)
    return out


def _mastery_doc(ctx: Ctx, patient: Patient, pv: PlanVersion | None) -> PlanDoc:
    document = _document(ctx, "mastery", pv)
    stats = strategy_stats(ctx, patient.id)
    none = {"times_tried": 0, "average_helped": None, "last_tried_at": None}
    strategies = [{**s, **stats.get(uuid.UUID(s["id"]), none)} for s in document["strategies"]]
    version = pv.version if pv else 0
    body = {
        "version": version,
        "strategies": strategies,
        "goals": document["goals"],
        "categories": sorted({i["category"] for i in strategies + document["goals"] if i.get("category")}),
        "updated_at": pv.created_at if pv else None,
        "written_by": _written_by(pv) if pv else None,
    }
    uses = sum(s["times_tried"] for s in stats.values())
    return PlanDoc(body, mastery_etag(version, uses))


def my_mastery_plan(ctx: Ctx) -> PlanDoc:
    """The patient's mastery plan with, per strategy, how often it was tried and how much it helped."""
    patient = access.own_patient(ctx)
    _, pv = _current(ctx, patient.id, "mastery")
    audit.record(ctx.session, ctx.actor, "mastery_plan.read", patient_id=patient.id, resource="mastery_plan")
    return _mastery_doc(ctx, patient, pv)


def staff_mastery_plan(ctx: Ctx, patient_id: uuid.UUID) -> PlanDoc:
    grant = access.staff_patient(ctx, patient_id, "mastery_plan")
    _, pv = _current(ctx, grant.patient.id, "mastery")
    record_access(ctx, grant, "mastery_plan.read", "mastery_plan")
    return _mastery_doc(ctx, grant.patient, pv)


def save_my_mastery_plan(ctx: Ctx, document: dict, if_match: str | Collection[str] | None) -> PlanDoc:
    """The patient's edit, guarded by If-Match like the crisis plan."""
    patient = access.own_patient(ctx)
    plan = _plan_for_update(ctx, patient.id, "mastery")
    previous = _version(ctx, plan, plan.current_version)
    _check_if_match(if_match, _mastery_doc(ctx, patient, previous).etag)
    document = normalise_mastery(document, _document(ctx, "mastery", previous))
    pv = _new_version(
        ctx,
        plan,
        document,
        make_current=True,
        expected=plan.current_version,
        based_on_version=plan.current_version,
    )
    audit.record(
        ctx.session,
        ctx.actor,
        "mastery_plan.update",
        patient_id=patient.id,
        resource="mastery_plan",
        resource_id=pv.version,
    )
    return _mastery_doc(ctx, patient, pv)


def record_strategy_use(ctx: Ctx, strategy_id: uuid.UUID, helped: int, note: str | None = None) -> dict:
    """'I tried this': a use of a strategy in the current plan, and how much it helped (0-4)."""
    patient = access.own_patient(ctx)
    _, pv = _current(ctx, patient.id, "mastery")
    ids = {s["id"] for s in _document(ctx, "mastery", pv)["strategies"]}
    if str(strategy_id) not in ids:
        raise NotFound("No such strategy in your mastery plan.")
    if not 0 <= helped <= 4:
        raise ValidationFailed("helped", "From 0 (not at all) to 4 (a lot).")
    use = StrategyUse(patient_id=patient.id, strategy_id=strategy_id, helped=helped, used_at=ctx.now())
    ctx.keys.seal(use, "note", (note or "").strip() or None)
    ctx.session.add(use)
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "mastery_plan.use",
        patient_id=patient.id,
        resource="strategy_use",
        resource_id=use.id,
    )
    stats = strategy_stats(ctx, patient.id)[strategy_id]
    return {
        "id": use.id,
        "strategy_id": strategy_id,
        "helped": helped,
        "note": ctx.keys.open(use, "note"),
        "used_at": use.used_at,
        **stats,
    }


def all_strategy_uses(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    """Every use with its note, oldest first (for the export)."""
    rows = ctx.session.scalars(
        select(StrategyUse).where(StrategyUse.patient_id == patient_id).order_by(StrategyUse.used_at)
    )
    return [
        {
            "id": u.id,
            "strategy_id": u.strategy_id,
            "helped": u.helped,
            "note": ctx.keys.open(u, "note"),
            "used_at": u.used_at,
        }
        for u in rows
    ]
