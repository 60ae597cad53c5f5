"""The patient's own tools in the app: mastery plan ("I tried this"), diary (private by
default, edit, delete), consent per agency, and who has read my data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from muli.extensions import db
from muli.platform.context import Actor
from muli.trust import audit
from tests.browser.test_patient_app_support import activate, enrol, token


def _mastery_plan(client, headers):
    etag = client.get("/api/v1/me/mastery-plan", headers=headers).headers["ETag"]
    response = client.put(
        "/api/v1/me/mastery-plan",
        json={"strategies": [{"title": "Gå en tur rundt vannet"}], "goals": [{"title": "Sove 7 timer"}]},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_i_tried_this_and_it_helped_is_recorded(live_server, phone, world, client, screenshot):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    headers = token(client, kari)
    _mastery_plan(client, headers)
    phone.get_by_role("link", name="Når du vil prøve selv").click()
    phone.get_by_role("heading", name="Gå en tur rundt vannet").wait_for()
    assert phone.get_by_text("Sove 7 timer").is_visible()
    phone.get_by_role("button", name="Jeg prøvde dette").click()
    phone.get_by_role("button", name="3: godt").click()
    phone.get_by_text("Prøvd 1 gang, hjalp i snitt 3 av 4.").wait_for()  # one: "gang", not "ganger"
    screenshot(phone, "mastery")
    strategy = client.get("/api/v1/me/mastery-plan", headers=headers).get_json()["strategies"][0]
    assert (strategy["times_tried"], strategy["average_helped"]) == (1, 3.0)


def test_the_patient_adds_a_strategy_to_the_mastery_plan(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Når du vil prøve selv").click()
    phone.get_by_role("link", name="Endre mestringsplanen").click()
    phone.locator("fieldset", has_text="Ting jeg kan prøve").get_by_role("button", name="Legg til").click()
    phone.get_by_role("textbox", name="Hva").first.fill("Høre på musikk")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_role("heading", name="Høre på musikk").wait_for()
    plan = client.get("/api/v1/me/mastery-plan", headers=token(client, kari)).get_json()
    assert [s["title"] for s in plan["strategies"]] == ["Høre på musikk"]


def test_a_diary_entry_is_private_unless_shared(live_server, phone, world, client, screenshot):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Når du trenger å skrive").click()
    phone.get_by_role("link", name="Skriv i dagboken").click()
    share = phone.get_by_role("switch", name="Del med teamet mitt")
    assert not share.is_checked()
    phone.get_by_label("Hva vil du skrive?").fill("En rolig dag.")
    phone.locator("input[name=mood]").fill("7")
    screenshot(phone, "diary-new")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("En rolig dag.").wait_for()
    entry = client.get("/api/v1/me/diary", headers=token(client, kari)).get_json()["items"][0]
    assert (entry["text"], entry["mood"], entry["shared_with_team"]) == ("En rolig dag.", 7, False)
    assert entry["sleep_hours"] is None  # never touched: not stored (it used to be 7 h)


def test_a_diary_entry_is_edited_and_deleted_for_good(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    headers = token(client, kari)
    client.post("/api/v1/me/diary", json={"text": "Første utkast"}, headers=headers)
    phone.get_by_role("link", name="Når du trenger å skrive").click()
    phone.get_by_text("Første utkast").click()
    phone.get_by_label("Hva vil du skrive?").fill("Andre utkast")
    phone.get_by_role("switch", name="Del med teamet mitt").check()
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Andre utkast").wait_for()
    entry = client.get("/api/v1/me/diary", headers=headers).get_json()["items"][0]
    assert (entry["text"], entry["shared_with_team"]) == ("Andre utkast", True)

    phone.get_by_text("Andre utkast").click()
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Slett for godt").click()
    phone.get_by_text("Ingenting skrevet ennå.").wait_for()
    assert client.get("/api/v1/me/diary", headers=headers).get_json()["items"] == []


def test_the_patient_withdraws_an_agencys_consent(live_server, phone, world, client, screenshot):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Samtykke").click()
    agency = phone.locator("fieldset.consent", has_text=kari.agency.name)
    crisis_plan = agency.get_by_role("switch", name="Kriseplanen")
    assert crisis_plan.is_checked()
    crisis_plan.uncheck()
    phone.get_by_text("Samtykket er trukket tilbake").wait_for()
    screenshot(phone, "consents")
    consents = client.get("/api/v1/me/consents", headers=token(client, kari)).get_json()["consents"]
    state = {(c["agency_id"], c["scope"]): c["state"] for c in consents}
    assert state[(str(kari.agency.id), "crisis_plan")] == "withdrawn"
    assert state[(str(kari.agency.id), "contact_requests")] == "granted"
    denied = client.get(f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan", headers=kari.member.headers)
    assert denied.status_code == 403


def test_the_patient_sees_who_has_read_the_crisis_plan(live_server, phone, world, client, screenshot):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    read = client.get(f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan", headers=kari.member.headers)
    assert read.status_code == 200
    phone.get_by_role("link", name="Hvem har lest mine data").click()
    entry = phone.locator("#access-log li", has_text="Ola Nordmann")
    entry.first.wait_for()
    assert "Leste kriseplanen" in entry.first.inner_text()
    screenshot(phone, "access-log")


def test_the_patient_downloads_all_their_data_as_fhir(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Hvem har lest mine data").click()
    with phone.expect_download() as download_info:
        phone.get_by_role("button", name="Last ned (FHIR)").click()
    download = download_info.value
    assert download.suggested_filename == "muli-export.fhir.json"
    bundle = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"


def test_an_event_by_another_patient_is_shown_by_a_label_not_their_name(
    app, live_server, phone, world, client
):
    """An audit event from before 0045, by another patient, held that patient's name: the
    access log answers without it and the app names a patient actor "En pasient"."""
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    other_name = f"MARKER-ANDRE-{uuid.uuid4().hex[:8]}"
    other = world.patient(kari.team, name=other_name)
    actor = Actor(kind="patient", account_id=other.account.id, patient_id=other.id, name=other_name)
    with app.app_context(), pytest.MonkeyPatch.context() as before:
        before.setattr(Actor, "is_patient", property(lambda self: False))  # as record() was
        audit.record(db.session, actor, "diary.read", patient_id=uuid.UUID(kari.patient_id), resource="diary")
        db.session.commit()
    phone.get_by_role("link", name="Hvem har lest mine data").click()
    entry = phone.locator("#access-log li", has_text="En pasient")
    entry.first.wait_for()
    assert other_name not in phone.locator("#access-log").inner_text()
