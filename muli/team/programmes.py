"""Managing programmes: the administrator lists, imports, exports and assigns them; staff see
the programme of each of their teams.

A programme file is one JSON or YAML document (`muli.patient.programme`, docs/programmes.md):
an import creates the programme or replaces the one with the same key; an export writes it
back, so a new region starts from another's file.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from muli.models.people import Agency, Staff, Team, TeamMembership
from muli.models.programme import Programme
from muli.patient import programme
from muli.platform.context import Ctx
from muli.platform.errors import NotFound, ValidationFailed
from muli.trust import access, audit


def _summary(row: Programme, teams: list[Team]) -> dict:
    definition = row.definition
    return {
        "key": row.key,
        "name": definition["name"],
        "description": definition.get("description"),
        "teams": [{"id": t.id, "name": t.name} for t in teams],
        "created_at": row.created_at,
    }


# How many of the staff in the way an import's refusal names (it says how many there are).
NAMED_IN_THE_WAY = 10


def install(ctx: Ctx, definition: dict) -> Programme:
    """Create the programme, or replace the definition of the one with the same key (no access
    check: the callers are the administrator's services, the seed and the command line).

    Every import goes through here (portal, API, command line), so here a replacement is
    refused (422 `agency_kinds`) when it leaves out the kind of an agency whose staff work on
    a team that runs the programme: as a team cannot be set to run such a programme."""
    row = programme.find(ctx, definition["key"])
    if row is None:
        row = Programme(key=definition["key"], name=definition["name"]["nb"], definition=definition)
        ctx.session.add(row)
    else:
        check_running_teams(ctx, row, definition)
        row.name = definition["name"]["nb"]
        row.definition = definition
    ctx.session.flush()
    return row


def check_running_teams(ctx: Ctx, row: Programme, definition: dict) -> None:
    """422 naming `agency_kinds` when staff on a team that runs `row` work for an agency of a
    kind `definition` leaves out; the message names them (team: person (agency, kind))."""
    in_the_way = ctx.session.execute(
        select(Team.name, Staff.display_name, Agency.name, Agency.kind)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .join(Staff, Staff.id == TeamMembership.staff_id)
        .join(Agency, Agency.id == Staff.agency_id)
        .where(Team.programme_id == row.id, Agency.kind.not_in(definition["agency_kinds"]))
        .order_by(Team.name, Agency.name, Staff.display_name)
    ).all()
    if not in_the_way:
        return
    named = [f"{team}: {person} ({agency}, {kind})" for team, person, agency, kind in in_the_way]
    if len(named) > NAMED_IN_THE_WAY:
        named = [*named[:NAMED_IN_THE_WAY], "…"]
    raise ValidationFailed(
        "agency_kinds",
        "Staff on teams that run this programme work for agencies of a kind the file leaves out "
        "(%(count)d): %(staff)s.",
        {"count": len(in_the_way), "staff": "; ".join(named)},
    )


def install_built_in(ctx: Ctx, key: str) -> Programme:
    """A built-in programme as the package ships it, installed once (kept if already there)."""
    return programme.find(ctx, key) or install(ctx, programme.built_in(key))


def assign(ctx: Ctx, team: Team, row: Programme) -> None:
    team.programme_id = row.id
    team.programme = row.definition["name"]["nb"]
    ctx.session.flush()


def check_team_agencies(ctx: Ctx, team: Team, definition: dict, field: str) -> None:
    """422 when an agency working on the team is of a kind the programme does not include."""
    ids = access.team_agency_ids(ctx, team.id)
    if not ids:
        return
    for agency in ctx.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)):
        programme.check_agency_kind(definition, agency.kind, field)


def programme_teams(ctx: Ctx) -> dict[uuid.UUID | None, list[Team]]:
    teams: dict[uuid.UUID | None, list[Team]] = {}
    for team in ctx.session.scalars(select(Team).order_by(Team.name)):
        teams.setdefault(team.programme_id, []).append(team)
    return teams


# --- the administrator ---------------------------------------------------------------------


def list_programmes(ctx: Ctx) -> list[dict]:
    """Every programme with the teams that run it; MULI's built-in template first if no row
    holds it yet (teams without a programme run it)."""
    access.require_role(ctx, "admin")
    teams = programme_teams(ctx)
    rows = ctx.session.scalars(select(Programme).order_by(Programme.key)).all()
    out = [_summary(row, teams.get(row.id, [])) for row in rows]
    if teams.get(None) or not any(r.key == programme.DEFAULT_KEY for r in rows):
        default = programme.default()
        out.insert(
            0,
            {
                "key": programme.DEFAULT_KEY,
                "name": default["name"],
                "description": default["description"],
                "teams": [{"id": t.id, "name": t.name} for t in teams.get(None, [])],
                "created_at": None,
                "built_in": True,
            },
        )
    audit.record(ctx.session, ctx.actor, "programme.list", resource="programme")
    return out


def definition_of(ctx: Ctx, key: str) -> dict:
    """A programme's definition by key (MULI's template when no row holds it)."""
    access.require_role(ctx, "admin")
    row = programme.find(ctx, key)
    if row is not None:
        return row.definition
    if key == programme.DEFAULT_KEY:
        return programme.default()
    raise NotFound("No such programme.")


def export(ctx: Ctx, key: str, fmt: str = "yaml") -> str:
    """The programme file, to start another region from."""
    text = programme.dump(definition_of(ctx, key), fmt)
    audit.record(ctx.session, ctx.actor, "programme.export", resource="programme", reason=key)
    return text


def import_file(ctx: Ctx, text: str | bytes) -> dict:
    """A programme file read, validated (422 naming the first wrong field) and installed."""
    access.require_role(ctx, "admin")
    return import_json(ctx, programme.parse(text))


def import_json(ctx: Ctx, raw: dict) -> dict:
    """A programme file already read (the API's JSON body), validated and installed."""
    access.require_role(ctx, "admin")
    definition = programme.validate(raw)
    row = install(ctx, definition)
    audit.record(ctx.session, ctx.actor, "programme.import", resource="programme", reason=row.key)
    return _summary(row, programme_teams(ctx).get(row.id, []))


def set_team_programme(ctx: Ctx, team_id: uuid.UUID, key: str) -> Team:
    """The team runs this programme from now on (its patients' plans keep what they hold)."""
    access.require_role(ctx, "admin")
    team = ctx.session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    row = programme.find(ctx, key)
    if row is None and key == programme.DEFAULT_KEY:
        row = install_built_in(ctx, key)
    if row is None:
        raise NotFound("No such programme.")
    check_team_agencies(ctx, team, row.definition, "programme")
    assign(ctx, team, row)
    audit.record(ctx.session, ctx.actor, "team.programme", resource="team", resource_id=team.id, reason=key)
    return team


def programme_count(ctx: Ctx) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Programme)) or 0


# --- staff ---------------------------------------------------------------------------------


def my_teams_programmes(ctx: Ctx) -> list[dict]:
    """For each of my teams, the programme it runs: its sections, agenda and indicators."""
    access.require_clinical_staff(ctx)
    out = []
    for team_id in sorted(ctx.actor.team_ids, key=str):
        team = ctx.session.get(Team, team_id)
        if team is None:
            continue
        out.append({"team_id": team.id, "team_name": team.name, "programme": programme.for_team(ctx, team)})
    return out
