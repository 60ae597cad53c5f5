"""Outcomes for a team, each indicator with its definition, under Helsedirektoratet's headings.

Words mean different things in different agencies, so every indicator, and every figure
of it, carries its definition in bokmål and English.

Small numbers identify people. A team figure is answered as `{"value": None,
"suppressed": True}` when the patients it is about are fewer than `SUPPRESS_BELOW`, or when
the count it rests on (admissions, stays, requests, withdrawals; 0 included) is under it,
and so is every figure derived from such a count (a rate, a median, a sum of nights). The
team's own per-patient rows are not aggregates: the team knows its patients, and a member
sees the rows of the patients who gave their agency consent (as the patient overview).
The headline the sources report, "admissions fell in N of M", is suppressed when M is small.

Who is counted: the team's active and paused patients (an ended enrolment has no "since").
Baseline: the 12 months before the enrolment date. Since: from the enrolment date to
today, annualised (x 365.25 / days); under `MIN_DAYS_FOR_RATE` days no rate is given.
Bed-days: each stay runs from its admission to its discharge, and one without a discharge
date is open, counted to today; stays are merged where they overlap (one night is never
counted twice) and clipped to the window, so a patient-year never holds more than a year.
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
from muli.patient import indicators, programme, record
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
            "nb": "Døgn innlagt: fra innleggelsesdato til utskrivingsdato. Et opphold uten "
            "utskrivingsdato er pågående og regnes til i dag. Opphold som overlapper slås sammen "
            "(ingen natt telles to ganger), og bare døgnene innenfor perioden telles: de 12 månedene "
            "før innskriving, mot døgn fra innskriving til i dag, per år.",
            "en": "Nights in hospital: from the admission date to the discharge date. A stay without a "
            "discharge date is open and counts to today. Overlapping stays are merged (no night counts "
            "twice), and only the nights inside the period count: the 12 months before enrolment, against "
            "the nights from enrolment to today, annualised.",
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


# What each figure of an indicator means; shown beside the figure on the page and in the API.
FIGURE_DEFINITIONS = {
    "before_12_months": {
        "nb": "Summen for pasientene som telles, i de 12 månedene før hver pasients innskrivingsdato.",
        "en": "Summed over the patients counted, in the 12 months before each patient's enrolment date.",
    },
    "before_per_year": {
        "nb": "Tallet før, delt på antall pasienter som telles (hver har 12 måneder før innskriving).",
        "en": "The figure before, divided by the patients counted (each has 12 months before enrolment).",
    },
    "since_enrolment": {
        "nb": "Summen fra hver pasients innskrivingsdato til i dag.",
        "en": "Summed from each patient's enrolment date to today.",
    },
    "since_per_year": {
        "nb": "Tallet siden innskriving, delt på pasientårene siden innskriving.",
        "en": "The figure since enrolment, divided by the patient-years since enrolment.",
    },
    "patient_years_since": {
        "nb": "Dagene fra innskriving til i dag, for alle pasientene som telles, delt på 365,25.",
        "en": "The days from enrolment to today, over all the patients counted, divided by 365.25.",
    },
    "open_stays": {
        "nb": "Opphold uten utskrivingsdato: pågående, regnet til i dag.",
        "en": "Stays without a discharge date: open, counted to today.",
    },
    "patients_with_fewer": {
        "nb": "Pasienter med færre akuttinnleggelser per år siden innskriving enn i de 12 månedene før.",
        "en": "Patients with fewer acute admissions a year since enrolment than in the 12 months before.",
    },
    "patients_compared": {
        "nb": f"Pasienter innskrevet i minst {MIN_DAYS_FOR_RATE} dager, så et tall per år siden finnes.",
        "en": f"Patients enrolled for at least {MIN_DAYS_FOR_RATE} days, so a yearly figure since exists.",
    },
    "requests": {
        "nb": "Alle forespørslene fra pasientene som telles.",
        "en": "Every request from the patients counted.",
    },
    "when_nobody_on_call": {
        "nb": "Forespørsler som kom da ingen stod på vaktlisten.",
        "en": "Requests that came in when nobody was on the rota.",
    },
    "acknowledged": {
        "nb": "Forespørsler en ansatt bekreftet at de tar.",
        "en": "Requests a staff member acknowledged.",
    },
    "median_minutes": {
        "nb": "Den midterste ventetiden, i minutter, over de bekreftede forespørslene.",
        "en": "The middle wait, in minutes, over the acknowledged requests.",
    },
    "p90_minutes": {
        "nb": "9 av 10 bekreftede forespørsler ble bekreftet innen så mange minutter.",
        "en": "9 in 10 acknowledged requests were acknowledged within this many minutes.",
    },
    "requests_escalated": {
        "nb": "Forespørsler med minst ett eskaleringstrinn.",
        "en": "Requests with at least one escalation step.",
    },
    "withdrawals": {
        "nb": "Tilbaketrekkinger i samtykkehistorikken til pasientene som telles.",
        "en": "Withdrawals in the consent history of the patients counted.",
    },
    "patients_with_trusted_contact": {
        "nb": "Pasienter med en navngitt kontaktperson i teamet.",
        "en": "Patients with a named contact person on the team.",
    },
    "patients_counted": {
        "nb": "Teamets aktive og pausede pasienter.",
        "en": "The team's active and paused patients.",
    },
}
BEFORE_AFTER = ("acute_admissions", "bed_days", "involuntary_admissions")


def figure(value, count: int | None = None, *, patients: int | None = None) -> dict:
    """A number, or None with `suppressed` when it rests on a count under the threshold.

    `count` is what the figure rests on (the value itself when neither is given), and
    `patients` how many patients it is about: either under `SUPPRESS_BELOW` hides it.
    """
    bases = [b for b in (count, patients) if b is not None] or [value]
    if any(b is None or b < SUPPRESS_BELOW for b in bases):
        return {"value": None, "suppressed": True}
    return {"value": value, "suppressed": False}


def _shown(value) -> dict:
    """A figure of the team's own per-patient rows: never suppressed (the team knows its patients)."""
    return {"value": value, "suppressed": False}


def annualised(count: int, days: float) -> float | None:
    """A count over `days` as a rate per year; None when the period is too short to say."""
    if days < MIN_DAYS_FOR_RATE:
        return None
    return round(count * YEAR_DAYS / days, 2)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats going astray
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class _Stay:
    admitted_on: date
    discharged_on: date | None
    involuntary: bool
    facility: str


def _admission_details(ctx: Ctx, admission: Admission) -> tuple[str, bool]:
    """The admission's facility and whether it was involuntary (both stored encrypted): the
    one place outcomes read them."""
    facility, involuntary = record.admission_details(ctx.keys, admission)
    return facility or "", involuntary


def _merged(stays: list[_Stay], today: date) -> list[tuple[date, date]]:
    """Each stay as [admitted, discharged), an open one to today, merged where they overlap."""
    spans = sorted(
        (s.admitted_on, max(s.admitted_on, min(s.discharged_on or today, today)))
        for s in stays
        if s.admitted_on <= today
    )
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _nights_in(merged: list[tuple[date, date]], start: date, end: date) -> tuple[int, int]:
    """Nights of the merged stays inside [start, end), and how many stays lie in it."""
    nights = stays = 0
    for admitted, left in merged:
        inside = (min(left, end) - max(admitted, start)).days
        if inside > 0 or start <= admitted < end:
            stays += 1
        nights += max(0, inside)
    return nights, stays


def _patient_outcome(patient: Patient, stays: list[_Stay], today: date) -> dict:
    enrolled = patient.enrolled_on
    baseline_start = enrolled - BASELINE
    before = [s for s in stays if baseline_start <= s.admitted_on < enrolled]
    since = [s for s in stays if enrolled <= s.admitted_on <= today]
    merged = _merged(stays, today)
    nights_before, stays_before = _nights_in(merged, baseline_start, enrolled)
    nights_since, stays_since = _nights_in(merged, enrolled, today)
    raw = {
        "acute_admissions": (len(before), len(since)),
        "involuntary_admissions": (
            sum(s.involuntary for s in before),
            sum(s.involuntary for s in since),
        ),
        "bed_days": (nights_before, nights_since),
    }
    # What each figure rests on: the admissions themselves, or for bed-days the (merged) stays.
    basis = dict(raw, bed_days=(stays_before, stays_since))
    open_stays = [s for s in stays if s.discharged_on is None and s.admitted_on <= today]
    return {
        "patient": patient,
        "days_since": max(0, (today - enrolled).days),
        "raw": raw,
        "basis": basis,
        "open_stays": open_stays,
    }


def _direction(before: int, since_rate: float | None) -> str | None:
    if since_rate is None:
        return None
    if since_rate < before:
        return "fewer"
    return "same" if since_rate == before else "more"


def team_outcomes(ctx: Ctx, team_id: uuid.UUID) -> dict:
    """The team's outcome indicators, grouped under the quality headings, and per patient.

    Which indicators: those of the team's programme (MULI: acute admissions, bed-days and
    involuntary admissions, computed from the admissions; MULI vold: police contacts, violent
    incidents, days in custody, from the events the team records), and the service's own
    (contact requests, time to acknowledge, escalations, consent withdrawals, trusted contact).
    A recorded indicator is counted as the admissions are: the 12 months before enrolment
    against the time since, annualised, each figure resting on the number of events.
    """
    team = access.member_of(ctx, team_id)
    definition = programme.for_team(ctx, team)
    computed = {i["key"] for i in definition["indicators"] if i["source"] == "admissions"}
    recorded = indicators.recorded_indicators(definition)
    today = ctx.now().date()
    patients = ctx.session.scalars(
        select(Patient)
        .where(Patient.team_id == team_id, Patient.status.in_(COUNTED_STATUSES))
        .order_by(Patient.enrolled_on, Patient.id)
    ).all()
    ids = [p.id for p in patients]
    stays: dict[uuid.UUID, list[_Stay]] = {pid: [] for pid in ids}
    for admission in ctx.session.scalars(
        select(Admission).where(Admission.patient_id.in_(ids)).order_by(Admission.admitted_on, Admission.id)
    ):
        facility, involuntary = _admission_details(ctx, admission)
        stays[admission.patient_id].append(
            _Stay(admission.admitted_on, admission.discharged_on, involuntary, facility)
        )
    per_patient = [_patient_outcome(p, stays[p.id], today) for p in patients]
    counted = len(patients)
    if recorded:
        events = indicators.events_of(ctx, ids)
        for outcome in per_patient:
            outcome["recorded"] = _recorded_outcome(
                outcome["patient"], events[outcome["patient"].id], recorded
            )

    figures = _admission_figures(per_patient)
    figures.update(_recorded_figures(per_patient, recorded))
    figures.update(_contact_figures(ctx, team_id, ids, counted))
    withdrawals = _withdrawals(ctx, ids)
    figures["consent_withdrawals"] = {"withdrawals": figure(withdrawals, withdrawals, patients=counted)}
    with_contact = sum(p.trusted_contact_id is not None for p in patients)
    figures["trusted_contact"] = {
        "patients_with_trusted_contact": figure(with_contact, with_contact, patients=counted),
        "patients_counted": figure(counted),
    }
    # The team's own rows: the patients whose overview my agency may see (any consent).
    visible = [o for o in per_patient if access.consented_scopes(ctx, o["patient"].id, ctx.actor.agency_id)]

    audit.record(ctx.session, ctx.actor, "outcomes.read", resource="team", resource_id=team_id)
    for pid in ids:
        audit.record(ctx.session, ctx.actor, "outcomes.read", patient_id=pid, resource="outcomes")
    acute = figures["acute_admissions"]
    shown = [d for d in DEFINITIONS if d.key not in BEFORE_AFTER or d.key in computed]
    shown += [Definition(i["key"], i["heading"], i["title"], i["definition"], i["unit"]) for i in recorded]
    return {
        "team_id": team_id,
        "as_of": today,
        "suppress_below": SUPPRESS_BELOW,
        "patients_counted": _defined("patients_counted", figure(counted)),
        "headline": {
            "admissions_fell": _defined("patients_with_fewer", acute["patients_with_fewer"]),
            "patients_compared": _defined("patients_compared", acute["patients_compared"]),
        },
        "headings": [
            {
                "key": key,
                "title": title,
                "indicators": [_indicator(d, figures[d.key]) for d in shown if d.heading == key],
            }
            for key, title in HEADINGS.items()
        ],
        "per_patient": [_patient_row(ctx, o) for o in visible],
        "per_patient_withheld": len(per_patient) - len(visible),
    }


def _defined(name: str, value: dict) -> dict:
    return {**value, "definition": FIGURE_DEFINITIONS[name]}


def _indicator(definition: Definition, figures: dict) -> dict:
    return {
        "key": definition.key,
        "title": definition.title,
        "definition": definition.definition,
        "unit": definition.unit,
        "figures": {name: _defined(name, f) for name, f in figures.items()},
    }


def _admission_figures(per_patient: list[dict]) -> dict:
    patients = len(per_patient)
    days = sum(o["days_since"] for o in per_patient)
    result = {}
    for key in BEFORE_AFTER:
        before = sum(o["raw"][key][0] for o in per_patient)
        since = sum(o["raw"][key][1] for o in per_patient)
        rests_before = sum(o["basis"][key][0] for o in per_patient)
        rests_since = sum(o["basis"][key][1] for o in per_patient)
        # Team rates are per patient-year: the baseline is one year per patient, "since" their sum.
        result[key] = {
            "before_12_months": figure(before, rests_before, patients=patients),
            "before_per_year": figure(
                round(before / patients, 2) if patients else None, rests_before, patients=patients
            ),
            "since_enrolment": figure(since, rests_since, patients=patients),
            "since_per_year": figure(annualised(since, days), rests_since, patients=patients),
            "patient_years_since": figure(round(days / YEAR_DAYS, 2), patients=patients),
        }
    open_stays = sum(len(o["open_stays"]) for o in per_patient)
    result["bed_days"]["open_stays"] = figure(open_stays, open_stays, patients=patients)
    # The headline: "admissions fell in N of M", M the patients enrolled long enough for a rate.
    directions = [
        _direction(
            o["raw"]["acute_admissions"][0], annualised(o["raw"]["acute_admissions"][1], o["days_since"])
        )
        for o in per_patient
    ]
    compared = sum(d is not None for d in directions)
    result["acute_admissions"]["patients_with_fewer"] = figure(directions.count("fewer"), compared)
    result["acute_admissions"]["patients_compared"] = figure(compared)
    return result


def _recorded_outcome(patient: Patient, events: list, recorded: list[dict]) -> dict:
    """Per recorded indicator: (sum before, sum since) and (events before, events since)."""
    enrolled = patient.enrolled_on
    baseline_start = enrolled - BASELINE
    out = {}
    for indicator in recorded:
        mine = [(day, n) for day, key, n in events if key == indicator["key"]]
        before = [n for day, n in mine if baseline_start <= day < enrolled]
        since = [n for day, n in mine if day >= enrolled]
        out[indicator["key"]] = {"raw": (sum(before), sum(since)), "basis": (len(before), len(since))}
    return out


def _recorded_figures(per_patient: list[dict], recorded: list[dict]) -> dict:
    """A recorded indicator's team figures, as the admissions' (the small-number rule applies)."""
    patients = len(per_patient)
    days = sum(o["days_since"] for o in per_patient)
    result = {}
    for indicator in recorded:
        key = indicator["key"]
        before = sum(o["recorded"][key]["raw"][0] for o in per_patient)
        since = sum(o["recorded"][key]["raw"][1] for o in per_patient)
        rests_before = sum(o["recorded"][key]["basis"][0] for o in per_patient)
        rests_since = sum(o["recorded"][key]["basis"][1] for o in per_patient)
        result[key] = {
            "before_12_months": figure(before, rests_before, patients=patients),
            "before_per_year": figure(
                round(before / patients, 2) if patients else None, rests_before, patients=patients
            ),
            "since_enrolment": figure(since, rests_since, patients=patients),
            "since_per_year": figure(annualised(since, days), rests_since, patients=patients),
            "patient_years_since": figure(round(days / YEAR_DAYS, 2), patients=patients),
        }
    return result


def _before_after_row(before: int, since: int, days: int) -> dict:
    rate = annualised(since, days)
    return {
        "before_12_months": _shown(before),
        "before_per_year": _shown(before),
        "since_enrolment": _shown(since),
        "since_per_year": _shown(rate),
        "direction": _direction(before, rate),
    }


def _patient_row(ctx: Ctx, outcome: dict) -> dict:
    patient = outcome["patient"]
    days = outcome["days_since"]
    row = {
        "patient_id": patient.id,
        "display_name": ctx.keys.open(patient, "display_name"),
        "enrolled_on": patient.enrolled_on,
        "days_since_enrolment": days,
        "open_stays": [{"admitted_on": s.admitted_on, "facility": s.facility} for s in outcome["open_stays"]],
    }
    for key, (before, since) in outcome["raw"].items():
        row[key] = _before_after_row(before, since, days)
    if "recorded" in outcome:  # only a programme that records indicators has them
        row["recorded"] = {
            key: _before_after_row(found["raw"][0], found["raw"][1], days)
            for key, found in outcome["recorded"].items()
        }
    return row


def _contact_figures(ctx: Ctx, team_id: uuid.UUID, patient_ids: list[uuid.UUID], patients: int) -> dict:
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
    nobody = sum(r.routed_to == "none" for r in rows)
    escalated = sum(r.escalation_level > 0 for r in rows)
    return {
        "contact_requests": {
            "requests": figure(len(rows), len(rows), patients=patients),
            "when_nobody_on_call": figure(nobody, nobody, patients=patients),
        },
        "time_to_acknowledge": {
            "acknowledged": figure(len(waits), len(waits), patients=patients),
            "median_minutes": figure(
                round(statistics.median(waits), 1) if enough else None, len(waits), patients=patients
            ),
            "p90_minutes": figure(
                round(percentile(waits, 90), 1) if enough else None, len(waits), patients=patients
            ),
        },
        "escalations": {"requests_escalated": figure(escalated, escalated, patients=patients)},
    }


def _withdrawals(ctx: Ctx, patient_ids: list[uuid.UUID]) -> int:
    count = ctx.session.scalar(
        select(func.count())
        .select_from(ConsentChange)
        .where(ConsentChange.patient_id.in_(patient_ids), ConsentChange.state == "withdrawn")
    )
    return count or 0
