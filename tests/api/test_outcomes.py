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
    counted = answer.json["patients_counted"]
    assert (counted["value"], counted["suppressed"]) == (None, True)


def test_another_teams_outcomes_answer_404(client, world):
    care, other = world.care_team(), world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{other.team.id}/outcomes", headers=care.coordinator.headers)
    assert answer.status_code == 404


def test_a_patient_cannot_read_team_outcomes(client, world):
    care = world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.patient.headers)
    assert answer.status_code == 403


def add_open_admissions(app, patient_ids, days_ago):
    """Admissions as the enrolment form records them: a date, no discharge (open stays)."""
    from datetime import date, timedelta

    from muli.cli import system_ctx
    from muli.extensions import db
    from muli.models.people import Admission

    with app.app_context():
        ctx = system_ctx()
        for pid in patient_ids:
            for days in days_ago:
                admission = Admission(patient_id=pid, admitted_on=date.today() - timedelta(days=days))
                ctx.keys.seal(admission, "facility", "PAM")  # stored encrypted, as the service does
                db.session.add(admission)
        db.session.commit()


def bed_days(answer):
    found = [i for h in answer.json["headings"] for i in h["indicators"] if i["key"] == "bed_days"]
    return found[0]["figures"]


def test_one_patients_bed_days_are_null_and_their_own_row_is_not(app, client, world):
    # The finding: "Liggedøgn 12 måneder før innskriving: 675" for one identifiable patient.
    care = world.care_team()
    add_open_admissions(app, [care.patient.id], (300, 210, 120, 45, 20))
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.member.headers)
    own = answer.json["per_patient"][0]
    assert (bed_days(answer)["before_12_months"]["value"], own["bed_days"]["before_12_months"]["value"]) == (
        None,
        300,  # the stays overlap: each night once, the open ones counted to the enrolment date
    )


def test_every_team_figure_is_answered_with_its_definition(client, world):
    care = world.care_team()
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.member.headers)
    figures = [f for h in answer.json["headings"] for i in h["indicators"] for f in i["figures"].values()]
    figures += list(answer.json["headline"].values())
    assert {tuple(sorted(f["definition"])) for f in figures} == {("en", "nb")}


def test_open_stays_are_answered_as_open(app, client, world):
    care = world.care_team()
    add_open_admissions(app, [care.patient.id], (3,))
    answer = client.get(f"/api/v1/staff/teams/{care.team.id}/outcomes", headers=care.member.headers)
    assert [s["facility"] for s in answer.json["per_patient"][0]["open_stays"]] == ["PAM"]
