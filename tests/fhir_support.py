"""A patient with something in every part of the record, for the FHIR tests."""

from __future__ import annotations

from datetime import timedelta

from tests.contact_support import SATURDAY_NIGHT, ask


def rich_patient(client, clock, world):
    """A care team whose patient has two plans with versions (one proposed by staff), a
    withdrawn consent, admissions (one involuntary, one still running), a contact request with
    messages both ways, and others' reads in the access log."""
    clock.set(SATURDAY_NIGHT)
    care = world.care_team()
    me = care.patient.headers
    etag = client.get("/api/v1/me/crisis-plan", headers=me).headers["ETag"]
    for text in ("første", "andre"):
        etag = client.put(
            "/api/v1/me/crisis-plan",
            json={"what_helps": text, "warning_signs": [{"sign": "søvnløs", "action": "ring"}]},
            headers={**me, "If-Match": etag},
        ).headers["ETag"]
    proposed = client.post(
        f"/api/v1/staff/patients/{care.patient.id}/crisis-plan/proposals",
        json={"what_helps": "tredje", "last_reviewed_with_team_on": "2026-01-05"},
        headers=care.member.headers,
    )
    assert proposed.status_code == 201, proposed.json
    etag = client.get("/api/v1/me/mastery-plan", headers=me).headers["ETag"]
    saved = client.put(
        "/api/v1/me/mastery-plan",
        json={"strategies": [{"title": "Gå en tur"}]},
        headers={**me, "If-Match": etag},
    )
    assert saved.status_code == 200, saved.json
    today = SATURDAY_NIGHT.date()
    for admitted, discharged, involuntary in (
        (today - timedelta(days=200), today - timedelta(days=190), True),
        (today - timedelta(days=100), today - timedelta(days=97), False),
        (today - timedelta(days=2), None, False),
    ):
        answer = client.post(
            f"/api/v1/staff/patients/{care.patient.id}/admissions",
            json={
                "admitted_on": admitted.isoformat(),
                "discharged_on": discharged.isoformat() if discharged else None,
                "facility": "PAM Sandviken",
                "involuntary": involuntary,
            },
            headers=care.member.headers,
        )
        assert answer.status_code == 201, answer.json
    request_id = ask(
        client, care.patient, {"kind": "chat", "urgency": "talk", "message": "Kan noen ringe meg?"}
    ).json["id"]
    clock.advance(minutes=1)
    client.post(f"/api/v1/staff/contact-requests/{request_id}/acknowledge", headers=care.member.headers)
    clock.advance(minutes=1)
    client.post(
        f"/api/v1/staff/contact-requests/{request_id}/messages",
        json={"body": "Jeg ringer om fem minutter"},
        headers=care.member.headers,
    )
    clock.advance(minutes=1)
    client.post(f"/api/v1/me/contact-requests/{request_id}/messages", json={"body": "Takk"}, headers=me)
    client.get(f"/api/v1/staff/patients/{care.patient.id}", headers=care.member.headers)
    other = world.agency(kind="municipality")
    world.staff(care.team, role="member", agency=other)
    withdrawn = client.put(
        "/api/v1/me/consents",
        json={
            "consents": [{"agency_id": str(care.agency.id), "scope": "meeting_notes", "state": "withdrawn"}]
        },
        headers=me,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    return care


def integration_client(runner, team, name: str = "DIPS Arena") -> tuple[str, str]:
    """A record system's client for `team`, made as an admin makes one (the CLI): id, secret."""
    result = runner.invoke(args=["muli", "integration-client", "create", "--team", team.name, "--name", name])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.strip().splitlines())
    return lines["client_id"], lines["client_secret (shown once)"]


def client_token(client, client_id: str, secret: str, **extra) -> dict:
    answer = client.post(
        "/api/v1/integration/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, **extra},
    )
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def encounter(nid: str, ident: str, start: str, end: str | None = None, *, involuntary=False, **over) -> dict:
    """An Encounter as a hospital's record system sends one."""
    resource = {
        "resourceType": "Encounter",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9999", "value": ident}],
        "status": "finished" if end else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "type": [
            {
                "coding": [
                    {
                        "system": "urn:muli:fhir:admission-legal-status",
                        "code": "involuntary" if involuntary else "voluntary",
                    }
                ]
            }
        ],
        "subject": {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": nid}},
        "period": {"start": start, **({"end": end} if end else {})},
        "location": [{"location": {"display": "PAM Sandviken"}}],
    }
    resource.update(over)
    return resource


def bundle(*resources: dict, kind: str = "transaction") -> dict:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "resource": r,
                **({"request": {"method": "POST", "url": "Encounter"}} if kind == "transaction" else {}),
            }
            for r in resources
        ],
    }
