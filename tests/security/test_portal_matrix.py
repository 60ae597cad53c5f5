"""The staff portal's side of the authorization matrix: every /portal route, every role.

Anonymous visitors and patients (a patient's bearer token means nothing here) are sent to
sign in. Staff sign in through the real form (password and TOTP). GET pages answer
exactly; a refused POST may answer 403/404 or send the user back with a message, so for
POSTs the proof is that the database is unchanged after every refused cell. Team pages
take `?team=`: another team's id must fall back to one of mine, never show theirs.
"""

from __future__ import annotations

import itertools
import json
import uuid

import pytest

from muli.team.meetings.views import note_etag
from tests.portal.conftest import CSRF, Portal, compile_catalogues
from tests.security.matrix_rows import (
    ACCOUNT_IDS,
    CLINICAL,
    PATIENTS,
    PROGRAMME_KEYS,
    Row,
    _indicator_event,
    _muli_file,
    admin,
    privacy,
    staff,
)
from tests.security.scene import ROLES, Scene, changed_tables, fingerprint, later_day, new_national_id
from tests.security.test_authorization_matrix import PARAM, _leaks, _url

pytestmark = pytest.mark.security

LOGIN = "login"  # 302 to the sign-in page
SENT_BACK = (302, 303)  # a POST refused (or done) with a flash message
STAFF_ROLES = ("member", "member_other_team", "coordinator", "privacy_officer", "admin")
TEAM_KINDS = ("own", "other_team")  # for ?team=


def page(api_policy):
    """A GET page that follows its API twin: allowed → 200, refused → the same 403/404."""

    def expect(role, kind):
        if role == "anonymous" or role in PATIENTS:
            return LOGIN
        status = api_policy(role, kind)
        return 200 if 200 <= status < 300 else status

    return expect


def form(api_policy):
    """A POST form: allowed → done and sent back; refused → an error page, or the form again
    or sent back with a message; in every refused case the database is unchanged."""

    def expect(role, kind):
        if role == "anonymous" or role in PATIENTS:
            return LOGIN
        status = api_policy(role, kind)
        return (*SENT_BACK, 200) if 200 <= status < 300 else (*SENT_BACK, 200, 400, 403, 404)

    return expect


def _portal_indicator_event(role, kind):
    if role == "anonymous" or role in PATIENTS:
        return LOGIN
    status = _indicator_event(role, kind)
    if status == 422:
        return 422
    return form(lambda r, k: status)(role, kind)


def any_staff(status):
    return lambda role, kind: LOGIN if role == "anonymous" or role in PATIENTS else status


def public(status):
    return lambda role, kind: status


def clinical_team_page(role, kind):
    """A page of my team (chosen by ?team=); non-clinical roles have no team, so no such page."""
    if role == "anonymous" or role in PATIENTS:
        return LOGIN
    return 200 if role in CLINICAL else 404


def coordinator_form(role, kind):
    """A coordinator's team form; another team's id falls back to my own team."""
    if role == "anonymous" or role in PATIENTS:
        return LOGIN
    return (*SENT_BACK, 200) if role == "coordinator" else (*SENT_BACK, 200, 400, 403, 404)


def _shift_form(s: Scene, kind: str) -> dict:
    day = later_day().isoformat()
    return {
        "staff_id": str(s.staff["member"].id),
        "level": "backup",
        "starts_at": f"{day}T08:00",
        "ends_at": f"{day}T16:00",
    }


def _changed_shift(s: Scene) -> dict:
    day = later_day().isoformat()
    return {
        "staff_id": str(s.staff["coordinator"].id),
        "level": "backup",
        "starts_at": f"{day}T09:00",
        "ends_at": f"{day}T17:00",
    }


NO_IDS = ("none",)
NOTE_ETAG = "<the note's etag>"
COUNT = itertools.count()
COORDINATOR = ("coordinator",)

PORTAL_MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/portal/"): Row(any_staff((200, 302)), kinds=NO_IDS),
    ("GET", "/portal/login"): Row(public((200, 302)), kinds=NO_IDS),
    ("POST", "/portal/login"): Row(
        public(401),
        lambda s, k: {"username": f"nobody{next(COUNT)}", "password": "wrong", "totp": "000000"},
        kinds=NO_IDS,
    ),
    ("POST", "/portal/language/<code>"): Row(public(302), kinds=NO_IDS),
    ("POST", "/portal/logout"): Row(public(LOGIN), kinds=NO_IDS, alone=True),
    # HelseID's redirects: off in the scene (tests/api/test_oidc.py runs them on a real provider).
    ("GET", "/portal/helseid/login"): Row(public(404), kinds=NO_IDS),
    ("GET", "/portal/helseid/callback"): Row(public(404), kinds=NO_IDS),
    ("GET", "/portal/helseid/logout"): Row(public(404), kinds=NO_IDS),
    # Patients
    ("GET", "/portal/patients/"): Row(page(staff(200)), kinds=NO_IDS),
    ("GET", "/portal/patients/enrol"): Row(page(staff(200, allowed=COORDINATOR)), kinds=NO_IDS),
    ("POST", "/portal/patients/enrol"): Row(
        form(staff(201, allowed=COORDINATOR)),
        lambda s, k: {
            "display_name": "Ny",
            "national_id": new_national_id(),
            "team": str(s.team_a.id),
            "trusted_contact_id": "",
            "meets_criteria": "y",
        },
        kinds=NO_IDS,
    ),
    ("GET", "/portal/patients/<patient_id>"): Row(page(staff(200, mate=403))),
    ("GET", "/portal/patients/<patient_id>/crisis-plan.pdf"): Row(page(staff(200, mate=403))),
    ("GET", "/portal/patients/<patient_id>/export.fhir"): Row(page(staff(200, mate=403))),
    ("POST", "/portal/patients/<patient_id>/admissions"): Row(
        form(staff(201, mate=403)),
        lambda s, k: {"admitted_on": "2025-01-02", "facility": "PAM"},
    ),
    # Only team B runs a programme that records indicators (MULI vold): on team A the form
    # comes back with the indicator refused (422), nothing recorded.
    ("POST", "/portal/patients/<patient_id>/indicator-events"): Row(
        _portal_indicator_event,
        lambda s, k: {"indicator": "police_contacts", "occurred_on": "2025-01-02", "count": "1"},
    ),
    ("POST", "/portal/patients/<patient_id>/crisis-plan/proposals"): Row(
        form(staff(201, mate=403)), lambda s, k: {"what_helps": "en tur"}
    ),
    ("POST", "/portal/patients/<patient_id>/emergency-access"): Row(
        form(staff(201)), lambda s, k: {"reason": "i krise nå, ingen svarer"}, alone=True, opens=True
    ),
    # The contact-request queue
    ("GET", "/portal/queue/"): Row(page(staff(200)), kinds=NO_IDS),
    ("GET", "/portal/queue/live"): Row(page(staff(200)), kinds=NO_IDS),
    ("GET", "/portal/queue/poll"): Row(
        lambda r, k: 401 if r == "anonymous" or r in PATIENTS else 200 if r in CLINICAL else 403,
        kinds=NO_IDS,
    ),
    ("GET", "/portal/queue/<request_id>"): Row(page(staff(200))),
    ("POST", "/portal/queue/<request_id>/acknowledge"): Row(form(staff(200))),
    ("POST", "/portal/queue/<request_id>/call"): Row(form(staff(200))),
    ("POST", "/portal/queue/<request_id>/close"): Row(
        form(staff(200)), lambda s, k: {"outcome": "talked", "note": "ok"}
    ),
    ("POST", "/portal/queue/<request_id>/message"): Row(form(staff(201)), lambda s, k: {"body": "ringer"}),
    # Team pages (?team=)
    ("GET", "/portal/handover/"): Row(clinical_team_page, kinds=TEAM_KINDS),
    ("GET", "/portal/outcomes/"): Row(clinical_team_page, kinds=TEAM_KINDS),
    ("GET", "/portal/rota/"): Row(clinical_team_page, kinds=TEAM_KINDS),
    ("POST", "/portal/rota/"): Row(coordinator_form, _shift_form, kinds=TEAM_KINDS),
    ("GET", "/portal/rota/shifts/<uuid:shift_id>"): Row(
        page(staff(200, allowed=COORDINATOR, role_first=True))
    ),
    ("POST", "/portal/rota/shifts/<uuid:shift_id>"): Row(
        form(staff(200, allowed=COORDINATOR, role_first=True)), lambda s, k: _changed_shift(s)
    ),
    ("POST", "/portal/rota/shifts/<uuid:shift_id>/remove"): Row(
        form(staff(200, allowed=COORDINATOR, role_first=True))
    ),
    ("GET", "/portal/meetings/"): Row(clinical_team_page, kinds=TEAM_KINDS),
    ("POST", "/portal/meetings/"): Row(
        coordinator_form, lambda s, k: {"held_on": later_day().isoformat()}, kinds=TEAM_KINDS
    ),
    ("GET", "/portal/meetings/system-issues"): Row(
        lambda r, k: 403 if r in ("member", "member_other_team") else clinical_team_page(r, k), kinds=NO_IDS
    ),
    ("GET", "/portal/meetings/<meeting_id>"): Row(page(staff(200))),
    ("POST", "/portal/meetings/<meeting_id>/actions"): Row(
        form(staff(201)), lambda s, k: {"description": "ring fastlegen", "due_on": "2031-01-01"}
    ),
    ("POST", "/portal/meetings/<meeting_id>/actions/<action_id>/status"): Row(
        form(staff(200)), lambda s, k: {"status": "done"}
    ),
    ("POST", "/portal/meetings/<meeting_id>/addenda"): Row(
        form(staff(201)), lambda s, k: {"text": "tillegg"}
    ),
    ("POST", "/portal/meetings/<meeting_id>/attendees"): Row(form(staff(200)), lambda s, k: {"guests": ""}),
    ("POST", "/portal/meetings/<meeting_id>/notes/<patient_id>"): Row(
        form(staff(200, mate=403)), lambda s, k: {"text": "notat", "etag": NOTE_ETAG}
    ),
    ("POST", "/portal/meetings/<meeting_id>/sign"): Row(form(staff(200, allowed=COORDINATOR))),
    # Notifications on this device (the installable portal)
    ("GET", "/portal/manifest.webmanifest"): Row(public(200), kinds=NO_IDS),
    ("GET", "/portal/sw.js"): Row(public(200), kinds=NO_IDS),
    ("GET", "/portal/notifications"): Row(any_staff(200), kinds=NO_IDS),
    # A JSON endpoint for the page's script: the matrix's form body is refused (400); the
    # signed-out get 401 (JSON), not the sign-in page.
    ("POST", "/portal/notifications/subscribe"): Row(
        lambda r, k: 401 if r == "anonymous" or r in PATIENTS else 400, kinds=NO_IDS
    ),
    # The ids are patients' devices: nobody on the staff can turn them off.
    ("POST", "/portal/notifications/<subscription_id>/remove"): Row(
        lambda r, k: LOGIN if r == "anonymous" or r in PATIENTS else 404
    ),
    # The privacy officer
    ("GET", "/portal/audit/"): Row(page(privacy(200)), kinds=NO_IDS),
    ("GET", "/portal/audit/emergency-access"): Row(page(privacy(200)), kinds=NO_IDS),
    ("GET", "/portal/audit/logins"): Row(page(privacy(200)), kinds=NO_IDS),
    # No checkpoint in the scene: 404 for the privacy officer (tests/portal/test_audit_checkpoint.py).
    ("GET", "/portal/audit/checkpoint.json"): Row(page(privacy(404)), kinds=NO_IDS),
    ("POST", "/portal/audit/emergency-access/<access_id>/review"): Row(
        form(privacy(200)), body=lambda s, k: {"verdict": "justified", "comment": "Sjekket"}
    ),
    ("GET", "/portal/audit/patients/<patient_id>/access-log.pdf"): Row(page(privacy(200))),
    # My account; account administration (issue 15). The session id is patient P's login.
    ("GET", "/portal/account/"): Row(any_staff(200), kinds=NO_IDS),
    ("GET", "/portal/account/password"): Row(any_staff(200), kinds=NO_IDS),
    ("POST", "/portal/account/password"): Row(
        any_staff(400),
        lambda s, k: {"current_password": "not it", "new_password": "x" * 12, "new_password_again": "x" * 12},
        kinds=NO_IDS,
    ),
    ("POST", "/portal/account/sessions/<session_id>/end"): Row(any_staff(SENT_BACK), kinds=ACCOUNT_IDS),
    ("GET", "/portal/admin/accounts/"): Row(page(admin(200)), kinds=NO_IDS),
    ("GET", "/portal/admin/accounts/<account_id>"): Row(page(admin(200)), kinds=ACCOUNT_IDS),
    **{
        ("POST", f"/portal/admin/accounts/<account_id>/{action}"): Row(form(admin(200)), kinds=ACCOUNT_IDS)
        for action in ("disable", "enable", "password-reset", "totp-reset")
    },
    ("POST", "/portal/admin/accounts/<account_id>/helseid"): Row(
        form(admin(200)), lambda s, k: {"national_id": "", "hpr_number": ""}, kinds=ACCOUNT_IDS
    ),
    ("POST", "/portal/admin/accounts/<account_id>/sessions/<session_id>/end"): Row(
        form(admin(204)), kinds=ACCOUNT_IDS
    ),
    # Programmes (issue 18): the administrator's, region-wide.
    ("GET", "/portal/admin/programmes/"): Row(page(admin(200)), kinds=NO_IDS),
    ("GET", "/portal/admin/programmes/<key>"): Row(page(admin(200)), kinds=PROGRAMME_KEYS),
    ("GET", "/portal/admin/programmes/<key>/export"): Row(page(admin(200)), kinds=PROGRAMME_KEYS),
    ("POST", "/portal/admin/programmes/import"): Row(
        form(admin(200)), lambda s, k: {"text": json.dumps(_muli_file(s, k))}, kinds=NO_IDS
    ),
    ("POST", "/portal/admin/programmes/team"): Row(
        form(admin(200)), lambda s, k: {"team_id": str(s.team_b.id), "programme": "muli"}, kinds=NO_IDS
    ),
}

# Path values that are not ids of the scene; the action lives in its own meeting.
FIXED = {"code": lambda s, k: "en"}
TEAM_QUERY = {"/portal/handover/", "/portal/outcomes/", "/portal/rota/", "/portal/meetings/"}


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    compile_catalogues()


class Clients:
    """One browser per role: staff signed in through the form, the rest not signed in."""

    def __init__(self, app, scene: Scene):
        self.app, self.scene, self.by_role = app, scene, {}
        for role in ROLES:
            client = app.test_client()
            if role in STAFF_ROLES:
                response = Portal(app, client).login(scene.staff[role])
                assert response.status_code == 302, (role, response.status_code)
            self.by_role[role] = client

    def csrf(self, role: str) -> str:
        client = self.by_role[role]
        for path in ("/portal/login", "/portal/"):
            match = CSRF.search(client.get(path, follow_redirects=True).get_data(as_text=True))
            if match:
                return match.group(1)
        raise AssertionError(f"no CSRF token for {role}")


def _values(scene: Scene, rule: str, kind: str) -> dict:
    values = {}
    for p in PARAM.findall(rule):
        if p in FIXED:
            values[p] = FIXED[p](scene, kind)
        elif p == "action_id":
            values[p] = scene.make("action_id", kind)
        else:
            values.setdefault(p, scene.make(p, kind))
    if "meeting_id" in values and "action_id" in values:
        values["meeting_id"] = scene.meeting_of_action(values["action_id"], kind)
    return values


def _note_etag(values: dict) -> str:
    try:
        return note_etag(uuid.UUID(values["meeting_id"]), uuid.UUID(values["patient_id"]), 0)
    except ValueError:
        return '"0"'


def _matches(expected, response) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and "/portal/login" in response.headers.get("Location", "")
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if response.status_code in (302, 303) and "/portal/login" in response.headers.get("Location", ""):
        return False  # signed out is never the answer for a signed-in member of staff
    return response.status_code in allowed


def _ok(expected) -> bool:
    """Whether a cell expects success (those run last, each on fresh targets)."""
    statuses = expected if isinstance(expected, tuple) else (expected,)
    return expected != LOGIN and not set(statuses) & {400, 401, 403, 404}


def run_portal_route(scene: Scene, clients: Clients, method: str, rule: str, row: Row) -> list[str]:
    cells = sorted(((r, k) for r in ROLES for k in row.kinds), key=lambda c: _ok(row.expect(*c)))
    cached = {k: _values(scene, rule, k) for k in row.kinds}
    tokens = {role: clients.csrf(role) for role in ROLES}
    baseline, checked, failures = fingerprint(scene.app), False, []
    for role, kind in cells:
        expected = row.expect(role, kind)
        if _ok(expected) and not checked:
            changed = changed_tables(baseline, fingerprint(scene.app))
            failures += [f"{method} {rule}: refused calls changed {changed}"] if changed else []
            checked = True
        values = _values(scene, rule, kind) if _ok(expected) else cached[kind]
        url = _url(rule, values)
        if rule in TEAM_QUERY and kind != "none":
            url += f"?team={scene.make('team_id', kind)}"
        client = clients.by_role[role]
        headers = scene.headers(role) if role in PATIENTS else {}
        if method == "POST":
            data = {"csrf_token": tokens[role], **(row.body(scene, kind) if row.body else {})}
            if data.get("etag") == NOTE_ETAG:
                data["etag"] = _note_etag(values)
            r = client.post(url, data=data, headers=headers)
        else:
            r = client.get(url, headers=headers)
        where = f"{method} {rule} as {role} with {kind} id"
        if not _matches(expected, r):
            failures.append(f"{where}: {r.status_code} {r.headers.get('Location', '')}, expected {expected}")
        if leaked := _leaks(scene, role, r):
            failures.append(f"{where}: the page holds {leaked}")
        if r.status_code in (302, 303) and method == "POST" and not (row.opens and _ok(expected)):
            follow = client.get(r.headers["Location"], headers=headers)
            if leaked := _leaks(scene, role, follow):
                failures.append(f"{where}: the page it sends me to holds {leaked}")
    if not checked:
        changed = changed_tables(baseline, fingerprint(scene.app))
        failures += [f"{method} {rule}: refused calls changed {changed}"] if changed else []
    return failures


def group_of(key: tuple[str, str]) -> str:
    if PORTAL_MATRIX[key].alone:
        return f"{key[0]} {key[1]}"
    return key[1].split("/")[2] or "home"


GROUPS: dict[str, list[tuple[str, str]]] = {}
for _key in sorted(PORTAL_MATRIX):
    GROUPS.setdefault(group_of(_key), []).append(_key)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_role_gets_exactly_its_page_and_nothing_it_may_not_see(app, client, world, group):
    scene = Scene(app, client, world)
    clients = Clients(app, scene)
    failures = []
    for method, rule in GROUPS[group]:
        failures += run_portal_route(scene, clients, method, rule, PORTAL_MATRIX[(method, rule)])
    assert not failures, "\n".join(failures)


def test_every_portal_row_names_a_route_that_exists(app):
    routes = {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}
    stale = sorted(f"{m} {r}" for m, r in set(PORTAL_MATRIX) - routes)
    assert not stale, "rows for routes the app no longer has:\n" + "\n".join(stale)
