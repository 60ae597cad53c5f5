"""Refused attempts to reach another patient or team: security events the privacy officer sees.

What counts: a refusal by the access policy (`muli.trust.access` and the lookups that apply
it) that ends a request: 404 for a patient, team or resource outside the actor's reach (an
id that never existed answers alike and is recorded alike), 403 for a role or account kind
that may not come here. The policy marks such an error (`access.refused`); the web layer
records it when the error becomes the answer. A refusal a service catches and works around
(a hidden note on a meeting agenda) was no attempt and is not recorded. Nor is 403
`consent-required` on a patient of one's own team: that answer offers break-the-glass, the
ordinary way on, and reaches no other patient or team.

What is written: the audit event `access.refused` with the actor's usual fields,
`patient_id` when the target is an existing patient, `resource` and `resource_id` the kind
and id tried, and `reason` the route and answer
(`GET /api/v1/staff/patients/<uuid:patient_id>/diary: 404 not-found`). It is committed on
its own after the request's work is rolled back.

The refused actor learns nothing from it: the answer is the same, and costs the same,
whether the target exists or not; the event is never shown in a patient's own access log
(it would name another patient to them); only the privacy officer's review reads it.

Bounded: per actor and minute, the first `PER_MINUTE` refusals are written one by one; after
that only a summary at the (PER_MINUTE+1)th, 2·PER_MINUTE-th, 4·PER_MINUTE-th ... refusal
(outcome `flood`, "N refused attempts in the minute from hh:mm"). A flood of R refusals a
minute thus writes at most PER_MINUTE + 1 + log2(R / PER_MINUTE) events a minute per
account, and the tally keeps one row per account (`refusal_tally`), whatever the flood.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from muli.models.refusals import RefusalTally
from muli.platform.context import Actor, Ctx
from muli.trust import audit

ACTION = "access.refused"
PER_MINUTE = 10

_TALLY = cast(Table, RefusalTally.__table__)


@dataclass(frozen=True)
class Refusal:
    """Who was refused what: carried by the error (`MuliError.refusal`) to the web layer."""

    actor: Actor
    patient_id: uuid.UUID | None = None
    resource: str | None = None
    resource_id: str | None = None


def _actor_key(actor: Actor) -> str:
    return str(actor.account_id) if actor.account_id else f"{actor.kind}|{actor.ip or 'unknown'}"[:64]


def _count(ctx: Ctx, key: str) -> tuple[int, object]:
    """This refusal's number within the actor's current minute (the row locked until commit)."""
    minute = ctx.now().replace(second=0, microsecond=0)
    insert_for = postgresql.insert if ctx.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    ctx.session.execute(
        insert_for(_TALLY).values(actor_key=key, minute=minute, refusals=0).on_conflict_do_nothing()
    )
    row = ctx.session.get(RefusalTally, key, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted above, or there already
    if row.minute != minute:
        row.minute, row.refusals = minute, 0
    row.refusals += 1
    return row.refusals, minute


def _summary_due(n: int) -> bool:
    if n == PER_MINUTE + 1:
        return True
    multiple, rest = divmod(n, PER_MINUTE)
    return rest == 0 and multiple >= 2 and multiple & (multiple - 1) == 0


def record(ctx: Ctx, refusal: Refusal, tried: str) -> bool:
    """Count the refusal and write its `access.refused` event if the minute's bound allows;
    answers whether an event was written. The caller commits."""
    n, minute = _count(ctx, _actor_key(refusal.actor))
    if n <= PER_MINUTE:
        outcome, reason = "refused", tried
    elif _summary_due(n):
        outcome = "flood"
        reason = (
            f"{n} refused attempts in the minute from {minute:%H:%M} UTC; only the first "
            f"{PER_MINUTE} are recorded one by one. Latest: {tried}"
        )
    else:
        return False
    audit.record(
        ctx.session,
        refusal.actor,
        ACTION,
        outcome=outcome,
        patient_id=refusal.patient_id,
        resource=refusal.resource,
        resource_id=refusal.resource_id,
        reason=reason[:500],
    )
    return True
