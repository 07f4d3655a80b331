"""An index of the first breach counts by day: "not compliant" for everyone sums the days before today from it
(`flask compliance fold` keeps those days to one row per department)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:00:00

"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_first_breach_count_day', 'first_breach_count', ['day', 'people'], unique=False)


def downgrade():
    op.drop_index('ix_first_breach_count_day', table_name='first_breach_count')
