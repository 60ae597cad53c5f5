from datetime import UTC, datetime

NIGHT = {"starts_at": "2026-11-21T15:30", "ends_at": "2026-11-22T08:00"}


def test_the_week_shows_shifts_and_gaps_in_red(world, portal_as, clock):
    care = world.care_team()
    clock.set(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))  # a Saturday
    portal = portal_as(care.coordinator)
    path = f"/portal/rota/?team={care.team.id}&week=2026-11-16"
    page = portal.text(path)
    assert "Hull i dekningen" in page
    response = portal.post(path, {"staff_id": str(care.member.id), "level": "primary", **NIGHT})
    assert response.status_code == 302
    page = portal.text(path)
    assert care.member.staff.display_name in page


def test_an_overlapping_primary_shift_is_refused_with_who_has_it(world, portal_as, clock):
    care = world.care_team()
    clock.set(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    portal = portal_as(care.coordinator)
    path = f"/portal/rota/?team={care.team.id}&week=2026-11-16"
    portal.post(path, {"staff_id": str(care.member.id), "level": "primary", **NIGHT})
    response = portal.post(path, {"staff_id": str(care.coordinator.id), "level": "primary", **NIGHT})
    assert response.status_code == 409
    assert care.member.staff.display_name in response.get_data(as_text=True)


def test_a_member_sees_the_rota_but_cannot_change_it(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.member)
    page = portal.text("/portal/rota/")
    assert "Legg til en vakt" not in page
    response = portal.post("/portal/rota/", {"staff_id": str(care.member.id), "level": "primary", **NIGHT})
    assert response.status_code == 403


def test_adding_a_shift_without_the_csrf_token_is_refused(world, portal_as):
    care = world.care_team()
    portal = portal_as(care.coordinator)
    response = portal.client.post(
        "/portal/rota/", data={"staff_id": str(care.member.id), "level": "primary", **NIGHT}
    )
    assert response.status_code == 400
    assert care.member.staff.display_name not in portal.text("/portal/rota/").split("Legg til en vakt")[0]
