"""The privacy officer's access log (filters, plain words), the break-the-glass review
(verdict, encrypted comment, history) and one patient's access log as a PDF."""

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from muli.extensions import db

AUDIT = "/api/v1/staff/audit"
QUEUE = "/api/v1/staff/audit/emergency-access"
REASON = "Pasienten er i akutt krise og vi trenger kriseplanen nå"

# The app runs on the real clock: meet today.
HELD_ON = date.today().isoformat()


@pytest.fixture
def care(world):
    return world.care_team()


@pytest.fixture
def officer(world):
    return world.staff(role="privacy_officer")


@pytest.fixture
def outsider(world, care):
    """A clinician on the team whose agency has no consent: needs break-the-glass."""
    return world.staff(care.team, agency=world.agency(kind="acute_ward"))


@pytest.fixture
def glass_broken(client, care, outsider):
    answer = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/emergency-access",
        json={"reason": REASON},
        headers=outsider.headers,
    )
    assert answer.status_code == 201
    return answer.json


def read_overview(client, care, login):
    assert client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=login.headers).status_code == 200


def test_the_privacy_officer_finds_the_reads_of_a_patients_data(client, care, officer):
    read_overview(client, care, care.member)
    page = client.get(AUDIT, query_string={"patient_id": str(care.patient.id)}, headers=officer.headers).json
    assert [(e["action"], e["actor_name"]) for e in page["items"]] == [
        ("patient.overview", care.member.staff.display_name)
    ]


def test_a_team_member_cannot_read_the_access_log(client, care):
    assert client.get(AUDIT, headers=care.member.headers).status_code == 403


def test_a_coordinator_cannot_read_the_access_log(client, care):
    assert client.get(AUDIT, headers=care.coordinator.headers).status_code == 403


def test_the_log_is_filtered_by_staff_member(client, care, officer):
    read_overview(client, care, care.member)
    read_overview(client, care, care.coordinator)
    page = client.get(
        AUDIT, query_string={"staff_id": str(care.coordinator.id)}, headers=officer.headers
    ).json
    assert {e["actor_name"] for e in page["items"]} == {care.coordinator.staff.display_name}


def test_the_log_is_filtered_by_time(client, care, officer):
    read_overview(client, care, care.member)
    page = client.get(AUDIT, query_string={"to": "2000-01-01"}, headers=officer.headers).json
    assert page["items"] == []


def test_the_log_is_paginated_by_cursor_without_repeats(client, care, officer):
    for _ in range(3):
        read_overview(client, care, care.member)
    query = {"patient_id": str(care.patient.id), "limit": 2}
    first = client.get(AUDIT, query_string=query, headers=officer.headers).json
    second = client.get(
        AUDIT, query_string={**query, "cursor": first["next_cursor"]}, headers=officer.headers
    ).json
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(set(seqs), reverse=True) and len(seqs) == 3


def test_the_log_shows_no_clinical_content(client, care, officer):
    meeting = client.post(
        f"/api/v1/staff/teams/{care.team.id}/meetings",
        json={"held_on": HELD_ON},
        headers=care.coordinator.headers,
    ).json
    url = f"/api/v1/staff/meetings/{meeting['id']}/notes/{care.patient.id}"
    etag = client.get(url, headers=care.member.headers).headers["ETag"]
    client.put(url, json={"text": "Stemmene er sterke"}, headers={**care.member.headers, "If-Match": etag})
    answer = client.get(AUDIT, headers=officer.headers)
    assert "meeting_note.write" in answer.text and "Stemmene" not in answer.text


def test_an_emergency_access_waits_in_the_queue_with_its_reason(client, officer, glass_broken):
    items = client.get(QUEUE, headers=officer.headers).json["items"]
    assert [(i["id"], i["reason"], i["reviewed"]) for i in items] == [(glass_broken["id"], REASON, False)]


def test_the_queue_shows_what_was_done_during_the_emergency_access(
    client, care, outsider, officer, glass_broken
):
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=outsider.headers)
    item = client.get(QUEUE, headers=officer.headers).json["items"][0]
    assert "patient.overview" in [a["action"] for a in item["actions_during"]]


def review(client, login, access_id, verdict="justified", comment=None):
    body = {"verdict": verdict} if comment is None else {"verdict": verdict, "comment": comment}
    return client.post(f"{QUEUE}/{access_id}/review", json=body, headers=login.headers)


def test_a_reviewed_emergency_access_leaves_the_queue(client, officer, glass_broken):
    reviewed = review(client, officer, glass_broken["id"])
    assert (reviewed.json["reviewed"], reviewed.json["reviewed_by_name"], reviewed.json["verdict"]) == (
        True,
        officer.staff.display_name,
        "justified",
    )
    assert client.get(QUEUE, headers=officer.headers).json["items"] == []


def test_reviewed_emergency_accesses_are_listed_on_request(client, officer, glass_broken):
    review(client, officer, glass_broken["id"])
    items = client.get(QUEUE, query_string={"reviewed": "true"}, headers=officer.headers).json["items"]
    assert [i["id"] for i in items] == [glass_broken["id"]]


def test_a_review_keeps_its_verdict_comment_reviewer_and_time(client, officer, glass_broken):
    answer = review(client, officer, glass_broken["id"], "not_justified", "Ingen krise i journalen")
    assert answer.status_code == 200
    [entry] = answer.json["reviews"]
    assert (entry["verdict"], entry["comment"], entry["reviewed_by_name"]) == (
        "not_justified",
        "Ingen krise i journalen",
        officer.staff.display_name,
    )
    assert entry["reviewed_at"] == answer.json["reviewed_at"]
    assert answer.json["comment"] == "Ingen krise i journalen"


def test_a_reviewed_access_is_reviewed_again_and_its_history_kept(client, officer, glass_broken, world):
    second_officer = world.staff(role="privacy_officer")
    review(client, officer, glass_broken["id"], "follow_up", "Spør legevakten")
    again = review(client, second_officer, glass_broken["id"], "justified", "Legevakten bekreftet")
    assert again.status_code == 200
    assert [(r["verdict"], r["comment"], r["reviewed_by_name"]) for r in again.json["reviews"]] == [
        ("follow_up", "Spør legevakten", officer.staff.display_name),
        ("justified", "Legevakten bekreftet", second_officer.staff.display_name),
    ]
    assert (again.json["verdict"], again.json["reviewed_by_name"]) == (
        "justified",
        second_officer.staff.display_name,
    )


def test_an_access_needing_follow_up_stays_in_the_queue(client, officer, glass_broken):
    review(client, officer, glass_broken["id"], "follow_up")
    [item] = client.get(QUEUE, headers=officer.headers).json["items"]
    assert (item["id"], item["verdict"]) == (glass_broken["id"], "follow_up")
    review(client, officer, glass_broken["id"], "justified")
    assert client.get(QUEUE, headers=officer.headers).json["items"] == []


def test_the_review_comment_is_encrypted_at_rest(app, client, officer, glass_broken):
    marker = "Pasienten nevnte selvmordstanker 8f3a"
    assert review(client, officer, glass_broken["id"], "follow_up", marker).status_code == 200
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM emergency_access_review")).all()
    assert len(rows) == 1
    assert marker not in repr(rows) and "selvmord" not in repr(rows)


@pytest.mark.parametrize(
    "body",
    [{}, {"verdict": "ok"}, {"verdict": None}, {"verdict": "justified", "comment": "x" * 2001}],
)
def test_a_review_without_a_valid_verdict_or_with_an_overlong_comment_answers_422(
    client, officer, glass_broken, body
):
    answer = client.post(f"{QUEUE}/{glass_broken['id']}/review", json=body, headers=officer.headers)
    assert answer.status_code == 422
    assert client.get(QUEUE, headers=officer.headers).json["items"][0]["reviews"] == []


def test_a_member_cannot_review_an_emergency_access(client, care, glass_broken):
    assert review(client, care.member, glass_broken["id"]).status_code == 403


def test_an_unknown_emergency_access_answers_404(client, officer):
    assert review(client, officer, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_the_patient_sees_that_the_privacy_officer_reviewed_the_access(client, care, officer, glass_broken):
    review(client, officer, glass_broken["id"], "justified", "Hemmelig kommentar")
    answer = client.get("/api/v1/me/access-log", headers=care.patient.headers)
    assert "emergency_access.review" in [e["action"] for e in answer.json["items"]]
    assert "Hemmelig" not in answer.text  # the verdict's comment is the officers' own


@pytest.mark.parametrize("bound", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z"])
def test_a_search_bound_out_of_range_answers_422(client, officer, bound):
    assert (
        client.get(AUDIT, query_string={"from": bound, "to": bound}, headers=officer.headers).status_code
        == 422
    )


# -- plain words ----------------------------------------------------------------------------


def test_each_event_says_in_plain_words_what_was_read(client, care, officer):
    client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)
    query = {"patient_id": str(care.patient.id)}
    nb = client.get(AUDIT, query_string=query, headers=officer.headers).json["items"]
    en = client.get(AUDIT, query_string=query, headers={**officer.headers, "Accept-Language": "en"})
    assert [(e["action"], e["description"], e["kind"]) for e in nb] == [
        ("crisis_plan.read", "Leste kriseplanen", "read")
    ]
    # (the first search is in the log now too, newest first)
    assert [e["description"] for e in en.json["items"]] == ["Searched the access log", "Read the crisis plan"]


# -- filters --------------------------------------------------------------------------------


def test_the_log_is_filtered_by_the_acting_staff_members_agency(
    client, care, officer, outsider, glass_broken
):
    read_overview(client, care, care.member)
    read_overview(client, care, outsider)  # under the glass: another agency's events
    page = client.get(
        AUDIT, query_string={"agency_id": str(care.member.staff.agency_id)}, headers=officer.headers
    ).json
    assert {e["actor_name"] for e in page["items"]} == {care.member.staff.display_name}
    other = client.get(
        AUDIT, query_string={"agency_id": str(outsider.staff.agency_id)}, headers=officer.headers
    ).json
    assert {e["actor_name"] for e in other["items"]} == {outsider.staff.display_name}


def test_the_log_is_filtered_by_kind_of_action(client, care, officer):
    read_overview(client, care, care.member)
    reads = client.get(
        AUDIT, query_string={"kind": "read", "patient_id": str(care.patient.id)}, headers=officer.headers
    ).json["items"]
    assert [e["action"] for e in reads] == ["patient.overview"]
    audit_use = client.get(AUDIT, query_string={"kind": "audit"}, headers=officer.headers).json["items"]
    assert audit_use and {e["kind"] for e in audit_use} == {"audit"}


def test_an_unknown_kind_answers_422(client, officer):
    assert client.get(AUDIT, query_string={"kind": "everything"}, headers=officer.headers).status_code == 422


def test_security_events_are_found_at_once(client, care, officer, outsider, glass_broken):
    read_overview(client, care, care.member)  # an ordinary read: not a security event
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=outsider.headers)  # under the glass
    client.post(
        "/api/v1/auth/token", json={"username": care.member.account.username, "password": "wrong-password-1"}
    )
    items = client.get(AUDIT, query_string={"security": "true"}, headers=officer.headers).json["items"]
    found = {(e["action"], e["outcome"], e["emergency"]) for e in items}
    assert ("emergency_access.start", "ok", True) in found or ("emergency_access.start", "ok", False) in found
    assert ("patient.overview", "ok", True) in found
    assert ("auth.login", "failed", False) in found
    assert ("patient.overview", "ok", False) not in found
    assert all(e["security"] for e in items)


def test_filters_combine_and_page_without_repeats(client, care, officer):
    for _ in range(3):
        read_overview(client, care, care.member)
    read_overview(client, care, care.coordinator)
    query = {
        "staff_id": str(care.member.id),
        "kind": "read",
        "agency_id": str(care.member.staff.agency_id),
        "from": HELD_ON,
        "to": HELD_ON,
        "limit": 2,
    }
    first = client.get(AUDIT, query_string=query, headers=officer.headers).json
    second = client.get(
        AUDIT, query_string={**query, "cursor": first["next_cursor"]}, headers=officer.headers
    ).json
    events = first["items"] + second["items"]
    assert [e["actor_name"] for e in events] == [care.member.staff.display_name] * 3
    assert second["next_cursor"] is None


# -- one patient's access log as a PDF ------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The text drawn on the pages, read back by pypdf, whitespace folded to single spaces
    (the font is embedded as a subset, so the text must be read through its own mapping)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def export(client, care, officer, **query):
    return client.get(
        f"{AUDIT}/patients/{care.patient.id}/access-log.pdf", query_string=query, headers=officer.headers
    )


def test_the_access_log_pdf_says_who_when_what_and_why(client, care, officer, outsider, glass_broken):
    client.get(f"/api/v1/staff/patients/{care.patient.id}/crisis-plan", headers=care.member.headers)
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=outsider.headers)
    answer = export(client, care, officer)
    assert (answer.status_code, answer.mimetype) == (200, "application/pdf")
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    words = pdf_text(answer.data)
    assert f"Innsynslogg for {care.patient.name}" in words
    assert care.member.staff.display_name in words and "Teammedlem" in words
    assert "Leste kriseplanen" in words
    assert outsider.staff.display_name in words
    assert "Nødtilgang uten samtykke" in words
    assert "akutt krise" in words  # the reason given under the glass
    assert "crisis_plan.read" not in words


def test_the_access_log_pdf_is_in_english_on_request(client, care, officer):
    read_overview(client, care, care.member)
    answer = client.get(
        f"{AUDIT}/patients/{care.patient.id}/access-log.pdf",
        headers={**officer.headers, "Accept-Language": "en"},
    )
    assert "Opened the patient's overview" in pdf_text(answer.data)


def test_the_access_log_pdf_leaves_out_the_patients_own_use_and_other_patients(client, care, officer, world):
    client.get("/api/v1/me/crisis-plan", headers=care.patient.headers)
    other = world.patient(care.team, consents={care.agency: "all"})
    client.get(f"/api/v1/staff/patients/{other.id}", headers=care.member.headers)
    words = pdf_text(export(client, care, officer).data)
    assert "Ingen andre har lest eller endret journalen i denne perioden." in words
    assert other.name not in words


def test_the_access_log_pdf_takes_a_period(client, care, officer):
    read_overview(client, care, care.member)
    assert "Leste" not in pdf_text(export(client, care, officer, to="2000-01-01").data)
    assert "Åpnet oversikten" in pdf_text(export(client, care, officer, **{"from": HELD_ON}).data)


def test_the_export_is_in_the_patients_own_access_log(client, care, officer):
    export(client, care, officer)
    log = client.get("/api/v1/me/access-log", headers=care.patient.headers).json["items"]
    assert ("audit.export_access_log", officer.staff.display_name) in [
        (e["action"], e["who"]["name"]) for e in log
    ]


@pytest.mark.parametrize("who", ["member", "coordinator"])
def test_only_the_privacy_officer_exports_an_access_log(client, care, who):
    assert export(client, care, getattr(care, who)).status_code == 403


def test_the_access_log_of_an_unknown_patient_answers_404(client, officer):
    answer = client.get(
        f"{AUDIT}/patients/00000000-0000-4000-8000-000000000000/access-log.pdf", headers=officer.headers
    )
    assert answer.status_code == 404


def test_a_long_access_log_runs_over_pages_with_its_heading_on_each():
    from datetime import UTC, datetime, timedelta

    from muli.patient.pdf import render_access_log
    from muli.trust.audit_review import AccessLogExport, AuditItem

    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    items = [
        AuditItem(
            seq=i,
            occurred_at=start + timedelta(minutes=i),
            action="crisis_plan.read",
            outcome="ok",
            actor_kind="staff",
            actor_name=f"Ansatt {i}",
            actor_role="member",
            actor_agency_name="Kommunen",
            patient_id=None,
            patient_display_name=None,
            resource="crisis_plan",
            resource_id=None,
            emergency=False,
            reason=None,
            ip=None,
            request_id=None,
            description="Read the crisis plan",
        )
        for i in range(300)
    ]
    export = AccessLogExport(
        patient_id=None,  # type: ignore[arg-type]
        patient_display_name="Kari",
        time_zone="Europe/Oslo",
        made_at=start,
        made_by_name="Lise",
        from_=None,
        to=None,
        items=items,
        truncated=False,
    )
    data = render_access_log(export, lambda text: text)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    words = pdf_text(data)
    assert pages > 3
    assert words.count("When Who What Why") == pages  # the table's heading on every page
    assert "Ansatt 0" in words and "Ansatt 299" in words
    assert f"Page {pages}" in words
    assert "1. mars 2026 09:00" in words  # local time (Oslo, winter: UTC+1), as people write it
    assert "1 Mar 2026 09:00" in pdf_text(render_access_log(export, lambda text: text, "en"))
