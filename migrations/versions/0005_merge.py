"""one head after the parallel branches

Revision ID: 0005_merge
Revises: 0002_patient_tools, 0003_contact_requests, 0004_meetings
Create Date: 2026-11-22 23:23:46.004704

"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0005_merge'
down_revision = ('0002_patient_tools', '0003_contact_requests', '0004_meetings')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
