"""The words people are found by: person_word (word, person) and person_word_pending, kept by triggers on "user"
and the session's commit hook (training/auth/search.py), filled from every person; an index of the open obligations
by due day for the people list's status totals

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:40:00

"""
from alembic import op
import sqlalchemy as sa

from training.auth.models import POSTGRESQL_WORD_TRIGGERS, SQLITE_WORD_TRIGGERS
from training.auth.words import words_of


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    op.create_table('person_word',
    sa.Column('word', sa.String(length=64).with_variant(sa.String(length=64, collation='C'), 'postgresql'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_person_word_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('word', 'user_id', name=op.f('pk_person_word'))
    )
    op.create_index(op.f('ix_person_word_user_id'), 'person_word', ['user_id'], unique=False)
    op.create_table('person_word_pending',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_person_word_pending'))
    )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in POSTGRESQL_WORD_TRIGGERS if postgresql else SQLITE_WORD_TRIGGERS:
        op.execute(statement)
    fill_words()
    op.create_index(
        'ix_obligation_open_due',
        'obligation',
        ['due_on', 'user_id'],
        unique=False,
        sqlite_where=sa.text('completed_on IS NULL'),
        postgresql_where=sa.text('completed_on IS NULL'),
    )


def fill_words():
    """Every person's words, read and written in batches."""
    connection = op.get_bind()
    person_word = sa.table('person_word', sa.column('word'), sa.column('user_id'))
    people = connection.execute(sa.text('SELECT id, name, email, employee_id FROM "user" ORDER BY id')).all()
    for start in range(0, len(people), BATCH):
        rows = [
            {'word': word, 'user_id': person.id}
            for person in people[start:start + BATCH]
            for word in sorted(words_of(person.name, person.email, person.employee_id))
        ]
        if rows:
            connection.execute(person_word.insert(), rows)


def downgrade():
    op.drop_index('ix_obligation_open_due', table_name='obligation')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER person_word_update ON "user"')
        op.execute('DROP TRIGGER person_word_insert ON "user"')
        op.execute('DROP FUNCTION person_word_note_pending()')
    else:
        op.execute('DROP TRIGGER person_word_update')
        op.execute('DROP TRIGGER person_word_insert')
    op.drop_table('person_word_pending')
    op.drop_index(op.f('ix_person_word_user_id'), table_name='person_word')
    op.drop_table('person_word')
