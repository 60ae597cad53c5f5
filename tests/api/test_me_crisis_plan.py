"""The crisis plan through the API: versions, ETags, approval, the emergency numbers, the PDF."""

from __future__ import annotations

import re

import pytest

PLAN = "/api/v1/me/crisis-plan"


@pytest.fixture
def care(world):
    return world.care_team()


def _get(client, login, **headers):
    return client.get(PLAN, headers={**login.headers, **headers})


def _put(client, login, body, etag):
    headers = dict(login.headers)
    if etag is not None:
        headers["If-Match"] = etag
    return client.put(PLAN, json=body, headers=headers)


def _save(client, login, body):
    etag = _get(client, login).headers["ETag"]
    response = _put(client, login, body, etag)
    assert response.status_code == 200, response.json
    return response


def test_a_patient_without_a_plan_gets_an_empty_version_zero_with_an_etag(client, care):
    response = _get(client, care.patient)
    assert response.status_code == 200
    assert (response.json["version"], response.json["warning_signs"], response.json["what_helps"]) == (
        0,
        [],
        None,
    )
    assert response.headers["ETag"]


def test_the_first_put_works_with_the_etag_of_the_empty_plan(client, care):
    response = _save(client, care.patient, {"what_helps": "at noen kjenner historien min"})
    assert (response.json["version"], response.json["what_helps"]) == (1, "at noen kjenner historien min")


def test_put_without_if_match_is_428(client, care):
    assert _put(client, care.patient, {"what_helps": "x"}, None).status_code == 428


def test_put_with_a_stale_etag_is_412(client, care):
    first = _get(client, care.patient).headers["ETag"]
    _put(client, care.patient, {"what_helps": "one"}, first)
    response = _put(client, care.patient, {"what_helps": "two"}, first)
    assert response.status_code == 412
    assert _get(client, care.patient).json["what_helps"] == "one"


def test_of_two_devices_editing_the_same_version_one_wins_and_the_other_gets_412(client, care):
    etag = _get(client, care.patient).headers["ETag"]
    phone = _put(client, care.patient, {"what_helps": "phone"}, etag)
    tablet = _put(client, care.patient, {"what_helps": "tablet"}, etag)
    assert (phone.status_code, tablet.status_code) == (200, 412)
    reloaded = _get(client, care.patient)
    assert _put(client, care.patient, {"what_helps": "tablet"}, reloaded.headers["ETag"]).status_code == 200


def test_get_with_the_current_etag_in_if_none_match_is_304(client, care):
    etag = _save(client, care.patient, {"what_helps": "x"}).headers["ETag"]
    response = _get(client, care.patient, **{"If-None-Match": etag})
    assert (response.status_code, response.data, response.headers["ETag"]) == (304, b"", etag)


def _actions(app, patient_id) -> list[str]:
    from sqlalchemy import select

    from muli.extensions import db
    from muli.models.audit import AuditEvent

    with app.app_context():
        query = select(AuditEvent.action).where(AuditEvent.patient_id == patient_id).order_by(AuditEvent.seq)
        return list(db.session.scalars(query))


def test_a_304_is_audited_as_a_check_that_read_nothing_and_a_200_as_a_read(app, client, care):
    etag = _save(client, care.patient, {"what_helps": "x"}).headers["ETag"]
    before = _actions(app, care.patient.patient.id)
    assert _get(client, care.patient, **{"If-None-Match": etag}).status_code == 304
    assert _get(client, care.patient, **{"If-None-Match": '"crisis-0"'}).status_code == 200
    assert _get(client, care.patient, **{"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert _actions(app, care.patient.patient.id)[len(before) :] == [
        "crisis_plan.unchanged",
        "crisis_plan.read",
        "crisis_plan.unchanged",
    ]


def test_a_conditional_get_that_misses_answers_the_same_bytes_as_a_plain_get(client, care):
    _save(client, care.patient, {"what_helps": "x", "warning_signs": [{"sign": "får ikke sove"}]})
    plain = _get(client, care.patient)
    stale = _get(client, care.patient, **{"If-None-Match": '"crisis-0", W/"other"'})
    assert (stale.status_code, stale.data, stale.headers["ETag"]) == (200, plain.data, plain.headers["ETag"])


def test_a_patient_without_a_plan_gets_304_for_version_zero(client, care):
    etag = _get(client, care.patient).headers["ETag"]
    response = _get(client, care.patient, **{"If-None-Match": etag})
    assert (response.status_code, response.headers["ETag"]) == (304, etag)


def test_get_with_an_old_etag_in_if_none_match_gets_the_new_plan(client, care):
    old = _get(client, care.patient).headers["ETag"]
    _save(client, care.patient, {"what_helps": "x"})
    response = _get(client, care.patient, **{"If-None-Match": old})
    assert (response.status_code, response.json["what_helps"]) == (200, "x")


def test_every_section_round_trips_as_a_top_level_field(client, care):
    plan = {
        "warning_signs": [{"sign": "får ikke sove", "action": "ring Siv"}, {"sign": "stemmene blir sterke"}],
        "coping_strategies": ["gå en tur rundt vannet"],
        "distractions": ["kafeen på hjørnet"],
        "people_to_ask": [{"name": "Siv (søster)", "phone": "+4700000123"}],
        "professionals": [{"service": "Legevakt", "phone": "116 117", "when_reachable": "hele døgnet"}],
        "safe_environment": ["gi medisinene til Siv"],
        "reasons_to_live": ["katten"],
        "how_i_want_to_be_met": "Snakk rolig.",
        "what_helps": "at noen kjenner historien min",
        "what_does_not_help": "mange spørsmål på en gang",
        "treatment_preferences": "Helst ikke innleggelse med en gang.",
    }
    body = _save(client, care.patient, plan).json
    assert {k: body[k] for k in plan} == {
        **plan,
        "warning_signs": [
            {"sign": "får ikke sove", "action": "ring Siv"},
            {"sign": "stemmene blir sterke", "action": None},
        ],
    }


def test_the_emergency_numbers_are_always_in_the_answer(client, world):
    team = world.team(phone="+4700000001", on_call_phone="+4700000002")
    patient = world.patient(team)
    numbers = [n["number"] for n in client.get(PLAN, headers=patient.headers).json["emergency_numbers"]]
    assert numbers == ["113", "116 117", "+4700000001", "+4700000002"]


def test_the_emergency_numbers_cannot_be_removed_by_sending_them_empty(client, care):
    body = _save(client, care.patient, {"what_helps": "x", "emergency_numbers": []}).json
    assert [n["number"] for n in body["emergency_numbers"]][:2] == ["113", "116 117"]


def test_a_section_that_is_too_long_is_422_naming_the_section(client, care):
    response = _put(
        client, care.patient, {"what_helps": "x" * 2001}, _get(client, care.patient).headers["ETag"]
    )
    assert response.status_code == 422
    assert "what_helps" in response.json["errors"]


def test_a_list_item_that_is_too_long_is_422_naming_the_section(client, care):
    etag = _get(client, care.patient).headers["ETag"]
    response = _put(client, care.patient, {"warning_signs": [{"sign": "x" * 501}]}, etag)
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["warning_signs.0.sign"]  # the path to the item


def test_an_unknown_section_is_422(client, care):
    response = _put(client, care.patient, {"horoscope": "x"}, _get(client, care.patient).headers["ETag"])
    assert response.status_code == 422
    assert "horoscope" in response.json["errors"]


def test_an_empty_plan_can_be_saved(client, care):
    assert _save(client, care.patient, {}).json["version"] == 1


def test_a_staff_proposal_is_listed_but_not_current_until_approved(client, care):
    _save(client, care.patient, {"what_helps": "mine"})
    proposal = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "the team's", "last_reviewed_with_team_on": "2026-11-20"},
        headers=care.member.headers,
    )
    assert (proposal.status_code, proposal.json["status"], proposal.json["approved"]) == (
        201,
        "proposed",
        False,
    )
    assert _get(client, care.patient).json["what_helps"] == "mine"


def test_approving_a_proposal_makes_it_current(client, care):
    _save(client, care.patient, {"what_helps": "mine"})
    version = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "the team's", "last_reviewed_with_team_on": "2026-11-20"},
        headers=care.member.headers,
    ).json["version"]
    approved = client.post(f"{PLAN}/versions/{version}/approve", headers=care.patient.headers)
    assert approved.status_code == 200
    current = _get(client, care.patient).json
    assert (current["what_helps"], current["version"], current["last_reviewed_with_team_on"]) == (
        "the team's",
        version,
        "2026-11-20",
    )


def test_approving_changes_the_etag_so_an_edit_from_before_gets_412(client, care):
    old = _save(client, care.patient, {"what_helps": "mine"}).headers["ETag"]
    version = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "team"},
        headers=care.member.headers,
    ).json["version"]
    client.post(f"{PLAN}/versions/{version}/approve", headers=care.patient.headers)
    assert _put(client, care.patient, {"what_helps": "late"}, old).status_code == 412


def test_a_version_the_patient_wrote_cannot_be_approved(client, care):
    _save(client, care.patient, {"what_helps": "mine"})
    response = client.post(f"{PLAN}/versions/1/approve", headers=care.patient.headers)
    assert response.status_code == 409


def test_approving_a_version_that_does_not_exist_is_404(client, care):
    assert client.post(f"{PLAN}/versions/7/approve", headers=care.patient.headers).status_code == 404


def test_approving_a_version_number_too_big_for_the_database_is_404(client, care):
    response = client.post(f"{PLAN}/versions/94522789052552167424/approve", headers=care.patient.headers)
    assert response.status_code == 404


def test_the_version_list_says_who_wrote_each_version_and_whether_it_is_approved(client, care):
    _save(client, care.patient, {"what_helps": "mine"})
    client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "team"},
        headers=care.member.headers,
    )
    items = client.get(f"{PLAN}/versions", headers=care.patient.headers).json["items"]
    summary = [(i["version"], i["written_by"]["kind"], i["approved"], i["status"]) for i in items]
    assert summary == [(2, "staff", False, "proposed"), (1, "patient", True, "current")]
    assert items[0]["written_by"] == {
        "kind": "staff",
        "name": care.member.staff.display_name,
        "agency": care.agency.name,
    }
    assert items[0]["sections"]["what_helps"] == "team"


def test_the_last_review_date_carries_over_to_the_patients_next_edit(client, care):
    _save(client, care.patient, {"what_helps": "a", "last_reviewed_with_team_on": "2026-11-02"})
    assert _save(client, care.patient, {"what_helps": "b"}).json["last_reviewed_with_team_on"] == "2026-11-02"


def test_the_pdf_is_one_page_with_the_plan_in_it(client, care):
    _save(
        client,
        care.patient,
        {"warning_signs": [{"sign": f"tegn {i}"} for i in range(30)], "what_helps": "x" * 2000},
    )
    response = client.get(f"{PLAN}.pdf", headers=care.patient.headers)
    assert (response.status_code, response.mimetype) == (200, "application/pdf")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", response.data)) == 1


def test_staff_can_print_the_plan_of_a_consenting_patient(client, care):
    response = client.get(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan.pdf", headers=care.member.headers
    )
    assert (response.status_code, response.data[:5]) == (200, b"%PDF-")


def test_staff_read_the_same_plan_the_patient_wrote(client, care):
    _save(client, care.patient, {"how_i_want_to_be_met": "Snakk rolig."})
    response = client.get(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers
    )
    assert response.json["how_i_want_to_be_met"] == "Snakk rolig."


def _change_team(app, team_id, **values):
    from sqlalchemy import update

    from muli.extensions import db
    from muli.models.people import Team

    with app.app_context():
        db.session.execute(update(Team).where(Team.id == team_id).values(**values))
        db.session.commit()


def test_changed_emergency_numbers_change_the_etag_so_the_phone_gets_them_anew(app, client, world):
    # The plan's version alone would say "unchanged" and leave the old numbers on the phone.
    team = world.team(phone="+4700000001", on_call_phone="+4700000002")
    patient = world.patient(team)
    old = client.get(PLAN, headers=patient.headers).headers["ETag"]
    assert client.get(PLAN, headers={**patient.headers, "If-None-Match": old}).status_code == 304
    _change_team(app, team.id, on_call_phone="+4700000009")
    response = client.get(PLAN, headers={**patient.headers, "If-None-Match": old})
    assert response.status_code == 200
    assert response.headers["ETag"] != old
    assert [n["number"] for n in response.json["emergency_numbers"]][-1] == "+4700000009"
    fresh = client.get(PLAN, headers={**patient.headers, "If-None-Match": response.headers["ETag"]})
    assert fresh.status_code == 304


def test_a_renamed_team_changes_the_etag_since_its_name_labels_the_numbers(app, client, world):
    team = world.team(phone="+4700000001")
    patient = world.patient(team)
    old = client.get(PLAN, headers=patient.headers).headers["ETag"]
    _change_team(app, team.id, name=f"{team.name} (ny)")
    response = client.get(PLAN, headers={**patient.headers, "If-None-Match": old})
    assert response.status_code == 200
    assert response.json["emergency_numbers"][-1]["label"].startswith(f"{team.name} (ny)")


def test_a_team_moving_to_another_programme_changes_the_etag(app, client, world):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.team import programmes

    team = world.team()
    patient = world.patient(team)
    old = client.get(PLAN, headers=patient.headers).headers["ETag"]
    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        programme_id = row.id
    _change_team(app, team.id, programme_id=programme_id)
    response = client.get(PLAN, headers={**patient.headers, "If-None-Match": old})
    assert response.status_code == 200
    assert "sections_meta" in response.json


def test_a_save_is_guarded_by_the_plans_version_not_by_the_teams_numbers(app, client, world):
    team = world.team(phone="+4700000001")
    patient = world.patient(team)
    etag = client.get(PLAN, headers=patient.headers).headers["ETag"]
    _change_team(app, team.id, phone="+4700000003")
    assert _put(client, patient, {"what_helps": "x"}, etag).status_code == 200
    assert _put(client, patient, {"what_helps": "y"}, etag).status_code == 412


def _install_vold(app):
    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.team import programmes

    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        return row.id


def test_a_patient_without_a_plan_on_a_programme_team_gets_its_sections_then_a_304(app, client, world):
    # The programme's definition comes with the plan's (absent) version in one statement:
    # no plan must still give the programme's sections, and the plan sync its 304.
    team = world.team()
    _change_team(app, team.id, programme_id=_install_vold(app))
    patient = world.patient(team)
    plain = client.get(PLAN, headers=patient.headers)
    assert plain.status_code == 200 and plain.json["version"] == 0
    assert plain.json["sections_meta"] and "extra" in plain.json
    held = client.get(PLAN, headers={**patient.headers, "If-None-Match": plain.headers["ETag"]})
    assert held.status_code == 304 and held.headers["ETag"] == plain.headers["ETag"]


def test_the_plan_and_the_plan_sync_read_the_programme_in_the_plans_own_statement(app, client, world):
    from sqlalchemy import event

    from muli.extensions import db

    team = world.team()
    _change_team(app, team.id, programme_id=_install_vold(app))
    patient = world.patient(team)
    _save(client, patient, {"warning_signs": [{"sign": "Sover dårlig"}]})
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def statement(conn, cursor, text, params, context, executemany):
        if any(name in text for name in ("programme.definition", "plan_version", "current_version")):
            seen.append(text)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        plain = client.get(PLAN, headers=patient.headers)
        read = list(seen)
        seen.clear()
        held = client.get(PLAN, headers={**patient.headers, "If-None-Match": plain.headers["ETag"]})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert plain.status_code == 200 and plain.json["sections_meta"] and plain.json["version"] == 1
    assert held.status_code == 304
    assert len(read) == 1 and "programme.definition" in read[0] and "plan_version" in read[0]
    assert len(seen) == 1 and "programme.definition" in seen[0] and "plan_version" not in seen[0]
