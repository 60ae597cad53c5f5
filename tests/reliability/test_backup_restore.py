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


@pytest.mark.skipif(database_kind() != "postgresql", reason="pg_dump and pg_restore run only for PostgreSQL")
def test_the_database_password_never_reaches_the_command_line(tmp_path, monkeypatch):
    """`muli backup` and `muli restore` as a password-protected role: the real pg_dump and
    pg_restore run (a wrapper in front of each on PATH writes down the argv and environment
    the child got); the password is in the child's environment and nowhere in its argv."""
    import os
    import shutil
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from tests.conftest import _admin_engine

    password = f"synthetic-{uuid.uuid4().hex}"
    role = f"muli_backup_{os.getpid()}"
    admin, admin_url = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        conn.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
        conn.execute(text(f'CREATE DATABASE "{role}" OWNER "{role}"'))
    url = make_url(admin_url).set(username=role, password=password, database=role)
    seen = tmp_path / "seen"
    seen.mkdir()
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        real = shutil.which(tool)
        assert real, f"{tool} is not installed"
        wrapper = wrappers / tool
        wrapper.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "$0" "$@" > "{seen}/{tool}.argv"\n'
            f'printf "%s" "$PGPASSWORD" > "{seen}/{tool}.pgpassword"\n'
            f'exec "{real}" "$@"\n'
        )
        wrapper.chmod(0o700)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    application = create_app(make_config(tmp_path, url.render_as_string(hide_password=False)))
    try:
        with application.app_context():
            db.session.execute(text("CREATE TABLE drill (n integer)"))
            db.session.execute(text("INSERT INTO drill VALUES (42)"))
            db.session.commit()
        runner = application.test_cli_runner()
        path = tmp_path / "muli.backup"
        result = runner.invoke(args=["muli", "backup", str(path)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(args=["muli", "restore", "--yes", str(path)])
        assert result.exit_code == 0, result.output
        with application.app_context():
            assert db.session.execute(text("SELECT n FROM drill")).scalar_one() == 42
            db.session.remove()
        for tool in ("pg_dump", "pg_restore"):
            argv = (seen / f"{tool}.argv").read_text()
            assert role in argv  # the wrapper saw the real invocation
            assert password not in argv
            assert (seen / f"{tool}.pgpassword").read_text() == password
        assert password not in result.output
    finally:
        with application.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{role}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
