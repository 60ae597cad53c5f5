"""The patient sees what a staff proposal changes before approving it (issue 16, item 4)."""

from __future__ import annotations

from tests.browser.layout import wider_than_screen
from tests.browser.test_patient_app_support import KARI_PLAN, activate, enrol, put_crisis_plan, token

APP_WIDTH = 390

PROPOSED = {
    **KARI_PLAN,
    "warning_signs": [{"sign": "Får ikke sove", "action": "ring Siv (søster); eller legevakten"}],
    "coping_strategies": ["gå en tur rundt vannet", "ta en varm dusj"],
    "what_helps": "At noen kjenner historien min, og tid.",
}


def _propose(client, kari, plan) -> None:
    response = client.post(
        f"/api/v1/staff/patients/{kari.patient_id}/crisis-plan/proposals",
        json=plan,
        headers=kari.member.headers,
    )
    assert response.status_code == 201, response.get_json()


def test_the_patient_sees_what_a_proposal_changes_section_by_section(
    live_server, phone, world, client, screenshot
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    put_crisis_plan(client, token(client, kari))
    _propose(client, kari, PROPOSED)
    phone.get_by_role("link", name="Når det er krise").click()
    phone.get_by_text("Nytt forslag til kriseplan.").click()
    changes = phone.locator(".plan-changes")
    changes.get_by_role("heading", name="Dette endres hvis du godkjenner").wait_for()
    # Added, in words (not only a colour).
    coping = changes.locator("[data-section=coping_strategies]")
    assert coping.get_by_role("heading", name="Dette kan jeg gjøre selv").is_visible()
    assert coping.locator(".change.added").inner_text() == "Nytt: ta en varm dusj"
    # A structured item changed: old -> new, the semicolon kept as written.
    signs = changes.locator("[data-section=warning_signs] .change.changed")
    assert signs.locator(".change-word").inner_text() == "Endret:"
    assert signs.locator("dd.before").inner_text() == "Får ikke sove → ring Siv (søster)"
    assert signs.locator("dd.after").inner_text() == "Får ikke sove → ring Siv (søster); eller legevakten"
    # A text section: the text now and the proposed text.
    helps = changes.locator("[data-section=what_helps]")
    assert helps.locator("dd.before").inner_text() == "At noen kjenner historien min."
    assert helps.locator("dd.after").inner_text() == "At noen kjenner historien min, og tid."
    # Unchanged sections are folded away, named when opened.
    assert changes.locator("[data-section=people_to_ask]").count() == 0
    folded = changes.locator("details.unchanged")
    assert folded.locator("summary").inner_text() == "8 deler er uendret"
    assert not folded.get_by_text("Folk jeg kan spørre om hjelp").is_visible()
    folded.locator("summary").click()
    assert folded.get_by_text("Folk jeg kan spørre om hjelp").is_visible()
    assert not (wide := wider_than_screen(phone)), wide
    screenshot(phone, "proposal-diff")
    # Then the patient approves, and the plan is the proposal.
    with phone.expect_response(lambda r: r.url.endswith("/approve")) as approved:
        phone.get_by_role("button", name="Godkjenn", exact=True).click()
    assert approved.value.status == 200
    phone.locator("#crisis-plan").get_by_text("ta en varm dusj").wait_for()
    plan = client.get("/api/v1/me/crisis-plan", headers=token(client, kari)).get_json()
    assert plan["coping_strategies"] == ["gå en tur rundt vannet", "ta en varm dusj"]


def test_the_proposal_diff_reads_in_english_and_can_be_declined(
    live_server, phone, world, client, screenshot
):
    phone.set_viewport_size({"width": APP_WIDTH, "height": 844})
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    put_crisis_plan(client, token(client, kari))
    _propose(client, kari, {**KARI_PLAN, "coping_strategies": [], "reasons_to_live": ["katten min"]})
    phone.get_by_role("link", name="Innstillinger").first.click()
    phone.get_by_label("English").click()
    phone.get_by_role("heading", name="Hi, Kari!").wait_for()
    phone.goto(f"{live_server}/app/#/crisis/versions")
    changes = phone.locator(".plan-changes")
    changes.get_by_role("heading", name="What changes if you approve").wait_for()
    assert changes.locator("[data-section=coping_strategies] .change.removed").inner_text() == (
        "Taken out: gå en tur rundt vannet"
    )
    assert changes.locator("[data-section=reasons_to_live] .change.added").inner_text() == "New: katten min"
    screenshot(phone, "proposal-diff-en")
    with phone.expect_response(lambda r: r.url.endswith("/decline")) as declined:
        phone.get_by_role("button", name="Do not approve").click()
    assert declined.value.status == 200
    changes.wait_for(state="detached")
    phone.get_by_text("you declined").wait_for()
    versions = client.get("/api/v1/me/crisis-plan/versions", headers=token(client, kari)).get_json()["items"]
    assert [v["status"] for v in versions] == ["declined", "current"]
    plan = client.get("/api/v1/me/crisis-plan", headers=token(client, kari)).get_json()
    assert plan["coping_strategies"] == ["gå en tur rundt vannet"]
