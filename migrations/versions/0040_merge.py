"""one head after the parallel branches of issues 17, 18 and 19 (HelseID link, FHIR admissions in,
programmes, audit sealed after the commit)

Revision ID: 0040_merge
Revises: 0032_helseid_link, 0033_fhir_in, 0034_programmes, 0036_audit_seal
Create Date: 2026-11-30 13:00:00

"""

# revision identifiers, used by Alembic.
revision = "0040_merge"
down_revision = (
    "0032_helseid_link",
    "0033_fhir_in",
    "0034_programmes",
    "0036_audit_seal",
)
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
