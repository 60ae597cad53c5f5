"""programmes as data (issue 18, item 1): the `programme` table, each team's programme, two
more kinds of agency (correctional service, prison health), and recorded indicator events.

Existing teams run MULI: the migration writes MULI's definition as it stands in the package
today (`muli/data/programmes/muli.yaml`) and points every team at it, so an existing database
keeps working exactly as before.

Revision ID: 0034_programmes
Revises: 0021_plans
Create Date: 2026-11-30 11:39:30

"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import muli.models.base

# revision identifiers, used by Alembic.
revision = "0034_programmes"
down_revision = "0021_plans"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('municipality', 'dps', 'acute_ward', 'police', 'nav', 'other')"
NEW_KINDS = (
    "kind IN ('municipality', 'dps', 'acute_ward', 'police', 'nav', 'correctional_service', "
    "'prison_health', 'other')"
)


def upgrade():
    programme = op.create_table(
        "programme",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            muli.models.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("key", name=op.f("uq_programme_key")),
    )
    op.create_table(
        "indicator_event",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("indicator_enc", sa.Text(), nullable=False),
        sa.Column("count_enc", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            muli.models.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_indicator_event_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["staff.id"], name=op.f("fk_indicator_event_recorded_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_event")),
    )
    with op.batch_alter_table("indicator_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicator_event_patient_id"), ["patient_id"], unique=False)

    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(sa.Column("programme_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_team_programme_id"), ["programme_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_team_programme_id_programme"), "programme", ["programme_id"], ["id"]
        )

    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_agency_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_agency_kind"), NEW_KINDS)

    # Existing teams run MULI: its definition as the package ships it at this revision.
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM team")).scalar():
        from muli.patient import programme as programmes

        muli_id = uuid.uuid4()
        definition = programmes.default()
        op.bulk_insert(
            programme,
            [
                {
                    "id": muli_id,
                    "key": definition["key"],
                    "name": definition["name"]["nb"],
                    "definition": definition,
                    "created_at": datetime.now(UTC),
                }
            ],
        )
        team = sa.table("team", sa.column("programme_id", sa.Uuid()))
        conn.execute(team.update().values(programme_id=muli_id))


def downgrade():
    op.execute(
        "UPDATE agency SET kind = 'other' WHERE kind IN ('correctional_service', 'prison_health')"
    )
    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_agency_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_agency_kind"), OLD_KINDS)

    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_team_programme_id_programme"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_team_programme_id"))
        batch_op.drop_column("programme_id")

    with op.batch_alter_table("indicator_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_event_patient_id"))

    op.drop_table("indicator_event")
    op.drop_table("programme")
