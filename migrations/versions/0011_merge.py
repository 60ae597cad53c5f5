"""one head after the parallel branches of issues 13 (login throttle) and 14

Revision ID: 0011_merge
Revises: 0006_login_throttle, 0010_merge
Create Date: 2026-11-30 07:20:00

"""

# revision identifiers, used by Alembic.
revision = "0011_merge"
down_revision = ("0006_login_throttle", "0010_merge")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
