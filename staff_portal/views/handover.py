"""The morning hand-over: what happened after hours, per patient, for the daytime team."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request

from muli.contact import handover as handover_service
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import chosen_team, my_teams
from staff_portal.views.queue import KINDS, OUTCOMES


@login_required
def handover():
    ctx = portal_ctx()
    teams = my_teams(ctx)
    team = chosen_team(ctx, teams)
    try:
        day = date.fromisoformat(request.args.get("date") or "")
    except ValueError:
        day = None
    view = handover_service.handover(ctx, team.id, day)
    return render_template(
        "staff_portal/handover.html", view=view, team=team, teams=teams, kinds=KINDS, outcomes=OUTCOMES
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/handover/", view_func=handover, endpoint="handover")
