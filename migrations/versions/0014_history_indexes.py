"""Indexes for a person's history, newest first: the transcript pages read one page of it without sorting it all

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00

"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_quiz_attempt_user_started', 'quiz_attempt', ['user_id', 'started_at'], unique=False)
    op.create_index('ix_completion_user_completed', 'completion', ['user_id', 'completed_at'], unique=False)


def downgrade():
    op.drop_index('ix_completion_user_completed', table_name='completion')
    op.drop_index('ix_quiz_attempt_user_started', table_name='quiz_attempt')
