"""Staff accounts, agencies and teams (administration)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from muli.models.accounts import Account
from muli.models.people import AGENCY_KINDS, STAFF_ROLES, Agency, Staff, Team, TeamMembership
from muli.patient import programme
from muli.platform.context import Ctx
from muli.platform.errors import Conflict, ValidationFailed
from muli.trust import accounts, audit


@dataclass
class NewStaff:
    username: str
    password: str
    display_name: str
    agency_id: uuid.UUID
    role: str
    team_ids: list[uuid.UUID] = field(default_factory=list)
    email: str | None = None
    phone: str | None = None


def create_staff(ctx: Ctx, data: NewStaff) -> tuple[Staff, str]:
    """A staff member with an account and a TOTP secret (returned once, for their app)."""
    if data.role not in STAFF_ROLES:
        raise ValidationFailed("role", "One of: %(values)s.", {"values": ", ".join(STAFF_ROLES)})
    accounts.check_password_policy(data.password, data.username)
    if ctx.session.scalars(select(Account.id).where(Account.username == data.username)).first():
        raise Conflict("This username is taken.", code="username-taken")
    secret = accounts.new_totp_secret()
    account = Account(
        username=data.username, kind="staff", password_hash=accounts.hash_password(data.password)
    )
    ctx.keys.seal(account, "totp_secret", secret)
    ctx.session.add(account)
    staff = Staff(
        account_id=account.id,
        display_name=data.display_name,
        agency_id=data.agency_id,
        role=data.role,
        email=data.email,
        phone=data.phone,
    )
    ctx.session.add(staff)
    ctx.session.flush()
    agency = ctx.session.get(Agency, data.agency_id)
    for i, team_id in enumerate(data.team_ids):
        team = ctx.session.get(Team, team_id)
        if agency is not None and team is not None:
            programme.check_agency_kind(programme.for_team(ctx, team), agency.kind, f"team_ids.{i}")
        ctx.session.add(TeamMembership(team_id=team_id, staff_id=staff.id))
    audit.record(ctx.session, ctx.actor, "staff.create", resource="staff", resource_id=staff.id)
    return staff, secret


def get_or_create_agency(ctx: Ctx, name: str, kind: str) -> Agency:
    if kind not in AGENCY_KINDS:
        raise ValidationFailed("kind", "One of: %(values)s.", {"values": ", ".join(AGENCY_KINDS)})
    agency = ctx.session.scalars(select(Agency).where(Agency.name == name)).first()
    if agency is None:
        agency = Agency(name=name, kind=kind)
        ctx.session.add(agency)
        ctx.session.flush()
    return agency


def get_or_create_team(ctx: Ctx, name: str, **fields) -> Team:
    team = ctx.session.scalars(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name, **fields)
        ctx.session.add(team)
        ctx.session.flush()
    return team
