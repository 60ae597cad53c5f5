"""The access policy grants through a consent only in scopes the programme of the patient's
team still names (issue 18): a scope an import drops gives nothing until it comes back."""

from __future__ import annotations

from muli.extensions import db
from muli.models.consent import CONSENT_SCOPES
from muli.patient import programme
from muli.team import programmes
from muli.trust import access, accounts


def install_vold(ctx, scopes):
    raw = programme.exported(programme.built_in("muli-vold")) | {"consent_scopes": list(scopes)}
    programme_id = programmes.install(ctx, programme.validate(raw)).id
    db.session.commit()  # and no read after it: the world's sessions write next
    return programme_id


def test_muli_s_template_asks_for_every_scope_so_a_team_without_a_programme_row_loses_nothing(ctx, world):
    team = world.team()
    assert programme.default()["consent_scopes"] == list(CONSENT_SCOPES)
    assert access.programme_scopes(ctx, team.id) == frozenset(CONSENT_SCOPES)


def test_consented_and_visible_scopes_leave_out_what_the_programme_no_longer_names(ctx, world):
    team = world.team(programme_id=install_vold(ctx, programme.built_in("muli-vold")["consent_scopes"]))
    nav = world.agency(kind="nav")
    counsellor = world.staff(team, agency=nav)
    patient = world.patient(team, consents={nav: ["crisis_plan", "shared_diary", "meeting_notes"]})
    other = world.patient(team, consents={nav: ["meeting_notes"]})
    actor = accounts.actor_for(ctx, db.session.get(type(counsellor.account), counsellor.account.id))
    db.session.commit()
    mine = ctx.acting_as(actor)
    assert access.consented_scopes(mine, patient.id, nav.id) == {
        "crisis_plan",
        "shared_diary",
        "meeting_notes",
    }

    install_vold(ctx, ["crisis_plan", "shared_diary"])
    assert access.programme_scopes(mine, team.id) == {"crisis_plan", "shared_diary"}
    assert access.consented_scopes(mine, patient.id, nav.id) == {"crisis_plan", "shared_diary"}
    assert access.visible_scopes(mine, [patient.id, other.id]) == {
        patient.id: {"crisis_plan", "shared_diary"},
        other.id: set(),
    }
