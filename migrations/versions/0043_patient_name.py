"""nothing about a patient in plain text at rest: the patient's name encrypted

`patient.display_name` was plain text next to the fact that its bearer is in a psychiatric
crisis programme. Existing names are sealed here with the app's key ring, in the form
`KeyRing.seal` gives (associated data `patient|display_name|<row id>`), as 0012_at_rest did,
and the plain column dropped. On SQLite the column is dropped in place (no table rebuild:
see `_drop`), and the app's `secure_delete` zeroes what that frees; the write-ahead log holds
the old pages until the next checkpoint. The downgrade opens the names again.

Revision ID: 0043_patient_name
Revises: 0040_merge
Create Date: 2026-11-30 15:45:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0043_patient_name'
down_revision = '0040_merge'
branch_labels = None
depends_on = None


def _keys():
    return current_app.extensions["muli.keys"]


def _ident(raw) -> str:
    """A row id as the associated data spells it: the UUID's text form."""
    if isinstance(raw, str) and len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(raw)


def _aad(row_id) -> str:
    return f"patient|display_name|{_ident(row_id)}"


PATIENT = sa.table(
    'patient', sa.column('id'), sa.column('display_name', sa.String), sa.column('display_name_enc', sa.Text)
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop(column: str) -> None:
    """SQLite drops the column in place (ALTER TABLE ... DROP COLUMN, 3.35 and later) rather
    than by rebuilding the table, which the rows of other tables that refer to a patient
    forbid while foreign keys are on (and a migration runs in a transaction, where they cannot
    be turned off). Each row is rewritten without the column; `secure_delete` zeroes what the
    rewrite frees."""
    if _sqlite():
        op.execute(f"ALTER TABLE patient DROP COLUMN {column}")
    else:
        op.drop_column('patient', column)


def _add(name: str, type_) -> None:
    """NOT NULL from the start on SQLite, which cannot add the constraint later without the
    rebuild `_drop` avoids: the empty default is there for the moment until every row is
    filled. PostgreSQL adds the column nullable and sets NOT NULL once it is filled."""
    if _sqlite():
        op.add_column('patient', sa.Column(name, type_, nullable=False, server_default=''))
    else:
        op.add_column('patient', sa.Column(name, type_, nullable=True))


def _not_null(column: str, type_) -> None:
    if not _sqlite():
        op.alter_column('patient', column, existing_type=type_, nullable=False)


def upgrade():
    keys = _keys()
    bind = op.get_bind()
    _add('display_name_enc', sa.Text())
    for row_id, name in bind.execute(sa.select(PATIENT.c.id, PATIENT.c.display_name)).all():
        bind.execute(
            PATIENT.update().where(PATIENT.c.id == row_id).values(display_name_enc=keys.encrypt(name, _aad(row_id)))
        )
    _not_null('display_name_enc', sa.Text())
    _drop('display_name')


def downgrade():
    keys = _keys()
    bind = op.get_bind()
    _add('display_name', sa.String(length=200))
    for row_id, sealed in bind.execute(sa.select(PATIENT.c.id, PATIENT.c.display_name_enc)).all():
        bind.execute(
            PATIENT.update().where(PATIENT.c.id == row_id).values(display_name=keys.decrypt(sealed, _aad(row_id)))
        )
    _not_null('display_name', sa.String(length=200))
    _drop('display_name_enc')
