"""The mastery plan ("Når du vil prøve selv"): strategies and goals the patient tries on their own.

Versioned and guarded by If-Match like the crisis plan (muli.patient.plans). Strategy ids stay the
same across versions, so "I tried this" uses follow a strategy however often it is edited.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import func, select

from muli.models.people import Patient
from muli.models.plans import PlanVersion, StrategyUse
from muli.patient import programme
from muli.patient.consent import record_access
from muli.patient.plans import (
    MAX_ITEMS,
    MAX_NAME_CHARS,
    PlanDoc,
    check_if_match,
    current,
    document_of,
    empty_mastery_document,
    new_version,
    plan_for_update,
    version_of,
    written_by,
)
from muli.platform.context import Ctx
from muli.platform.errors import NotFound, ValidationFailed
from muli.trust import access, audit

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
            raise ValidationFailed(name, "At most %(n)d items.", {"n": MAX_ITEMS * 2})
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
    document = document_of(ctx, "mastery", pv)
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
        "written_by": written_by(ctx, pv, patient) if pv else None,
    }
    definition = programme.for_team(ctx, patient.team)
    if not programme.is_default_mastery_plan(definition):
        body["sections_meta"] = programme.mastery_sections_meta(definition)
    uses = sum(s["times_tried"] for s in stats.values())
    return PlanDoc(body, mastery_etag(version, uses))


def my_mastery_plan(ctx: Ctx) -> PlanDoc:
    """The patient's mastery plan with, per strategy, how often it was tried and how much it helped."""
    patient = access.own_patient(ctx)
    _, pv = current(ctx, patient.id, "mastery")
    audit.record(ctx.session, ctx.actor, "mastery_plan.read", patient_id=patient.id, resource="mastery_plan")
    return _mastery_doc(ctx, patient, pv)


def staff_mastery_plan(ctx: Ctx, patient_id: uuid.UUID) -> PlanDoc:
    grant = access.staff_patient(ctx, patient_id, "mastery_plan")
    _, pv = current(ctx, grant.patient.id, "mastery")
    record_access(ctx, grant, "mastery_plan.read", "mastery_plan")
    return _mastery_doc(ctx, grant.patient, pv)


def save_my_mastery_plan(ctx: Ctx, document: dict, if_match: str | Collection[str] | None) -> PlanDoc:
    """The patient's edit, guarded by If-Match like the crisis plan."""
    patient = access.own_patient(ctx)
    plan = plan_for_update(ctx, patient.id, "mastery")
    previous = version_of(ctx, plan, plan.current_version)
    check_if_match(if_match, _mastery_doc(ctx, patient, previous).etag)
    document = normalise_mastery(document, document_of(ctx, "mastery", previous))
    pv = new_version(
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
    _, pv = current(ctx, patient.id, "mastery")
    ids = {s["id"] for s in document_of(ctx, "mastery", pv)["strategies"]}
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


def strategy_stats(ctx: Ctx, patient_id: uuid.UUID) -> dict[uuid.UUID, dict]:
    rows: Any = ctx.session.execute(
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
