"""a staff proposal the patient declined is recorded as declined (issue 16, item 4)

Revision ID: 0021_plans
Revises: 0020_merge
Create Date: 2026-11-30 10:10:00

"""

from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = "0021_plans"
down_revision = "0020_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("declined_at", muli.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_column("declined_at")
