"""SCIM provisioning: SCIM bearer tokens, and each person's external id and deprovisioning time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa

from training.db import UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _recreate_people_index():
    """SQLite's batch copy cannot carry an index on an expression: it is dropped first, made again after."""
    op.create_index(
        'ix_user_active_name',
        'user',
        [sa.text('lower(name)'), 'id'],
        unique=False,
        sqlite_where=sa.text('active IS 1'),
        postgresql_where=sa.text('active IS true'),
    )


def upgrade():
    op.create_table('scim_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_scim_token_created_by_id_user')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_scim_token_revoked_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_token_token_hash'))
    )
    # Plain ADD COLUMN (no batch copy), so the people list's expression index stays in place.
    op.add_column('user', sa.Column('external_id', sa.String(length=255), nullable=True))
    op.add_column('user', sa.Column('deprovisioned_at', UTCDateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_user_external_id'), 'user', ['external_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_user_external_id'), table_name='user')
    op.drop_index('ix_user_active_name', table_name='user')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('deprovisioned_at')
        batch_op.drop_column('external_id')
    _recreate_people_index()
    op.drop_table('scim_token')
