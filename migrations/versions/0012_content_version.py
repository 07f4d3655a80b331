"""Content version: one row whose token changes with every catalog write (the per-process content cache)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:20:00

"""
from datetime import datetime, timezone
from uuid import uuid4

from alembic import op
import sqlalchemy as sa

from training.db import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('content_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('changed_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_content_version_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_version'))
    )
    op.bulk_insert(table, [{'id': 1, 'token': uuid4().hex, 'changed_at': datetime.now(timezone.utc)}])


def downgrade():
    op.drop_table('content_version')
