"""The demo rota: Ola (DPS) on call every night of the coming week, seeded once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from muli.contact import on_call
from muli.extensions import db
from muli.models.on_call import OnCallShift
from muli.models.people import Team


def test_seeding_the_demo_twice_gives_one_rota_of_seven_nights(app, runner):
    runner.invoke(args=["muli", "seed-demo"])
    runner.invoke(args=["muli", "seed-demo"])
    with app.app_context():
        levels = dict(
            db.session.execute(select(OnCallShift.level, func.count()).group_by(OnCallShift.level)).all()
        )
        db.session.remove()
    assert levels == {"primary": 7, "backup": 7}


def test_tomorrow_night_ola_is_the_primary_on_call(app, runner, ctx):
    runner.invoke(args=["muli", "seed-demo"])
    team = ctx.session.scalars(select(Team)).one()
    tz = on_call.zone(team)
    today = ctx.now().astimezone(tz).date()
    tonight = datetime.combine(today + timedelta(days=1), time(2), tzinfo=tz)  # 02:00 after today
    now = on_call.availability(ctx, team, tonight)
    assert (now.status, now.primary.display_name, now.backup.display_name) == (
        "on_call",
        "Ola Vakt",
        "Per Akutt",
    )
