"""Small helpers shared by the portal's views."""

from __future__ import annotations

import uuid

from flask import abort, request
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from muli.extensions import said_errors
from muli.models.people import Team
from muli.platform.context import Ctx
from muli.platform.errors import MuliError
from muli.trust import access

SCOPE_NAMES = {
    "crisis_plan": _l("Crisis plan"),
    "mastery_plan": _l("Mastery plan"),
    "shared_diary": _l("Shared diary"),
    "contact_requests": _l("Contact requests"),
    "meeting_notes": _l("Meeting notes"),
}


def shown_refusal(error: MuliError) -> None:
    """A page that shows an error as a message (not an error page) still records a refused
    attempt to reach another patient or team (`access.refused`, muli/trust/refusals.py).
    Call it after the page's rollback."""
    if error.refusal is not None:
        from muli.app import record_refusal

        record_refusal(error)


def my_teams(ctx: Ctx) -> list[Team]:
    """The teams the signed-in staff member works on (through the access policy)."""
    teams = []
    for team_id in ctx.actor.team_ids:
        try:
            teams.append(access.member_of(ctx, team_id))
        except MuliError:
            continue
    return sorted(teams, key=lambda t: t.name)


def chosen_team(ctx: Ctx, teams: list[Team]) -> Team:
    """The team named by ?team= (one of mine), else my first team; 404 when I have none."""
    wanted = request.args.get("team") or request.form.get("team")
    for team in teams:
        if wanted and str(team.id) == wanted:
            return team
    if not teams:
        abort(404)
    return teams[0]


def parse_id(value: str) -> uuid.UUID:
    """A path id; anything that is not a UUID is simply not found."""
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        abort(404)


def form_errors(form, error: MuliError) -> bool:
    """Put a domain validation error on the form field it names; True when it found one."""
    placed = False
    for name, messages in (said_errors(error) or {}).items():
        field = getattr(form, name.split(".")[0], None)
        if field is not None:
            field.errors = [*list(field.errors or []), *messages]
            placed = True
    return placed


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]
