"""'Ringer nå': when and by whom a responder started calling the patient back (issue 14)

Revision ID: 0009_contact_call_started
Revises: 0008_patient_phone
Create Date: 2026-11-30 06:31:00

"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0009_contact_call_started'
down_revision = '0008_patient_phone'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contact_request', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('call_started_at', muli.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('call_started_by_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_contact_request_call_started_by_id_staff'), 'staff', ['call_started_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('contact_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contact_request_call_started_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('call_started_by_id')
        batch_op.drop_column('call_started_at')
