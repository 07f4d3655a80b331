"""indexes for the people lists (active people by name) and the dashboard (people per department)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_user_active_name',
        'user',
        [sa.text('lower(name)'), 'id'],
        unique=False,
        sqlite_where=sa.text('active IS 1'),
        postgresql_where=sa.text('active IS true'),
    )
    op.create_index('ix_obligation_department_user', 'obligation', ['department_id', 'user_id'], unique=False)


def downgrade():
    op.drop_index('ix_obligation_department_user', table_name='obligation')
    op.drop_index('ix_user_active_name', table_name='user')
