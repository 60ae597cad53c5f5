import re
from datetime import date, timedelta


def test_outcomes_show_definitions_and_hide_small_counts(world, portal_as):
    care = world.care_team()
    page = portal_as(care.member).text("/portal/outcomes/")
    assert "Akuttinnleggelser" in page
    assert "Innleggelser i psykiatrisk akuttmottak (PAM)" in page  # the definition
    assert "&lt; 5" in page  # one patient: every count is under five
    assert "<svg" in page
    assert "Virkningsfulle" in page


def test_enough_admissions_are_shown_as_numbers(world, app, portal_as):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.people import Admission

    care = world.care_team()
    extra = [world.patient(care.team, consents={care.agency: "all"}) for _ in range(5)]
    with app.app_context():
        system_ctx()
        for p in [care.patient, *extra]:
            db.session.add(Admission(patient_id=p.id, admitted_on=date.today() - timedelta(days=40)))
        db.session.commit()
    page = portal_as(care.member).text("/portal/outcomes/")
    assert '<td class="num">6</td>' in page


def test_another_team_is_not_offered(world, portal_as):
    care = world.care_team()
    other = world.care_team()
    page = portal_as(care.member).text(f"/portal/outcomes/?team={other.team.id}")
    assert care.team.name in page
    assert other.team.name not in page


def test_privacy_officers_and_admins_have_no_outcomes_page(world, portal_as):
    care = world.care_team()
    officer = world.staff(care.team, role="privacy_officer", agency=care.agency)
    assert portal_as(officer).get("/portal/outcomes/").status_code in (403, 404)


def six_with_admissions(world, app, days_ago):
    """The care team's patient and five more, all consenting, each admitted on the given days."""
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.people import Admission, Patient

    care = world.care_team()
    extra = [world.patient(care.team, consents={care.agency: "all"}) for _ in range(5)]
    with app.app_context():
        system_ctx()
        for p in [care.patient, *extra]:
            db.session.get(Patient, p.id).enrolled_on = date.today() - timedelta(days=200)
            for days in days_ago:
                admitted = date.today() - timedelta(days=days)
                db.session.add(
                    Admission(
                        patient_id=p.id,
                        admitted_on=admitted,
                        discharged_on=admitted + timedelta(days=3),
                    )
                )
        db.session.commit()
    return care


def visible_text(page):
    return re.sub(r"<[^>]+>", " ", page.split("<main", 1)[1])


def test_the_norwegian_page_writes_decimals_with_a_comma(world, app, portal_as):
    care = six_with_admissions(world, app, (500, 400, 300, 250))
    text = visible_text(portal_as(care.member).text("/portal/outcomes/"))
    # 6 patients x 2 admissions in the 12 months before, per patient: 2,0.
    assert ("2,0" in text, re.findall(r"\d\.\d", text)) == (True, [])


def test_the_english_page_writes_decimals_with_a_point(world, app, portal_as):
    care = six_with_admissions(world, app, (500, 400, 300, 250))
    portal = portal_as(care.member)
    portal.post("/portal/language/en", {"next": "/portal/"}, token_from="/portal/")
    text = visible_text(portal.text("/portal/outcomes/"))
    assert ("2.0" in text, "2,0" in text) == (True, False)


def test_the_headline_says_in_how_many_admissions_fell(world, app, portal_as):
    care = six_with_admissions(world, app, (300, 250))
    page = portal_as(care.member).text("/portal/outcomes/")
    assert "Akuttinnleggelsene gikk ned for 6 av 6 pasienter" in page


def test_one_patients_numbers_are_in_the_teams_list_and_hidden_in_the_aggregate(world, app, portal_as):
    # The finding: "under 5 hidden", then "Liggedøgn 12 måneder før innskriving: 675" for one patient.
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.people import Admission

    care = world.care_team()
    with app.app_context():
        system_ctx()
        for days in (300, 210, 120, 45):  # open stays, as enrolment records them
            db.session.add(
                Admission(
                    patient_id=care.patient.id,
                    admitted_on=date.today() - timedelta(days=days),
                )
            )
        db.session.commit()
    page = portal_as(care.member).text("/portal/outcomes/")
    figures = page.split('id="h-', 1)[1]  # the indicators under the quality headings
    assert ("675" in page, "300 →" in page, re.findall(r'class="num">\d', figures)) == (False, True, [])


def test_each_figure_has_its_definition_beside_it(world, portal_as):
    care = world.care_team()
    page = portal_as(care.member).text("/portal/outcomes/")
    assert "Dagene fra innskriving til i dag, for alle pasientene som telles" in page
