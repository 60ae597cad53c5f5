"""outbox attempts: `unknown` for an attempt whose sender was killed before it recorded a
result (found when the lease ran out; issue 14)

Revision ID: 0017_attempt_unknown
Revises: 0011_merge
Create Date: 2026-11-30 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_attempt_unknown'
down_revision = '0011_merge'
branch_labels = None
depends_on = None

OLD = "outcome IN ('sent', 'retry', 'gone', 'failed')"
NEW = "outcome IN ('sent', 'retry', 'gone', 'failed', 'unknown')"


def upgrade():
    with op.batch_alter_table('outbox_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_attempt_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_attempt_outcome'), NEW)


def downgrade():
    op.execute("UPDATE outbox_attempt SET outcome = 'retry' WHERE outcome = 'unknown'")
    with op.batch_alter_table('outbox_attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_attempt_outcome'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_attempt_outcome'), OLD)
