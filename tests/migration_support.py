"""What the migration tests share: an app on a database of its own (dropped afterwards), and
the tables of the schema before 0012/0043 as they were, written with Core (the models have
moved on)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from muli.app import create_app
from muli.extensions import db
from tests.conftest import database_kind, database_url_for, drop_postgres_database, make_config


@contextmanager
def app_on_own_database(tmp_path_factory, name: str) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp(name)
    url = database_url_for(tmp, suffix=f"_{name}")
    application = create_app(make_config(tmp, url))
    yield application
    with application.app_context():
        db.engine.dispose()
    if database_kind() == "postgresql":
        drop_postgres_database(url)


def old_table(name: str, *columns) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Uuid), *columns)


TEAM = old_table(
    "team",
    sa.column("name"),
    sa.column("programme"),
    sa.column("time_zone"),
    sa.column("office_hours", sa.JSON),
    sa.column("acknowledge_window_minutes"),
    sa.column("created_at"),
)


def insert_team(conn: sa.Connection, team_id, at) -> None:
    """A team as the old schema held it (the migration tests' patients belong to one)."""
    conn.execute(
        TEAM.insert().values(
            id=team_id,
            name="T",
            programme="MULI",
            time_zone="Europe/Oslo",
            office_hours={},
            acknowledge_window_minutes=10,
            created_at=at,
        )
    )


PATIENT = old_table(
    "patient",
    sa.column("team_id", sa.Uuid),
    sa.column("display_name"),
    sa.column("national_id_enc"),
    sa.column("national_id_index"),
    sa.column("status"),
    sa.column("enrolled_on", sa.Date),
    sa.column("created_at"),
)
