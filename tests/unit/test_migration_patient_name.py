"""0043_patient_name seals what was plain before it: every patient's name moves into an
encrypted column, and back on the way down; on SQLite the old text is gone from the file."""

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from muli.extensions import db
from muli.platform.sqlite import erase_traces
from tests.conftest import database_kind
from tests.migration_support import PATIENT, TEAM, app_on_own_database, insert_team, old_table


@pytest.fixture(scope="module")
def old_app(tmp_path_factory):
    with app_on_own_database(tmp_path_factory, "migration_patient_name") as application:
        yield application


ADMISSION = old_table(
    "admission",
    sa.column("patient_id", sa.Uuid),
    sa.column("admitted_on", sa.Date),
    sa.column("facility_enc"),
    sa.column("created_at"),
)


def _as_uuid(raw) -> uuid.UUID:
    return raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw)


def _stored_bytes() -> bytes:
    """On SQLite the database file and its write-ahead log as they are."""
    path = Path(db.engine.url.database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_existing_names_are_sealed_on_the_way_up_and_opened_on_the_way_down(old_app):
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    team_id = uuid.uuid4()
    names = {uuid.uuid4(): "MARKER-Åse-Kristiansen", uuid.uuid4(): "MARKER-Ola"}
    admission_id = uuid.uuid4()
    with old_app.app_context():
        upgrade(revision="0040_merge")
        with db.engine.begin() as conn:
            insert_team(conn, team_id, now)
            for n, (patient_id, name) in enumerate(names.items()):
                conn.execute(
                    PATIENT.insert().values(
                        id=patient_id,
                        team_id=team_id,
                        display_name=name,
                        national_id_enc="v1.x.y",
                        national_id_index=f"i{n}",
                        status="active",
                        enrolled_on=date(2026, 1, 1),
                        created_at=now,
                    )
                )
            # A row that refers to a patient: the table's rebuild on SQLite must keep it.
            first = next(iter(names))
            conn.execute(
                ADMISSION.insert().values(
                    id=admission_id, patient_id=first, admitted_on=date(2026, 2, 1), created_at=now
                )
            )
        if database_kind() == "sqlite":
            erase_traces(db.engine)
            assert b"MARKER-Ola" in _stored_bytes()  # the scan finds a name while it is plain

        upgrade(revision="0043_patient_name")
        keys = current_app.extensions["muli.keys"]
        with db.engine.connect() as conn:
            assert "display_name" not in {c["name"] for c in sa.inspect(conn).get_columns("patient")}
            rows = conn.execute(sa.text("SELECT id, display_name_enc FROM patient")).all()
            kept = conn.execute(sa.text("SELECT patient_id FROM admission")).scalar_one()
        assert _as_uuid(kept) == first
        opened = {}
        for row_id, sealed in rows:
            row_id = _as_uuid(row_id)
            assert sealed.startswith("v1.") and "MARKER" not in sealed
            opened[row_id] = keys.decrypt(sealed, f"patient|display_name|{row_id}")
        assert opened == names
        if database_kind() == "sqlite":
            erase_traces(db.engine)
            stored = _stored_bytes()
            for name in names.values():
                assert name.encode() not in stored

        downgrade(revision="0040_merge")
        with db.engine.connect() as conn:
            back = dict(conn.execute(sa.select(PATIENT.c.id, PATIENT.c.display_name)).all())
        assert {_as_uuid(k): v for k, v in back.items()} == names
        with db.engine.begin() as conn:
            for table in (ADMISSION, PATIENT, TEAM):
                conn.execute(table.delete())
        downgrade(revision="base")
