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
    assert "<td>6</td>" in page


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
