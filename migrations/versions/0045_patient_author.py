"""nothing about a patient in plain text at rest: no patient's name in plan_version

A version the patient wrote (`author_kind = 'patient'`) held a copy of their name in
`author_name`, in plain text, after 0043 had sealed the name in the patient's row. The app now
opens the name from the patient's row (`plans.written_by`) and stores none; this clears the
copies. Staff authors keep theirs (a staff member's name is not about a patient). Plan versions
are not in the audit chain (no hash covers `author_name`), so clearing it breaks nothing that
verifies. On SQLite the app's `secure_delete` zeroes what the update frees; the write-ahead
log holds the old pages until the next checkpoint. The downgrade writes the names back, opened
from the patients' rows, as the code before this migration expects them.

Audit events by a patient still hold the name in `audit_event.actor_name` when they were
written before this change: they are not rewritten, since the keyed hash chain covers that
column (docs/audit-trail.md, "A patient's name in old events").

Revision ID: 0045_patient_author
Revises: 0043_patient_name
Create Date: 2026-11-30 18:30:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0045_patient_author'
down_revision = '0043_patient_name'
branch_labels = None
depends_on = None


PLAN = sa.table('plan', sa.column('id'), sa.column('patient_id'))
PLAN_VERSION = sa.table(
    'plan_version',
    sa.column('id'),
    sa.column('plan_id'),
    sa.column('author_kind', sa.String),
    sa.column('author_name', sa.String),
)
PATIENT = sa.table('patient', sa.column('id'), sa.column('display_name_enc', sa.Text))


def _ident(raw) -> str:
    """A row id as the associated data spells it: the UUID's text form."""
    if isinstance(raw, str) and len(raw) == 32:
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    return str(raw)


def upgrade():
    op.execute(
        PLAN_VERSION.update().where(PLAN_VERSION.c.author_kind == 'patient').values(author_name=None)
    )


def downgrade():
    keys = current_app.extensions["muli.keys"]
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(PATIENT.c.id, PATIENT.c.display_name_enc, PLAN.c.id)
        .join(PLAN, PLAN.c.patient_id == PATIENT.c.id)
        .where(
            sa.exists().where(
                PLAN_VERSION.c.plan_id == PLAN.c.id, PLAN_VERSION.c.author_kind == 'patient'
            )
        )
    ).all()
    for patient_id, sealed, plan_id in rows:
        name = keys.decrypt(sealed, f"patient|display_name|{_ident(patient_id)}")
        bind.execute(
            PLAN_VERSION.update()
            .where(PLAN_VERSION.c.plan_id == plan_id, PLAN_VERSION.c.author_kind == 'patient')
            .values(author_name=name)
        )
