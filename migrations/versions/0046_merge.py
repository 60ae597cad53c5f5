"""one head after the parallel branches of issue 19's fifth pass (the queue's per-team
version; no patient name in patient-written plan versions)

Revision ID: 0046_merge
Revises: 0044_queue_version, 0045_patient_author
Create Date: 2026-11-30 19:00:00

"""

# revision identifiers, used by Alembic.
revision = "0046_merge"
down_revision = ("0044_queue_version", "0045_patient_author")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
