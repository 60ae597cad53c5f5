"""The authorization matrix: for every route and method, what each role gets for each id.

A row is an `expect(role, kind) -> status` function built by one of the policies below,
plus (for writes) a valid minimal body, so an allowed cell proves the success path and
a refused cell proves the refusal. Id kinds name whose resource the path points at:
`own` (patient P, team A), `same_team` (P2 on team A, who gave no consent), `other_team`
(Q, team B) and `nonexistent`; a route without ids has the single kind `none`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from muli.team.meetings.views import note_etag
from tests.factories import PASSWORD
from tests.security.scene import ID_KINDS, OWNER, Scene, later_day, new_national_id

PATIENTS = ("patient", "other_patient")
CLINICAL = ("member", "coordinator", "member_other_team")
TEAM_A = ("member", "coordinator")
Status = int | tuple[int, ...]


@dataclass
class Row:
    expect: Callable[[str, str], Status]
    body: Callable[[Scene, str], dict | None] | None = None
    headers: Callable[[Scene, str, dict], dict] | None = None
    kinds: tuple[str, ...] = ID_KINDS
    alone: bool = False  # changes what later cells see: asked in a region of its own
    spends_token: bool = False  # revokes the caller's token: asked with a fresh one
    opens: bool = False  # break-the-glass: once allowed, the record may be shown


# -- policies ---------------------------------------------------------------------------
def me(ok: int) -> Callable[[str, str], Status]:
    """/me without an id: each patient gets their own; staff are the wrong kind of account."""
    return lambda role, kind: 401 if role == "anonymous" else ok if role in PATIENTS else 403


def me_owned(ok: int) -> Callable[[str, str], Status]:
    """/me/…/{id}: only P's own id works; anyone else's id does not exist for P."""

    def expect(role, kind):
        if role == "anonymous":
            return 401
        if role not in PATIENTS:
            return 403
        return ok if (role, kind) == ("patient", "own") else 404

    return expect


def _mine(role: str, kind: str) -> bool:
    return kind in ("own", "same_team", "none") if role in TEAM_A else kind in ("other_team", "none")


def staff(
    ok: int,
    *,
    allowed: tuple[str, ...] = CLINICAL,
    mate: Status | None = None,
    outsider: int = 404,
    role_first: bool = False,
) -> Callable[[str, str], Status]:
    """Staff routes. `allowed`: roles that may (others on the team get 403). `mate`: the
    answer for P2, who gave no consent. `outsider`: another team's or an unknown id.
    `role_first`: the role is checked before the id is looked up (coordinator routes)."""

    def expect(role, kind):
        if role == "anonymous":
            return 401
        if role in PATIENTS or role not in CLINICAL:
            return 403  # a patient token, a privacy officer, an admin: no clinical access
        if role_first and role not in allowed:
            return 403
        if kind == "nonexistent" or not _mine(role, kind):
            return outsider
        if role not in allowed:
            return 403
        return mate if kind == "same_team" and mate is not None else ok

    return expect


def privacy(ok: int) -> Callable[[str, str], Status]:
    """The privacy officer's routes: region-wide, and nobody else's (no clinician, no admin)."""

    def expect(role, kind):
        if role == "anonymous":
            return 401
        if role != "privacy_officer":
            return 403
        return 404 if kind == "nonexistent" else ok

    return expect


def any_staff_account(status: int) -> Callable[[str, str], Status]:
    """Routes of every staff account's own (its devices): patients are the wrong kind."""
    return lambda role, kind: 401 if role == "anonymous" else 403 if role in PATIENTS else status


def admin(ok: int) -> Callable[[str, str], Status]:
    """Account administration: the `admin` role only; an unknown account does not exist."""

    def expect(role, kind):
        if role == "anonymous":
            return 401
        if role != "admin":
            return 403
        return 404 if kind == "nonexistent" else ok

    return expect


def own_session(ok: int) -> Callable[[str, str], Status]:
    """/account/sessions/{id}: the id is P's login; for anyone else it does not exist."""

    def expect(role, kind):
        if role == "anonymous":
            return 401
        return ok if (role, kind) == ("patient", "own") else 404

    return expect


def public(answer: int) -> Callable[[str, str], Status]:
    return lambda role, kind: answer


def signed_in(ok: int) -> Callable[[str, str], Status]:
    return lambda role, kind: 401 if role == "anonymous" else ok


# -- bodies ----------------------------------------------------------------------------
def _side(s: Scene, kind: str):
    return s.sides[OWNER.get(kind, OWNER["own"])]


def _team_patient(s: Scene, kind: str) -> str:
    """A consenting patient of the id's team (P for team A, Q for team B)."""
    return str(_side(s, "other_team" if kind == "other_team" else "own").patient.id)


def _device() -> dict:
    from tests.api.test_push_subscriptions import device

    return device()


def _shift(s: Scene, kind: str) -> dict:
    starts, ends = s.shift_window()
    who = s.staff["member_other_team"] if kind == "other_team" else s.staff["member"]
    return {"staff_id": str(who.id), "starts_at": starts, "ends_at": ends, "level": "backup"}


def _action(s: Scene, kind: str) -> dict:
    agency = s.agency_y if kind == "other_team" else s.agency_x
    return {"patient_id": _team_patient(s, kind), "description": "ring the GP",
            "responsible_agency_id": str(agency.id), "due_on": "2031-01-01"}  # fmt: skip


def _enrol(s: Scene, kind: str) -> dict:
    return {
        "display_name": "Ny pasient",
        "national_id": new_national_id(),
        "team_id": str(s.team_a.id),
        "criteria_confirmed": True,
    }


def _note_etag(s: Scene, kind: str, values: dict) -> dict:
    try:
        return {"If-Match": note_etag(uuid.UUID(values["meeting_id"]), uuid.UUID(values["patient_id"]), 0)}
    except ValueError:
        return {"If-Match": '"x"'}


def _if_match_any(s: Scene, kind: str, values: dict) -> dict:
    return {"If-Match": "*"}


def _indicator_event(role: str, kind: str) -> Status:
    """Recorded as admissions are (any consent); only team B's programme (MULI vold) records
    indicators, so on team A an allowed call gets as far as the 422 of the indicator."""
    answer = staff(201, mate=403)(role, kind)
    return 422 if answer == 201 and kind != "other_team" else answer


def _muli_file(s: Scene, kind: str) -> dict:
    from muli.patient import programme

    return programme.exported(programme.default())


PLAN = {"what_helps": "a walk"}
PROGRAMME_KEYS = ("own", "nonexistent")  # a programme's key: MULI's, or one nobody made
ADMISSION = {"admitted_on": "2025-01-02", "facility": "Akuttpost", "involuntary": False}
NO_IDS = ("none",)
ACCOUNT_IDS = ("own", "nonexistent")  # a throwaway staff account (and its login), or none
VERSION_IDS = ("own", "nonexistent")  # version numbers are per patient: they always name mine

# -- the matrix ------------------------------------------------------------------------
MATRIX: dict[tuple[str, str], Row] = {
    # Auth: public doors, and logout for anyone signed in.
    ("POST", "/api/v1/auth/activate"): Row(
        # A wrong code is 400; after six from one address the throttle answers 429 unchecked.
        lambda role, kind: (400, 429),
        lambda s, k: {
            "activation_code": "NOPE-1234",
            "username": f"u{uuid.uuid4().hex[:8]}",
            "password": "en lang og god setning",
        },
        kinds=NO_IDS,
    ),
    ("POST", "/api/v1/auth/token"): Row(
        public(401),
        lambda s, k: {"username": f"nobody{uuid.uuid4().hex[:8]}", "password": "wrong"},
        kinds=NO_IDS,
    ),
    ("POST", "/api/v1/auth/refresh"): Row(public(401), kinds=NO_IDS),  # an access token cannot refresh
    ("GET", "/api/v1/auth/sign-in-options"): Row(public(200), kinds=NO_IDS),
    # A record system's door: only an integration client's token opens it, never a person's.
    ("POST", "/api/v1/integration/token"): Row(
        public(401),
        lambda s, k: {
            "grant_type": "client_credentials",
            "client_id": str(uuid.uuid4()),
            "client_secret": "wrong",
        },
        kinds=NO_IDS,
    ),
    ("POST", "/api/v1/integration/fhir"): Row(
        public(401),
        lambda s, k: {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Encounter",
                        "identifier": [{"system": "urn:example", "value": "E1"}],
                        "status": "in-progress",
                        "class": {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "code": "IMP",
                        },
                        "subject": {
                            "identifier": {
                                "system": "urn:oid:2.16.578.1.12.4.1.4.1",
                                "value": new_national_id(),
                            }
                        },
                        "period": {"start": "2026-01-01"},
                    }
                }
            ],
        },
        kinds=NO_IDS,
    ),
    ("POST", "/api/v1/auth/logout"): Row(signed_in(204), kinds=NO_IDS, spends_token=True),
    # My account: every signed-in account changes its own password (a region of its own, and
    # a fresh token: the change ends the account's other sessions).
    ("POST", "/api/v1/account/password"): Row(
        signed_in(204),
        lambda s, k: {"current_password": PASSWORD, "new_password": "en lang og god setning"},
        kinds=NO_IDS,
        alone=True,
        spends_token=True,
    ),
    ("GET", "/api/v1/account/sessions"): Row(signed_in(200), kinds=NO_IDS),
    ("DELETE", "/api/v1/account/sessions/<uuid:session_id>"): Row(own_session(204), kinds=ACCOUNT_IDS),
    # Account administration (issue 15): the admin role only.
    ("GET", "/api/v1/admin/accounts"): Row(admin(200), kinds=NO_IDS),
    ("POST", "/api/v1/admin/accounts/<uuid:account_id>/disable"): Row(admin(200), kinds=ACCOUNT_IDS),
    ("POST", "/api/v1/admin/accounts/<uuid:account_id>/enable"): Row(admin(200), kinds=ACCOUNT_IDS),
    ("POST", "/api/v1/admin/accounts/<uuid:account_id>/password-reset"): Row(admin(200), kinds=ACCOUNT_IDS),
    ("POST", "/api/v1/admin/accounts/<uuid:account_id>/totp-reset"): Row(admin(200), kinds=ACCOUNT_IDS),
    ("GET", "/api/v1/admin/accounts/<uuid:account_id>/sessions"): Row(admin(200), kinds=ACCOUNT_IDS),
    ("DELETE", "/api/v1/admin/accounts/<uuid:account_id>/sessions/<uuid:session_id>"): Row(
        admin(204), kinds=ACCOUNT_IDS
    ),
    # Programmes (issue 18): the administrator's, region-wide.
    ("GET", "/api/v1/admin/programmes"): Row(admin(200), kinds=NO_IDS),
    ("GET", "/api/v1/admin/programmes/<string:key>"): Row(admin(200), kinds=PROGRAMME_KEYS),
    ("PUT", "/api/v1/admin/programmes/<string:key>"): Row(admin(200), _muli_file, kinds=("own",)),
    ("PUT", "/api/v1/admin/teams/<uuid:team_id>/programme"): Row(
        admin(200), lambda s, k: {"programme": "muli"}
    ),
    # The patient's own data.
    ("GET", "/api/v1/me"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/programme"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/access-log"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/consents"): Row(me(200), kinds=NO_IDS),
    ("PUT", "/api/v1/me/consents"): Row(
        me(200),
        lambda s, k: {
            "consents": [{"agency_id": str(s.agency_x.id), "scope": "crisis_plan", "state": "granted"}]
        },
        kinds=NO_IDS,
    ),
    ("PUT", "/api/v1/me/phone"): Row(me(200), lambda s, k: {"phone": "+4700000101"}, kinds=NO_IDS),
    ("GET", "/api/v1/me/contact-requests"): Row(me(200), kinds=NO_IDS),
    # Devices that get notifications: each account's own; another's id does not exist.
    ("GET", "/api/v1/me/push-subscriptions"): Row(me(200), kinds=NO_IDS),
    ("POST", "/api/v1/me/push-subscriptions"): Row(me(201), lambda s, k: _device(), kinds=NO_IDS),
    ("DELETE", "/api/v1/me/push-subscriptions/<uuid:subscription_id>"): Row(me_owned(204)),
    ("GET", "/api/v1/staff/push-subscriptions"): Row(any_staff_account(200), kinds=NO_IDS),
    ("POST", "/api/v1/staff/push-subscriptions"): Row(
        any_staff_account(201), lambda s, k: _device(), kinds=NO_IDS
    ),
    # The ids are patients' devices: no member of staff can remove them.
    ("DELETE", "/api/v1/staff/push-subscriptions/<uuid:subscription_id>"): Row(any_staff_account(404)),
    ("POST", "/api/v1/me/contact-requests"): Row(
        me(201), lambda s, k: {"kind": "call_me", "urgency": "talk"}, kinds=NO_IDS
    ),
    ("GET", "/api/v1/me/contact-requests/<uuid:request_id>"): Row(me_owned(200)),
    ("POST", "/api/v1/me/contact-requests/<uuid:request_id>/cancel"): Row(me_owned(200)),
    ("POST", "/api/v1/me/contact-requests/<uuid:request_id>/messages"): Row(
        me_owned(201), lambda s, k: {"body": "er her"}
    ),
    ("GET", "/api/v1/me/crisis-plan"): Row(me(200), kinds=NO_IDS),
    ("PUT", "/api/v1/me/crisis-plan"): Row(me(200), lambda s, k: PLAN, _if_match_any, kinds=NO_IDS),
    ("GET", "/api/v1/me/crisis-plan.pdf"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/crisis-plan/versions"): Row(me(200), kinds=NO_IDS),
    ("POST", "/api/v1/me/crisis-plan/versions/<int:version>/approve"): Row(me_owned(200), kinds=VERSION_IDS),
    ("POST", "/api/v1/me/crisis-plan/versions/<int:version>/decline"): Row(me_owned(200), kinds=VERSION_IDS),
    ("GET", "/api/v1/me/diary"): Row(me(200), kinds=NO_IDS),
    ("POST", "/api/v1/me/diary"): Row(me(201), lambda s, k: {"text": "en god dag"}, kinds=NO_IDS),
    ("GET", "/api/v1/me/diary/<uuid:entry_id>"): Row(me_owned(200)),
    ("PATCH", "/api/v1/me/diary/<uuid:entry_id>"): Row(me_owned(200), lambda s, k: {"text": "endret"}),
    ("DELETE", "/api/v1/me/diary/<uuid:entry_id>"): Row(me_owned(204)),
    ("GET", "/api/v1/me/export"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/export.fhir"): Row(me(200), kinds=NO_IDS),
    ("GET", "/api/v1/me/mastery-plan"): Row(me(200), kinds=NO_IDS),
    ("PUT", "/api/v1/me/mastery-plan"): Row(
        me(200), lambda s, k: {"strategies": [{"title": "gå tur"}]}, _if_match_any, kinds=NO_IDS
    ),
    ("POST", "/api/v1/me/mastery-plan/strategies/<uuid:strategy_id>/uses"): Row(
        me_owned(201), lambda s, k: {"helped": 3}
    ),
    # Staff: contact requests (responders see the request whatever the consent).
    ("GET", "/api/v1/staff/contact-requests"): Row(staff(200), kinds=NO_IDS),
    ("GET", "/api/v1/staff/contact-requests/<uuid:request_id>"): Row(staff(200)),
    ("POST", "/api/v1/staff/contact-requests/<uuid:request_id>/acknowledge"): Row(staff(200)),
    ("POST", "/api/v1/staff/contact-requests/<uuid:request_id>/call"): Row(staff(200)),
    ("POST", "/api/v1/staff/contact-requests/<uuid:request_id>/close"): Row(
        staff(200), lambda s, k: {"outcome": "talked", "note": "ok"}
    ),
    ("POST", "/api/v1/staff/contact-requests/<uuid:request_id>/messages"): Row(
        staff(201), lambda s, k: {"body": "ringer deg"}
    ),
    # Staff: patients and their record (consent-scoped; P2 gave none).
    ("GET", "/api/v1/staff/patients"): Row(staff(200), kinds=NO_IDS),
    ("POST", "/api/v1/staff/patients"): Row(staff(201, allowed=("coordinator",)), _enrol, kinds=NO_IDS),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>"): Row(staff(200, mate=403)),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/admissions"): Row(staff(200, mate=403)),
    ("POST", "/api/v1/staff/patients/<uuid:patient_id>/admissions"): Row(
        staff(201, mate=403), lambda s, k: ADMISSION
    ),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/crisis-plan"): Row(staff(200, mate=403)),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/crisis-plan.pdf"): Row(staff(200, mate=403)),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/export.fhir"): Row(staff(200, mate=403)),
    ("POST", "/api/v1/staff/patients/<uuid:patient_id>/crisis-plan/proposals"): Row(
        staff(201, mate=403), lambda s, k: PLAN
    ),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/diary"): Row(staff(200, mate=403)),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/indicator-events"): Row(staff(200, mate=403)),
    ("POST", "/api/v1/staff/patients/<uuid:patient_id>/indicator-events"): Row(
        _indicator_event, lambda s, k: {"indicator": "police_contacts", "occurred_on": "2025-01-02"}
    ),
    ("GET", "/api/v1/staff/programmes"): Row(staff(200), kinds=NO_IDS),
    ("GET", "/api/v1/staff/patients/<uuid:patient_id>/mastery-plan"): Row(staff(200, mate=403)),
    ("POST", "/api/v1/staff/patients/<uuid:patient_id>/emergency-access"): Row(
        staff(201), lambda s, k: {"reason": "i krise nå, ingen svarer"}, alone=True
    ),
    # Staff: teams, rota, hand-over, meetings.
    ("GET", "/api/v1/staff/teams/<uuid:team_id>/handover"): Row(staff(200)),
    ("GET", "/api/v1/staff/teams/<uuid:team_id>/on-call-shifts"): Row(staff(200)),
    ("POST", "/api/v1/staff/teams/<uuid:team_id>/on-call-shifts"): Row(
        staff(201, allowed=("coordinator",), outsider=403, role_first=True), _shift
    ),
    ("GET", "/api/v1/staff/teams/<uuid:team_id>/meetings"): Row(staff(200)),
    ("POST", "/api/v1/staff/teams/<uuid:team_id>/meetings"): Row(
        staff(201, allowed=("coordinator",), outsider=403, role_first=True),
        lambda s, k: {"held_on": later_day().isoformat()},
    ),
    ("GET", "/api/v1/staff/teams/<uuid:team_id>/system-issues"): Row(
        staff(200, allowed=("coordinator",), outsider=403, role_first=True)
    ),
    ("GET", "/api/v1/staff/meetings/<uuid:meeting_id>"): Row(staff(200)),
    ("POST", "/api/v1/staff/meetings/<uuid:meeting_id>/actions"): Row(staff(201), _action),
    ("POST", "/api/v1/staff/meetings/<uuid:meeting_id>/addenda"): Row(
        staff(201), lambda s, k: {"text": "tillegg"}
    ),
    ("PUT", "/api/v1/staff/meetings/<uuid:meeting_id>/attendees"): Row(
        staff(200), lambda s, k: {"staff_ids": []}
    ),
    ("GET", "/api/v1/staff/meetings/<uuid:meeting_id>/notes/<uuid:patient_id>"): Row(staff(200, mate=403)),
    ("PUT", "/api/v1/staff/meetings/<uuid:meeting_id>/notes/<uuid:patient_id>"): Row(
        staff(200, mate=403), lambda s, k: {"text": "notat"}, _note_etag
    ),
    ("POST", "/api/v1/staff/meetings/<uuid:meeting_id>/sign"): Row(
        staff(200, allowed=("coordinator",), role_first=True)
    ),
    ("PATCH", "/api/v1/staff/actions/<uuid:action_id>"): Row(staff(200), lambda s, k: {"status": "done"}),
    ("GET", "/api/v1/staff/teams/<uuid:team_id>/outcomes"): Row(staff(200)),
    # The privacy officer: the access log and the review of break-the-glass access.
    ("GET", "/api/v1/staff/audit"): Row(privacy(200), kinds=NO_IDS),
    ("GET", "/api/v1/staff/audit/emergency-access"): Row(privacy(200), kinds=NO_IDS),
    ("GET", "/api/v1/staff/audit/login-failures"): Row(privacy(200), kinds=NO_IDS),
    # The scene writes no checkpoint, so the privacy officer's download is a 404 here (the
    # download itself: tests/unit/trust/test_audit_anchor.py); everyone else is refused.
    ("GET", "/api/v1/staff/audit/checkpoint"): Row(privacy(404), kinds=NO_IDS),
    ("POST", "/api/v1/staff/audit/emergency-access/<uuid:access_id>/review"): Row(
        privacy(200), body=lambda s, k: {"verdict": "justified", "comment": "Sjekket"}
    ),
    ("GET", "/api/v1/staff/audit/patients/<uuid:patient_id>/access-log.pdf"): Row(privacy(200)),
}
