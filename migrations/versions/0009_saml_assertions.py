"""SAML assertions already used for a sign-in (each accepted once, across workers)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-20 10:00:00

"""
from alembic import op
import sqlalchemy as sa

from training.db import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saml_assertion_used',
        sa.Column('issuer', sa.String(length=1024), nullable=False),
        sa.Column('assertion_id', sa.String(length=256), nullable=False),
        sa.Column('not_on_or_after', UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('issuer', 'assertion_id', name=op.f('pk_saml_assertion_used')),
    )
    with op.batch_alter_table('saml_assertion_used', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_saml_assertion_used_not_on_or_after'), ['not_on_or_after'], unique=False
        )


def downgrade():
    with op.batch_alter_table('saml_assertion_used', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saml_assertion_used_not_on_or_after'))
    op.drop_table('saml_assertion_used')
