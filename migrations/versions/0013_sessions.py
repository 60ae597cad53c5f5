"""server-side portal sessions and refresh-token families (issue 15, sessions that end)

Revision ID: 0013_sessions
Revises: 0011_merge
Create Date: 2026-11-30 08:45:00

Existing refresh tokens keep working: each family they name gets a `refresh_family` row
(created at its oldest token, no absolute end). Existing portal cookies carry no session id
and so sign their holders out once: they sign in again.
"""

import sqlalchemy as sa
from alembic import op

import muli.models.base

revision = "0013_sessions"
down_revision = "0011_merge"
branch_labels = None
depends_on = None

UTC = muli.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("user_agent", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_portal_session_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_session_token_hash")),
    )
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_session_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_session_ended_at"), ["ended_at"], unique=False)

    op.create_table(
        "refresh_family",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("last_used_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("user_agent", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_refresh_family_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_family")),
    )
    with op.batch_alter_table("refresh_family", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_family_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_family_ended_at"), ["ended_at"], unique=False)

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_change_required", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=64), nullable=True))

    op.execute(
        "INSERT INTO refresh_family (id, created_at, account_id, last_used_at) "
        "SELECT family_id, MIN(created_at), account_id, MAX(created_at) FROM refresh_token "
        "GROUP BY family_id, account_id"
    )


def downgrade():
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("issued_at")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("password_change_required")
    with op.batch_alter_table("refresh_family", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_family_ended_at"))
        batch_op.drop_index(batch_op.f("ix_refresh_family_account_id"))
    op.drop_table("refresh_family")
    with op.batch_alter_table("portal_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_session_ended_at"))
        batch_op.drop_index(batch_op.f("ix_portal_session_account_id"))
    op.drop_table("portal_session")
