"""The outcomes endpoint: definitions under the quality headings, small counts null, team-scoped."""


def test_outcomes_answer_each_indicator_with_its_definition(client, world):
    care = world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.coordinator.headers)
    first = answer.json["headings"][0]["indicators"][0]
    assert (answer.status_code, first["key"], sorted(first["definition"])) == (
        200,
        "acute_admissions",
        ["en", "nb"],
    )


def test_a_small_count_is_answered_as_null_and_suppressed(client, world):
    care = world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.member.headers)
    assert answer.json["patients_counted"] == {"value": None, "suppressed": True}


def test_another_teams_outcomes_answer_404(client, world):
    care, other = world.care_team(), world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{other.team.id}/outcomes", headers=care.coordinator.headers)
    assert answer.status_code == 404


def test_a_patient_cannot_read_team_outcomes(client, world):
    care = world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.patient.headers)
    assert answer.status_code == 403
