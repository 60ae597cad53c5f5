"""0045_patient_author clears the copies of a patient's name in the plan versions they wrote
(the name stays sealed in their row) and keeps staff authors; on SQLite the old text is gone
from the file and its write-ahead log after a checkpoint. The way down writes the names back,
opened from the patients' rows."""

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from muli.extensions import db
from muli.platform.sqlite import erase_traces
from tests.conftest import database_kind
from tests.migration_support import TEAM, app_on_own_database, insert_team, old_table
from tests.unit.test_migration_patient_name import _stored_bytes


@pytest.fixture(scope="module")
def old_app(tmp_path_factory):
    with app_on_own_database(tmp_path_factory, "migration_patient_author") as application:
        yield application


PATIENT = old_table(
    "patient",
    sa.column("team_id", sa.Uuid),
    sa.column("display_name_enc"),
    sa.column("national_id_enc"),
    sa.column("national_id_index"),
    sa.column("status"),
    sa.column("enrolled_on", sa.Date),
    sa.column("created_at"),
)
PLAN = old_table(
    "plan",
    sa.column("patient_id", sa.Uuid),
    sa.column("kind"),
    sa.column("current_version"),
    sa.column("last_version"),
    sa.column("created_at"),
)
VERSION = old_table(
    "plan_version",
    sa.column("plan_id", sa.Uuid),
    sa.column("version"),
    sa.column("document_enc"),
    sa.column("author_kind"),
    sa.column("author_name"),
    sa.column("author_agency_name"),
    sa.column("created_at"),
)


def test_patient_authors_are_cleared_on_the_way_up_and_written_back_on_the_way_down(old_app):
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    team_id, plans = uuid.uuid4(), {}
    names = {uuid.uuid4(): "MARKER-AUTHOR-Åse", uuid.uuid4(): "MARKER-AUTHOR-Ola"}
    with old_app.app_context():
        upgrade(revision="0043_patient_name")
        keys = current_app.extensions["muli.keys"]
        with db.engine.begin() as conn:
            insert_team(conn, team_id, now)
            for n, (patient_id, name) in enumerate(names.items()):
                conn.execute(
                    PATIENT.insert().values(
                        id=patient_id,
                        team_id=team_id,
                        display_name_enc=keys.encrypt(name, f"patient|display_name|{patient_id}"),
                        national_id_enc="v1.x.y",
                        national_id_index=f"i{n}",
                        status="active",
                        enrolled_on=date(2026, 1, 1),
                        created_at=now,
                    )
                )
                plans[patient_id] = uuid.uuid4()
                conn.execute(
                    PLAN.insert().values(
                        id=plans[patient_id],
                        patient_id=patient_id,
                        kind="crisis",
                        current_version=2,
                        last_version=3,
                        created_at=now,
                    )
                )
                for version, kind, author, agency in (
                    (1, "patient", name, None),
                    (2, "patient", name, None),
                    (3, "staff", "MARKER-STAFF-Siv", "Fjordvik DPS"),
                ):
                    conn.execute(
                        VERSION.insert().values(
                            id=uuid.uuid4(),
                            plan_id=plans[patient_id],
                            version=version,
                            document_enc="v1.x.y",
                            author_kind=kind,
                            author_name=author,
                            author_agency_name=agency,
                            created_at=now,
                        )
                    )
        if database_kind() == "sqlite":
            erase_traces(db.engine)
            assert b"MARKER-AUTHOR-Ola" in _stored_bytes()  # the scan finds a name while it is plain

        def authors() -> set:
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(PLAN.c.patient_id, VERSION.c.version, VERSION.c.author_name).join(
                        PLAN, PLAN.c.id == VERSION.c.plan_id
                    )
                ).all()
            return {(uuid.UUID(str(p)), v, a) for p, v, a in rows}

        staff = {(p, 3, "MARKER-STAFF-Siv") for p in names}
        upgrade(revision="0045_patient_author")
        assert authors() == {(p, v, None) for p in names for v in (1, 2)} | staff
        if database_kind() == "sqlite":
            erase_traces(db.engine)
            stored = _stored_bytes()
            for name in names.values():
                assert name.encode() not in stored

        downgrade(revision="0043_patient_name")
        assert authors() == {(p, v, n) for p, n in names.items() for v in (1, 2)} | staff
        with db.engine.begin() as conn:
            for table in (VERSION, PLAN, PATIENT, TEAM):
                conn.execute(table.delete())
        downgrade(revision="base")
