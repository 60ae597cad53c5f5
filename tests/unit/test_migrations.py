"""Migrations build the schema from empty, match the models, and go back down, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from muli.extensions import db
from muli.models.audit import not_a_partition
from tests.migration_support import app_on_own_database


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory):
    with app_on_own_database(tmp_path_factory, "migrations") as application:
        yield application


def test_migrations_from_empty_match_the_models_and_go_back_down(empty_app):
    with empty_app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            # The audit table's monthly partitions (PostgreSQL) are not in the models.
            context = MigrationContext.configure(conn, opts={"include_object": not_a_partition})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
