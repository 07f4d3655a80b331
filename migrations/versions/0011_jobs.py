"""Background jobs: the job table (heavy exports run by a worker)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 07:30:00

"""
from alembic import op
import sqlalchemy as sa

from training.db import UTCDateTime


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done_count', sa.Integer(), nullable=False),
    sa.Column('total_count', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.JSON(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('result_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_job_status_known')),
    sa.CheckConstraint('done_count >= 0 AND total_count >= 0', name=op.f('ck_job_counts_not_negative')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_job_requested_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    op.create_index(op.f('ix_job_key'), 'job', ['key'], unique=False)
    op.create_index(op.f('ix_job_requested_by_id'), 'job', ['requested_by_id'], unique=False)
    op.create_index(
        'uq_job_active_key',
        'job',
        ['key'],
        unique=True,
        sqlite_where=sa.text("finished_at IS NULL"),
        postgresql_where=sa.text("finished_at IS NULL"),
    )


def downgrade():
    op.drop_index('uq_job_active_key', table_name='job')
    op.drop_index(op.f('ix_job_requested_by_id'), table_name='job')
    op.drop_index(op.f('ix_job_key'), table_name='job')
    op.drop_table('job')
