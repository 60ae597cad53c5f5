"""one head after the parallel branches of issues 14, 15 and 16 (push lease outcome, at rest,
sessions, audit key, access scope, review verdicts)

Revision ID: 0020_merge
Revises: 0012_at_rest, 0013_sessions, 0014_audit_key, 0015_access_scope, 0016_review_verdict, 0017_attempt_unknown
Create Date: 2026-11-30 09:40:00

"""

# revision identifiers, used by Alembic.
revision = "0020_merge"
down_revision = (
    "0012_at_rest",
    "0013_sessions",
    "0014_audit_key",
    "0015_access_scope",
    "0016_review_verdict",
    "0017_attempt_unknown",
)
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
