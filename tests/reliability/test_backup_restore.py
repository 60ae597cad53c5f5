"""Backup and restore drill: restore into a new database; every record and every encrypted
field reads back equal."""

import pytest
from sqlalchemy import inspect, select

from muli.app import create_app
from muli.extensions import db
from muli.models import Base
from muli.platform import crypto
from tests.conftest import database_kind, database_url_for, drop_postgres_database, make_config

pytestmark = pytest.mark.reliability


def snapshot(application):
    """Every row of every table, and every encrypted field decrypted."""
    with application.app_context():
        # Before the session starts: on SQLite every transaction takes the write lock.
        existing = set(inspect(db.engine).get_table_names())
        tables = {}
        for table in db.metadata.sorted_tables:
            if table.name not in existing:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = db.session.execute(select(table).order_by(*order)).all()
            tables[table.name] = [tuple(row) for row in rows]
        keys = application.extensions["muli.keys"]
        plain = {}
        for model in crypto.encrypted_models(Base):
            for row in db.session.scalars(select(model)):
                for name in model.__encrypted__:
                    plain[(model.__tablename__, str(row.id), name)] = keys.open(row, name)
        db.session.remove()
        return tables, plain


@pytest.fixture
def restored_app(tmp_path):
    url = database_url_for(tmp_path, suffix="_restore")
    application = create_app(make_config(tmp_path, url))
    yield application
    with application.app_context():
        db.engine.dispose()
    if database_kind() == "postgresql":
        drop_postgres_database(url)


def test_a_backup_restored_into_a_new_database_reads_back_equal(app, runner, restored_app, tmp_path):
    assert runner.invoke(args=["muli", "seed-demo"]).exit_code == 0
    before_tables, before_plain = snapshot(app)
    assert before_plain, "the demo must contain encrypted fields to make this drill meaningful"

    path = tmp_path / "muli.backup"
    result = runner.invoke(args=["muli", "backup", str(path)])
    assert result.exit_code == 0, result.output

    result = restored_app.test_cli_runner().invoke(args=["muli", "restore", "--yes", str(path)])
    assert result.exit_code == 0, result.output
    after_tables, after_plain = snapshot(restored_app)

    assert after_tables == before_tables
    assert after_plain == before_plain
    assert restored_app.test_cli_runner().invoke(args=["muli", "verify-audit"]).exit_code == 0


def test_restoring_a_missing_file_fails_clearly(runner, tmp_path):
    result = runner.invoke(args=["muli", "restore", "--yes", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope" in result.output
