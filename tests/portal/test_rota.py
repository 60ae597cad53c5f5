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


def _one_shift(world, portal_as, clock):
    from muli.extensions import db
    from muli.models.on_call import OnCallShift

    care = world.care_team()
    clock.set(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    portal = portal_as(care.coordinator)
    path = f"/portal/rota/?team={care.team.id}&week=2026-11-16"
    assert (
        portal.post(path, {"staff_id": str(care.member.id), "level": "primary", **NIGHT}).status_code == 302
    )
    with world.app.app_context():
        shift_id = db.session.scalars(db.select(OnCallShift.id)).one()
    return care, portal, path, shift_id


def _shift_count(world):
    from muli.extensions import db
    from muli.models.on_call import OnCallShift

    with world.app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(OnCallShift))


def test_a_coordinator_changes_a_shift_to_the_backup_level(world, portal_as, clock):
    care, portal, path, shift_id = _one_shift(world, portal_as, clock)
    form = portal.text(f"/portal/rota/shifts/{shift_id}")
    assert "Endre en vakt" in form
    later = {"starts_at": "2026-11-21T16:00", "ends_at": "2026-11-22T08:00"}
    response = portal.post(
        f"/portal/rota/shifts/{shift_id}", {"staff_id": str(care.member.id), "level": "backup", **later}
    )
    assert response.status_code == 302
    assert _shift_count(world) == 1
    assert "16:00" in portal.text(path)


def test_a_change_that_would_overlap_keeps_the_old_shift(world, portal_as, clock):
    care, portal, path, shift_id = _one_shift(world, portal_as, clock)
    other = {"starts_at": "2026-11-22T15:30", "ends_at": "2026-11-23T08:00"}
    portal.post(path, {"staff_id": str(care.coordinator.id), "level": "primary", **other})
    clash = {"starts_at": "2026-11-22T16:00", "ends_at": "2026-11-23T07:00"}
    response = portal.post(
        f"/portal/rota/shifts/{shift_id}", {"staff_id": str(care.member.id), "level": "primary", **clash}
    )
    assert response.status_code == 409
    assert _shift_count(world) == 2
    assert "Endre en vakt" in portal.text(f"/portal/rota/shifts/{shift_id}")


def test_a_coordinator_removes_a_shift(world, portal_as, clock):
    _care, portal, _path, shift_id = _one_shift(world, portal_as, clock)
    response = portal.post(
        f"/portal/rota/shifts/{shift_id}/remove", {}, token_from=f"/portal/rota/shifts/{shift_id}"
    )
    assert response.status_code == 302
    assert _shift_count(world) == 0


def test_a_member_cannot_change_or_remove_a_shift(world, portal_as, clock):
    care, _portal, _path, shift_id = _one_shift(world, portal_as, clock)
    member = portal_as(care.member)
    assert member.get(f"/portal/rota/shifts/{shift_id}").status_code == 403
    assert (
        member.post(f"/portal/rota/shifts/{shift_id}/remove", {}, token_from="/portal/rota/").status_code
        == 403
    )
    assert _shift_count(world) == 1


def test_another_teams_coordinator_finds_no_such_shift(world, portal_as, clock):
    _care, _portal, _path, shift_id = _one_shift(world, portal_as, clock)
    elsewhere = world.team()
    stranger = world.staff(elsewhere, role="coordinator")
    portal = portal_as(stranger)
    assert portal.get(f"/portal/rota/shifts/{shift_id}").status_code == 404
    assert (
        portal.post(f"/portal/rota/shifts/{shift_id}/remove", {}, token_from="/portal/rota/").status_code
        == 404
    )
    assert _shift_count(world) == 1
