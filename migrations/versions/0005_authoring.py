"""authoring in the browser: draft questions, version provenance, files-versus-browser markers,
an author role, attempt limits per course and extra attempts granted to a learner

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 18:00:00

"""
from alembic import op
import sqlalchemy as sa

from training.db import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('staff', 'manager', 'hr', 'admin')"
NEW_ROLES = "role IN ('staff', 'manager', 'hr', 'author', 'admin')"
OLD_STATUSES = "status IN ('published', 'retired')"
NEW_STATUSES = "status IN ('draft', 'published', 'retired')"


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


def _sync_markers(batch_op):
    batch_op.add_column(sa.Column('synced_hash', sa.String(length=64), nullable=True))
    batch_op.add_column(sa.Column('browser_edited_at', UTCDateTime(timezone=True), nullable=True))


def upgrade():
    op.drop_index('ix_user_active_name', table_name='user')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_known'), sa.text(NEW_ROLES))

    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempt_wait_minutes', sa.Integer(), nullable=False, server_default='0'))
        _sync_markers(batch_op)
        batch_op.create_check_constraint(op.f('ck_course_max_attempts_positive'), sa.text('max_attempts IS NULL OR max_attempts >= 1'))
        batch_op.create_check_constraint(op.f('ck_course_attempt_wait_not_negative'), sa.text('attempt_wait_minutes >= 0'))
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.alter_column('attempt_wait_minutes', server_default=None)

    with op.batch_alter_table('training_module', schema=None) as batch_op:
        _sync_markers(batch_op)

    with op.batch_alter_table('question', schema=None) as batch_op:
        _sync_markers(batch_op)
        batch_op.drop_constraint(op.f('ck_question_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_question_status_known'), sa.text(NEW_STATUSES))
    # Every question so far came from the files: what the files said is what the database holds.
    op.execute(
        'UPDATE question SET synced_hash = (SELECT content_hash FROM question_version'
        ' WHERE question_version.id = question.current_version_id)'
    )

    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=False, server_default='file'))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('change_note', sa.String(length=300), nullable=False, server_default=''))
        batch_op.create_foreign_key(
            batch_op.f('fk_question_version_created_by_id_user'), 'user', ['created_by_id'], ['id']
        )
        batch_op.create_check_constraint(op.f('ck_question_version_source_known'), sa.text("source IN ('file', 'browser', 'import')"))
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.alter_column('source', server_default=None)
        batch_op.alter_column('change_note', server_default=None)

    op.create_table(
        'attempt_allowance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('cycle', sa.Integer(), nullable=False),
        sa.Column('extra_attempts', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('granted_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('extra_attempts BETWEEN 1 AND 10', name=op.f('ck_attempt_allowance_extra_attempts_range')),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_attempt_allowance_course_id_course')),
        sa.ForeignKeyConstraint(['granted_by_id'], ['user.id'], name=op.f('fk_attempt_allowance_granted_by_id_user')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_attempt_allowance_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_allowance')),
    )
    with op.batch_alter_table('attempt_allowance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempt_allowance_user_id'), ['user_id'], unique=False)
    _recreate_people_index()


def downgrade():
    op.drop_index('ix_user_active_name', table_name='user')
    with op.batch_alter_table('attempt_allowance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_allowance_user_id'))
    op.drop_table('attempt_allowance')

    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_question_version_source_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_question_version_created_by_id_user'), type_='foreignkey')
        batch_op.drop_column('change_note')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('source')

    op.execute("UPDATE question SET status = 'retired' WHERE status = 'draft'")
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_question_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_question_status_known'), sa.text(OLD_STATUSES))
        batch_op.drop_column('browser_edited_at')
        batch_op.drop_column('synced_hash')

    with op.batch_alter_table('training_module', schema=None) as batch_op:
        batch_op.drop_column('browser_edited_at')
        batch_op.drop_column('synced_hash')

    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_course_attempt_wait_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_course_max_attempts_positive'), type_='check')
        batch_op.drop_column('browser_edited_at')
        batch_op.drop_column('synced_hash')
        batch_op.drop_column('attempt_wait_minutes')
        batch_op.drop_column('max_attempts')

    op.execute("UPDATE \"user\" SET role = 'staff' WHERE role = 'author'")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_known'), sa.text(OLD_ROLES))
    _recreate_people_index()
