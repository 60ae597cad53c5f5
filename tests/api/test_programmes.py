"""Programmes as data through the API: MULI's plan as before; a MULI vold team sees its own
sections, agenda and indicators, and nothing of another programme's patients."""

import json
from datetime import date, timedelta

import pytest

from muli.cli import system_ctx
from muli.extensions import db
from muli.models.consent import CONSENT_SCOPES
from muli.patient import programme
from muli.team import programmes
from muli.trust import national_id

# The crisis plan's answer before programmes existed: exactly these fields.
MULI_PLAN_FIELDS = {
    "warning_signs",
    "coping_strategies",
    "distractions",
    "people_to_ask",
    "professionals",
    "safe_environment",
    "reasons_to_live",
    "how_i_want_to_be_met",
    "what_helps",
    "what_does_not_help",
    "treatment_preferences",
    "version",
    "last_reviewed_with_team_on",
    "updated_at",
    "written_by",
    "emergency_numbers",
}


def vold_team(app, world, name=None):
    with app.app_context():
        ctx = system_ctx()
        row = programmes.install_built_in(ctx, "muli-vold")
        db.session.commit()
        programme_id = row.id
    return world.team(name=name, programme_id=programme_id)


class Vold:
    def __init__(self, app, world):
        self.team = vold_team(app, world)
        self.police = world.agency(kind="police")
        self.member = world.staff(self.team, agency=self.police)
        self.coordinator = world.staff(self.team, role="coordinator", agency=self.police)
        self.patient = world.patient(self.team, consents={self.police: "all"}, name="Vold-pasient")


@pytest.fixture
def vold(app, world):
    return Vold(app, world)


def put_plan(client, who, body, etag='"crisis-0"'):
    return client.put("/api/v1/me/crisis-plan", json=body, headers={**who.headers, "If-Match": etag})


def test_a_muli_plan_reads_and_writes_exactly_as_before(client, world):
    care = world.care_team()
    empty = client.get("/api/v1/me/crisis-plan", headers=care.patient.headers)
    assert set(empty.json) == MULI_PLAN_FIELDS
    saved = put_plan(client, care.patient, {"what_helps": "en tur", "warning_signs": [{"sign": "søvnløs"}]})
    assert (saved.status_code, set(saved.json), saved.json["what_helps"]) == (200, MULI_PLAN_FIELDS, "en tur")
    refused = put_plan(client, care.patient, {"extra": {"police_contact": "x"}}, '"crisis-1"')
    assert (refused.status_code, list(refused.json["errors"])) == (422, ["extra.police_contact"])


def test_a_muli_vold_patient_sees_the_programmes_sections_in_its_order(client, vold):
    plan = client.get("/api/v1/me/crisis-plan", headers=vold.patient.headers).json
    meta = plan["sections_meta"]
    assert [m["key"] for m in meta][:3] == ["emergency_numbers", "warning_signs", "risk_situations"]
    by_key = {m["key"]: m for m in meta}
    assert by_key["safe_environment"]["hidden"] is True
    assert by_key["warning_signs"]["title"]["en"].startswith("When anger takes over")
    assert by_key["police_contact"] | {"title": None} == {
        "key": "police_contact",
        "title": None,
        "kind": "text",
        "required": False,
        "hidden": False,
        "order": 6,
        "in_extra": True,
    }
    assert plan["extra"] == {"risk_situations": [], "police_contact": None}
    mine = client.get("/api/v1/me/programme", headers=vold.patient.headers).json
    assert (mine["key"], mine["mastery_plan"]["sections"][0]["key"]) == ("muli-vold", "goals")


def test_a_muli_vold_patient_writes_the_programmes_own_sections(client, vold):
    body = {
        "what_helps": "ro",
        "extra": {"risk_situations": ["Torget fredag kveld"], "police_contact": "Snakk rolig"},
    }
    saved = put_plan(client, vold.patient, body)
    assert saved.status_code == 200, saved.json
    assert saved.json["extra"] == {
        "risk_situations": ["Torget fredag kveld"],
        "police_contact": "Snakk rolig",
    }
    again = client.get("/api/v1/me/crisis-plan", headers=vold.patient.headers).json
    assert again["extra"] == saved.json["extra"]
    wrong = put_plan(client, vold.patient, {"extra": {"risk_situations": "not a list"}}, '"crisis-1"')
    assert (wrong.status_code, list(wrong.json["errors"])) == (422, ["extra.risk_situations"])


def test_a_staff_proposal_of_the_programmes_own_section_shows_in_the_changes(client, vold):
    put_plan(client, vold.patient, {"extra": {"police_contact": "Snakk rolig"}})
    proposed = client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/crisis-plan/proposals",
        json={"extra": {"police_contact": "Snakk rolig, ring Tor"}},
        headers=vold.member.headers,
    )
    assert proposed.status_code == 201, proposed.json
    changed = [c for c in proposed.json["changes"]["sections"] if c["status"] == "changed"]
    assert [(c["section"], c["before"], c["after"]) for c in changed] == [
        ("police_contact", "Snakk rolig", "Snakk rolig, ring Tor")
    ]


def test_staff_on_teams_of_two_programmes_see_each_teams_own(client, world, vold):
    care = world.care_team()
    both = world.staff(teams=[care.team, vold.team], agency=vold.police)
    items = client.get("/api/v1/staff/programmes", headers=both.headers).json["items"]
    by_team = {i["team_id"]: i["programme"] for i in items}
    assert by_team[str(care.team.id)]["key"] == "muli"
    assert by_team[str(vold.team.id)]["key"] == "muli-vold"
    assert by_team[str(vold.team.id)]["agenda"]["first"][0] == "violent_incidents"
    only_muli = client.get("/api/v1/staff/programmes", headers=care.member.headers).json["items"]
    assert [i["programme"]["key"] for i in only_muli] == ["muli"]


def test_indicator_events_are_recorded_for_the_programme_that_records_them(client, world, vold, clock):
    day = (clock.now - timedelta(days=2)).date().isoformat()
    made = client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events",
        json={"indicator": "days_in_custody", "occurred_on": day, "count": 12},
        headers=vold.member.headers,
    )
    assert (made.status_code, made.json["count"], made.json["indicator"]) == (201, 12, "days_in_custody")
    listed = client.get(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events", headers=vold.member.headers
    )
    assert [(e["indicator"], e["count"]) for e in listed.json["items"]] == [("days_in_custody", 12)]
    care = world.care_team()
    muli = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/indicator-events",
        json={"indicator": "days_in_custody", "occurred_on": day},
        headers=care.member.headers,
    )
    assert (muli.status_code, list(muli.json["errors"])) == (422, ["indicator"])
    outsider = client.get(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events", headers=care.member.headers
    )
    assert outsider.status_code == 404


def test_the_indicator_is_stored_sealed(app, client, vold, clock):
    day = clock.now.date().isoformat()
    client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events",
        json={"indicator": "police_contacts", "occurred_on": day},
        headers=vold.member.headers,
    )
    with app.app_context():
        raw = db.session.execute(db.text("SELECT indicator_enc, count_enc FROM indicator_event")).one()
    assert "police" not in raw[0] and raw[1] != "1"


def test_each_teams_outcomes_show_its_own_indicators_and_patients(client, world, vold):
    care = world.care_team()
    mine = client.get(f"/api/v1/staff/teams/{vold.team.id}/outcomes", headers=vold.member.headers).json
    keys = [i["key"] for h in mine["headings"] for i in h["indicators"]]
    assert {"police_contacts", "violent_incidents", "days_in_custody"} <= set(keys)
    assert not {"acute_admissions", "bed_days", "involuntary_admissions"} & set(keys)
    police = next(i for h in mine["headings"] for i in h["indicators"] if i["key"] == "police_contacts")
    assert police["definition"]["en"].startswith("Each time the police")
    assert police["figures"]["since_enrolment"]["suppressed"] is True  # one patient: the small-number rule
    assert [r["display_name"] for r in mine["per_patient"]] == ["Vold-pasient"]
    assert set(mine["per_patient"][0]["recorded"]) == {
        "police_contacts",
        "violent_incidents",
        "days_in_custody",
    }
    theirs = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.member.headers).json
    muli_keys = [i["key"] for h in theirs["headings"] for i in h["indicators"]]
    assert "police_contacts" not in muli_keys and "acute_admissions" in muli_keys
    assert all("recorded" not in r for r in theirs["per_patient"])
    assert (
        client.get(f"/api/v1/staff/teams/{vold.team.id}/outcomes", headers=care.member.headers).status_code
        == 404
    )


def test_the_agenda_puts_first_what_the_programme_names(client, world, vold, clock):
    world.patient(vold.team, consents={vold.police: "all"}, name="Aaa Rolig")
    day = clock.now.date()
    client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events",
        json={"indicator": "violent_incidents", "occurred_on": day.isoformat()},
        headers=vold.member.headers,
    )
    made = client.post(
        f"/api/v1/staff/teams/{vold.team.id}/meetings",
        json={"held_on": (day + timedelta(days=1)).isoformat()},
        headers=vold.coordinator.headers,
    )
    assert made.status_code == 201, made.json
    agenda = client.get(f"/api/v1/staff/meetings/{made.json['id']}", headers=vold.member.headers).json[
        "agenda"
    ]
    assert [e["display_name"] for e in agenda][:2] == ["Vold-pasient", "Aaa Rolig"]
    assert agenda[0]["events"]["violent_incidents"] == 1


def test_the_administrator_exports_and_imports_a_programme(client, world):
    admin = world.staff(role="admin")
    listed = client.get("/api/v1/admin/programmes", headers=admin.headers)
    assert listed.status_code == 200 and "muli" in [p["key"] for p in listed.json["items"]]
    exported = client.get("/api/v1/admin/programmes/muli", headers=admin.headers).json
    region = programme.exported(exported) | {
        "key": "muli-nord",
        "name": {"nb": "MULI Nord", "en": "MULI North"},
    }
    imported = client.put("/api/v1/admin/programmes/muli-nord", json=region, headers=admin.headers)
    assert imported.status_code == 200, imported.json
    assert imported.json["crisis_plan"] == exported["crisis_plan"]
    team = world.team()
    set_ = client.put(
        f"/api/v1/admin/teams/{team.id}/programme", json={"programme": "muli-nord"}, headers=admin.headers
    )
    assert (set_.status_code, set_.json["programme"]) == (200, "muli-nord")


@pytest.mark.parametrize("dropped", programme.REQUIRED_CRISIS_SECTIONS)
def test_an_import_that_drops_a_required_section_is_refused_naming_it(client, world, dropped):
    admin = world.staff(role="admin")
    raw = programme.exported(programme.default())
    raw["crisis_plan"]["sections"] = [s for s in raw["crisis_plan"]["sections"] if s["key"] != dropped]
    answer = client.put("/api/v1/admin/programmes/muli", json=raw, headers=admin.headers)
    assert answer.status_code == 422
    assert dropped in answer.json["errors"]["crisis_plan.sections"][0]


def test_only_the_administrator_manages_programmes(client, world):
    care = world.care_team()
    raw = programme.exported(programme.default())
    assert (
        client.put("/api/v1/admin/programmes/muli", json=raw, headers=care.coordinator.headers).status_code
        == 403
    )
    assert client.get("/api/v1/admin/programmes", headers=care.member.headers).status_code == 403
    assert client.get("/api/v1/admin/programmes/muli", headers=care.patient.headers).status_code == 403


def test_the_command_line_exports_and_imports_a_programme_for_a_team(app, runner, world, tmp_path):
    exported = runner.invoke(args=["muli", "programme", "export", "muli-vold"])
    assert exported.exit_code == 0, exported.output
    assert programme.validate(programme.parse(exported.output)) == programme.built_in("muli-vold")
    team = world.team(name="Team Vest")
    raw = programme.parse(exported.output) | {"key": "muli-vold-vest"}
    path = tmp_path / "vest.json"
    path.write_text(programme.dump(programme.validate(raw), "json"))
    imported = runner.invoke(args=["muli", "programme", "import", str(path), "--team", "Team Vest"])
    assert imported.exit_code == 0, imported.output
    with app.app_context():
        from muli.models.people import Team

        assert programme.for_team(system_ctx(), db.session.get(Team, team.id))["key"] == "muli-vold-vest"
    raw["crisis_plan"]["sections"] = [
        s for s in raw["crisis_plan"]["sections"] if s["key"] != "emergency_numbers"
    ]
    path.write_text(json.dumps(raw))
    refused = runner.invoke(args=["muli", "programme", "import", str(path)])
    assert refused.exit_code != 0 and "emergency_numbers" in refused.output
    unknown = runner.invoke(args=["muli", "programme", "export", "nobody"])
    assert unknown.exit_code != 0


def test_the_patients_export_holds_what_was_recorded_about_them_and_muli_is_as_before(
    client, world, vold, clock
):
    day = clock.now.date().isoformat()
    client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/indicator-events",
        json={"indicator": "police_contacts", "occurred_on": day},
        headers=vold.member.headers,
    )
    mine = client.get("/api/v1/me/export", headers=vold.patient.headers).json
    assert mine["indicator_events"] == [{"occurred_on": day, "indicator": "police_contacts", "count": 1}]
    care = world.care_team()
    assert "indicator_events" not in client.get("/api/v1/me/export", headers=care.patient.headers).json


def test_a_plan_sent_without_extra_keeps_the_programmes_own_sections(client, vold):
    put_plan(client, vold.patient, {"extra": {"police_contact": "Snakk rolig"}})
    # An app that knows only MULI's sections saves the plan: the programme's own stay.
    again = put_plan(client, vold.patient, {"what_helps": "ro"}, '"crisis-1"')
    assert (again.status_code, again.json["extra"]["police_contact"]) == (200, "Snakk rolig")
    proposed = client.post(
        f"/api/v1/staff/patients/{vold.patient.id}/crisis-plan/proposals",
        json={"what_helps": "ro og te"},
        headers=vold.member.headers,
    )
    assert proposed.json["sections"]["extra"]["police_contact"] == "Snakk rolig"
    emptied = put_plan(client, vold.patient, {"extra": {"police_contact": None}}, '"crisis-2"')
    assert emptied.json["extra"]["police_contact"] is None  # sent empty: emptied


# --- what a programme includes is enforced where it applies (consent scopes, agency kinds) ---


def narrow_team(app, world, scopes=("crisis_plan", "contact_requests")):
    """A team running a MULI vold variant that asks for less consent."""
    raw = programme.exported(programme.built_in("muli-vold")) | {
        "key": "muli-vold-smal",
        "consent_scopes": list(scopes),
    }
    with app.app_context():
        row = programmes.install(system_ctx(), programme.validate(raw))
        db.session.commit()
        programme_id = row.id
    return world.team(programme_id=programme_id)


def test_consent_offers_and_accepts_only_the_programmes_scopes(app, client, world):
    team = narrow_team(app, world)
    police = world.agency(kind="police")
    world.staff(team, agency=police)
    patient = world.patient(team, consents={police: ["crisis_plan"]})
    listed = client.get("/api/v1/me/consents", headers=patient.headers).json["consents"]
    assert sorted({c["scope"] for c in listed}) == ["contact_requests", "crisis_plan"]
    agency_id = str(police.id)
    refused = client.put(
        "/api/v1/me/consents",
        json={"consents": [{"agency_id": agency_id, "scope": "meeting_notes", "state": "granted"}]},
        headers=patient.headers,
    )
    assert (refused.status_code, list(refused.json["errors"])) == (422, ["consents.0.scope"])
    assert "crisis_plan, contact_requests" in refused.json["errors"]["consents.0.scope"][0]
    granted = client.put(
        "/api/v1/me/consents",
        json={"consents": [{"agency_id": agency_id, "scope": "contact_requests", "state": "granted"}]},
        headers=patient.headers,
    )
    assert granted.status_code == 200, granted.json
    states = {c["scope"]: c["state"] for c in granted.json["consents"]}
    assert states == {"crisis_plan": "granted", "contact_requests": "granted"}


def test_a_scope_granted_before_the_programme_changed_is_shown_and_can_be_withdrawn(app, client, world):
    team = narrow_team(app, world)
    police = world.agency(kind="police")
    world.staff(team, agency=police)
    patient = world.patient(team, consents={police: ["crisis_plan", "meeting_notes"]})
    listed = client.get("/api/v1/me/consents", headers=patient.headers).json["consents"]
    assert {c["scope"]: c["state"] for c in listed}["meeting_notes"] == "granted"
    withdrawn = client.put(
        "/api/v1/me/consents",
        json={"consents": [{"agency_id": str(police.id), "scope": "meeting_notes", "state": "withdrawn"}]},
        headers=patient.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    assert "meeting_notes" not in {c["scope"] for c in withdrawn.json["consents"]}


def test_a_muli_patient_is_offered_every_scope_as_before(client, world):
    care = world.care_team()
    listed = client.get("/api/v1/me/consents", headers=care.patient.headers).json["consents"]
    assert [c["scope"] for c in listed] == list(CONSENT_SCOPES)


def test_enrolment_refuses_a_scope_the_programme_does_not_ask_for(app, client, world):
    team = narrow_team(app, world)
    police = world.agency(kind="police")
    coordinator = world.staff(team, role="coordinator", agency=police)
    body = {
        "display_name": "Ung",
        "national_id": next(national_id.synthetic_numbers(date(2004, 2, 9), start=700)),
        "team_id": str(team.id),
        "consents": [{"agency_id": str(police.id), "scopes": ["crisis_plan", "meeting_notes"]}],
        "criteria_confirmed": True,
    }
    refused = client.post("/api/v1/staff/patients", json=body, headers=coordinator.headers)
    assert (refused.status_code, list(refused.json["errors"])) == (422, ["consents.0.scopes.1"])
    body["consents"][0]["scopes"] = ["crisis_plan"]
    enrolled = client.post("/api/v1/staff/patients", json=body, headers=coordinator.headers)
    assert enrolled.status_code == 201, enrolled.json


def test_a_team_cannot_run_a_programme_that_leaves_out_an_agency_kind_on_it(client, world):
    admin = world.staff(role="admin")
    team = world.team()
    world.staff(team, agency=world.agency(kind="acute_ward"))  # MULI vold has no acute ward
    client.put(
        "/api/v1/admin/programmes/muli-vold",
        json=programme.exported(programme.built_in("muli-vold")),
        headers=admin.headers,
    )
    refused = client.put(
        f"/api/v1/admin/teams/{team.id}/programme", json={"programme": "muli-vold"}, headers=admin.headers
    )
    assert (refused.status_code, list(refused.json["errors"])) == (422, ["programme"])
    # In the reader's language: the kind by its name, not the file's code.
    assert refused.json["errors"]["programme"][0] == (
        "Programmet MULI vold har ikke med virksomheter av denne typen (akuttpost)."
    )


def test_staff_of_an_agency_kind_the_programme_leaves_out_cannot_join_its_team(app, runner, world):
    vold_team(app, world, name="Vold Nord")
    refused = runner.invoke(
        args=[
            "muli", "create-staff", "--username", "akutt1", "--name", "Aud Akutt", "--agency", "PAM Nord",
            "--agency-kind", "acute_ward", "--role", "member", "--team", "Vold Nord",
            "--password", "correct-horse-battery-staple-7",
        ]
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "(acute ward)" in str(refused.exception) + refused.output
    joined = runner.invoke(
        args=[
            "muli", "create-staff", "--username", "politi1", "--name", "Per P", "--agency", "Politi Nord",
            "--agency-kind", "police", "--role", "member", "--team", "Vold Nord",
            "--password", "correct-horse-battery-staple-7",
        ]
    )  # fmt: skip
    assert joined.exit_code == 0, joined.output


def test_the_mastery_plan_names_the_programmes_sections_in_its_order(client, world, vold):
    care = world.care_team()
    muli = client.get("/api/v1/me/mastery-plan", headers=care.patient.headers).json
    assert "sections_meta" not in muli  # MULI's answer as before programmes existed
    plan = client.get("/api/v1/me/mastery-plan", headers=vold.patient.headers)
    meta = plan.json["sections_meta"]
    assert [(m["key"], m["title"]["nb"], m["hidden"], m["order"]) for m in meta] == [
        ("goals", "Mål for hverdagen", False, 0),
        ("strategies", "Strategier", False, 1),
    ]
    staff = client.get(f"/api/v1/staff/patients/{vold.patient.id}/mastery-plan", headers=vold.member.headers)
    assert staff.json["sections_meta"] == meta
    # Sent back with the rest of the answer, it is ignored, not refused.
    saved = client.put(
        "/api/v1/me/mastery-plan",
        json={**plan.json, "goals": [{"title": "Møte opp på jobb"}]},
        headers={**vold.patient.headers, "If-Match": plan.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.json
    assert [g["title"] for g in saved.json["goals"]] == ["Møte opp på jobb"]


# --- an import over a programme that teams run re-checks the kinds of agency on them ---------


def vold_file(**changes) -> dict:
    return programme.exported(programme.built_in("muli-vold")) | changes


def without_police() -> list[str]:
    return [k for k in programme.built_in("muli-vold")["agency_kinds"] if k != "police"]


def test_an_import_that_leaves_out_the_kind_of_agency_on_a_team_running_it_is_refused(app, client, world):
    admin = world.staff(role="admin")
    team = vold_team(app, world, name="Vold Fjordvik")
    police = world.agency(name="Politiet Fjordvik", kind="police")
    world.staff(team, agency=police, name="Pia Politi")
    world.staff(team, agency=world.agency(kind="nav"), name="Nils Nav")
    refused = client.put(
        "/api/v1/admin/programmes/muli-vold",
        json=vold_file(agency_kinds=without_police()),
        headers={**admin.headers, "Accept-Language": "en"},
    )
    assert (refused.status_code, list(refused.json["errors"])) == (422, ["agency_kinds"])
    said = refused.json["errors"]["agency_kinds"][0]
    assert "Vold Fjordvik: Pia Politi (Politiet Fjordvik, police)" in said and "(1)" in said
    assert "Nils Nav" not in said  # NAV stays in the programme
    in_norwegian = client.put(
        "/api/v1/admin/programmes/muli-vold",
        json=vold_file(agency_kinds=without_police()),
        headers={**admin.headers, "Accept-Language": "nb"},
    )
    assert in_norwegian.json["errors"]["agency_kinds"][0].startswith("Ansatte på team som kjører")
    # Nothing of the refused file is stored: the police are still in the programme.
    kept = client.get("/api/v1/admin/programmes/muli-vold", headers=admin.headers).json
    assert "police" in kept["agency_kinds"]


def test_an_import_over_a_programme_that_no_team_with_that_kind_runs_is_installed(app, client, world):
    admin = world.staff(role="admin")
    team = vold_team(app, world)
    world.staff(team, agency=world.agency(kind="nav"))
    # A programme no team runs, and one whose teams have no police, may leave the police out.
    new = client.put(
        "/api/v1/admin/programmes/muli-vold-uten",
        json=vold_file(key="muli-vold-uten", agency_kinds=without_police()),
        headers=admin.headers,
    )
    assert new.status_code == 200, new.json
    replaced = client.put(
        "/api/v1/admin/programmes/muli-vold", json=vold_file(agency_kinds=["nav"]), headers=admin.headers
    )
    assert (replaced.status_code, replaced.json["agency_kinds"]) == (200, ["nav"])


def test_the_command_line_import_is_refused_the_same_way(app, runner, world, tmp_path):
    team = vold_team(app, world, name="Vold Sør")
    world.staff(team, agency=world.agency(name="Politi Sør", kind="police"), name="Per Politi")
    path = tmp_path / "vold.json"
    path.write_text(json.dumps(vold_file(agency_kinds=without_police())))
    refused = runner.invoke(args=["muli", "programme", "import", str(path)])
    assert refused.exit_code != 0
    assert "agency_kinds" in refused.output and "Vold Sør: Per Politi (Politi Sør, police)" in refused.output
    with app.app_context():
        assert "police" in programme.find(system_ctx(), "muli-vold").definition["agency_kinds"]


def test_the_command_line_will_not_let_a_team_run_a_programme_without_its_agencies_kind(
    app, runner, world, tmp_path
):
    team = world.team(name="Team Akutt")
    world.staff(team, agency=world.agency(kind="acute_ward"))
    path = tmp_path / "vest.json"
    path.write_text(json.dumps(vold_file(key="muli-vold-vest")))
    refused = runner.invoke(args=["muli", "programme", "import", str(path), "--team", "Team Akutt"])
    assert refused.exit_code != 0 and "(acute ward)" in refused.output
    with app.app_context():
        from muli.models.people import Team

        assert db.session.get(Team, team.id).programme_id is None
        assert programme.find(system_ctx(), "muli-vold-vest") is None  # nothing of it is kept


# --- a consent scope the programme drops gives no access, and is still the patient's to see ---


def import_vold(client, admin, scopes):
    answer = client.put(
        "/api/v1/admin/programmes/muli-vold",
        json=vold_file(consent_scopes=list(scopes)),
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.json
    return answer


def test_a_consent_under_a_scope_the_programme_drops_gives_no_access_until_it_comes_back(app, client, world):
    admin = world.staff(role="admin")
    team = vold_team(app, world)
    nav, police = world.agency(kind="nav"), world.agency(kind="police")
    counsellor = world.staff(team, agency=nav)
    officer = world.staff(team, agency=police)
    patient = world.patient(team, consents={nav: ["mastery_plan"], police: ["crisis_plan"]})
    base = f"/api/v1/staff/patients/{patient.id}"

    def statuses():
        return (
            client.get(base, headers=counsellor.headers).status_code,
            client.get(f"{base}/mastery-plan", headers=counsellor.headers).status_code,
            client.get(f"{base}/crisis-plan", headers=officer.headers).status_code,
        )

    assert statuses() == (200, 200, 200)
    import_vold(client, admin, ["crisis_plan", "shared_diary", "contact_requests", "meeting_notes"])
    assert statuses() == (403, 403, 200)  # the police's consent is in a scope still named
    refused = client.get(f"{base}/mastery-plan", headers=counsellor.headers)
    assert refused.json["type"].endswith("/consent-required")
    # Another import that still leaves it out gives nothing back.
    import_vold(client, admin, ["crisis_plan", "meeting_notes"])
    assert statuses() == (403, 403, 200)
    # The patient still sees what they decided, marked as no longer in use, and may withdraw it.
    mine = client.get("/api/v1/me/consents", headers=patient.headers).json["consents"]
    row = next(c for c in mine if c["agency_id"] == str(nav.id) and c["scope"] == "mastery_plan")
    assert (row["state"], row["in_use"]) == ("granted", False)
    assert all(c["in_use"] for c in mine if c is not row)
    bundle = json.loads(client.get("/api/v1/me/export.fhir", headers=patient.headers).data)
    statuses_by_scope = {
        e["resource"]["provision"]["code"][0]["coding"][0]["code"]: e["resource"]["status"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Consent" and e["resource"]["provision"]["type"] == "permit"
    }
    assert statuses_by_scope == {"mastery_plan": "inactive", "crisis_plan": "active"}
    # The scope comes back: the consent the patient never withdrew applies again.
    import_vold(client, admin, programme.built_in("muli-vold")["consent_scopes"])
    assert statuses() == (200, 200, 200)
    mine = client.get("/api/v1/me/consents", headers=patient.headers).json["consents"]
    assert all(c["in_use"] for c in mine)


def test_a_consent_no_longer_in_use_can_be_withdrawn_and_stays_withdrawn(app, client, world):
    admin = world.staff(role="admin")
    team = vold_team(app, world)
    nav = world.agency(kind="nav")
    counsellor = world.staff(team, agency=nav)
    patient = world.patient(team, consents={nav: ["crisis_plan", "mastery_plan"]})
    import_vold(client, admin, ["crisis_plan"])
    withdrawn = client.put(
        "/api/v1/me/consents",
        json={"consents": [{"agency_id": str(nav.id), "scope": "mastery_plan", "state": "withdrawn"}]},
        headers=patient.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    assert [c["scope"] for c in withdrawn.json["consents"]] == ["crisis_plan"]
    import_vold(client, admin, programme.built_in("muli-vold")["consent_scopes"])
    url = f"/api/v1/staff/patients/{patient.id}/mastery-plan"
    assert client.get(url, headers=counsellor.headers).status_code == 403


def test_the_outcomes_rows_leave_out_a_patient_seen_only_through_a_dropped_scope(app, client, world, clock):
    admin = world.staff(role="admin")
    team = vold_team(app, world)
    nav = world.agency(kind="nav")
    coordinator = world.staff(team, role="coordinator", agency=nav)
    patient = world.patient(team, consents={nav: ["meeting_notes"]}, name="Bare Møtenotat")
    import_vold(client, admin, ["crisis_plan", "mastery_plan"])
    rows = client.get(f"/api/v1/staff/teams/{team.id}/outcomes", headers=coordinator.headers).json
    assert [r["display_name"] for r in rows["per_patient"]] == []
    assert client.get(f"/api/v1/staff/patients/{patient.id}", headers=coordinator.headers).status_code == 403
