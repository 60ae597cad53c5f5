from datetime import UTC, datetime

from tests.portal.conftest import Portal
from tests.portal.helpers import contact_request


def test_the_night_lands_on_the_morning_hand_over(world, app, portal_as, clock):
    care = world.care_team()
    clock.set(datetime(2026, 11, 21, 0, 40, tzinfo=UTC))  # Saturday night
    made = contact_request(app.test_client(), care.patient, "får ikke sove")
    ola = portal_as(care.member)
    ola.post(f"/portal/queue/{made['id']}/acknowledge", token_from="/portal/queue/")
    ola.post(
        f"/portal/queue/{made['id']}/close",
        {"outcome": "talked", "note": "snakket, avtalt ny kontakt i morgen"},
        token_from="/portal/queue/",
    )
    clock.set(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # Monday morning: Siv signs in
    siv = Portal(app, app.test_client())
    assert siv.login(care.coordinator).status_code == 302
    page = siv.text(f"/portal/handover/?date=2026-11-23&team={care.team.id}")
    assert care.patient.name in page
    assert "snakket, avtalt ny kontakt i morgen" in page
    assert "Snakket med pasienten" in page


def test_another_team_cannot_be_chosen_for_the_hand_over(world, app, portal_as):
    care = world.care_team()
    other = world.care_team()
    contact_request(app.test_client(), other.patient, "hemmelig")
    page = portal_as(care.member).text(f"/portal/handover/?team={other.team.id}")
    assert "hemmelig" not in page
    assert other.patient.name not in page
