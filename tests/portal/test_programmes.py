"""The portal's programme pages (issue 18): the administrator lists programmes, reads one,
exports it, imports a file (a required section dropped is refused, naming it) and sets the
programme a team runs; a MULI vold team's meeting names its own events."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import yaml

from muli.cli import system_ctx
from muli.extensions import db
from muli.patient import programme
from muli.team import programmes

PAGE = "/portal/admin/programmes/"


def vold_team_row(app, world):
    """A team running MULI vold (installed as the package ships it)."""
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    return world.team(programme_id=programme_id)


def muli_vold_team(app, world, role="member"):
    """A MULI vold team, a police member of it (role) and a patient who consented to the
    police: (team, member, patient)."""
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    team = world.team(programme_id=programme_id)
    police = world.agency(kind="police")
    member = world.staff(team, role=role, agency=police)
    return team, member, world.patient(team, consents={police: "all"})


def test_the_administrator_sees_programmes_and_their_teams(app, world, portal_as):
    world.team(name="Team Nord")
    admin = world.staff(role="admin")
    page = portal_as(admin).text(PAGE)
    assert "MULI" in page and "Team Nord" in page
    assert 'href="/portal/admin/programmes/muli"' in page


def test_a_programme_page_shows_sections_agenda_and_indicators(app, world, portal_as):
    with app.app_context():
        programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
    admin = world.staff(role="admin")
    page = portal_as(admin).text("/portal/admin/programmes/muli-vold")
    assert "Situasjoner og steder jeg bør unngå" in page  # a section of its own, in bokmål
    assert "Politikontakter" in page and "slik teamet har registrert det" in page  # indicator + definition
    assert "violent_incidents" in page  # what the agenda puts first
    # The kinds of agency by their names in bokmål, not the file's codes.
    assert "Typer virksomhet: kommune, DPS (distriktspsykiatrisk senter), politi, kriminalomsorg" in page
    assert "correctional_service" not in page


def test_export_yaml_and_json_read_back_as_the_same_programme(app, world, portal_as):
    portal = portal_as(world.staff(role="admin"))
    as_yaml = portal.get("/portal/admin/programmes/muli/export")
    as_json = portal.get("/portal/admin/programmes/muli/export?format=json")
    assert as_yaml.status_code == as_json.status_code == 200
    assert "attachment" in as_yaml.headers["Content-Disposition"]
    assert programme.validate(yaml.safe_load(as_yaml.get_data(as_text=True))) == programme.default()
    assert programme.validate(json.loads(as_json.get_data(as_text=True))) == programme.default()


def test_import_a_region_and_set_a_teams_programme(app, world, portal_as):
    team = world.team(name="Team Sør")
    portal = portal_as(world.staff(role="admin"))
    raw = programme.exported(programme.default()) | {
        "key": "muli-sor",
        "name": {"nb": "MULI Sør", "en": "MULI South"},
    }
    done = portal.post(
        "/portal/admin/programmes/import", {"text": yaml.safe_dump(raw, allow_unicode=True)}, token_from=PAGE
    )
    assert (done.status_code, done.headers["Location"]) == (302, "/portal/admin/programmes/muli-sor")
    set_ = portal.post(
        "/portal/admin/programmes/team", {"team_id": str(team.id), "programme": "muli-sor"}, token_from=PAGE
    )
    assert set_.status_code == 302
    row = next(r for r in portal.text(PAGE).split("<tr>") if "/portal/admin/programmes/muli-sor" in r)
    assert "Team Sør" in row
    with app.app_context():
        from muli.models.people import Team

        assert programme.for_team(system_ctx(), db.session.get(Team, team.id))["key"] == "muli-sor"


def test_an_import_without_a_required_section_is_refused_naming_it(app, world, portal_as):
    portal = portal_as(world.staff(role="admin"))
    raw = programme.exported(programme.default())
    raw["crisis_plan"]["sections"] = [s for s in raw["crisis_plan"]["sections"] if s["key"] != "what_helps"]
    refused = portal.post("/portal/admin/programmes/import", {"text": json.dumps(raw)}, token_from=PAGE)
    assert refused.status_code == 422
    assert "what_helps" in refused.get_data(as_text=True)
    not_a_file = portal.post("/portal/admin/programmes/import", {"text": "{unclosed"}, token_from=PAGE)
    assert not_a_file.status_code == 422


def test_clinical_staff_cannot_manage_programmes(app, world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    assert portal.get(PAGE).status_code == 403
    assert portal.get("/portal/admin/programmes/muli/export").status_code == 403


def test_a_muli_vold_meeting_names_the_programmes_own_events(app, world, portal_as, client, clock):
    team, coordinator, patient = muli_vold_team(app, world, role="coordinator")
    day = clock.now.date()
    made = client.post(
        f"/api/v1/staff/patients/{patient.id}/indicator-events",
        json={"indicator": "police_contacts", "occurred_on": day.isoformat(), "count": 2},
        headers=coordinator.headers,
    )
    assert made.status_code == 201
    meeting = client.post(
        f"/api/v1/staff/teams/{team.id}/meetings",
        json={"held_on": (day + timedelta(days=1)).isoformat()},
        headers=coordinator.headers,
    ).json
    page = portal_as(coordinator).text(f"/portal/meetings/{meeting['id']}")
    assert "2 politikontakter" in page


def test_staff_record_a_programmes_indicator_on_the_patient_page(app, world, portal_as, clock):
    _, member, patient = muli_vold_team(app, world)
    portal = portal_as(member)
    page_url = f"/portal/patients/{patient.id}"
    page = portal.text(page_url)
    assert "Døgn i varetekt" in page and "Ingen registrert." in page.split('id="indicators"')[1]
    day = clock.now.date().isoformat()
    done = portal.post(
        f"{page_url}/indicator-events",
        {"indicator": "days_in_custody", "occurred_on": day, "count": "14"},
        token_from=page_url,
    )
    assert done.status_code == 302
    shown = portal.text(page_url).split('id="indicators"')[1].split("</section>")[0]
    assert 'Døgn i varetekt</td><td data-label="Antall">14</td>' in shown
    wrong = portal.post(
        f"{page_url}/indicator-events",
        {"indicator": "moods", "occurred_on": day, "count": "1"},
        token_from=page_url,
    )
    assert wrong.status_code == 422


def test_a_muli_patient_page_has_no_indicator_section(app, world, portal_as):
    care = world.care_team()
    assert 'id="indicators"' not in portal_as(care.member).text(f"/portal/patients/{care.patient.id}")


def test_a_muli_vold_plan_is_shown_and_proposed_with_the_programmes_sections(app, world, portal_as, client):
    _, member, patient = muli_vold_team(app, world)
    saved = client.put(
        "/api/v1/me/crisis-plan",
        json={"what_helps": "Ro", "extra": {"risk_situations": ["Torget fredag kveld"]}},
        headers={**patient.headers, "If-Match": '"crisis-0"'},
    )
    assert saved.status_code == 200
    portal = portal_as(member)
    page_url = f"/portal/patients/{patient.id}"
    page = portal.text(page_url)
    assert "Situasjoner og steder jeg bør unngå" in page and "Torget fredag kveld" in page
    assert "Når sinnet tar over" in page  # a renamed section, in the programme's words
    assert "Hvis politiet møter meg" in page  # its own text section, in the form
    assert "Gjøre omgivelsene trygge" in page.split('<details class="hidden-sections">')[1]  # hidden, folded
    done = portal.post(
        f"{page_url}/crisis-plan/proposals",
        {
            "risk_situations-0": "Torget fredag kveld",
            "risk_situations-1": "Festen på lørdag",
            "police_contact": "Snakk rolig til meg",
            "what_helps": "Ro",
        },
        token_from=page_url,
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    versions = client.get("/api/v1/me/crisis-plan/versions", headers=patient.headers).json["items"]
    proposal = next(v for v in versions if v["status"] == "proposed")
    assert proposal["sections"]["extra"] == {
        "risk_situations": ["Torget fredag kveld", "Festen på lørdag"],
        "police_contact": "Snakk rolig til meg",
    }


def test_a_row_is_added_to_a_programmes_own_list_without_javascript(app, world, portal_as):
    _, member, patient = muli_vold_team(app, world)
    portal = portal_as(member)
    page_url = f"/portal/patients/{patient.id}"
    again = portal.post(
        f"{page_url}/crisis-plan/proposals",
        {"risk_situations-0": "Torget", "row_op": "add:risk_situations"},
        token_from=page_url,
    )
    assert again.status_code == 200
    assert 'name="risk_situations-1"' in again.get_data(as_text=True)


def test_a_muli_vold_teams_outcomes_page_shows_its_own_indicators(app, world, portal_as):
    team, member, _ = muli_vold_team(app, world)
    page = portal_as(member).text(f"/portal/outcomes/?team={team.id}")
    assert "Politikontakter" in page and "Døgn i varetekt" in page
    assert "Akuttinnleggelser" not in page.split("<h2")[1]  # MULI's indicators are not this programme's


def test_a_muli_vold_teams_own_patient_rows_show_its_indicators_before_and_since(
    app, world, portal_as, client, clock
):
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    team = world.team(programme_id=programme_id)
    police = world.agency(kind="police")
    member = world.staff(team, agency=police)
    patient = world.patient(team, consents={police: "all"}, name="Ung Voldsen")
    enrolled = clock.now.date()

    def record(indicator, day, count):
        made = client.post(
            f"/api/v1/staff/patients/{patient.id}/indicator-events",
            json={"indicator": indicator, "occurred_on": day.isoformat(), "count": count},
            headers=member.headers,
        )
        assert made.status_code == 201, made.json

    record("violent_incidents", enrolled - timedelta(days=40), 3)
    record("days_in_custody", enrolled - timedelta(days=100), 12)
    clock.advance(days=365)
    record("violent_incidents", enrolled + timedelta(days=200), 1)
    page = portal_as(member).text(f"/portal/outcomes/?team={team.id}")
    table = page.split('<table class="patients">')[1].split("</table>")[0]
    head = table.split("</thead>")[0]
    assert [t for t in ("Politikontakter", "Meldte voldshendelser", "Døgn i varetekt") if t in head] == [
        "Politikontakter",
        "Meldte voldshendelser",
        "Døgn i varetekt",
    ]
    assert "Akuttinnleggelser" not in head
    cells = dict(re.findall(r'data-indicator="(\w+)">([^<]*)<', table))
    assert cells["violent_incidents"].startswith("3 → 1")
    assert cells["days_in_custody"].startswith("12 → 0")
    assert cells["police_contacts"].startswith("0 → 0")
    # The direction of the event the programme's criteria count: violent incidents fell.
    assert "Meldte voldshendelser per år siden innskriving" in head and ">Færre</td>" in table
    # The team's aggregate figures keep the small-number rule: one patient, so hidden.
    after = page.split("</table>")[1]
    assert "&lt; 5" in after


def test_a_muli_teams_own_patient_rows_are_as_before(world, portal_as):
    care = world.care_team()
    page = portal_as(care.member).text(f"/portal/outcomes/?team={care.team.id}")
    table = page.split('<table class="patients">')[1].split("</table>")[0]
    assert "Akuttinnleggelser" in table and "data-indicator" not in table


def test_a_muli_vold_mastery_plan_shows_the_programmes_titles_in_its_order(app, world, portal_as, client):
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    team = world.team(programme_id=programme_id)
    police = world.agency(kind="police")
    member = world.staff(team, agency=police)
    patient = world.patient(team, consents={police: "all"})
    etag = client.get("/api/v1/me/mastery-plan", headers=patient.headers).headers["ETag"]
    client.put(
        "/api/v1/me/mastery-plan",
        json={"strategies": [{"title": "Gå ut og pust"}], "goals": [{"title": "Møte opp på jobb"}]},
        headers={**patient.headers, "If-Match": etag},
    )
    page = portal_as(member).text(f"/portal/patients/{patient.id}")
    panel = page.split('id="mp-h"')[1].split("</section>")[0]
    assert panel.index("<h3>Mål for hverdagen</h3>") < panel.index("<h3>Strategier</h3>")
    assert panel.index("Møte opp på jobb") < panel.index("Gå ut og pust")


def test_an_import_that_leaves_out_the_kind_of_agency_on_a_team_running_it_is_refused(app, world, portal_as):
    team, _, _ = muli_vold_team(app, world)
    world.staff(team, agency=world.agency(name="Politiet Vest", kind="police"), name="Pål Politi")
    portal = portal_as(world.staff(role="admin"))
    raw = programme.exported(programme.built_in("muli-vold"))
    raw["agency_kinds"] = [k for k in raw["agency_kinds"] if k != "police"]
    refused = portal.post(
        "/portal/admin/programmes/import", {"text": yaml.safe_dump(raw, allow_unicode=True)}, token_from=PAGE
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "agency_kinds: Ansatte på team som kjører dette programmet" in page
    assert f"{team.name}: Pål Politi (Politiet Vest, police)" in page
    with app.app_context():
        assert "police" in programme.find(system_ctx(), "muli-vold").definition["agency_kinds"]


def test_a_consent_under_a_scope_the_programme_drops_opens_no_patient_page(app, world, portal_as, client):
    team = vold_team_row(app, world)
    police, nav = world.agency(kind="police"), world.agency(name="NAV Vest", kind="nav")
    officer, counsellor = world.staff(team, agency=police), world.staff(team, agency=nav)
    patient = world.patient(team, consents={police: ["crisis_plan", "meeting_notes"]})
    other = world.patient(team, consents={nav: ["mastery_plan"], police: ["crisis_plan"]})
    portal = portal_as(world.staff(role="admin"))
    raw = programme.exported(programme.built_in("muli-vold"))
    raw["consent_scopes"] = ["crisis_plan", "shared_diary", "contact_requests", "meeting_notes"]
    done = portal.post("/portal/admin/programmes/import", {"text": json.dumps(raw)}, token_from=PAGE)
    assert done.status_code == 302
    assert portal_as(counsellor).get(f"/portal/patients/{other.id}").status_code == 403
    # The police still read the page; the consent table marks NAV's as not in use.
    police_portal = portal_as(officer)
    page = police_portal.text(f"/portal/patients/{other.id}")
    row = next(r for r in page.split("<tr>") if "NAV Vest" in r)
    assert "data-not-in-use>Ikke i bruk<" in row and "badge ok" not in row
    assert "teamets program ber ikke lenger om det" in page
    assert "data-not-in-use" not in police_portal.text(f"/portal/patients/{patient.id}")


def test_an_import_with_half_a_character_or_a_strange_field_name_is_refused_not_a_server_error(
    app, world, portal_as
):
    portal = portal_as(world.staff(role="admin"))
    text = yaml.safe_dump(programme.exported(programme.default()), allow_unicode=True)
    half = text.replace("nb: MULI\n", 'nb: "MULI \\ud83d"\n', 1)
    refused = portal.post("/portal/admin/programmes/import", {"text": half}, token_from=PAGE)
    assert (
        refused.status_code == 422
        and "name.nb: Teksten kan ikke inneholde et halvt tegn" in refused.get_data(as_text=True)
    )
    odd_key = text.replace("format:", '"\\udc80": 1\nformat:', 1)
    refused = portal.post("/portal/admin/programmes/import", {"text": odd_key}, token_from=PAGE)
    assert refused.status_code == 422 and "\\udc80" in refused.get_data(as_text=True)
    with app.app_context():
        assert programme.find(system_ctx(), "muli") is None
