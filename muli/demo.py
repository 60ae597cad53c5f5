"""Demo data: a small synthetic region, one team, staff of every role, and MULI's story.

Six patients enrolled 6 to 14 months ago, with two years of acute admissions before and
months after (admissions fell for 5 of 6, as in the sources); Kari has the app, her plans
(last reviewed with the team four months ago) and the past nights' contact requests, each
closed with an outcome; last week's meeting is signed with an open action; the police
liaison's emergency access waits for the privacy officer.

The past is written through the domain services with a unit of work whose clock reads
then (`_then`), so what they store, and the audit trail, carry the day it happened.

Idempotent: everything is looked up first (people by name or national id; the history
once, with its patient), so running it twice adds nothing. Synthetic people only: phone
numbers from the unassigned 0-series, national ids from the synthetic generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update

from muli.contact import requests
from muli.contact.on_call import seed_demo_rota
from muli.models.accounts import Account
from muli.models.base import CreatedMixin
from muli.models.consent import EmergencyAccess
from muli.models.contact import ContactRequest
from muli.models.outbox import OutboxMessage
from muli.models.people import Patient, Staff, TeamMembership
from muli.patient import indicators, mastery, plans, record
from muli.platform.context import Ctx
from muli.team import enrolment, programmes, staff
from muli.team.meetings.demo import seed_demo_meeting
from muli.trust import accounts, audit, national_id

TEAM = "MULI Fjordvik"
AGENCIES = [
    ("Fjordvik kommune", "municipality"),
    ("Nordstrand kommune", "municipality"),
    ("Fjordvik DPS", "dps"),
    ("Psykiatrisk akuttmottak (PAM)", "acute_ward"),
    ("Fjordvik politidistrikt", "police"),
]
# username, name, agency, role. One fixed demo password, so the logins can be printed again.
STAFF = [
    ("kristin", "Kristin Koordinator", "Fjordvik kommune", "coordinator"),
    ("siv", "Siv Sykepleier", "Fjordvik kommune", "member"),
    ("ola", "Ola Vakt", "Fjordvik DPS", "member"),
    ("per", "Per Akutt", "Psykiatrisk akuttmottak (PAM)", "member"),
    ("pia", "Pia Politikontakt", "Fjordvik politidistrikt", "member"),
    ("lise", "Lise Personvern", "Fjordvik DPS", "privacy_officer"),
    ("admin", "Arne Admin", "Fjordvik kommune", "admin"),
]
PATIENT_USERNAME = "kari"
PATIENT_NAME = "Kari"
PASSWORD = "Fjordvik-demo-2026"  # noqa: S105 - synthetic demo logins, printed by seed-demo
CONSENTING_AGENCIES = ("Fjordvik kommune", "Fjordvik DPS", "Psykiatrisk akuttmottak (PAM)")


@dataclass(frozen=True)
class DemoPatient:
    """One of the six: enrolled `enrolled_days_ago`, with acute admissions around the enrolment
    as (day relative to enrolment, nights or None for a stay still going, involuntary)."""

    name: str
    born: date
    enrolled_days_ago: int
    phone: str
    trusted: str | None  # the username of their contact person on the team
    admissions: list[tuple[int, int | None, bool]]


# Two years before enrolment and the months since. In the 12 months before / a year since:
# Kari 4 / 1.2, Jonas 4 / 1.8, Amina 3 / 0, Lars 3 / 1.1, Sunniva 4 / 1.9, Mats 1 / 2.7 —
# admissions fell for 5 of 6 (Mats is in hospital now: an open stay).
PATIENTS = [
    DemoPatient(
        PATIENT_NAME,
        date(1992, 3, 14),
        300,
        "+4700000100",
        "siv",
        [
            (-700, 9, False),
            (-540, 14, True),
            (-330, 6, False),
            (-250, 12, False),
            (-170, 8, True),
            (-60, 10, False),
            (120, 5, False),
        ],
    ),
    DemoPatient(
        "Jonas",
        date(1988, 7, 2),
        400,
        "+4700000110",
        "siv",
        [
            (-720, 7, False),
            (-600, 10, False),
            (-380, 21, True),
            (-300, 5, False),
            (-200, 9, False),
            (-90, 12, True),
            (-20, 6, False),
            (150, 4, False),
            (310, 6, False),
        ],
    ),
    DemoPatient(
        "Amina",
        date(1996, 11, 20),
        230,
        "+4700000120",
        "ola",
        [(-650, 8, False), (-400, 12, False), (-280, 7, False), (-120, 15, False), (-40, 5, False)],
    ),
    DemoPatient(
        "Lars",
        date(1979, 5, 9),
        330,
        "+4700000130",
        "ola",
        [(-500, 10, False), (-310, 6, False), (-190, 18, True), (-70, 9, False), (200, 3, False)],
    ),
    DemoPatient(
        "Sunniva",
        date(2001, 1, 27),
        190,
        "+4700000140",
        "siv",
        [
            (-600, 11, True),
            (-350, 7, False),
            (-210, 6, False),
            (-100, 10, False),
            (-30, 14, True),
            (60, 4, False),
        ],
    ),
    DemoPatient(
        "Mats",
        date(1985, 9, 15),
        270,
        "+4700000150",
        None,
        [(-690, 6, False), (-420, 9, False), (-200, 8, False), (40, 7, False), (260, None, False)],
    ),
]
OSLO = ZoneInfo("Europe/Oslo")
# Kari's past nights: (days ago, Oslo time, minutes until Ola took it, outcome, note).
PAST_NIGHTS = [
    (20, time(23, 10), 3, "talked", "Urolig etter besøk; snakket en halvtime, la seg etterpå."),
    (13, time(1, 40), 6, "talked", "Fikk ikke sove; gikk gjennom kriseplanen sammen."),
    (9, time(2, 30), 2, "chat", "Skrev i chatten; roet seg, avtalt samtale med Siv."),
    (6, time(22, 50), 8, "no_answer", "Ringte to ganger uten svar; Siv fulgte opp neste morgen."),
    (3, time(3, 15), 4, "talked", "Stemmene sterke; snakket, hun ville ikke legges inn."),
    (2, time(0, 20), 5, "talked", "Kort samtale; sov etterpå, ifølge meldingen neste dag."),
]
EMERGENCY_REASON = (
    "Politiet ble kalt til Sunnivas adresse i natt; trengte å vite hvem i teamet vi skulle ringe"
)
PLAN_REVIEWED_DAYS_AGO = 120

# MULI vold: the MULI model for young people who use violence, its own team in the same
# region, with the police, the correctional service and prison health. Pia, the police
# liaison, works on both teams (each team sees its own programme's sections and figures).
VOLD_TEAM = "MULI vold Fjordvik"
VOLD_AGENCIES = [
    ("Kriminalomsorgen region Fjordvik", "correctional_service"),
    ("Fengselshelsetjenesten Fjordvik", "prison_health"),
]
VOLD_STAFF = [
    ("vera", "Vera Voldskoordinator", "Fjordvik kommune", "coordinator"),
    ("tor", "Tor Kriminalomsorg", "Kriminalomsorgen region Fjordvik", "member"),
    ("hanne", "Hanne Fengselshelse", "Fengselshelsetjenesten Fjordvik", "member"),
]
VOLD_CONSENTING = (
    "Fjordvik kommune",
    "Fjordvik politidistrikt",
    "Kriminalomsorgen region Fjordvik",
    "Fengselshelsetjenesten Fjordvik",
)


@dataclass(frozen=True)
class VoldPatient:
    """A young person on MULI vold: recorded indicator events as (days relative to enrolment,
    indicator, count)."""

    name: str
    born: date
    enrolled_days_ago: int
    phone: str
    events: list[tuple[int, str, int]]


VOLD_PATIENTS = [
    VoldPatient(
        "Emil",
        date(2004, 6, 3),
        200,
        "+4700000200",
        [
            (-300, "violent_incidents", 1),
            (-240, "police_contacts", 1),
            (-180, "violent_incidents", 1),
            (-179, "days_in_custody", 21),
            (-60, "police_contacts", 2),
            (-30, "violent_incidents", 1),
            (45, "police_contacts", 1),
        ],
    ),
    VoldPatient(
        "Noah",
        date(2005, 2, 17),
        120,
        "+4700000210",
        [
            (-200, "police_contacts", 1),
            (-150, "violent_incidents", 1),
            (-90, "days_in_custody", 40),
            (-10, "violent_incidents", 1),
            (30, "police_contacts", 1),
        ],
    ),
]  # the crisis plan was last gone through with the team four months ago


def _ctx_as(ctx: Ctx, account: Account) -> Ctx:
    return ctx.acting_as(accounts.actor_for(ctx, account))


@contextmanager
def _then(ctx: Ctx, when: datetime, account: Account | None = None) -> Iterator[Ctx]:
    """A unit of work at `when` (as `account`): the services date what they write by
    `ctx.now()`, and the audit trail by `audit.dated`. Rows whose `created_at` a service leaves
    to its default (now) are given `when` here, on their way into the database, and flushed."""
    actor = accounts.actor_for(ctx, account) if account is not None else ctx.actor
    moved = Ctx(ctx.session, ctx.keys, actor, ctx.settings, lambda: when)
    session = ctx.session.registry() if hasattr(ctx.session, "registry") else ctx.session

    def date_new_rows(flushing, _context, _instances) -> None:
        for row in flushing.new:
            if isinstance(row, CreatedMixin) and row.created_at is None:
                row.created_at = when

    event.listen(session, "before_flush", date_new_rows)
    try:
        with audit.dated(ctx.session, lambda: when):
            yield moved
            ctx.session.flush()
    finally:
        event.remove(session, "before_flush", date_new_rows)


def _days_ago(ctx: Ctx, days: int, at: time = time(10)) -> datetime:
    """`days` before today, at a time of day in Oslo, as UTC."""
    day = ctx.now().astimezone(OSLO).date() - timedelta(days=days)
    return datetime.combine(day, at, tzinfo=OSLO).astimezone(UTC)


def seed(ctx: Ctx) -> dict:
    """Create (or find) the demo region and answer the logins as API.md describes."""
    agencies = {name: staff.get_or_create_agency(ctx, name, kind) for name, kind in AGENCIES}
    team = staff.get_or_create_team(
        ctx, TEAM, programme="MULI", phone="+4700000001", on_call_phone="+4700000002"
    )
    members: dict[str, Staff] = {}
    logins = _staff_logins(
        ctx,
        STAFF,
        agencies,
        # The privacy officer and the admin work for the service, not on a team.
        lambda role: [] if role in ("privacy_officer", "admin") else [team.id],
        members,
    )
    ctx.session.flush()

    patients = [_demo_patient(ctx, team, agencies, members, p) for p in PATIENTS]
    patient = patients[0]
    muli = programmes.install_built_in(ctx, "muli")
    if team.programme_id is None:
        programmes.assign(ctx, team, muli)
    vold_team, vold_logins = _seed_vold(ctx, agencies, members)
    logins.extend(vold_logins)
    result = {
        "team_id": str(team.id),
        "vold_team_id": str(vold_team.id),
        "staff": logins,
        "patients": [
            {
                "username": PATIENT_USERNAME,
                "name": PATIENT_NAME,
                "password": PASSWORD,
                "id": str(patient.id),
            }
        ],
        # The other five have no login: they are there for the team's outcomes.
        "patients_without_login": [
            {
                "name": ctx.keys.open(p, "display_name"),
                "id": str(p.id),
                "enrolled_on": p.enrolled_on.isoformat(),
            }
            for p in patients[1:]
        ],
    }
    for extend in EXTENSIONS:
        extend(ctx, team, patient, members)
    return result


def _staff_logins(ctx: Ctx, rows, agencies: dict, team_ids, members: dict[str, Staff]) -> list[dict]:
    """Find or create each (username, name, agency, role) of `rows` with the demo password,
    on the teams `team_ids(role)` names; fills `members` and answers the logins to print."""
    logins = []
    for username, name, agency, role in rows:
        account = ctx.session.scalars(select(Account).where(Account.username == username)).first()
        secret: str | None
        if account is None:
            person, secret = staff.create_staff(
                ctx,
                staff.NewStaff(
                    username=username,
                    password=PASSWORD,
                    display_name=name,
                    agency_id=agencies[agency].id,
                    role=role,
                    team_ids=team_ids(role),
                    email=f"{username}@muli.invalid",
                ),
            )
        else:
            person = ctx.session.scalars(select(Staff).where(Staff.account_id == account.id)).one()
            secret = ctx.keys.open(account, "totp_secret")
        members[username] = person
        logins.append(
            {
                "username": username,
                "name": name,
                "password": PASSWORD,
                "totp_secret": secret,
                "role": role,
                "agency": agency,
            }
        )
    return logins


def _seed_vold(ctx: Ctx, agencies, members) -> tuple:
    """MULI vold's team, its staff (Pia on both teams) and two young people with the police
    contacts, violent incidents and days in custody recorded around their enrolment."""
    vold = programmes.install_built_in(ctx, "muli-vold")
    team = staff.get_or_create_team(ctx, VOLD_TEAM, phone="+4700000003", on_call_phone="+4700000004")
    if team.programme_id is None:
        programmes.assign(ctx, team, vold)
    every = {**agencies, **{n: staff.get_or_create_agency(ctx, n, k) for n, k in VOLD_AGENCIES}}
    logins = _staff_logins(ctx, VOLD_STAFF, every, lambda _role: [team.id], members)
    pia = members["pia"]
    if team.id not in {m.team_id for m in pia.memberships}:
        ctx.session.add(TeamMembership(team_id=team.id, staff_id=pia.id))
    ctx.session.flush()
    ctx.session.expire(pia)
    for who in VOLD_PATIENTS:
        _vold_patient(ctx, team, every, members, who)
    # Its own rota, so a young person's contact request at night reaches someone on this team:
    # Vera (the municipality) primary, Tor (the correctional service) backup.
    seed_demo_rota(ctx, team, None, members, primary="vera", backup="tor")
    return team, logins


def _vold_patient(ctx: Ctx, team, agencies, members, who: VoldPatient) -> Patient:
    nid = next(national_id.synthetic_numbers(who.born))
    patient = ctx.session.scalars(
        select(Patient).where(Patient.national_id_index == ctx.keys.blind_index(nid))
    ).first()
    if patient is not None:
        return patient
    enrolled_at = _days_ago(ctx, who.enrolled_days_ago)
    every_scope = list(enrolment.consent_scopes(ctx, team))
    with _then(ctx, enrolled_at, members["vera"].account) as coordinator:
        patient, _code = enrolment.enrol(
            coordinator,
            enrolment.Enrolment(
                display_name=who.name,
                national_id=nid,
                team_id=team.id,
                consents=[enrolment.ConsentGiven(agencies[n].id, every_scope) for n in VOLD_CONSENTING],
                trusted_contact_id=members["tor"].id,
                phone=who.phone,
                criteria_confirmed=True,  # Vera's team judged the criteria met
            ),
        )
        for day, indicator, count in who.events:
            if day < 0:
                indicators.record_event(
                    coordinator,
                    patient.id,
                    indicators.NewIndicatorEvent(indicator, enrolled_at.date() + timedelta(days=day), count),
                )
    for day, indicator, count in who.events:
        if day >= 0:
            with _then(ctx, enrolled_at + timedelta(days=day), members["vera"].account) as then:
                indicators.record_event(
                    then,
                    patient.id,
                    indicators.NewIndicatorEvent(indicator, enrolled_at.date() + timedelta(days=day), count),
                )
    return patient


def _demo_patient(ctx: Ctx, team, agencies, members, who: DemoPatient) -> Patient:
    """Enrolled `who.enrolled_days_ago` by Kristin, with the admissions recorded as they came."""
    nid = next(national_id.synthetic_numbers(who.born))
    patient = ctx.session.scalars(
        select(Patient).where(Patient.national_id_index == ctx.keys.blind_index(nid))
    ).first()
    if patient is not None:
        return patient
    enrolled_at = _days_ago(ctx, who.enrolled_days_ago)
    every_scope = list(enrolment.consent_scopes(ctx, team))
    kristin = members["kristin"].account
    with _then(ctx, enrolled_at, kristin) as coordinator:
        patient, code = enrolment.enrol(
            coordinator,
            enrolment.Enrolment(
                display_name=who.name,
                national_id=nid,
                team_id=team.id,
                consents=[
                    enrolment.ConsentGiven(agencies[name].id, every_scope) for name in CONSENTING_AGENCIES
                ],
                trusted_contact_id=members[who.trusted].id if who.trusted else None,
                phone=who.phone,  # the team calls back on it ("Ring meg"); unassigned 0-series
                criteria_confirmed=True,  # Kristin's team judged the criteria met
            ),
        )
        # The two years before, as the team recorded them at enrolment (with discharge dates).
        for day, nights, involuntary in who.admissions:
            if day < 0:
                _record_admission(coordinator, patient, enrolled_at.date(), day, nights, involuntary)
    for day, nights, involuntary in who.admissions:  # since: recorded on discharge (or today)
        if day >= 0:
            ended = day + nights if nights is not None else who.enrolled_days_ago
            with _then(ctx, enrolled_at + timedelta(days=min(ended, who.enrolled_days_ago)), kristin) as then:
                _record_admission(then, patient, enrolled_at.date(), day, nights, involuntary)
    if who.name == PATIENT_NAME:
        with _then(ctx, enrolled_at + timedelta(days=1)) as next_day:
            account = accounts.activate(next_day, code, PATIENT_USERNAME, PASSWORD)
        account.created_at = enrolled_at + timedelta(days=1)  # the model's default would say today
    return patient


def _record_admission(ctx: Ctx, patient: Patient, enrolled_on: date, day: int, nights, involuntary) -> None:
    admitted = enrolled_on + timedelta(days=day)
    record.record_admission(
        ctx,
        patient.id,
        record.NewAdmission(
            admitted_on=admitted,
            facility="PAM",
            involuntary=involuntary,
            discharged_on=None if nights is None else admitted + timedelta(days=nights),
        ),
    )


# Later capabilities add their demo data here: fn(ctx, team, patient, staff_by_username).
EXTENSIONS: list = []


# Kari's plans, in her own words. Phone numbers from the unassigned 0-series.
KARI_CRISIS_PLAN = {
    "warning_signs": [
        {"sign": "Får ikke sove", "action": "Ta kveldsturen og ring Siv"},
        {"sign": "Stemmene blir sterke", "action": "Ring vakttelefonen til teamet"},
        {"sign": "Trekker meg unna alle", "action": "Send en melding i appen"},
    ],
    "coping_strategies": ["Gå en tur rundt vannet", "Dusje varmt", "Høre på radio"],
    "distractions": ["Kafeen ved torget", "Biblioteket"],
    "people_to_ask": [{"name": "Siv (søster)", "phone": "+4700000101"}],
    "professionals": [
        {"service": "MULI-teamet", "phone": "+4700000001", "when_reachable": "hverdager 08-15.30"},
        {"service": "MULI vakttelefon", "phone": "+4700000002", "when_reachable": "kveld og natt"},
    ],
    "safe_environment": ["Siv tar vare på medisinene når det er ille"],
    "reasons_to_live": ["Katten Pus", "Nevøen min"],
    "how_i_want_to_be_met": "Snakk rolig. Ikke si at jeg må legges inn med en gang.",
    "what_helps": "At noen kjenner historien min.",
    "what_does_not_help": "Mange spørsmål på en gang.",
    "treatment_preferences": "Helst en samtale først. Ikke belter.",
}
KARI_MASTERY_PLAN = {
    "strategies": [
        {"title": "Gå en tur rundt vannet", "category": "aktivitet"},
        {"title": "Ringe Siv", "category": "folk"},
        {"title": "Skrive i dagboka", "category": "tanker"},
    ],
    "goals": [{"title": "Sove minst seks timer", "category": "søvn"}],
}


def _kari_plans(ctx: Ctx, team, patient: Patient, members) -> None:
    """Kari writes her plans herself (once), at the meeting with the team four months ago."""
    if patient.account is None:  # not yet activated: nothing she could have written
        return
    with _then(ctx, _days_ago(ctx, PLAN_REVIEWED_DAYS_AGO, time(13)), patient.account) as kari:
        if plans.current_summary(ctx, patient.id, "crisis") is None:
            reviewed = kari.now().astimezone(OSLO).date()
            plans.save_my_crisis_plan(kari, KARI_CRISIS_PLAN, plans.crisis_etag(0), reviewed)
        if plans.current_summary(ctx, patient.id, "mastery") is None:
            mastery.save_my_mastery_plan(kari, KARI_MASTERY_PLAN, mastery.mastery_etag(0, 0))


def _past_nights(ctx: Ctx, team, patient: Patient, members) -> None:
    """Kari's requests over the past nights, each taken by Ola on call and closed with an
    outcome and a note. Once: not when she has any request already."""
    if patient.account is None or members.get("ola") is None:
        return
    if ctx.session.scalars(select(ContactRequest.id).where(ContactRequest.patient_id == patient.id)).first():
        return
    first = max(days for days, *_ in PAST_NIGHTS)
    for back in range(first + 2, 0, -7):  # the rota of those weeks: Ola on call, Per backup
        with _then(ctx, _days_ago(ctx, back)) as then:
            seed_demo_rota(then, team, patient, members)
    ola = members["ola"].account
    for days, at, minutes, outcome, note in PAST_NIGHTS:
        sent = _days_ago(ctx, days, at)
        with _then(ctx, sent, patient.account) as kari:
            made = requests.create(kari, requests.NewRequest(kind="call_me", urgency="talk")).request
        with _then(ctx, sent + timedelta(minutes=minutes), ola) as taken:
            requests.acknowledge(taken, made.id)
        with _then(ctx, sent + timedelta(minutes=minutes + 25), ola) as closed:
            requests.close(closed, made.id, outcome, note)
        # Those nights' notifications went out then; the outbox has no service to say so
        # after the fact, so the demo marks them sent here (the worker must not send them now).
        ctx.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key.contains(f":{made.id}:"), OutboxMessage.state == "pending")
            .values(state="sent", sent_at=OutboxMessage.next_attempt_at)
            .execution_options(synchronize_session=False)
        )


def _emergency_access(ctx: Ctx, team, patient: Patient, members) -> None:
    """Two nights ago Pia (the police liaison; Sunniva gave the police no consent) broke the
    glass with a reason and read Sunniva's overview; the privacy officer has it to review."""
    pia = members.get("pia")
    sunniva = next(
        (
            p
            for p in ctx.session.scalars(select(Patient).where(Patient.team_id == team.id))
            if ctx.keys.open(p, "display_name") == "Sunniva"
        ),
        None,
    )
    if pia is None or sunniva is None:
        return
    if ctx.session.scalars(select(EmergencyAccess.id).where(EmergencyAccess.staff_id == pia.id)).first():
        return
    with _then(ctx, _days_ago(ctx, 2, time(2, 5)), pia.account) as then:
        record.start_emergency_access(then, sunniva.id, EMERGENCY_REASON)
    with _then(ctx, _days_ago(ctx, 2, time(2, 7)), pia.account) as then:
        record.overview(then, sunniva.id)


EXTENSIONS.append(_kari_plans)

# Last week's signed meeting with its open action (muli.team.meetings.demo).
EXTENSIONS.append(seed_demo_meeting)

# The past nights' requests (with the rota of those weeks), before the rota from now on.
EXTENSIONS.append(_past_nights)

# Ola (DPS) on call every night for the next 7 days, Per (PAM) as backup (muli.contact.on_call).
EXTENSIONS.append(seed_demo_rota)

EXTENSIONS.append(_emergency_access)
