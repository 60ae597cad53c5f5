"""Builders for test data: teams, agencies, staff and patients, with auth headers.

Accounts get a password hash made once per test process (Argon2 is slow on purpose);
tokens are minted directly, except in the auth tests, which log in for real.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from flask_jwt_extended import create_access_token
from sqlalchemy import select

from muli.cli import system_ctx
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.base import utcnow
from muli.models.consent import CONSENT_SCOPES, Consent, ConsentChange
from muli.models.people import Agency, Patient, Staff, Team, TeamMembership
from muli.trust import accounts, national_id

PASSWORD = "correct-horse-battery-staple-7"
_counter = itertools.count(1)
_nids = national_id.synthetic_numbers(date(1990, 1, 15), start=100)

__all__ = ["PASSWORD", "World", "utcnow"]


@cache
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class StaffLogin:
    staff: Staff
    account: Account
    totp_secret: str
    headers: dict = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.staff.id


@dataclass
class PatientLogin:
    patient: Patient
    account: Account
    headers: dict = field(default_factory=dict)
    name: str = ""  # the name the factory sealed into patient.display_name_enc

    @property
    def id(self) -> uuid.UUID:
        return self.patient.id


def _next_nid() -> str:
    global _nids
    try:
        return next(_nids)
    except StopIteration:
        _nids = national_id.synthetic_numbers(date(1991, 2, 16 + next(_counter) % 10), start=100)
        return next(_nids)


class World:
    """Makes people and places, committed to the test database."""

    def __init__(self, app):
        self.app = app

    def _ctx(self):
        return system_ctx()

    def agency(self, name: str | None = None, kind: str = "municipality") -> Agency:
        with self.app.app_context():
            agency = Agency(name=name or f"Agency {next(_counter)}", kind=kind)
            db.session.add(agency)
            db.session.commit()
            return _detach(agency)

    def team(self, name: str | None = None, **fields) -> Team:
        with self.app.app_context():
            team = Team(name=name or f"Team {next(_counter)}", **fields)
            db.session.add(team)
            db.session.commit()
            return _detach(team)

    def token_for(self, account: Account) -> str:
        with self.app.test_request_context():
            return create_access_token(identity=str(account.id), additional_claims={"kind": account.kind})

    def staff(
        self,
        team: Team | None = None,
        role: str = "member",
        agency: Agency | None = None,
        teams: list[Team] | None = None,
        name: str | None = None,
    ) -> StaffLogin:
        agency = agency or self.agency()
        teams = teams if teams is not None else ([team] if team else [])
        with self.app.app_context():
            ctx = self._ctx()
            n = next(_counter)
            secret = accounts.new_totp_secret()
            account = Account(username=f"staff{n}", kind="staff", password_hash=password_hash())
            ctx.keys.seal(account, "totp_secret", secret)
            staff = Staff(
                account_id=account.id,
                display_name=name or f"Staff {n}",
                agency_id=agency.id,
                role=role,
                email=f"staff{n}@muli.invalid",
            )
            db.session.add_all([account, staff])
            db.session.flush()
            for t in teams:
                db.session.add(TeamMembership(team_id=t.id, staff_id=staff.id))
            db.session.commit()
            login = StaffLogin(_detach(staff), _detach(account), secret)
        login.headers = bearer(self.token_for(login.account))
        return login

    def patient(
        self,
        team: Team,
        consents: dict[Agency, list[str] | str] | None = None,
        name: str | None = None,
        activated: bool = True,
        trusted_contact: StaffLogin | None = None,
    ) -> PatientLogin:
        """A patient on `team`; `consents` maps agency → scopes ("all" for every scope)."""
        with self.app.app_context():
            ctx = self._ctx()
            n = next(_counter)
            account = None
            if activated:
                account = Account(username=f"patient{n}", kind="patient", password_hash=password_hash())
                db.session.add(account)
            nid = _next_nid()
            patient = Patient(
                team_id=team.id,
                national_id_index=ctx.keys.blind_index(nid),
                enrolled_on=utcnow().date(),
                account_id=account.id if account else None,
                trusted_contact_id=trusted_contact.id if trusted_contact else None,
            )
            name = name or f"Patient {n}"
            ctx.keys.seal(patient, "display_name", name)
            ctx.keys.seal(patient, "national_id", nid)
            db.session.add(patient)
            db.session.flush()
            for agency, scopes in (consents or {}).items():
                for scope in CONSENT_SCOPES if scopes == "all" else scopes:
                    db.session.add(
                        Consent(patient_id=patient.id, agency_id=agency.id, scope=scope, state="granted")
                    )
                    db.session.add(
                        ConsentChange(
                            patient_id=patient.id, agency_id=agency.id, scope=scope, state="granted"
                        )
                    )
            db.session.commit()
            login = PatientLogin(_detach(patient), _detach(account) if account else None, name=name)
        if account is not None:
            login.headers = bearer(self.token_for(login.account))
        return login

    def care_team(self):
        """A team with a coordinator and a member from one agency, and a consenting patient."""
        team = self.team()
        agency = self.agency(kind="dps")
        coordinator = self.staff(team, role="coordinator", agency=agency)
        member = self.staff(team, role="member", agency=agency)
        patient = self.patient(team, consents={agency: "all"}, trusted_contact=member)
        return Care(team, agency, coordinator, member, patient)

    def account_by_username(self, username: str) -> Account:
        with self.app.app_context():
            return _detach(db.session.scalars(select(Account).where(Account.username == username)).one())


@dataclass
class Care:
    team: Team
    agency: Agency
    coordinator: StaffLogin
    member: StaffLogin
    patient: PatientLogin


def _detach(obj):
    """Load every column, then detach, so tests can read ids and names outside the session."""
    if obj is None:
        return None
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj
