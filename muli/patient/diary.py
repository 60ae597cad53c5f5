"""The diary: private by default, shared with the team only entry by entry, deleted for good.

Deleting removes the row (SQLite runs with `secure_delete`, so the freed bytes are zeroed)
and also forgets any stored idempotent answer that repeated the entry's text.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, select

from muli.models.diary import DiaryEntry
from muli.models.idempotency import IdempotencyRecord
from muli.patient.consent import record_access
from muli.platform.context import Ctx
from muli.platform.crypto import aad
from muli.platform.errors import NotFound, ValidationFailed
from muli.platform.pagination import Page, keyset
from muli.trust import access, audit

MAX_TEXT_CHARS = 20_000
MAX_TAGS = 20
MAX_TAG_CHARS = 40
EDITABLE = ("text", "mood", "sleep_hours", "tags", "shared_with_team")


@dataclass
class NewEntry:
    text: str
    mood: int | None = None
    sleep_hours: float | None = None
    tags: list[str] = field(default_factory=list)
    shared_with_team: bool = False


def _check(values: dict) -> dict:
    """The domain's own limits, whatever door the values came through."""
    if "text" in values:
        text = (values["text"] or "").strip()
        if not text:
            raise ValidationFailed("text", "Write something first.")
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationFailed("text", "At most %(n)d characters.", {"n": MAX_TEXT_CHARS})
        values["text"] = text
    mood = values.get("mood")
    if mood is not None and not 0 <= mood <= 10:
        raise ValidationFailed("mood", "From 0 to 10.")
    sleep = values.get("sleep_hours")
    if sleep is not None and not 0 <= sleep <= 24:
        raise ValidationFailed("sleep_hours", "From 0 to 24 hours.")
    if "tags" in values:
        tags = [t.strip() for t in values["tags"] or [] if t and t.strip()]
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in tags):
            raise ValidationFailed(
                "tags", "At most %(n)d tags of %(chars)d characters.", {"n": MAX_TAGS, "chars": MAX_TAG_CHARS}
            )
        values["tags"] = list(dict.fromkeys(tags))
    return values


NUMBER_WIDTH = 24  # a sealed mood or sleep figure is JSON padded to this many characters


def _number(ctx: Ctx, entry: DiaryEntry, name: str):
    sealed = ctx.keys.open(entry, name)
    return None if sealed is None else json.loads(sealed)


def to_dict(ctx: Ctx, entry: DiaryEntry) -> dict:
    tags = ctx.keys.open(entry, "tags")
    return {
        "id": entry.id,
        "text": ctx.keys.open(entry, "text"),
        "mood": _number(ctx, entry, "mood"),
        "sleep_hours": _number(ctx, entry, "sleep_hours"),
        "tags": json.loads(tags) if tags else [],
        "shared_with_team": entry.shared_with_team,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def _seal(ctx: Ctx, entry: DiaryEntry, values: dict) -> None:
    if "text" in values:
        ctx.keys.seal(entry, "text", values["text"])
    if "tags" in values:
        ctx.keys.seal(entry, "tags", json.dumps(values["tags"], ensure_ascii=False))
    for name in ("mood", "sleep_hours"):
        if name in values or getattr(entry, f"{name}_enc") is None:
            ctx.keys.seal(entry, name, json.dumps(values.get(name)).ljust(NUMBER_WIDTH))
    if "shared_with_team" in values:
        entry.shared_with_team = values["shared_with_team"]


def write(ctx: Ctx, data: NewEntry) -> dict:
    """A new entry; private unless `shared_with_team`."""
    patient = access.own_patient(ctx)
    values = _check(dict(data.__dict__))
    # One Core INSERT of the sealed row (no ORM object, no unit-of-work flush), and the
    # answer from the values just sealed rather than decrypted back: each field's stored form
    # is its JSON, which reads back as the same value.
    entry_id, now = uuid.uuid4(), ctx.now()
    keys = ctx.keys

    def seal(name: str, plain: str) -> str:
        return keys.encrypt(plain, aad("diary_entry", name, entry_id))

    tags = values["tags"]
    ctx.session.connection().execute(  # the request's transaction, without the ORM's layer
        _INSERT,
        {
            "id": entry_id,
            "patient_id": patient.id,
            "created_at": now,
            "updated_at": None,
            "text_enc": seal("text", values["text"]),
            "tags_enc": seal("tags", json.dumps(tags, ensure_ascii=False)),
            "mood_enc": seal("mood", json.dumps(values["mood"]).ljust(NUMBER_WIDTH)),
            "sleep_hours_enc": seal("sleep_hours", json.dumps(values["sleep_hours"]).ljust(NUMBER_WIDTH)),
            "shared_with_team": values["shared_with_team"],
        },
    )
    audit.record(
        ctx.session,
        ctx.actor,
        "diary.create",
        patient_id=patient.id,
        resource="diary_entry",
        resource_id=entry_id,
    )
    return {
        "id": entry_id,
        "text": values["text"],
        "mood": values["mood"],
        "sleep_hours": values["sleep_hours"],
        "tags": tags,
        "shared_with_team": values["shared_with_team"],
        "created_at": now,
        "updated_at": None,
    }


_INSERT = insert(DiaryEntry.metadata.tables["diary_entry"])


def _own_entry(ctx: Ctx, entry_id: uuid.UUID) -> DiaryEntry:
    patient = access.own_patient(ctx)
    entry = ctx.session.get(DiaryEntry, entry_id)
    if entry is None or entry.patient_id != patient.id:
        raise access.refused(
            ctx,
            NotFound("No such diary entry."),
            patient_id=entry.patient_id if entry else None,
            resource="diary_entry",
            resource_id=entry_id,
        )
    return entry


def read(ctx: Ctx, entry_id: uuid.UUID) -> dict:
    entry = _own_entry(ctx, entry_id)
    audit.record(
        ctx.session,
        ctx.actor,
        "diary.read",
        patient_id=entry.patient_id,
        resource="diary_entry",
        resource_id=entry.id,
    )
    return to_dict(ctx, entry)


def edit(ctx: Ctx, entry_id: uuid.UUID, changes: dict) -> dict:
    """Change some fields of an entry (sharing included)."""
    entry = _own_entry(ctx, entry_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], "Not a field of a diary entry.")
    _seal(ctx, entry, _check(dict(changes)))
    entry.updated_at = ctx.now()
    audit.record(
        ctx.session,
        ctx.actor,
        "diary.update",
        patient_id=entry.patient_id,
        resource="diary_entry",
        resource_id=entry.id,
    )
    return to_dict(ctx, entry)


def delete(ctx: Ctx, entry_id: uuid.UUID) -> None:
    """Delete for good, and scrub any stored idempotent answer that repeated its text."""
    entry = _own_entry(ctx, entry_id)
    marker = str(entry.id)
    for record in ctx.session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.account_id == ctx.actor.account_id, IdempotencyRecord.body_enc.is_not(None)
        )
    ):
        body = ctx.keys.open(record, "body")
        if body and marker in body:
            # Keep the key (a late retry must not write the entry again) but not the text.
            ctx.keys.seal(record, "body", json.dumps({"id": str(entry.id), "deleted": True}))
    ctx.session.delete(entry)
    ctx.session.flush()
    ctx.erase()
    audit.record(
        ctx.session,
        ctx.actor,
        "diary.delete",
        patient_id=entry.patient_id,
        resource="diary_entry",
        resource_id=entry_id,
    )


def _page(ctx: Ctx, query, cursor: str | None, limit: int) -> Page:
    page = keyset(
        ctx.session, query, ctx.keys, DiaryEntry.created_at, DiaryEntry.id, cursor=cursor, limit=limit
    )
    return Page([to_dict(ctx, e) for e in page.items], page.next_cursor)


def my_entries(ctx: Ctx, *, cursor: str | None, limit: int) -> Page:
    """The patient's diary, newest first."""
    patient = access.own_patient(ctx)
    page = _page(ctx, select(DiaryEntry).where(DiaryEntry.patient_id == patient.id), cursor, limit)
    audit.record(ctx.session, ctx.actor, "diary.list", patient_id=patient.id, resource="diary_entry")
    return page


def shared_entries(ctx: Ctx, patient_id: uuid.UUID, *, cursor: str | None, limit: int) -> Page:
    """Staff: only the entries the patient shared, and only with `shared_diary` consent."""
    grant = access.staff_patient(ctx, patient_id, "shared_diary")
    query = select(DiaryEntry).where(DiaryEntry.patient_id == grant.patient.id, DiaryEntry.shared_with_team)
    page = _page(ctx, query, cursor, limit)
    record_access(ctx, grant, "diary.list_shared", "diary_entry")
    return page


def shared_points(ctx: Ctx, patient_id: uuid.UUID, limit: int = 365) -> list[dict]:
    """Mood and sleep of shared entries over time, oldest first (caller checks access)."""
    rows = ctx.session.scalars(
        select(DiaryEntry)
        .where(DiaryEntry.patient_id == patient_id, DiaryEntry.shared_with_team)
        .order_by(DiaryEntry.created_at.desc(), DiaryEntry.id.desc())
        .limit(limit)
    ).all()
    return [
        {"at": e.created_at, "mood": _number(ctx, e, "mood"), "sleep_hours": _number(ctx, e, "sleep_hours")}
        for e in reversed(rows)
    ]


def all_entries(ctx: Ctx, patient_id: uuid.UUID) -> list[dict]:
    """Every entry, oldest first (for the export)."""
    rows = ctx.session.scalars(
        select(DiaryEntry)
        .where(DiaryEntry.patient_id == patient_id)
        .order_by(DiaryEntry.created_at, DiaryEntry.id)
    )
    return [to_dict(ctx, e) for e in rows]
