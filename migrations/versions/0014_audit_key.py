"""Keyed audit chain (issue 15): each event names the audit key of its HMAC; signed checkpoints

Events already in the chain keep `key_id` NULL and their plain SHA-256 hashes: they verify
as they are, as "legacy" events before the first keyed one, and the first signed checkpoint
(`muli audit-checkpoint`, or the worker's) records how many there are, so none can be
added later (docs/audit-trail.md).

Revision ID: 0014_audit_key
Revises: 0011_merge
Create Date: 2026-11-30 08:40:00

"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0014_audit_key'
down_revision = '0011_merge'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=32), nullable=True))
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('made_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoint_seq'), ['seq'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoint_seq'))
    op.drop_table('audit_checkpoint')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('key_id')
