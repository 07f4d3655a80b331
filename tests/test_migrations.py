"""The schema comes from migrations: upgrading an empty database gives exactly the models' schema."""

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import TEST_DATABASE_URL, _pg_uri, scratch_database_name
from training import create_app
from training.compliance.counts import BREACH_KEY, NEVER, OBLIGATION_KEY, PEOPLE_KEY, reconcile, stored_counts
from training.compliance.models import FirstBreachCount, ObligationCount, PeopleCount
from training.extensions import db


@pytest.fixture(params=["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else []))
def empty_database_uri(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    scratch = scratch_database_name("migrations")
    admin = create_engine(_pg_uri(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {scratch}"))
    yield _pg_uri().rsplit("/", 1)[0] + f"/{scratch}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
    admin.dispose()


# SQLite's reflection cannot read an index on an expression (ix_user_active_name on lower(name)); the
# comparison then skips it on both sides, and test_the_people_list_index_exists checks it instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_creates_the_models_schema_and_downgrade_removes_it(empty_database_uri):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        assert diff == [], diff
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_people_list_index_exists_after_upgrade(empty_database_uri):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        upgrade()
        plan = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        everyone = 'SELECT id FROM "user" WHERE active IS true ORDER BY lower(name), id LIMIT 50'
        department = everyone.replace("WHERE", "WHERE department_id = 1 AND")
        plans = {}
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "postgresql":  # an empty table: the plan an ordered index gives
                conn.execute(text("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off"))
            for query in (everyone, department):
                sql = query.replace("active IS true", "active IS 1") if db.engine.dialect.name == "sqlite" else query
                plans[query] = " ".join(str(row) for row in conn.execute(text(plan + sql)))
        db.engine.dispose()
    assert "ix_user_active_name" in plans[everyone], plans
    assert "ix_user_active_department_name" in plans[department], plans


def test_0005_marks_existing_questions_as_synced_and_accepts_the_new_role_and_status(empty_database_uri):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO course (id, slug, title, summary, pass_mark, questions_per_attempt,"
                    " certificate_validity_months, estimated_minutes, version, content_hash, published,"
                    " updated_at, created_at) VALUES (1, 'c', 'C', '', 80, 1, 12, 10, 1, 'h', true,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO question (id, key, course_id, status, created_at)"
                    " VALUES (1, 'q-1', 1, 'published', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO question_version (id, question_id, version, type, scenario, prompt, explanation,"
                    " tags, \"references\", content_hash, created_at) VALUES (1, 1, 1, 'single', '', 'P?', 'E',"
                    " '[]', '[]', 'abc123', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(text("UPDATE question SET current_version_id = 1"))
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT synced_hash, browser_edited_at, status FROM question")).one()
            assert tuple(row) == ("abc123", None, "published")
            assert conn.execute(text("SELECT source, change_note FROM question_version")).one() == ("file", "")
            conn.execute(text("UPDATE question SET status = 'draft'"))
        with pytest.raises(Exception, match=r"(?i)check"), db.engine.begin() as conn:
            conn.execute(text("UPDATE question SET status = 'deleted'"))
        with pytest.raises(Exception, match=r"(?i)check"), db.engine.begin() as conn:
            conn.execute(text("UPDATE course SET max_attempts = 0"))
        downgrade(revision="base")
        db.engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0006_ends_sessions_from_before_and_makes_the_audit_record_append_only(empty_database_uri):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    'INSERT INTO "user" (id, email, name, password_hash, role, job_title, active, updated_at,'
                    " created_at) VALUES (1, 'a@example.org', 'A', 'x', 'staff', '', true, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO user_session (token_hash, user_id, last_seen_at, user_agent, ip_address, created_at)"
                    " VALUES ('live', 1, CURRENT_TIMESTAMP, '', '', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, actor_id, action, subject_type, subject_id, details,"
                    " ip_address) VALUES (CURRENT_TIMESTAMP, 1, 'user.signed_in', 'user', '1', '{}', '')"
                )
            )
        upgrade()
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT ended_at IS NOT NULL, ended_reason, remember FROM user_session")).one()
            assert tuple(row) == (True, "upgrade", False)
        if db.engine.dialect.name == "postgresql":
            for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
                with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
                    conn.execute(text(statement))
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT action FROM audit_event")).scalar_one() == "user.signed_in"
        downgrade(revision="base")
        db.engine.dispose()


def _insert_allowance(conn, allowance_id: int, key: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO attempt_allowance (id, user_id, course_id, cycle, extra_attempts, reason, granted_at,"
            " idempotency_key) VALUES (:id, 1, 1, 0, 1, '', CURRENT_TIMESTAMP, :key)"
        ),
        {"id": allowance_id, "key": key},
    )


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0007_keeps_one_grant_per_key_and_refuses_truncating_the_audit_record(empty_database_uri):
    """The grant key is unique (earlier grants have none); on PostgreSQL a statement-level trigger
    refuses TRUNCATE of audit_event and the rows stay; downgrading removes both. SQLite has no TRUNCATE."""
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    postgresql = empty_database_uri.startswith("postgresql")
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    'INSERT INTO "user" (id, email, name, password_hash, role, job_title, active, updated_at,'
                    " created_at) VALUES (1, 'a@example.org', 'A', 'x', 'staff', '', true, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO course (id, slug, title, summary, pass_mark, questions_per_attempt,"
                    " certificate_validity_months, estimated_minutes, version, content_hash, published,"
                    " attempt_wait_minutes, updated_at, created_at) VALUES (1, 'c', 'C', '', 80, 1, 12, 10, 1, 'h',"
                    " true, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO attempt_allowance (id, user_id, course_id, cycle, extra_attempts, reason,"
                    " granted_at) VALUES (1, 1, 1, 0, 1, '', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, actor_id, action, subject_type, subject_id, details,"
                    " ip_address) VALUES (CURRENT_TIMESTAMP, 1, 'user.signed_in', 'user', '1', '{}', '')"
                )
            )
        upgrade(revision="0007")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT idempotency_key FROM attempt_allowance")).scalar_one() is None
            _insert_allowance(conn, 2, None)
            _insert_allowance(conn, 3, "k" * 43)
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            _insert_allowance(conn, 4, "k" * 43)
        with (
            pytest.raises(Exception, match="audit_event is append-only: TRUNCATE" if postgresql else "syntax error"),
            db.engine.begin() as conn,
        ):
            conn.execute(text("TRUNCATE audit_event"))
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == 1
        downgrade(revision="0006")
        assert "idempotency_key" not in {c["name"] for c in inspect(db.engine).get_columns("attempt_allowance")}
        if postgresql:
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_event"))
                assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == 0
        downgrade(revision="base")
        db.engine.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0013_fills_the_overview_counts_from_the_existing_obligations(empty_database_uri):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": empty_database_uri})
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO department (id, name) VALUES (7, 'Ward')"))
            for user_id, department in ((1, "7"), (2, "7"), (3, "NULL")):
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, name, password_hash, role, job_title, active, updated_at,'
                        f" created_at, department_id) VALUES ({user_id}, 'p{user_id}@example.org', 'P', 'x', 'staff',"
                        f" '', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {department})"
                    )
                )
            for course_id in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO course (id, slug, title, summary, pass_mark, questions_per_attempt,"
                        " certificate_validity_months, estimated_minutes, version, content_hash, published,"
                        f" attempt_wait_minutes, updated_at, created_at) VALUES ({course_id}, 'c{course_id}', 'C',"
                        " '', 80, 1, 12, 10, 1, 'h', true, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
            obligations = [
                (1, 7, 1, "'2026-01-10'", "NULL", "NULL", "false"),  # open, due 10 Jan
                (1, 7, 2, "'2027-01-01'", "'2026-01-01'", "'2027-01-01'", "true"),  # completed, until 2027
                (2, 7, 1, "'2026-01-10'", "NULL", "NULL", "false"),  # the same bucket as the first
                (2, 7, 2, "'2026-03-01'", "NULL", "NULL", "true"),  # open and started
                (3, "NULL", 1, "'2026-05-01'", "'2025-05-01'", "NULL", "false"),  # completed, no expiry
            ]
            for n, (user_id, department, course_id, due, done, until, started) in enumerate(obligations, 1):
                conn.execute(
                    text(
                        "INSERT INTO obligation (id, user_id, department_id, course_id, due_on, completed_on,"
                        f" valid_until, started, refreshed_at) VALUES ({n}, {user_id}, {department}, {course_id},"
                        f" {due}, {done}, {until}, {started}, CURRENT_TIMESTAMP)"
                    )
                )
        upgrade(revision="0013")
        assert stored_counts(ObligationCount, OBLIGATION_KEY, "obligations") == {
            (7, False, False, date(2026, 1, 10)): 2,
            (7, True, False, date(2027, 1, 1)): 1,
            (7, False, True, date(2026, 3, 1)): 1,
            (0, True, False, NEVER): 1,
        }
        assert stored_counts(FirstBreachCount, BREACH_KEY, "people") == {(7, date(2026, 1, 10)): 2, (0, NEVER): 1}
        # reconcile checks the people list's counts (0015 fills them from "user") and search words (0016) too
        upgrade(revision="0016")
        assert stored_counts(PeopleCount, PEOPLE_KEY, "people") == {(7,): 2, (0,): 1}
        assert reconcile(date(2026, 1, 1)) == []
        with db.engine.begin() as conn:  # from now on the triggers keep them: a new person, one deactivated
            conn.execute(
                text(
                    'INSERT INTO "user" (id, email, name, password_hash, role, job_title, active, updated_at,'
                    " created_at, department_id) VALUES (4, 'p4@example.org', 'P', 'x', 'staff', '', true,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 7)"
                )
            )
            conn.execute(text('UPDATE "user" SET active = false WHERE id = 3'))
        assert stored_counts(PeopleCount, PEOPLE_KEY, "people") == {(7,): 3}
        # A person written beside the app's session waits in person_word_pending for the next commit that writes
        # people through it, and reconcile says so.
        assert [(d.table, d.key) for d in reconcile(date(2026, 1, 1))] == [("person_word", (4,))]
        downgrade(revision="0011")
        tables = set(inspect(db.engine).get_table_names())
        assert not {"obligation_count", "first_breach_count", "people_count"} & tables
        downgrade(revision="base")
        db.engine.dispose()
