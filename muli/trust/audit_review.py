"""The privacy officer's view: the access log, and the review of break-the-glass access.

What the privacy officer sees (decided here, since the design only says "audit only, no
clinical content"):
- audit events: who, role, agency, when, what action on which resource, for which
  patient (id and display name), emergency or not, from where; never the content read;
- break-the-glass access: who, for which patient, when, for how long, the actions taken
  during the window, and the REASON, decrypted. The reason is the staff member's
  justification for the access, i.e. access metadata the review exists to judge, not a
  clinical record; the patient sees the same reason in their own access log;
- every team: privacy officers are not team members, and the review covers the whole
  installation (one joint data controller arrangement for the region's MULI teams).

- failed logins and throttling ("Mislykkede innlogginger og struping"): per account and
  source over the last 24 hours, how many attempts failed, how many were refused unchecked
  (throttled), how many succeeded, and whether the account went over its ceiling. The
  source is shown coarse: an address as its network (IPv4 /24, IPv6 /48) plus a short tag
  of its keyed hash (so two sources in one network stay apart), a known device as such.
  The full address stays in each event (`ip`, as for every event) for an investigation.

Reading the log or the queue is itself audited, once per patient shown, so a patient's
access log also tells them when the privacy officer looked.

- the review of a break-the-glass access has a verdict (justified, not justified, needs
  follow-up) and a comment, kept encrypted (a comment may name health facts). A reviewed
  access can be reviewed again; every review is kept. One that needs follow-up stays in
  the queue until a later review settles it.
- every event carries its kind and plain words (`audit_words`), and the log is filtered by
  patient, staff member, agency, period, kind, and "security events" (refusals, replays,
  emergency access, any outcome but ok).
- one patient's access log, everything others did with their record, is exported for a
  written request (the patient's right to know who read their record); the export is
  audited like a read.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, false, func, or_, select

from muli.models.audit import AuditEvent
from muli.models.consent import REVIEW_VERDICTS, EmergencyAccess, EmergencyAccessReview
from muli.models.people import Agency, Patient, Staff
from muli.platform.context import Ctx
from muli.platform.errors import NotFound, ValidationFailed
from muli.platform.pagination import Page, decode, keyset
from muli.trust import access, audit, audit_words

MAX_COMMENT_CHARS = 2000
# A written request is answered in full; this only bounds one export's memory.
MAX_EXPORT_EVENTS = 20_000

# An emergency event's audit row names the break-the-glass window it happened under; the
# reason itself (free text, often clinical) stays encrypted in that window's row.
EMERGENCY_REF = "emergency_access:"


def emergency_ref(window_id: uuid.UUID, scopes: Iterable[str] = ()) -> str:
    """`emergency_access:<window id>`; the window's opening event adds what it opened
    (`emergency_access:<id> scopes=crisis_plan,shared_diary`)."""
    opened = ",".join(scopes)
    return f"{EMERGENCY_REF}{window_id}" + (f" scopes={opened}" if opened else "")


def emergency_reasons(ctx: Ctx, events: Iterable[AuditEvent]) -> dict[int, str]:
    """The reason given for each emergency event (by seq), read from its window's row."""
    refs: dict[int, uuid.UUID] = {}
    reasons: dict[int, str] = {}
    for event in events:
        if not event.emergency or not event.reason:
            continue
        if event.reason.startswith(EMERGENCY_REF):
            try:
                refs[event.seq] = uuid.UUID(event.reason.removeprefix(EMERGENCY_REF).split(" ", 1)[0])
            except ValueError:
                continue
        else:
            reasons[event.seq] = event.reason  # written before reasons moved out of the trail
    if refs:
        windows = {
            w.id: w
            for w in ctx.session.scalars(
                select(EmergencyAccess).where(EmergencyAccess.id.in_(set(refs.values())))
            )
        }
        for seq, window_id in refs.items():
            window = windows.get(window_id)
            if window is not None:
                reasons[seq] = ctx.keys.open(window, "reason") or ""
    return reasons


@dataclass
class AuditItem:
    seq: int
    occurred_at: datetime
    action: str
    outcome: str
    actor_kind: str | None
    actor_name: str | None
    actor_role: str | None
    actor_agency_name: str | None
    patient_id: uuid.UUID | None
    patient_display_name: str | None
    resource: str | None
    resource_id: str | None
    emergency: bool
    reason: str | None
    ip: str | None
    request_id: str | None
    kind: str | None = None  # audit_words.KINDS
    description: str = ""  # plain words (English message id; the caller translates)
    security: bool = False


@dataclass
class ReviewView:
    verdict: str | None  # None: signed off before verdicts existed
    comment: str | None
    reviewed_at: datetime
    reviewed_by_id: uuid.UUID | None
    reviewed_by_name: str | None


@dataclass
class EmergencyAccessView:
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_display_name: str
    staff_id: uuid.UUID
    staff_name: str
    staff_agency_name: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    reviewed_at: datetime | None
    reviewed_by_name: str | None
    actions_during: list[dict] = field(default_factory=list)
    verdict: str | None = None  # the latest review's
    comment: str | None = None  # the latest review's
    reviews: list[ReviewView] = field(default_factory=list)  # oldest first
    scopes: list[str] = field(default_factory=list)  # what the window opened

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None

    @property
    def settled(self) -> bool:
        """Reviewed, and not waiting for follow-up."""
        return self.reviewed and self.verdict != "follow_up"


@dataclass(frozen=True)
class Choice:
    id: uuid.UUID
    label: str


def search_choices(ctx: Ctx) -> tuple[list[Choice], list[Choice], list[Choice]]:
    """Whom the privacy officer can search for, by name: every patient, staff member, agency.

    Names only (no record is read), audited as one event, not one per patient.
    """
    access.require_privacy_officer(ctx)
    # Names are encrypted: opened and sorted here (by name, then id, as SQL sorted them).
    patients = sorted(
        (Choice(p.id, ctx.keys.open(p, "display_name") or "") for p in ctx.session.scalars(select(Patient))),
        key=lambda choice: (choice.label, str(choice.id)),
    )
    staff = [
        Choice(sid, f"{name} ({agency})")
        for sid, name, agency in ctx.session.execute(
            select(Staff.id, Staff.display_name, Agency.name)
            .join(Agency, Agency.id == Staff.agency_id)
            .order_by(Staff.display_name, Staff.id)
        )
    ]
    agencies = [
        Choice(aid, name)
        for aid, name in ctx.session.execute(select(Agency.id, Agency.name).order_by(Agency.name, Agency.id))
    ]
    audit.record(ctx.session, ctx.actor, "audit.search_choices", resource="people")
    return patients, staff, agencies


def security_event():
    """The condition for a security event (see SECURITY_ACTIONS)."""
    return or_(
        AuditEvent.emergency.is_(True),
        AuditEvent.action.in_(audit_words.SECURITY_ACTIONS),
        AuditEvent.outcome != "ok",
    )


def search(
    ctx: Ctx,
    *,
    patient_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    agency_id: uuid.UUID | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    kind: str | None = None,
    security: bool = False,
    cursor: str | None = None,
    limit: int = 20,
) -> Page:
    """Audit events (AuditItems), newest first, by patient, staff member, the actor's agency,
    time [from_, to), kind of action (audit_words.KINDS) and security events only."""
    access.require_privacy_officer(ctx)
    query = select(AuditEvent)
    if kind is not None:
        if kind not in audit_words.KINDS:
            raise ValidationFailed("kind", "One of: %(values)s.", {"values": ", ".join(audit_words.KINDS)})
        query = query.where(AuditEvent.action.in_(audit_words.actions_of_kind(kind)))
    if security:
        query = query.where(security_event())
    if agency_id is not None:
        # Staff keep their agency; the agency's name in the event is the one at the time.
        members = select(Staff.account_id).where(Staff.agency_id == agency_id)
        query = query.where(AuditEvent.actor_account_id.in_(members))
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if staff_id is not None:
        account_id = ctx.session.scalar(select(Staff.account_id).where(Staff.id == staff_id))
        # An unknown staff id matches nothing (not the events without an account).
        matches = AuditEvent.actor_account_id == account_id if account_id else false()
        query = query.where(matches)
    if from_ is not None:
        query = query.where(AuditEvent.occurred_at >= from_)
    if to is not None:
        query = query.where(AuditEvent.occurred_at < to)
    page = newest_first(ctx, query, from_=from_, to=to, cursor=cursor, limit=limit)
    names = _patient_names(ctx, {e.patient_id for e in page.items if e.patient_id})
    actors = patient_actors(ctx, page.items)
    _audit_reads(ctx, "audit.search", names | dict(actors.values()))
    reasons = emergency_reasons(ctx, page.items)
    return Page([_item(e, names, reasons.get(e.seq), actors) for e in page.items], page.next_cursor)


def recent_since(upper: datetime) -> datetime:
    """Where the newest-first search looks first: from the start of the month before `upper`'s
    (so a month and more, however early in the month)."""
    return audit._month(upper.astimezone(UTC), -1)


def newest_first(
    ctx: Ctx, query, *, from_: datetime | None, to: datetime | None, cursor: str | None, limit: int
) -> Page:
    """One page of `query`, newest first (keyset on occurred_at, seq), exactly as over the whole
    table, but on PostgreSQL without planning every month's partition when the page lies in the
    recent ones.

    Without a lower time bound a query spans every month's partition, and planning them all
    costs more than reading a page. So it first reads from `recent_since` the newest time the
    page can hold (the cursor's, `to`, or now): PostgreSQL prunes to those few partitions when
    planning. Every older event sorts after every event in that window, so when the window
    holds a full page and one more, that page (and its cursor) is the one the whole table
    gives. Otherwise (a sparse patient or staff member, the last page) the whole query runs
    (its LIMIT in the text, pagination.page_limit, so PostgreSQL keeps its generic plan rather
    than planning every month on each run). With a lower bound `from_`, the query is pruned
    already: it runs as is."""

    def run(q) -> Page:
        return keyset(
            ctx.session,
            q,
            ctx.keys,
            AuditEvent.occurred_at,
            AuditEvent.seq,
            cursor=cursor,
            limit=limit,
            id_type=int,
        )

    if from_ is not None:
        return run(query)
    upper = min(t for t in (ctx.now(), to, decode(ctx.keys, cursor)[0] if cursor else None) if t)
    page = run(query.where(AuditEvent.occurred_at >= recent_since(upper)))
    if page.next_cursor is not None:
        return page
    return run(query)


def emergency_accesses(
    ctx: Ctx, *, reviewed: bool | None = False, cursor: str | None = None, limit: int = 20
) -> Page:
    """Break-the-glass accesses (EmergencyAccessViews), newest first; by default those to
    review (never reviewed, or needing follow-up); `reviewed=True`: every reviewed one."""
    access.require_privacy_officer(ctx)
    query = select(EmergencyAccess)
    follow_up = EmergencyAccess.review_verdict == "follow_up"
    if reviewed is True:
        query = query.where(EmergencyAccess.reviewed_at.is_not(None))
    elif reviewed is False:  # to review: never reviewed, or waiting for follow-up
        query = query.where(or_(EmergencyAccess.reviewed_at.is_(None), follow_up))
    page = keyset(
        ctx.session,
        query,
        ctx.keys,
        EmergencyAccess.created_at,
        EmergencyAccess.id,
        cursor=cursor,
        limit=limit,
    )
    views = [_emergency_view(ctx, e) for e in page.items]
    _audit_reads(ctx, "emergency_access.review_list", {v.patient_id: v.patient_display_name for v in views})
    return Page(views, page.next_cursor)


def review_emergency_access(
    ctx: Ctx, access_id: uuid.UUID, verdict: str, comment: str | None = None
) -> EmergencyAccessView:
    """Judge one break-the-glass access: a verdict and a comment (encrypted). Reviewing it
    again adds to its history; the latest review is the access's verdict."""
    access.require_privacy_officer(ctx)
    if verdict not in REVIEW_VERDICTS:
        raise ValidationFailed("verdict", "One of: %(values)s.", {"values": ", ".join(REVIEW_VERDICTS)})
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed("comment", "At most %(n)d characters.", {"n": MAX_COMMENT_CHARS})
    # Locked, so two officers reviewing at once leave the latest review as the verdict.
    row = ctx.session.scalars(
        select(EmergencyAccess).where(EmergencyAccess.id == access_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("No such emergency access.")
    now = ctx.now()
    review = EmergencyAccessReview(
        emergency_access_id=row.id, verdict=verdict, reviewed_at=now, reviewed_by_id=ctx.actor.staff_id
    )
    ctx.keys.seal(review, "comment", comment)
    ctx.session.add(review)
    row.reviewed_at = now
    row.reviewed_by_id = ctx.actor.staff_id
    row.review_verdict = verdict
    ctx.session.flush()
    audit.record(
        ctx.session,
        ctx.actor,
        "emergency_access.review",
        patient_id=row.patient_id,
        resource="emergency_access",
        resource_id=row.id,
    )
    return _emergency_view(ctx, row)


def _patient_names(ctx: Ctx, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return {
        p.id: ctx.keys.open(p, "display_name") or ""
        for p in ctx.session.scalars(select(Patient).where(Patient.id.in_(ids)))
    }


def patient_actors(ctx: Ctx, events: Iterable[AuditEvent]) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """account id -> (patient id, name opened from the patient's row) of every patient who
    acted in `events`: an event by a patient does not hold their name (it is sealed in their
    row; events written before 0045 may still hold it, docs/audit-trail.md). The caller shows
    the names only to whoever may see them, and audits the reads."""
    accounts = {e.actor_account_id for e in events if e.actor_kind == "patient" and e.actor_account_id}
    if not accounts:
        return {}
    return {
        p.account_id: (p.id, ctx.keys.open(p, "display_name") or "")
        for p in ctx.session.scalars(select(Patient).where(Patient.account_id.in_(accounts)))
        if p.account_id is not None
    }


def actor_name(event: AuditEvent, actors: dict[uuid.UUID, tuple[uuid.UUID, str]]) -> str | None:
    """Who acted, by name: a patient's from their sealed row (`patient_actors`), else the name
    the event holds (staff; a patient's in an event from before 0045)."""
    if event.actor_kind == "patient" and event.actor_account_id in actors:
        return actors[event.actor_account_id][1] or event.actor_name
    return event.actor_name


def _audit_reads(ctx: Ctx, action: str, patients: dict) -> None:
    for patient_id in sorted(patients, key=str):
        audit.record(ctx.session, ctx.actor, action, patient_id=patient_id, resource="audit_event")


def _item(event: AuditEvent, names: dict, reason: str | None, actors: dict | None = None) -> AuditItem:
    return AuditItem(
        seq=event.seq,
        occurred_at=event.occurred_at,
        action=event.action,
        outcome=event.outcome,
        actor_kind=event.actor_kind,
        actor_name=actor_name(event, actors or {}),
        actor_role=event.actor_role,
        actor_agency_name=event.actor_agency_name,
        patient_id=event.patient_id,
        patient_display_name=names.get(event.patient_id),
        resource=event.resource,
        resource_id=event.resource_id,
        emergency=event.emergency,
        reason=reason if event.emergency else event.reason,
        ip=event.ip,
        request_id=event.request_id,
        kind=audit_words.kind_of(event.action),
        description=audit_words.describe(event.action),
        security=is_security_event(event),
    )


def is_security_event(event: AuditEvent) -> bool:
    return bool(event.emergency or event.action in audit_words.SECURITY_ACTIONS or event.outcome != "ok")


def _emergency_view(ctx: Ctx, row: EmergencyAccess) -> EmergencyAccessView:
    staff = ctx.session.scalars(select(Staff).where(Staff.id == row.staff_id)).one()
    patient = ctx.session.scalars(select(Patient).where(Patient.id == row.patient_id)).one()
    reviewer = ctx.session.get(Staff, row.reviewed_by_id) if row.reviewed_by_id else None
    history = ctx.session.scalars(
        select(EmergencyAccessReview)
        .where(EmergencyAccessReview.emergency_access_id == row.id)
        .order_by(EmergencyAccessReview.reviewed_at, EmergencyAccessReview.id)
    ).all()
    reviewers = {
        sid: name
        for sid, name in ctx.session.execute(
            select(Staff.id, Staff.display_name).where(
                Staff.id.in_({r.reviewed_by_id for r in history if r.reviewed_by_id})
            )
        )
    }
    reviews = [
        ReviewView(
            verdict=r.verdict,
            comment=ctx.keys.open(r, "comment"),
            reviewed_at=r.reviewed_at,
            reviewed_by_id=r.reviewed_by_id,
            reviewed_by_name=reviewers.get(r.reviewed_by_id) if r.reviewed_by_id else None,
        )
        for r in history
    ]
    during = ctx.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.patient_id == row.patient_id,
            AuditEvent.actor_account_id == staff.account_id,
            AuditEvent.occurred_at >= row.starts_at,
            AuditEvent.occurred_at < row.ends_at,
        )
        .order_by(AuditEvent.seq)
        .limit(200)
    ).all()
    return EmergencyAccessView(
        id=row.id,
        patient_id=row.patient_id,
        patient_display_name=ctx.keys.open(patient, "display_name") or "",
        staff_id=staff.id,
        staff_name=staff.display_name,
        staff_agency_name=staff.agency.name,
        reason=ctx.keys.open(row, "reason") or "",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reviewed_at=row.reviewed_at,
        reviewed_by_name=reviewer.display_name if reviewer else None,
        scopes=sorted(row.scope_set),
        actions_during=[
            {
                "at": e.occurred_at,
                "action": e.action,
                "description": audit_words.describe(e.action),
                "resource": e.resource,
                "emergency": e.emergency,
            }
            for e in during
        ],
        verdict=row.review_verdict,
        comment=reviews[-1].comment if reviews else None,
        reviews=reviews,
    )


# -- failed logins and throttling ---------------------------------------------------------

LOGIN_ACTIONS = ("auth.login", "auth.throttle")


@dataclass
class LoginSourceSummary:
    """One account (or every unknown username together) and one source, over the period."""

    account_id: uuid.UUID | None  # None: usernames that name no account
    account_kind: str | None  # "staff", "patient", or None for unknown usernames
    account_label: str | None  # the person's name (staff: with agency)
    source_kind: str | None  # "address", "device", or None (events before sources were kept)
    source_tag: str | None  # the first characters of the source's keyed hash
    network: str | None  # the address's network (IPv4 /24, IPv6 /48)
    failed: int
    throttled: int  # refused before the password was checked
    succeeded: int
    ceiling: bool  # the account went over its all-sources ceiling in the period
    first_at: datetime
    last_at: datetime


def coarse_network(address: str | None) -> str | None:
    """An address as its network: enough to tell a ward's wifi from abroad, not a household."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def login_failures(ctx: Ctx, *, hours: int = 24) -> list[LoginSourceSummary]:
    """Failed and throttled logins per account and source over the last `hours`, most first.

    Only pairs with at least one failure or refusal; their successes are counted too (a
    success after many failures from one source is the thing to look at).
    """
    access.require_privacy_officer(ctx)
    since = ctx.now() - timedelta(hours=hours)

    def login(outcome: str):
        """How many of the group's events are logins with this outcome."""
        matches = (AuditEvent.action == "auth.login") & (AuditEvent.outcome == outcome)
        return func.sum(case((matches, 1), else_=0))

    rows: list[Any] = ctx.session.execute(
        select(
            AuditEvent.actor_account_id,
            AuditEvent.resource,
            AuditEvent.resource_id,
            login("failed"),
            login("throttled"),
            login("ok"),
            func.sum(case((AuditEvent.action == "auth.throttle", 1), else_=0)),
            func.min(AuditEvent.occurred_at),
            func.max(AuditEvent.occurred_at),
            func.max(AuditEvent.ip),
        )
        .where(AuditEvent.action.in_(LOGIN_ACTIONS), AuditEvent.occurred_at >= since)
        .group_by(AuditEvent.actor_account_id, AuditEvent.resource, AuditEvent.resource_id)
    ).all()  # type: ignore[assignment]
    rows = [r for r in rows if r[3] or r[4]]
    people = _account_people(ctx, {r[0] for r in rows if r[0] is not None})
    ceilings = {r[0] for r in rows if r[6]}
    out = []
    for account_id, resource, resource_id, failed, throttled, ok, _, first, last, ip in rows:
        kind, label, _patient = people.get(account_id, (None, None, None))
        source_kind = resource.removeprefix("login_") if resource else None
        out.append(
            LoginSourceSummary(
                account_id=account_id,
                account_kind=kind,
                account_label=label,
                source_kind=source_kind,
                source_tag=resource_id[:8] if resource_id else None,
                network=coarse_network(ip) if source_kind != "device" else None,
                failed=int(failed or 0),
                throttled=int(throttled or 0),
                succeeded=int(ok or 0),
                ceiling=account_id in ceilings,
                first_at=first,
                last_at=last,
            )
        )
    out.sort(key=lambda s: (-(s.failed + s.throttled), str(s.account_id), s.source_tag or ""))
    audit.record(ctx.session, ctx.actor, "audit.login_failures", resource="audit_event")
    shown = {p: people[a][1] for a, (_k, _l, p) in people.items() if p is not None}
    _audit_reads(ctx, "audit.login_failures", shown)
    return out


def _account_people(ctx: Ctx, account_ids: set[uuid.UUID]) -> dict:
    """account id -> (kind, label, patient id or None) for the accounts named."""
    if not account_ids:
        return {}
    people: dict = {}
    for account_id, name, agency in ctx.session.execute(
        select(Staff.account_id, Staff.display_name, Agency.name)
        .join(Agency, Agency.id == Staff.agency_id)
        .where(Staff.account_id.in_(account_ids))
    ):
        people[account_id] = ("staff", f"{name} ({agency})", None)
    for patient in ctx.session.scalars(select(Patient).where(Patient.account_id.in_(account_ids))):
        people[patient.account_id] = ("patient", ctx.keys.open(patient, "display_name"), patient.id)
    return people


# -- one patient's access log, for a written request ---------------------------------------


@dataclass
class AccessLogExport:
    patient_id: uuid.UUID
    patient_display_name: str
    time_zone: str  # the patient's team's, for the times shown
    made_at: datetime
    made_by_name: str | None
    from_: datetime | None
    to: datetime | None
    items: list[AuditItem]
    truncated: bool  # more than MAX_EXPORT_EVENTS: narrow the period


def patient_access_log(
    ctx: Ctx, patient_id: uuid.UUID, *, from_: datetime | None = None, to: datetime | None = None
) -> AccessLogExport:
    """Everything anyone but the patient did with the patient's record in [from_, to),
    oldest first: who (name, role, agency at the time), when, what, and why (the emergency
    reason). The export is audited against the patient, so their own log shows it."""
    access.require_privacy_officer(ctx)
    patient = ctx.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    query = select(AuditEvent).where(AuditEvent.patient_id == patient.id)
    if patient.account_id is not None:
        query = query.where(
            or_(AuditEvent.actor_account_id.is_(None), AuditEvent.actor_account_id != patient.account_id)
        )
    if from_ is not None:
        query = query.where(AuditEvent.occurred_at >= from_)
    if to is not None:
        query = query.where(AuditEvent.occurred_at < to)
    events = ctx.session.scalars(query.order_by(AuditEvent.seq).limit(MAX_EXPORT_EVENTS + 1)).all()
    truncated = len(events) > MAX_EXPORT_EVENTS
    events = events[:MAX_EXPORT_EVENTS]
    reasons = emergency_reasons(ctx, events)
    name = ctx.keys.open(patient, "display_name") or ""
    names = {patient.id: name}
    audit.record(
        ctx.session,
        ctx.actor,
        "audit.export_access_log",
        patient_id=patient.id,
        resource="audit_event",
    )
    return AccessLogExport(
        patient_id=patient.id,
        patient_display_name=name,
        time_zone=patient.team.time_zone or "Europe/Oslo",
        made_at=ctx.now(),
        made_by_name=ctx.actor.name,
        from_=from_,
        to=to,
        items=[_item(e, names, reasons.get(e.seq)) for e in events],
        truncated=truncated,
    )
