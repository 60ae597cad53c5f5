"""a staff account linked to HelseID: national id and HPR number as blind indexes (issue 17)

Revision ID: 0032_helseid_link
Revises: 0021_plans
Create Date: 2026-11-30 12:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0032_helseid_link"
down_revision = "0021_plans"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helseid_pid_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("helseid_hpr_index", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_helseid_pid_index"), ["helseid_pid_index"])
        batch_op.create_unique_constraint(batch_op.f("uq_staff_helseid_hpr_index"), ["helseid_hpr_index"])


def downgrade():
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_helseid_hpr_index"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_staff_helseid_pid_index"), type_="unique")
        batch_op.drop_column("helseid_hpr_index")
        batch_op.drop_column("helseid_pid_index")
