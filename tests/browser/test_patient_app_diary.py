"""The diary stores only what the patient entered: mood and sleep are unset until touched,
shown as unset, sent as null, and can be cleared again; the sliders have names; nothing on
the form (the "Del med teamet mitt" switch above all) is ever covered by a bar, at 320 and
390 px wide."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_patient_app_support import activate, enrol, token

SMALLEST = {"width": 320, "height": 568}
IPHONE_12 = {"width": 390, "height": 844}


def _entries(client, kari) -> list[dict]:
    return client.get("/api/v1/me/diary", headers=token(client, kari)).get_json()["items"]


def _open_new_entry(live_server, phone, world, client):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    phone.get_by_role("link", name="Når du trenger å skrive").click()
    phone.get_by_role("link", name="Skriv i dagboken").click()
    phone.get_by_label("Hva vil du skrive?").wait_for()
    return kari


def test_an_entry_with_only_text_stores_no_mood_and_no_sleep(live_server, phone, world, client, screenshot):
    kari = _open_new_entry(live_server, phone, world, client)
    mood = phone.get_by_role("slider", name="Humør")
    sleep = phone.get_by_role("slider", name="Søvn i natt")
    for slider in (mood, sleep):
        assert slider.get_attribute("aria-valuetext") == "ikke satt"
    assert phone.locator("output", has_text="ikke satt").count() == 2
    phone.get_by_label("Hva vil du skrive?").fill("Sov tre timer.")
    screenshot(phone, "unset")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Sov tre timer.").wait_for()
    [entry] = _entries(client, kari)
    assert (entry["text"], entry["mood"], entry["sleep_hours"]) == ("Sov tre timer.", None, None)
    assert "humør" not in phone.locator(".entry").first.inner_text()


def test_mood_and_sleep_are_stored_once_touched_and_can_be_cleared_again(
    live_server, phone, world, client, screenshot
):
    kari = _open_new_entry(live_server, phone, world, client)
    phone.get_by_label("Hva vil du skrive?").fill("Sov tre timer.")
    mood = phone.get_by_role("slider", name="Humør")
    sleep = phone.get_by_role("slider", name="Søvn i natt")
    mood.focus()
    for _ in range(3):
        phone.keyboard.press("ArrowLeft")  # from the middle: 5 - 3
    sleep.fill("3")
    expect(mood).not_to_have_attribute("aria-valuetext", "ikke satt")  # waits for the redraw
    screenshot(phone, "set")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Sov tre timer.").wait_for()
    [entry] = _entries(client, kari)
    assert (entry["mood"], entry["sleep_hours"]) == (2, 3.0)

    # Opened again: the values are shown as set; mood is cleared, sleep kept.
    phone.get_by_text("Sov tre timer.").click()
    phone.get_by_role("slider", name="Humør").wait_for()
    assert phone.get_by_role("slider", name="Humør").input_value() == "2"
    phone.get_by_role("button", name="Fjern humør").click()
    assert phone.get_by_role("slider", name="Humør").get_attribute("aria-valuetext") == "ikke satt"
    assert phone.get_by_role("button", name="Fjern humør").count() == 0  # nothing left to clear
    screenshot(phone, "cleared")
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_role("link", name="Skriv i dagboken").wait_for()
    [entry] = _entries(client, kari)
    assert (entry["mood"], entry["sleep_hours"]) == (None, 3.0)


def test_tapping_the_slider_where_it_stands_sets_that_value(live_server, phone, world, client):
    kari = _open_new_entry(live_server, phone, world, client)
    phone.get_by_label("Hva vil du skrive?").fill("Midt på treet.")
    mood = phone.get_by_role("slider", name="Humør")
    box = mood.bounding_box()
    phone.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # on the thumb
    assert mood.get_attribute("aria-valuetext") != "ikke satt"
    phone.get_by_role("button", name="Lagre").click()
    phone.get_by_text("Midt på treet.").wait_for()
    [entry] = _entries(client, kari)
    assert (entry["mood"], entry["sleep_hours"]) == (5, None)


# Every control of the form reached by Tab, as the browser scrolls it into view: its centre
# and corners are its own (elementFromPoint), not a bar's, and it is inside the viewport.
UNCOVERED = """(el) => {
  const target = el.closest('label') || el;
  const r = target.getBoundingClientRect();
  const inset = 2;
  const points = [
    [r.left + r.width / 2, r.top + r.height / 2],
    [r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
    [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset],
  ];
  const covered = [];
  for (const [x, y] of points) {
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(target.contains(hit) || hit.contains(target))) {
      covered.push({x, y, by: hit ? (hit.id || hit.className || hit.tagName) : 'outside the viewport'});
    }
  }
  return {name: el.name || el.textContent.trim(), top: r.top, bottom: r.bottom, covered};
}"""


@pytest.mark.parametrize("size", [SMALLEST, IPHONE_12], ids=["320", "390"])
def test_no_control_of_the_diary_form_is_covered(live_server, phone, world, client, screenshot, size):
    _open_new_entry(live_server, phone, world, client)
    phone.set_viewport_size(size)
    phone.get_by_label("Hva vil du skrive?").fill("Litt tekst.\n" * 6)
    share = phone.get_by_role("switch", name="Del med teamet mitt")
    seen = []
    phone.get_by_label("Hva vil du skrive?").focus()
    for _ in range(20):
        focused = phone.evaluate_handle("document.activeElement")
        if not focused.evaluate("el => !!el.closest('form')"):
            break
        result = focused.evaluate(UNCOVERED)
        seen.append(result["name"])
        assert result["covered"] == [], (size, result)
        phone.keyboard.press("Tab")
    assert "shared_with_team" in seen and "Lagre" in seen, seen
    share.scroll_into_view_if_needed()
    screenshot(phone, f"share-{size['width']}")
    share.check()  # a real tap on the switch: Playwright refuses if anything is on top of it
    assert share.is_checked()
    # Scrolled to the very end, too.
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    screenshot(phone, f"end-{size['width']}")
    assert share.evaluate(UNCOVERED)["covered"] == []
