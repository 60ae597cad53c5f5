"""integration clients (OAuth2 client credentials, hashed secrets and tokens) and the keyed hash of an imported admission's FHIR identifier (issue 18, item 3)

Revision ID: 0033_fhir_in
Revises: 0021_plans
Create Date: 2026-11-30 11:48:03.661133

"""
from alembic import op
import sqlalchemy as sa

import muli.models.base


# revision identifiers, used by Alembic.
revision = '0033_fhir_in'
down_revision = '0021_plans'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('integration_client',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('disabled_at', muli.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', muli.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_integration_client_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_client')),
    sa.UniqueConstraint('name', name=op.f('uq_integration_client_name'))
    )
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_client_team_id'), ['team_id'], unique=False)

    op.create_table('integration_token',
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('expires_at', muli.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', muli.models.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['integration_client.id'], name=op.f('fk_integration_token_client_id_integration_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_integration_token_token_hash'))
    )
    with op.batch_alter_table('integration_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_token_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_token_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_admission_patient_id_source_key'), ['patient_id', 'source_key'])



def downgrade():
    with op.batch_alter_table('admission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_admission_patient_id_source_key'), type_='unique')
        batch_op.drop_column('source_key')

    with op.batch_alter_table('integration_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_token_expires_at'))
        batch_op.drop_index(batch_op.f('ix_integration_token_client_id'))

    op.drop_table('integration_token')
    with op.batch_alter_table('integration_client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_client_team_id'))

    op.drop_table('integration_client')
