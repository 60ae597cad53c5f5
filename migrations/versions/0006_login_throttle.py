"""login throttle per username and source, and known devices (issue 13)

Revision ID: 0006_login_throttle
Revises: 0005_merge
Create Date: 2026-11-30 06:07:42.286078

The old `login_throttle` (one row per username, a hard lock) is dropped, not converted: its
rows are counters that expire within 15 minutes, and they name no source. Going down drops
the new counters the same way.
"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0006_login_throttle'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('login_throttle')
    op.create_table('login_throttle',
    sa.Column('username_key', sa.String(length=64), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_try_at', muli.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username_key', 'source_key', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_updated_at'), ['updated_at'], unique=False)

    op.create_table('known_device',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_known_device_account_id_account')),
    sa.PrimaryKeyConstraint('account_id', 'device_hash', name=op.f('pk_known_device'))
    )
    with op.batch_alter_table('known_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_known_device_last_seen_at'), ['last_seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('known_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_known_device_last_seen_at'))
    op.drop_table('known_device')

    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_updated_at'))
    op.drop_table('login_throttle')
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', muli.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
