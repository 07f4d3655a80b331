"""The people list's total: active people per department, kept by triggers on "user" and filled from it; an index
for a department's people by name

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# The same statements as training/compliance/models.py (PeopleCount): department 0 for none.
ADD_PEOPLE = (
    "INSERT INTO people_count (department_key, people) {rows} "
    "ON CONFLICT (department_key) DO UPDATE SET people = people_count.people + excluded.people"
)
SQLITE_TRIGGERS = (
    'CREATE TRIGGER people_count_insert AFTER INSERT ON "user" WHEN NEW.active BEGIN '
    + ADD_PEOPLE.format(rows="VALUES (COALESCE(NEW.department_id, 0), 1)")
    + "; END",
    'CREATE TRIGGER people_count_delete AFTER DELETE ON "user" WHEN OLD.active BEGIN '
    + ADD_PEOPLE.format(rows="VALUES (COALESCE(OLD.department_id, 0), -1)")
    + "; END",
    'CREATE TRIGGER people_count_update AFTER UPDATE OF active, department_id ON "user" '
    "WHEN OLD.active IS NOT NEW.active OR OLD.department_id IS NOT NEW.department_id BEGIN "
    + ADD_PEOPLE.format(rows="SELECT COALESCE(OLD.department_id, 0), -1 WHERE OLD.active")
    + "; "
    + ADD_PEOPLE.format(rows="SELECT COALESCE(NEW.department_id, 0), 1 WHERE NEW.active")
    + "; END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION people_count_follow_user() RETURNS trigger AS $$\n"
    "BEGIN\n"
    "    IF TG_OP <> 'INSERT' THEN\n"
    "        IF OLD.active THEN\n"
    "            " + ADD_PEOPLE.format(rows="VALUES (COALESCE(OLD.department_id, 0), -1)") + ";\n"
    "        END IF;\n"
    "    END IF;\n"
    "    IF TG_OP <> 'DELETE' THEN\n"
    "        IF NEW.active THEN\n"
    "            " + ADD_PEOPLE.format(rows="VALUES (COALESCE(NEW.department_id, 0), 1)") + ";\n"
    "        END IF;\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END;\n"
    "$$ LANGUAGE plpgsql",
    'CREATE TRIGGER people_count_insert_delete AFTER INSERT OR DELETE ON "user" '
    "FOR EACH ROW EXECUTE FUNCTION people_count_follow_user()",
    'CREATE TRIGGER people_count_update AFTER UPDATE OF active, department_id ON "user" FOR EACH ROW '
    "WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.department_id IS DISTINCT FROM NEW.department_id) "
    "EXECUTE FUNCTION people_count_follow_user()",
)
FILL_PEOPLE_COUNT = """
INSERT INTO people_count (department_key, people)
SELECT COALESCE(department_id, 0), COUNT(*) FROM "user" WHERE active = true GROUP BY COALESCE(department_id, 0)
"""


def upgrade():
    op.create_table('people_count',
    sa.Column('department_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('department_key', name=op.f('pk_people_count'))
    )
    op.execute(FILL_PEOPLE_COUNT)
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    op.create_index(
        'ix_user_active_department_name',
        'user',
        ['department_id', sa.text('lower(name)'), 'id'],
        unique=False,
        sqlite_where=sa.text('active IS 1'),
        postgresql_where=sa.text('active IS true'),
    )


def downgrade():
    op.drop_index('ix_user_active_department_name', table_name='user')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER people_count_update ON "user"')
        op.execute('DROP TRIGGER people_count_insert_delete ON "user"')
        op.execute('DROP FUNCTION people_count_follow_user()')
    else:
        op.execute('DROP TRIGGER people_count_update')
        op.execute('DROP TRIGGER people_count_delete')
        op.execute('DROP TRIGGER people_count_insert')
    op.drop_table('people_count')
