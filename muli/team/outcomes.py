"""Outcomes for a team, each indicator with its definition, under Helsedirektoratet's headings.

Words mean different things in different agencies, so every indicator carries its
definition in bokmål and English. Small numbers identify people: every figure whose
count is under `SUPPRESS_BELOW` (0 included) is answered as `{"value": None,
"suppressed": True}`, and so is every figure derived from such a count (a rate, a median).
That holds for the per-patient rows too, which therefore also carry a `direction`
(fewer / same / more admissions a year since enrolment), the part of a patient's outcome
that tells the story ("admissions went down in 5 of 6 cases") without a small count.

Who is counted: the team's active and paused patients (an ended enrolment has no "since").
Baseline: the 12 months before the enrolment date. Since: from the enrolment date to
today, annualised (x 365.25 / days); under `MIN_DAYS_FOR_RATE` days no rate is given.
Reading the outcomes is audited for each patient counted.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from muli.models.consent import ConsentChange
from muli.models.contact import ContactRequest
from muli.models.people import Admission, Patient
from muli.patient import record
from muli.platform.context import Ctx
from muli.trust import access, audit

SUPPRESS_BELOW = 5
MIN_DAYS_FOR_RATE = 30
BASELINE = timedelta(days=365)
YEAR_DAYS = 365.25
COUNTED_STATUSES = ("active", "paused")

HEADINGS = {
    "effective": {"nb": "Virkningsfulle", "en": "Effective"},
    "safe": {"nb": "Trygge og sikre", "en": "Safe"},
    "user_involvement": {
        "nb": "Involverer brukere og gir dem innflytelse",
        "en": "Involve users and give them influence",
    },
    "coordination": {"nb": "Samordnet og preget av kontinuitet", "en": "Coordinated, with continuity"},
    "resources": {"nb": "Utnytter ressursene på en god måte", "en": "Use resources well"},
    "access": {"nb": "Tilgjengelige og rettferdig fordelt", "en": "Accessible and fairly distributed"},
}


@dataclass(frozen=True)
class Definition:
    key: str
    heading: str
    title: dict
    definition: dict
    unit: str


DEFINITIONS = [
    Definition(
        "acute_admissions",
        "effective",
        {"nb": "Akuttinnleggelser", "en": "Acute admissions"},
        {
            "nb": "Innleggelser i psykiatrisk akuttmottak (PAM) med innleggelsesdato i de 12 månedene før "
            "innskrivingsdatoen, mot innleggelser fra innskrivingsdatoen til i dag, omregnet til per år "
            "(antall x 365,25 / dager siden innskriving). Frivillige og tvungne telles likt.",
            "en": "Admissions to the psychiatric acute ward (PAM) admitted in the 12 months before the "
            "enrolment date, against admissions from the enrolment date until today, annualised "
            "(count x 365.25 / days since enrolment). Voluntary and involuntary count alike.",
        },
        "admissions",
    ),
    Definition(
        "bed_days",
        "resources",
        {"nb": "Liggedøgn", "en": "Bed-days"},
        {
            "nb": "Døgn innlagt (utskrivingsdato minus innleggelsesdato; pågående opphold regnes til i dag) "
            "innenfor de 12 månedene før innskriving, mot døgn fra innskriving til i dag, per år.",
            "en": "Nights in hospital (discharge date minus admission date; a stay still going counts to "
            "today) inside the 12 months before enrolment, against nights since enrolment, annualised.",
        },
        "days",
    ),
    Definition(
        "involuntary_admissions",
        "safe",
        {"nb": "Tvangsinnleggelser", "en": "Involuntary admissions"},
        {
            "nb": "Innleggelser registrert som tvungne (psykisk helsevernloven), 12 måneder før innskriving "
            "mot tiden siden, omregnet til per år.",
            "en": "Admissions recorded as involuntary (Mental Health Care Act), 12 months before enrolment "
            "against the time since, annualised.",
        },
        "admissions",
    ),
    Definition(
        "contact_requests",
        "access",
        {"nb": "Kontaktforespørsler", "en": "Contact requests"},
        {
            "nb": "Forespørsler fra pasientene om å snakke med noen (ring meg eller chat), uansett tidspunkt "
            "og utfall, inkludert de pasienten avlyste. Også: hvor mange som kom da ingen var på vakt.",
            "en": "Requests from the patients to talk to someone (call me or chat), at any hour and with "
            "any outcome, including those the patient cancelled. Also: how many came with nobody on call.",
        },
        "requests",
    ),
    Definition(
        "time_to_acknowledge",
        "access",
        {"nb": "Tid til svar", "en": "Time to acknowledge"},
        {
            "nb": "Minutter fra forespørselen ble sendt til en ansatt bekreftet at de tar den, for bekreftede"
            " forespørsler: median og 90-persentil (nærmeste rang). Avlyste og ubesvarte er ikke med.",
            "en": "Minutes from a request being sent to a staff member acknowledging it, over acknowledged "
            "requests: median and 90th percentile (nearest rank). Cancelled and unanswered are excluded.",
        },
        "minutes",
    ),
    Definition(
        "escalations",
        "safe",
        {"nb": "Eskaleringer", "en": "Escalations"},
        {
            "nb": "Forespørsler som ikke ble besvart innen tidsfristen, slik at bakvakt og koordinatorer ble "
            "varslet (minst ett eskaleringstrinn).",
            "en": "Requests not acknowledged within the time limit, so the backup on call and the "
            "coordinators were alerted (at least one escalation step).",
        },
        "requests",
    ),
    Definition(
        "consent_withdrawals",
        "user_involvement",
        {"nb": "Tilbaketrukne samtykker", "en": "Consent withdrawals"},
        {
            "nb": "Hver tilbaketrekking av et samtykke for én etat og ett område (kriseplan, mestringsplan, "
            "dagbok, kontaktforespørsler, møtenotater). Et tegn på tillit som er tapt, talt for seg.",
            "en": "Each withdrawal of consent for one agency and one scope (crisis plan, mastery plan, "
            "diary, contact requests, meeting notes). A sign of lost trust, counted on its own.",
        },
        "withdrawals",
    ),
    Definition(
        "trusted_contact",
        "coordination",
        {"nb": "Fast kontaktperson", "en": "Trusted contact"},
        {
            "nb": "Pasienter som har en navngitt kontaktperson i teamet, av pasientene som telles.",
            "en": "Patients with a named contact person on the team, of the patients counted.",
        },
        "patients",
    ),
]


def figure(value, count: int | None = None) -> dict:
    """A number, or None with `suppressed` when it rests on a count under the threshold."""
    basis = value if count is None else count
    if basis is None or basis < SUPPRESS_BELOW:
        return {"value": None, "suppressed": True}
    return {"value": value, "suppressed": False}


def annualised(count: int, days: int) -> float | None:
    """A count over `days` as a rate per year; None when the period is too short to say."""
    if days < MIN_DAYS_FOR_RATE:
        return None
    return round(count * YEAR_DAYS / days, 2)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats going astray
    return ordered[int(rank) - 1]


@dataclass
class _Stay:
    admitted_on: date
    discharged_on: date | None
    involuntary: bool


def _nights(stay: _Stay, start: date, end: date, today: date) -> int:
    """Nights of a stay inside [start, end)."""
    left = max(stay.admitted_on, start)
    right = min(stay.discharged_on or today, end)
    return max(0, (right - left).days)


def _patient_outcome(patient: Patient, stays: list[_Stay], today: date) -> dict:
    enrolled = patient.enrolled_on
    baseline_start = enrolled - BASELINE
    before = [s for s in stays if baseline_start <= s.admitted_on < enrolled]
    since = [s for s in stays if s.admitted_on >= enrolled]
    days_since = (today - enrolled).days
    raw = {
        "acute_admissions": (len(before), len(since)),
        "involuntary_admissions": (
            sum(s.involuntary for s in before),
            sum(s.involuntary for s in since),
        ),
        "bed_days": (
            sum(_nights(s, baseline_start, enrolled, today) for s in stays),
            sum(_nights(s, enrolled, today, today) for s in stays),
        ),
    }
    return {"patient": patient, "days_since": days_since, "raw": raw}


def _direction(before: int, since_rate: float | None) -> str | None:
    if since_rate is None:
        return None
    if since_rate < before:
        return "fewer"
    return "same" if since_rate == before else "more"


def _before_after(before: int, since: int, days: int, patients: int = 1) -> dict:
    """Figures for one before/after indicator; `patients` turns the baseline into a yearly rate."""
    rate = annualised(since, days)
    return {
        "before_12_months": figure(before),
        "before_per_year": figure(round(before / patients, 2) if patients else None, before),
        "since_enrolment": figure(since),
        "since_per_year": figure(rate, since),
    }


def team_outcomes(ctx: Ctx, team_id: uuid.UUID) -> dict:
    """The team's outcome indicators, grouped under the quality headings, and per patient."""
    access.member_of(ctx, team_id)
    today = ctx.now().date()
    patients = ctx.session.scalars(
        select(Patient)
        .where(Patient.team_id == team_id, Patient.status.in_(COUNTED_STATUSES))
        .order_by(Patient.enrolled_on, Patient.id)
    ).all()
    ids = [p.id for p in patients]
    stays: dict[uuid.UUID, list[_Stay]] = {pid: [] for pid in ids}
    for admission in ctx.session.scalars(select(Admission).where(Admission.patient_id.in_(ids))):
        _facility, involuntary = record.admission_details(ctx.keys, admission)
        stays[admission.patient_id].append(_Stay(admission.admitted_on, admission.discharged_on, involuntary))
    per_patient = [_patient_outcome(p, stays[p.id], today) for p in patients]

    figures = _admission_figures(per_patient)
    figures.update(_contact_figures(ctx, team_id, ids))
    figures["consent_withdrawals"] = {"withdrawals": figure(_withdrawals(ctx, ids))}
    figures["trusted_contact"] = {
        "patients_with_trusted_contact": figure(sum(p.trusted_contact_id is not None for p in patients)),
        "patients_counted": figure(len(patients)),
    }

    audit.record(ctx.session, ctx.actor, "outcomes.read", resource="team", resource_id=team_id)
    for pid in ids:
        audit.record(ctx.session, ctx.actor, "outcomes.read", patient_id=pid, resource="outcomes")
    return {
        "team_id": team_id,
        "as_of": today,
        "suppress_below": SUPPRESS_BELOW,
        "patients_counted": figure(len(patients)),
        "headings": [
            {
                "key": key,
                "title": title,
                "indicators": [_indicator(d, figures[d.key]) for d in DEFINITIONS if d.heading == key],
            }
            for key, title in HEADINGS.items()
        ],
        "per_patient": [_patient_row(o) for o in per_patient],
    }


def _indicator(definition: Definition, figures: dict) -> dict:
    return {
        "key": definition.key,
        "title": definition.title,
        "definition": definition.definition,
        "unit": definition.unit,
        "figures": figures,
    }


def _admission_figures(per_patient: list[dict]) -> dict:
    patients = len(per_patient)
    days = sum(max(o["days_since"], 0) for o in per_patient)
    result = {}
    for key in ("acute_admissions", "bed_days", "involuntary_admissions"):
        before = sum(o["raw"][key][0] for o in per_patient)
        since = sum(o["raw"][key][1] for o in per_patient)
        # Team rates are per patient-year: the baseline is one year per patient, "since" their sum.
        result[key] = _before_after(before, since, days, patients)
        # Not a count of events and not identifying: never suppressed.
        result[key]["patient_years_since"] = {"value": round(days / YEAR_DAYS, 2), "suppressed": False}
    fewer = sum(
        _direction(
            o["raw"]["acute_admissions"][0], annualised(o["raw"]["acute_admissions"][1], o["days_since"])
        )
        == "fewer"
        for o in per_patient
    )
    result["acute_admissions"]["patients_with_fewer"] = figure(fewer)
    return result


def _patient_row(outcome: dict) -> dict:
    patient = outcome["patient"]
    row = {
        "patient_id": patient.id,
        "display_name": patient.display_name,
        "enrolled_on": patient.enrolled_on,
        "days_since_enrolment": outcome["days_since"],
    }
    for key, (before, since) in outcome["raw"].items():
        row[key] = _before_after(before, since, outcome["days_since"])
        row[key]["direction"] = _direction(before, annualised(since, outcome["days_since"]))
    return row


def _contact_figures(ctx: Ctx, team_id: uuid.UUID, patient_ids: list[uuid.UUID]) -> dict:
    rows = ctx.session.execute(
        select(
            ContactRequest.created_at,
            ContactRequest.acknowledged_at,
            ContactRequest.escalation_level,
            ContactRequest.routed_to,
        ).where(ContactRequest.team_id == team_id, ContactRequest.patient_id.in_(patient_ids))
    ).all()
    waits = [
        (r.acknowledged_at - r.created_at).total_seconds() / 60 for r in rows if r.acknowledged_at is not None
    ]
    enough = len(waits) >= SUPPRESS_BELOW
    return {
        "contact_requests": {
            "requests": figure(len(rows)),
            "when_nobody_on_call": figure(sum(r.routed_to == "none" for r in rows)),
        },
        "time_to_acknowledge": {
            "acknowledged": figure(len(waits)),
            "median_minutes": figure(round(statistics.median(waits), 1) if enough else None, len(waits)),
            "p90_minutes": figure(round(percentile(waits, 90), 1) if enough else None, len(waits)),
        },
        "escalations": {"requests_escalated": figure(sum(r.escalation_level > 0 for r in rows))},
    }


def _withdrawals(ctx: Ctx, patient_ids: list[uuid.UUID]) -> int:
    count = ctx.session.scalar(
        select(func.count())
        .select_from(ConsentChange)
        .where(ConsentChange.patient_id.in_(patient_ids), ConsentChange.state == "withdrawn")
    )
    return count or 0
