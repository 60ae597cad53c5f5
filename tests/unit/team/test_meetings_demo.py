"""The demo's meeting: last week's, signed, and its open action carried onto this week's agenda."""

from sqlalchemy import func, select

from muli import demo
from muli.extensions import db
from muli.models.accounts import Account
from muli.models.meetings import Meeting
from muli.team import meetings
from muli.trust import accounts


def test_seeding_twice_makes_one_demo_meeting(ctx):
    demo.seed(ctx)
    demo.seed(ctx)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 1


def test_this_weeks_meeting_carries_over_last_weeks_open_dps_action(ctx):
    demo.seed(ctx)
    db.session.commit()
    kristin = db.session.scalars(select(Account).where(Account.username == "kristin")).one()
    coordinator = ctx.acting_as(accounts.actor_for(ctx, kristin))
    created = meetings.create_meeting(coordinator, kristin_team(coordinator), ctx.now().date())
    view = meetings.get_meeting(coordinator, created.id)
    assert [a.description for a in view.carried_over] == [meetings.demo.OPEN_ACTION]


def kristin_team(coordinator_ctx):
    (team_id,) = coordinator_ctx.actor.team_ids
    return team_id
