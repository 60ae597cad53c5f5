"""0012_at_rest seals what was plain before it: stored idempotent answers and admissions'
facility and flag move into encrypted columns, and back on the way down."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from muli.extensions import db
from muli.models.base import UTCDateTime
from tests.migration_support import PATIENT, TEAM, app_on_own_database, insert_team, old_table


@pytest.fixture(scope="module")
def old_app(tmp_path_factory):
    with app_on_own_database(tmp_path_factory, "migration_at_rest") as application:
        yield application


ACCOUNT = old_table(
    "account", sa.column("username"), sa.column("kind"), sa.column("password_hash"), sa.column("created_at")
)
ADMISSION = old_table(
    "admission",
    sa.column("patient_id", sa.Uuid),
    sa.column("admitted_on", sa.Date),
    sa.column("facility"),
    sa.column("involuntary", sa.Boolean),
    sa.column("created_at"),
)
DIARY = old_table(
    "diary_entry",
    sa.column("patient_id", sa.Uuid),
    sa.column("created_at"),
    sa.column("text_enc"),
    sa.column("mood", sa.Integer),
    sa.column("sleep_hours", sa.Double),
    sa.column("shared_with_team", sa.Boolean),
)
RECORD = old_table(
    "idempotency_record",
    sa.column("account_id", sa.Uuid),
    sa.column("key"),
    sa.column("request_hash"),
    sa.column("status_code"),
    sa.column("body", sa.LargeBinary),
    sa.column("expires_at", UTCDateTime(timezone=True)),
    sa.column("created_at"),
)


def test_existing_rows_are_sealed_on_the_way_up_and_opened_on_the_way_down(old_app):
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    names = ("account", "team", "patient", "forced", "voluntary", "record", "rested", "unsaid")
    ids = {name: uuid.uuid4() for name in names}
    answer = json.dumps({"activation_code": "MARKER-CODE-7Q2W", "message": "MARKER-æøå"}).encode()
    with old_app.app_context():
        upgrade(revision="0011_merge")
        with db.engine.begin() as conn:
            conn.execute(
                ACCOUNT.insert().values(
                    id=ids["account"], username="u", kind="staff", password_hash="x", created_at=now
                )
            )
            insert_team(conn, ids["team"], now)
            conn.execute(
                PATIENT.insert().values(
                    id=ids["patient"],
                    team_id=ids["team"],
                    display_name="P",
                    national_id_enc="v1.x.y",
                    national_id_index="i",
                    status="active",
                    enrolled_on=date(2026, 1, 1),
                    created_at=now,
                )
            )
            for name, facility, involuntary in (("forced", "MARKER-WARD", True), ("voluntary", "PAM", False)):
                conn.execute(
                    ADMISSION.insert().values(
                        id=ids[name],
                        patient_id=ids["patient"],
                        admitted_on=date(2026, 2, 1),
                        facility=facility,
                        involuntary=involuntary,
                        created_at=now,
                    )
                )
            for name, mood, sleep in (("rested", 7, 6.5), ("unsaid", None, None)):
                conn.execute(
                    DIARY.insert().values(
                        id=ids[name],
                        patient_id=ids["patient"],
                        created_at=now,
                        text_enc="v1.x.y",
                        mood=mood,
                        sleep_hours=sleep,
                        shared_with_team=True,
                    )
                )
            conn.execute(
                RECORD.insert().values(
                    id=ids["record"],
                    account_id=ids["account"],
                    key="k",
                    request_hash="h",
                    status_code=201,
                    body=answer,
                    expires_at=now,
                    created_at=now,
                )
            )

        upgrade(revision="0012_at_rest")
        keys = current_app.extensions["muli.keys"]
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("admission")}
            assert {"facility", "involuntary"}.isdisjoint(columns)
            assert "body" not in {c["name"] for c in sa.inspect(conn).get_columns("idempotency_record")}
            sealed = conn.execute(sa.text("SELECT body_enc FROM idempotency_record")).scalar_one()
            admissions = conn.execute(
                sa.text("SELECT id, facility_enc, involuntary_enc FROM admission")
            ).all()
        assert "MARKER" not in sealed
        assert keys.decrypt(sealed, f"idempotency_record|body|{ids['record']}").encode() == answer
        opened = {}
        for row_id, facility, involuntary in admissions:
            row_id = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id)
            assert "MARKER" not in facility and involuntary.startswith("v1.")
            opened[row_id] = (
                keys.decrypt(facility, f"admission|facility|{row_id}"),
                keys.decrypt(involuntary, f"admission|involuntary|{row_id}"),
            )
        assert opened == {ids["forced"]: ("MARKER-WARD", "1"), ids["voluntary"]: ("PAM", "0")}
        with db.engine.connect() as conn:
            figures = conn.execute(sa.text("SELECT id, mood_enc, sleep_hours_enc FROM diary_entry")).all()
        sealed_figures = {}
        for row_id, mood, sleep in figures:
            row_id = row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(row_id)
            assert len(mood) == len(sleep)  # one length, whatever the figure, or none
            sealed_figures[row_id] = (
                json.loads(keys.decrypt(mood, f"diary_entry|mood|{row_id}")),
                json.loads(keys.decrypt(sleep, f"diary_entry|sleep_hours|{row_id}")),
            )
        assert sealed_figures == {ids["rested"]: (7, 6.5), ids["unsaid"]: (None, None)}

        downgrade(revision="0011_merge")
        with db.engine.connect() as conn:
            back = conn.execute(sa.select(RECORD.c.body)).scalar_one()
            plain = set(conn.execute(sa.select(ADMISSION.c.facility, ADMISSION.c.involuntary)).all())
        assert bytes(back) == answer
        assert plain == {("MARKER-WARD", True), ("PAM", False)}
        with db.engine.connect() as conn:
            back_figures = set(conn.execute(sa.select(DIARY.c.mood, DIARY.c.sleep_hours)).all())
        assert back_figures == {(7, 6.5), (None, None)}
        with db.engine.begin() as conn:
            for table in (RECORD, DIARY, ADMISSION, PATIENT, TEAM, ACCOUNT):
                conn.execute(table.delete())
        downgrade(revision="base")
