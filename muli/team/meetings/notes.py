"""Per-patient meeting notes: encrypted, versioned, saved only over the version read."""

from __future__ import annotations

import uuid

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError

from muli.models.meetings import MeetingNote
from muli.platform.context import Ctx
from muli.platform.crypto import aad_for
from muli.platform.errors import PreconditionRequired
from muli.team.meetings import agenda, lookup, views
from muli.team.meetings.views import NoteView, etag_matches, note_etag
from muli.trust import audit


def get_note(ctx: Ctx, meeting_id: uuid.UUID, patient_id: uuid.UUID) -> NoteView:
    """One patient's note (version 0 and no text before anyone wrote it); needs consent."""
    meeting = lookup.find_meeting(ctx, meeting_id)
    grant = lookup.patient_in_meeting(ctx, meeting, patient_id)
    note = lookup.find_note(ctx, meeting.id, patient_id)
    audit.record(
        ctx.session,
        ctx.actor,
        "meeting_note.read",
        patient_id=patient_id,
        resource="meeting_note",
        resource_id=note.id if note else None,
        emergency=grant.emergency,
    )
    return views.note_view(ctx, meeting.id, patient_id, note, True)


def save_note(
    ctx: Ctx, meeting_id: uuid.UUID, patient_id: uuid.UUID, text: str, if_match: str | None
) -> NoteView:
    """Write a patient's note, stored encrypted, if `if_match` names the current version.

    No `if_match`: 428. Another version (someone saved in between): 412, nothing written.
    The version check is part of the UPDATE itself, so two saves racing from the same
    version cannot both succeed, on SQLite or PostgreSQL. `*` never matches: a note is
    only overwritten by someone who has read the version they replace.
    """
    meeting = lookup.find_meeting(ctx, meeting_id)
    if not if_match:
        raise PreconditionRequired("Send If-Match with the note's ETag, so no one's edit is overwritten.")
    lookup.require_unsigned(meeting)
    grant = lookup.patient_in_meeting(ctx, meeting, patient_id)
    note = lookup.find_note(ctx, meeting.id, patient_id)
    current = note.version if note else 0
    if not etag_matches(if_match, note_etag(meeting.id, patient_id, current), version_only=True):
        raise lookup.stale()
    now = ctx.now()
    if note is None:
        note = MeetingNote(
            meeting_id=meeting.id,
            patient_id=patient_id,
            version=1,
            updated_at=now,
            updated_by_id=ctx.actor.staff_id,
        )
        ctx.keys.seal(note, "text", text)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(note)
        except IntegrityError:
            raise lookup.stale()
        agenda.ensure_on_agenda(ctx, meeting, patient_id)
    else:
        done: CursorResult = ctx.session.execute(  # type: ignore[assignment]
            update(MeetingNote)
            .where(MeetingNote.id == note.id, MeetingNote.version == current)
            .values(
                text_enc=ctx.keys.encrypt(text, aad_for(note, "text")),
                version=current + 1,
                updated_at=now,
                updated_by_id=ctx.actor.staff_id,
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            raise lookup.stale()
        ctx.session.refresh(note)
    audit.record(
        ctx.session,
        ctx.actor,
        "meeting_note.write",
        patient_id=patient_id,
        resource="meeting_note",
        resource_id=note.id,
        emergency=grant.emergency,
    )
    return views.note_view(ctx, meeting.id, patient_id, note, True)
