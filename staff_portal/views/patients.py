"""My teams' patients: the list, and (patient page) everything the team may see of one."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from muli import enrolment
from staff_portal.auth_state import login_required, portal_ctx
from staff_portal.common import my_teams

PAGE_SIZE = 50


@login_required
def patients():
    ctx = portal_ctx()
    page = enrolment.list_team_patients(ctx, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    teams = {t.id: t for t in my_teams(ctx)}
    return render_template("staff_portal/patients/list.html", page=page, teams=teams)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/patients/", view_func=patients, endpoint="patients")
