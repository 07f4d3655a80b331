"""security hardening: session lifetimes and end reasons, password resets, two-step sign-in (TOTP
secret, recovery codes) and an append-only audit table on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 19:00:00

"""
from alembic import op
import sqlalchemy as sa

from training.audit.models import APPEND_ONLY_FUNCTION, APPEND_ONLY_TRIGGER
from training.db import UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

END_REASONS = "ended_reason IN ('', 'signed_out', 'idle', 'expired', 'revoked', 'password_changed', 'deactivated', 'upgrade')"


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
    # Plain ADD COLUMN (no batch copy), so the people list's expression index stays in place.
    op.add_column('user', sa.Column('password_changed_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('user', sa.Column('totp_secret', sa.String(length=255), nullable=True))
    op.add_column('user', sa.Column('totp_enabled_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('user', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_reason', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('remember', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Sessions from before the upgrade had no lifetime: they end now and everyone signs in again.
    op.execute(
        "UPDATE user_session SET expires_at = created_at,"
        " ended_reason = CASE WHEN ended_at IS NULL THEN 'upgrade' ELSE 'signed_out' END,"
        " ended_at = COALESCE(ended_at, CURRENT_TIMESTAMP)"
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('ended_reason', server_default=None)
        batch_op.alter_column('remember', server_default=None)
        batch_op.create_check_constraint(op.f('ck_user_session_ended_reason_known'), sa.text(END_REASONS))

    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('ip_address', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_password_reset_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_hash')),
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)

    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_code_code_hash')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event')
        op.execute('DROP FUNCTION IF EXISTS audit_event_append_only()')

    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))
    op.drop_table('password_reset')

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_session_ended_reason_known'), type_='check')
        batch_op.drop_column('remember')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('ended_reason')

    op.drop_index('ix_user_active_name', table_name='user')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_changed_at')
    _recreate_people_index()
