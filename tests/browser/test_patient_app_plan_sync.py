"""The app's plan sync is conditional: the second time the crisis plan opens, the app sends
the ETag of the copy on the phone (If-None-Match) and gets 304, keeping its copy; a changed
plan, or changed emergency numbers of the team, comes anew (200) and is shown."""

from __future__ import annotations

from sqlalchemy import update

from muli.extensions import db
from muli.models.people import Team
from tests.browser.test_patient_app_support import activate, enrol, put_crisis_plan, token

PLAN = "/api/v1/me/crisis-plan"


def _plan_requests(phone) -> list[tuple[str | None, int]]:
    """(If-None-Match sent, status) of each crisis-plan GET the page makes, in order."""
    seen: list[tuple[str | None, int]] = []

    def on_response(response):
        request = response.request
        if request.method == "GET" and request.url.endswith(PLAN):
            seen.append((request.headers.get("if-none-match"), response.status))

    phone.on("response", on_response)
    return seen


def _open_plan(phone, seen, count: int) -> None:
    """From the home screen to the crisis plan, until the page has made its `count`th plan GET."""
    phone.evaluate("location.hash = '#/'")
    phone.get_by_role("heading", name="Hei, Kari!").wait_for()
    phone.get_by_role("link", name="Når det er krise").click()
    for _ in range(150):  # at most 30 s
        if len(seen) >= count:
            return
        phone.wait_for_timeout(200)
    raise AssertionError(f"the app made {len(seen)} plan requests, not {count}: {seen}")


def test_a_second_load_sends_the_etag_gets_304_and_a_change_comes_anew(
    app, live_server, phone, world, client
):
    kari = enrol(world, client)
    activate(phone, live_server, kari)
    headers = token(client, kari)
    put_crisis_plan(client, headers)
    seen = _plan_requests(phone)

    _open_plan(phone, seen, 1)
    phone.get_by_text("ring Siv (søster)").wait_for()
    assert seen[0] == (None, 200)

    _open_plan(phone, seen, 2)
    phone.get_by_text("ring Siv (søster)").wait_for()
    sent, status = seen[1]
    assert sent is not None and sent.startswith('"crisis-') and status == 304

    # The team's on-call number changes; the plan does not: the phone must not keep the old number.
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == kari.team.id).values(on_call_phone="+4791234567"))
        db.session.commit()
    _open_plan(phone, seen, 3)
    assert seen[2] == (sent, 200)
    phone.locator("a.call", has_text="+4791234567").wait_for()

    # The plan itself changes (another device): fetched anew and shown.
    put_crisis_plan(client, headers, {"what_helps": "te og et teppe"})
    _open_plan(phone, seen, 4)
    assert seen[3][0] is not None and seen[3][0] != sent and seen[3][1] == 200
    phone.get_by_text("te og et teppe").wait_for()

    # And unchanged again: 304, and the copy kept on the phone is still shown.
    _open_plan(phone, seen, 5)
    assert seen[4][1] == 304
    phone.get_by_text("te og et teppe").wait_for()
