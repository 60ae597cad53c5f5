"""the privacy officer's review of break-the-glass access: verdict, encrypted comment,
history of every review (issue 15)

Revision ID: 0016_review_verdict
Revises: 0011_merge
Create Date: 2026-11-30 08:28:34.317562

"""
import uuid

from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0016_review_verdict'
down_revision = '0011_merge'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('emergency_access_review',
    sa.Column('emergency_access_id', sa.Uuid(), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=True),
    sa.Column('comment_enc', sa.Text(), nullable=True),
    sa.Column('reviewed_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("verdict IN ('justified', 'not_justified', 'follow_up')", name=op.f('ck_emergency_access_review_verdict')),
    sa.ForeignKeyConstraint(['emergency_access_id'], ['emergency_access.id'], name=op.f('fk_emergency_access_review_emergency_access_id_emergency_access')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['staff.id'], name=op.f('fk_emergency_access_review_reviewed_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_access_review'))
    )
    with op.batch_alter_table('emergency_access_review', schema=None) as batch_op:
        batch_op.create_index('ix_emergency_access_review_access', ['emergency_access_id', 'reviewed_at'], unique=False)

    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_verdict', sa.String(length=20), nullable=True))

    # Reviews signed off before verdicts existed become the first entry of their history,
    # with no verdict and no comment.
    access = sa.table(
        'emergency_access',
        sa.column('id', sa.Uuid()),
        sa.column('reviewed_at', muli.models.base.UTCDateTime(timezone=True)),
        sa.column('reviewed_by_id', sa.Uuid()),
    )
    history = sa.table(
        'emergency_access_review',
        sa.column('id', sa.Uuid()),
        sa.column('emergency_access_id', sa.Uuid()),
        sa.column('reviewed_at', muli.models.base.UTCDateTime(timezone=True)),
        sa.column('reviewed_by_id', sa.Uuid()),
    )
    bind = op.get_bind()
    done = bind.execute(
        sa.select(access.c.id, access.c.reviewed_at, access.c.reviewed_by_id).where(
            access.c.reviewed_at.is_not(None)
        )
    ).all()
    if done:
        op.bulk_insert(
            history,
            [
                dict(id=uuid.uuid4(), emergency_access_id=i, reviewed_at=at, reviewed_by_id=by)
                for i, at, by in done
            ],
        )


def downgrade():
    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.drop_column('review_verdict')

    with op.batch_alter_table('emergency_access_review', schema=None) as batch_op:
        batch_op.drop_index('ix_emergency_access_review_access')

    op.drop_table('emergency_access_review')
