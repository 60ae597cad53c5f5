"""one head after the parallel branches of issue 14 (push subscriptions; the patient's phone and "calling now")

Revision ID: 0010_merge
Revises: 0007_push_subscriptions, 0009_contact_call_started
Create Date: 2026-11-30 07:00:00

"""

# revision identifiers, used by Alembic.
revision = "0010_merge"
down_revision = ("0007_push_subscriptions", "0009_contact_call_started")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
