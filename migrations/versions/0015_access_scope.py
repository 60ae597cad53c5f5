"""access scoped to the need (issue 15, item 6): break-the-glass scopes, a patient record
per team, and the tally that bounds `access.refused` events

Revision ID: 0015_access_scope
Revises: 0011_merge
Create Date: 2026-11-30 08:40:00

- `emergency_access.scopes`: what a window opens. Windows opened before stay NULL, which
  reads as every scope (what they did open); they end within 30 minutes anyway.
- `patient`: the national id's blind index is unique per team, no longer across teams, so
  enrolment on a second team does not reveal the first (muli/team/enrolment.py).
- `refusal_tally`: one row per account, refused attempts in its current minute.
"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = "0015_access_scope"
down_revision = "0011_merge"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("emergency_access", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.String(length=100), nullable=True))

    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_patient_national_id_index"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_patient_team_id_national_id_index"), ["team_id", "national_id_index"]
        )
        batch_op.create_index(batch_op.f("ix_patient_national_id_index"), ["national_id_index"], unique=False)

    op.create_table(
        "refusal_tally",
        sa.Column("actor_key", sa.String(length=64), nullable=False),
        sa.Column("minute", muli.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("actor_key", name=op.f("pk_refusal_tally")),
    )


def downgrade():
    op.drop_table("refusal_tally")

    # Going down needs one record per person again: fails while a person is on two teams.
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_national_id_index"))
        batch_op.drop_constraint(batch_op.f("uq_patient_team_id_national_id_index"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_patient_national_id_index"), ["national_id_index"])

    with op.batch_alter_table("emergency_access", schema=None) as batch_op:
        batch_op.drop_column("scopes")
