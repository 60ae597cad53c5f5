"""Demo data: a small synthetic region, one team, staff of every role, an activated patient.

Idempotent: everything is looked up by name first, so running it twice changes nothing.
Synthetic people only; phone numbers from the unassigned 0-series, national ids synthetic.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from muli.contact.on_call import seed_demo_rota
from muli.models.accounts import Account
from muli.models.people import Patient, Staff
from muli.patient import mastery, plans
from muli.platform.context import Ctx
from muli.team import enrolment, staff
from muli.team.meetings.demo import seed_demo_meeting
from muli.trust import accounts, national_id

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


def _ctx_as(ctx: Ctx, account: Account) -> Ctx:
    return ctx.acting_as(accounts.actor_for(ctx, account))


def seed(ctx: Ctx) -> dict:
    """Create (or find) the demo region and answer the logins as API.md describes."""
    agencies = {name: staff.get_or_create_agency(ctx, name, kind) for name, kind in AGENCIES}
    team = staff.get_or_create_team(
        ctx, TEAM, programme="MULI", phone="+4700000001", on_call_phone="+4700000002"
    )
    logins = []
    members: dict[str, Staff] = {}
    for username, name, agency, role in STAFF:
        password = PASSWORD
        account = ctx.session.scalars(select(Account).where(Account.username == username)).first()
        if account is None:
            teams = [] if role in ("privacy_officer", "admin") else [team.id]
            secret: str | None
            person, secret = staff.create_staff(
                ctx,
                staff.NewStaff(
                    username=username,
                    password=password,
                    display_name=name,
                    agency_id=agencies[agency].id,
                    role=role,
                    team_ids=teams,
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
                "password": password,
                "totp_secret": secret,
                "role": role,
                "agency": agency,
            }
        )
    ctx.session.flush()

    patient = _demo_patient(ctx, team, agencies, members)
    result = {
        "team_id": str(team.id),
        "staff": logins,
        "patients": [{"username": PATIENT_USERNAME, "password": PASSWORD, "id": str(patient.id)}],
    }
    for extend in EXTENSIONS:
        extend(ctx, team, patient, members)
    return result


def _demo_patient(ctx: Ctx, team, agencies, members) -> Patient:
    nid = next(national_id.synthetic_numbers(date(1992, 3, 14)))
    patient = ctx.session.scalars(
        select(Patient).where(Patient.national_id_index == ctx.keys.blind_index(nid))
    ).first()
    if patient is not None:
        return patient
    coordinator = _ctx_as(ctx, members["kristin"].account)
    today = ctx.now().date()
    every_scope = list(enrolment.consent_scopes())
    patient, code = enrolment.enrol(
        coordinator,
        enrolment.Enrolment(
            display_name=PATIENT_NAME,
            national_id=nid,
            team_id=team.id,
            admissions_last_12_months=[today - timedelta(days=d) for d in (300, 210, 120, 45)],
            consents=[
                enrolment.ConsentGiven(agencies[name].id, every_scope)
                for name in ("Fjordvik kommune", "Fjordvik DPS", "Psykiatrisk akuttmottak (PAM)")
            ],
            trusted_contact_id=members["siv"].id,
            phone="+4700000100",  # the team calls back on it ("Ring meg"); unassigned 0-series
        ),
    )
    accounts.activate(ctx, code, PATIENT_USERNAME, PASSWORD)
    return patient


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
    """Kari writes her crisis plan and mastery plan herself (once)."""
    if patient.account is None:  # not yet activated: nothing she could have written
        return
    kari = _ctx_as(ctx, patient.account)
    if plans.current_summary(ctx, patient.id, "crisis") is None:
        reviewed = ctx.now().date() - timedelta(days=4)
        plans.save_my_crisis_plan(kari, KARI_CRISIS_PLAN, plans.crisis_etag(0), reviewed)
    if plans.current_summary(ctx, patient.id, "mastery") is None:
        mastery.save_my_mastery_plan(kari, KARI_MASTERY_PLAN, mastery.mastery_etag(0, 0))


EXTENSIONS.append(_kari_plans)

# Last week's signed meeting with its open action (muli.team.meetings.demo).
EXTENSIONS.append(seed_demo_meeting)

# Ola (DPS) on call every night for the next 7 days, Per (PAM) as backup (muli.contact.on_call).
EXTENSIONS.append(seed_demo_rota)
