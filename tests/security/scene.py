"""One small region for the security suites: two teams, every role, and data to steal.

Team A (agency X): coordinator, member, privacy officer, admin; patient `P` (the subject,
consents to X for everything), patient `P2` ("mate": same team, no consent at all) and
patient `R` (the "another patient" role, with no data of interest). Team B (agency Y):
a member, a coordinator and patient `Q` (consents to Y for everything).

Every piece of patient data carries a marker naming whose it is (`OWN`, `MATE`, `OTHER`),
so a test can prove that a response holds nothing its reader may not see. Resources are
made fresh for every cell (`Scene.make(param, kind)`), so one cell cannot spoil another.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from muli.extensions import db
from muli.trust import national_id
from tests.factories import World

OWN, MATE, OTHER = "kq1own", "kq2mate", "kq3other"
# Markers of clinical content (diary, plans, messages) and of names, per owner.
CONTENT = {owner: f"content-{owner}" for owner in (OWN, MATE, OTHER)}
NAME = {owner: f"name-{owner}" for owner in (OWN, MATE, OTHER)}
PRIVATE = {owner: f"private-{owner}" for owner in (OWN, MATE, OTHER)}
# What a patient writes when asking for contact: the responder on their team needs it,
# consent or not (the crisis comes first); nobody else may read it.
MESSAGE = {owner: f"message-{owner}" for owner in (OWN, MATE, OTHER)}

ROLES = (
    "anonymous",
    "patient",
    "other_patient",
    "member",
    "member_other_team",
    "coordinator",
    "privacy_officer",
    "admin",
)
ID_KINDS = ("own", "same_team", "other_team", "nonexistent")
# Whose resource each id kind names: the subject P, P2 on the same team, Q on team B.
OWNER = {"own": OWN, "same_team": MATE, "other_team": OTHER}

_days = itertools.count(1)


def _vold_programme_id(app) -> uuid.UUID:
    from muli.cli import system_ctx
    from muli.team import programmes

    with app.app_context():
        row = programmes.install_built_in(system_ctx(), "muli-vold")
        db.session.commit()
        return row.id


_nids = national_id.synthetic_numbers(date(1975, 3, 3), start=200)


# Bookkeeping a refused call may (and should) write: the audit trail, throttles, devices, tokens.
BOOKKEEPING = {
    "audit_event",
    "audit_head",
    "refusal_tally",  # refused attempts are counted (muli/trust/refusals.py)
    "login_throttle",
    "known_device",
    "revoked_token",
    "idempotency_record",
    "refresh_token",
    "account",
    "portal_session",  # a portal request's last-seen time; sessions end by sign-out and limits
    "refresh_family",
}


def fingerprint(app) -> dict[str, list[str]]:
    """Every row of every table but the bookkeeping, to prove a refused call changed nothing."""
    with app.app_context():
        try:
            return {
                t.name: sorted(repr(tuple(row)) for row in db.session.execute(select(t)))
                for t in db.metadata.sorted_tables
                if t.name not in BOOKKEEPING
            }
        finally:
            db.session.remove()


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def later_day() -> date:
    """A fresh future date for meetings and shifts, so no two cells collide."""
    return date(2030, 1, 1) + timedelta(days=next(_days))


def new_national_id() -> str:
    return next(_nids)


@dataclass
class Side:
    """A patient (with login) and the team they belong to."""

    patient: object
    team: object
    agency: object
    coordinator: object


class Scene:
    """The people of the region and fresh resources on demand."""

    def __init__(self, app, client, world: World):
        self.app, self.client, self.world = app, client, world
        self.meetings_of_actions: dict[str, str] = {}
        # Team B runs MULI vold (programmes as data): its own plan sections and the indicators
        # it records; team A runs MULI.
        self.team_a = world.team(f"Team A {OWN}")
        self.team_b = world.team(f"Team B {OTHER}", programme_id=_vold_programme_id(app))
        self.agency_x = world.agency(f"Agency X {uuid.uuid4().hex[:6]}", kind="dps")
        self.agency_y = world.agency(f"Agency Y {uuid.uuid4().hex[:6]}", kind="municipality")
        a, b, x, y = self.team_a, self.team_b, self.agency_x, self.agency_y
        self.staff = {
            "coordinator": world.staff(a, role="coordinator", agency=x),
            "member": world.staff(a, role="member", agency=x),
            "privacy_officer": world.staff(a, role="privacy_officer", agency=x),
            "admin": world.staff(a, role="admin", agency=x),
            "member_other_team": world.staff(b, role="member", agency=y),
        }
        self.coordinator_b = world.staff(b, role="coordinator", agency=y)
        p = world.patient(a, consents={x: "all"}, name=f"Pasient {NAME[OWN]}")
        p2 = world.patient(a, name=f"Pasient {NAME[MATE]}")
        q = world.patient(b, consents={y: "all"}, name=f"Pasient {NAME[OTHER]}")
        self.other_patient = world.patient(a, consents={x: "all"}, name="Pasient R")
        coord = self.staff["coordinator"]
        self.sides = {
            OWN: Side(p, a, x, coord),
            MATE: Side(p2, a, x, coord),
            OTHER: Side(q, b, y, self.coordinator_b),
        }
        for owner, side in self.sides.items():
            self._seed(owner, side)

    # -- who is asking -------------------------------------------------------------------
    def headers(self, role: str) -> dict:
        if role == "anonymous":
            return {}
        if role == "patient":
            return dict(self.sides[OWN].patient.headers)
        if role == "other_patient":
            return dict(self.other_patient.headers)
        return dict(self.staff[role].headers)

    def fresh_headers(self, role: str) -> dict:
        """A new token for the role, for a cell that revokes the one it used."""
        if role == "anonymous":
            return {}
        login = {"patient": self.sides[OWN].patient, "other_patient": self.other_patient}.get(role)
        login = login or self.staff[role]
        return {"Authorization": f"Bearer {self.world.token_for(login.account)}"}

    def forbidden_markers(self, role: str) -> set[str]:
        """What a role may never read, whatever it asks for."""
        everything = {*CONTENT.values(), *NAME.values(), *PRIVATE.values(), *MESSAGE.values()}
        if role == "patient":
            return everything - {CONTENT[OWN], NAME[OWN], PRIVATE[OWN], MESSAGE[OWN]}
        if role in ("member", "coordinator"):
            # Team A sees P's consented content, P2's name and request; never P2's clinical
            # content, team B, or anything a patient kept private.
            return everything - {CONTENT[OWN], NAME[OWN], NAME[MATE], MESSAGE[OWN], MESSAGE[MATE]}
        if role == "member_other_team":
            return everything - {CONTENT[OTHER], NAME[OTHER], MESSAGE[OTHER]}
        if role == "privacy_officer":
            return everything - set(NAME.values())  # the access log names every patient, nothing more
        return everything

    # -- data ----------------------------------------------------------------------------
    def call(self, method: str, url: str, headers: dict, json=None):
        response = self.client.open(url, method=method, headers=headers, json=json)
        assert response.status_code < 300, (method, url, response.status_code, response.get_json())
        return response

    def _seed(self, owner: str, side: Side) -> None:
        h = side.patient.headers
        self.call(
            "PUT",
            "/api/v1/me/crisis-plan",
            {**h, "If-Match": "*"},
            {"what_helps": CONTENT[owner], "coping_strategies": [CONTENT[owner]]},
        )
        self.diary(owner, shared=True)
        self.diary(owner, shared=False)
        self.contact_request(owner)

    def diary(self, owner: str, shared: bool = True) -> str:
        text = (CONTENT if shared else PRIVATE)[owner]
        body = {"text": f"diary {text}", "mood": 4, "shared_with_team": shared}
        r = self.call("POST", "/api/v1/me/diary", self.sides[owner].patient.headers, body)
        return r.get_json()["id"]

    def contact_request(self, owner: str) -> str:
        headers = {**self.sides[owner].patient.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"kind": "call_me", "urgency": "talk", "message": f"contact {MESSAGE[owner]}"}
        return self.call("POST", "/api/v1/me/contact-requests", headers, body).get_json()["id"]

    def strategy(self, owner: str) -> str:
        h = {**self.sides[owner].patient.headers, "If-Match": "*"}
        body = {"strategies": [{"title": f"walk {CONTENT[owner]}"}]}
        return self.call("PUT", "/api/v1/me/mastery-plan", h, body).get_json()["strategies"][0]["id"]

    def proposal(self, owner: str) -> int:
        side = self.sides[owner]
        url = f"/api/v1/staff/patients/{side.patient.id}/crisis-plan/proposals"
        body = {"what_helps": f"proposed {CONTENT[owner]}"}
        return self.call("POST", url, side.coordinator.headers, body).get_json()["version"]

    def meeting(self, owner: str) -> str:
        side = self.sides[owner]
        url = f"/api/v1/staff/teams/{side.team.id}/meetings"
        body = {"held_on": later_day().isoformat()}
        return self.call("POST", url, side.coordinator.headers, body).get_json()["id"]

    def action(self, owner: str) -> str:
        side = self.sides[owner]
        meeting_id = self.meeting(owner)
        about = OWN if owner == MATE else owner  # P2 gave no consent: an action needs it
        body = {
            "patient_id": str(self.sides[about].patient.id),
            "description": f"call {CONTENT[about]}",
            "responsible_agency_id": str(side.agency.id),
            "due_on": later_day().isoformat(),
        }
        url = f"/api/v1/staff/meetings/{meeting_id}/actions"
        action_id = self.call("POST", url, side.coordinator.headers, body).get_json()["id"]
        self.meetings_of_actions[action_id] = meeting_id
        return action_id

    def meeting_of_action(self, action_id: str, kind: str) -> str:
        return self.meetings_of_actions.get(action_id) or self.make("meeting_id", kind)

    def emergency_access(self, owner: str) -> str:
        side = self.sides[owner]
        url = f"/api/v1/staff/patients/{side.patient.id}/emergency-access"
        return self.call(
            "POST", url, side.coordinator.headers, {"reason": "ingen svarer, i krise"}
        ).get_json()["id"]

    def shift(self, owner: str) -> str:
        side = self.sides[owner]
        starts_at, ends_at = self.shift_window()
        url = f"/api/v1/staff/teams/{side.team.id}/on-call-shifts"
        body = {
            "staff_id": str(side.coordinator.id),
            "starts_at": starts_at,
            "ends_at": ends_at,
            "level": "backup",
        }
        return self.call("POST", url, side.coordinator.headers, body).get_json()["id"]

    def push_subscription(self, owner: str) -> str:
        """A device of the side's patient that gets notifications."""
        from tests.api.test_push_subscriptions import device

        body = device()
        return self.call(
            "POST", "/api/v1/me/push-subscriptions", self.sides[owner].patient.headers, body
        ).get_json()["id"]

    def make(self, param: str, kind: str):
        """A fresh value for the path parameter `param` naming a resource of `kind`."""
        if kind == "nonexistent":
            return 987654 if param == "version" else str(uuid.uuid4())
        if param == "key":
            return "muli"  # a programme is region-wide: every team's ids name the same one
        owner = OWNER[kind]
        side = self.sides[owner]
        makers = {
            "patient_id": lambda: str(side.patient.id),
            "team_id": lambda: str(side.team.id),
            "entry_id": lambda: self.diary(owner),
            "request_id": lambda: self.contact_request(owner),
            "strategy_id": lambda: self.strategy(owner),
            "version": lambda: self.proposal(owner),
            "meeting_id": lambda: self.meeting(owner),
            "action_id": lambda: self.action(owner),
            "access_id": lambda: self.emergency_access(owner),
            "shift_id": lambda: self.shift(owner),
            "subscription_id": lambda: self.push_subscription(owner),
            "account_id": self.staff_account,
            "session_id": self.session,
        }
        return makers[param]()

    def staff_account(self) -> str:
        """A throwaway staff account (administration may disable or reset it); a session id
        made next in the same path belongs to it."""
        login = self.world.staff(self.team_b)
        self._session_owner = login.account.id
        return str(login.account.id)

    def session(self) -> str:
        """An API login of the account just made, else of patient P."""
        from muli.cli import system_ctx
        from muli.models.accounts import Account
        from muli.trust import sessions

        owner = getattr(self, "_session_owner", None) or self.sides[OWN].patient.account.id
        self._session_owner = None
        with self.app.app_context():
            ctx = system_ctx()
            family = sessions.start_family(ctx, db.session.get(Account, owner), "Firefox/1 (Linux)")
            db.session.commit()
            return str(family.id)

    def shift_window(self) -> tuple[str, str]:
        start = datetime.combine(later_day(), datetime.min.time(), tzinfo=UTC)
        return start.isoformat(), (start + timedelta(hours=8)).isoformat()
