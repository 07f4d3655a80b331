"""The overview's counts: obligations per (department, completed, started, deciding day), people per
(department, first breach day), filled from the existing obligations

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 09:10:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The same rules as training/compliance/counts.py: department 0 for none, date.max (9999-12-31) for a completion
# that never expires; the deciding day is due_on while open, valid_until once completed; started only while open.
FILL_OBLIGATION_COUNT = """
INSERT INTO obligation_count (department_key, completed, started, day, obligations)
SELECT COALESCE(department_id, 0),
       CASE WHEN completed_on IS NULL THEN false ELSE true END,
       CASE WHEN completed_on IS NULL AND started THEN true ELSE false END,
       CASE WHEN completed_on IS NULL THEN due_on ELSE COALESCE(valid_until, :never) END,
       COUNT(*)
FROM obligation
GROUP BY 1, 2, 3, 4
"""
FILL_FIRST_BREACH_COUNT = """
INSERT INTO first_breach_count (department_key, day, people)
SELECT department_key, day, COUNT(*)
FROM (SELECT COALESCE(department_id, 0) AS department_key,
             MIN(CASE WHEN completed_on IS NULL THEN due_on ELSE COALESCE(valid_until, :never) END) AS day
      FROM obligation
      GROUP BY user_id, COALESCE(department_id, 0)) AS person
GROUP BY department_key, day
"""


def upgrade():
    op.create_table('obligation_count',
    sa.Column('department_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('started', sa.Boolean(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('obligations', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department_key', 'completed', 'started', 'day', name=op.f('pk_obligation_count'))
    )
    op.create_index('ix_obligation_count_status', 'obligation_count', ['completed', 'started', 'day', 'obligations'])
    op.create_table('first_breach_count',
    sa.Column('department_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department_key', 'day', name=op.f('pk_first_breach_count'))
    )
    never = sa.bindparam('never', date.max, type_=sa.Date())
    op.execute(sa.text(FILL_OBLIGATION_COUNT).bindparams(never))
    op.execute(sa.text(FILL_FIRST_BREACH_COUNT).bindparams(never))


def downgrade():
    op.drop_table('first_breach_count')
    op.drop_index('ix_obligation_count_status', table_name='obligation_count')
    op.drop_table('obligation_count')
