"""The dashboard and the people list run a fixed number of SQL queries, whatever the number of staff.

Each size is a synthetic organisation from the same generator as `flask demo --staff N` (two years
of attempts, completions and certificates); the statements of each request are counted with an
SQLAlchemy `before_cursor_execute` listener on the engine.
"""

from contextlib import contextmanager

from sqlalchemy import event, text

from tests.helpers import recorded_statements
from training.content.loader import load_content
from training.content.sync import sync_content
from training.demo_bulk import create_bulk_demo
from training.extensions import db

HR_PAGES = (
    "/compliance",
    "/compliance/people",
    "/compliance/people?page=2",
    "/compliance/people?status=overdue",
    "/compliance/people?status=non_compliant&q=a",
    # The filters HR uses most: a department, the people not compliant, a status, a search by name.
    "/compliance/people?department=2",
    "/compliance/people?status=non_compliant",
    "/compliance/people?status=due_soon",
    "/compliance/people?q=patel",
    "/compliance/people?q=anna%20pat",
)
MANAGER_PAGES = ("/compliance", "/compliance/people")


@contextmanager
def counting_statements(app):
    """Yields a list that collects every SQL statement sent while the block runs."""
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def organisation(app, content_dirs, staff: int) -> tuple[dict[str, str], dict[str, int]]:
    """A fresh database holding a generated organisation of `staff` people: (role -> password, counts)."""
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:  # triggers off: the audit table refuses TRUNCATE otherwise
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        else:
            db.drop_all()
            db.create_all()
        sync_content(load_content(*content_dirs))
        result = create_bulk_demo(staff, seed=11)
        return {account.role: account.password for account in result.accounts}, result.counts


def statements_per_page(app, client, auth, passwords) -> dict[tuple[str, str], int]:
    counts = {}
    for role, pages in (("hr", HR_PAGES), ("manager", MANAGER_PAGES)):
        assert auth.login(f"{role}@demo.example", passwords[role]).status_code == 302
        for page in pages:
            with counting_statements(app) as statements:
                response = client.get(page)
            assert response.status_code == 200, (role, page)
            counts[(role, page)] = len(statements)
        auth.logout()
    return counts


def test_dashboard_and_people_list_run_the_same_queries_at_20_and_200_staff(
    app, client, auth, content_dirs, write_course
):
    write_course("privacy", "Privacy Basics", questions=(("pb-1", "single"), ("pb-2", "true_false")))
    write_course("photos", "Photos on the Ward", questions=(("pw-1", "single"), ("pw-2", "multiple")))
    small_passwords, small = organisation(app, content_dirs, 20)
    at_20 = statements_per_page(app, client, auth, small_passwords)
    large_passwords, large = organisation(app, content_dirs, 200)
    at_200 = statements_per_page(app, client, auth, large_passwords)

    assert large["people"] > 8 * small["people"] and large["completions"] > 5 * small["completions"]
    assert at_20 == at_200, f"statements per page at 20 staff {at_20}, at 200 staff {at_200}"
    # The listener sees the work: the session, then the dashboard's two aggregates or the list's queries.
    assert min(at_200.values()) >= 3, at_200
    people_pages = {key: n for key, n in at_200.items() if key[1].startswith("/compliance/people")}
    assert max(people_pages.values()) <= PEOPLE_PAGE_STATEMENTS, people_pages


# The session with its user, the columns (required items), the departments for the filter, the count,
# and the page of people with their obligations.
PEOPLE_PAGE_STATEMENTS = 5


def test_the_people_list_runs_the_same_statements_for_a_full_page_as_for_a_short_one(
    app, client, auth, course, make_user, make_requirement
):
    hr = make_user("hr")
    make_requirement(course)
    early = [make_user(name=f"Early Person {n}", department=("Ward A", "Ward B")[n % 2]) for n in range(2)]
    auth.login(hr)
    client.get("/compliance/people")
    with recorded_statements(app) as short_page:
        html = client.get("/compliance/people").get_data(as_text=True)
    assert f'<a href="/compliance/people/{early[1].id}">Early Person 1</a>' in html
    assert '<span class="person-meta">Ward B · Registered Nurse</span>' in html
    for n in range(60):
        make_user(name=f"Later Person {n:02}", department=("Ward A", "Ward B", None)[n % 3])
    with recorded_statements(app) as full_page:
        assert client.get("/compliance/people").get_data(as_text=True).count("<tr>") == 51  # the header and 50 people
    with recorded_statements(app) as last_page:
        assert "Later Person 59" in client.get("/compliance/people?page=2").get_data(as_text=True)

    assert len(short_page) == len(full_page) == len(last_page) <= PEOPLE_PAGE_STATEMENTS, (short_page, full_page)
