"""the staff queue's version per team: a conditional poll answered from one row

`contact_queue_version` holds, per team, a random value replaced in the transaction of every
change that alters what the queue of contact requests shows (`muli.models.contact.
queue_changed`). The queue's ETag is made from it, so a 304 reads one row per team and no
request or patient. No rows to start with: a team without a row has version "0" until its
first change, and an ETag made before this migration (a digest of the rows) never matches.

Revision ID: 0044_queue_version
Revises: 0043_patient_name
Create Date: 2026-11-30 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0044_queue_version'
down_revision = '0043_patient_name'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contact_queue_version',
        sa.Column('team_id', sa.Uuid(), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_contact_queue_version_team_id_team')),
        sa.PrimaryKeyConstraint('team_id', name=op.f('pk_contact_queue_version')),
    )


def downgrade():
    op.drop_table('contact_queue_version')
