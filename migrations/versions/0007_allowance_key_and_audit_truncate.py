"""a one-time key per grant of extra quiz attempts (unique), so the same form sent twice grants once;
on PostgreSQL the audit table also refuses TRUNCATE (a statement-level trigger; SQLite has no TRUNCATE)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 10:00:00

"""
from alembic import op
import sqlalchemy as sa

from training.audit.models import NO_TRUNCATE_TRIGGER


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and CREATE INDEX on both backends: no batch copy of the table is needed.
    op.add_column('attempt_allowance', sa.Column('idempotency_key', sa.String(length=64), nullable=True))
    op.create_index(
        op.f('ix_attempt_allowance_idempotency_key'), 'attempt_allowance', ['idempotency_key'], unique=True
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Raises through audit_event_append_only(), the function of migration 0006's row trigger.
        op.execute(NO_TRUNCATE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event')
    op.drop_index(op.f('ix_attempt_allowance_idempotency_key'), table_name='attempt_allowance')
    with op.batch_alter_table('attempt_allowance', schema=None) as batch_op:
        batch_op.drop_column('idempotency_key')
