"""Searching people: each word typed starts a word of the name, email or employee id, whatever the case and
accents, on the people list and the staff pages alike; the words follow renames and bulk imports; reconcile
reports words that drifted and fixes them."""

import re

import pytest
from sqlalchemy import delete, update

from tests.test_staff import apply, csv_bytes, person_form, upload
from training.auth.models import PersonWord, User
from training.extensions import db

PEOPLE = {
    "anna": ("Anna Patel-Smith", "a.ps@example.org", "E0042"),
    "jose": ("José Núñez", "jnunez@example.org", None),
    "bob": ("Bob Brown", "bob@example.org", "E0107"),
    "sean": ("Seán O'Brien", "obrien@trust.example", None),
}


@pytest.fixture
def people(make_user):
    return {
        key: make_user(name=name, email=email, employee_id=employee_id)
        for key, (name, email, employee_id) in PEOPLE.items()
    }


@pytest.fixture
def hr(make_user, auth):
    user = make_user(role="hr", email="hr@example.org", name="Hana Hr", department="Pharmacy")
    auth.login(user)
    return user


def found_on_people_list(client, query: str) -> set[str]:
    response = client.get("/compliance/people", query_string={"q": query})
    assert response.status_code == 200
    links = set(re.findall(r'<a href="/compliance/people/\d+">([^<]+)</a>', response.get_data(as_text=True)))
    return {key for key, (name, _, _) in PEOPLE.items() if name.replace("'", "&#39;") in links}


def found_on_staff_list(client, query: str) -> set[str]:
    response = client.get("/staff", query_string={"q": query})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    html = html[html.index("<tbody>") :] if "<tbody>" in html else ""
    return {key for key, (name, _, _) in PEOPLE.items() if name.replace("'", "&#39;") in html}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pat", {"anna"}),  # the start of a hyphenated surname's first part
        ("smi", {"anna"}),  # ... and of its second
        ("PATEL", {"anna"}),
        ("patelsmith", {"anna"}),  # the hyphenated name written together
        ("anna pat", {"anna"}),  # every word typed starts one of hers
        ("pat anna", {"anna"}),
        ("anna bob", set()),
        ("jose", {"jose"}),  # accents folded on the person's side
        ("NÚÑEZ", {"jose"}),  # ... and on the search's
        ("sean obrien", {"sean"}),
        ("o'brien", {"sean"}),
        ("a.ps@example", {"anna"}),  # by email
        ("jnunez", {"jose"}),
        ("trust", {"sean"}),  # a word of an email's domain
        ("e01", {"bob"}),  # by employee id
        ("e0042", {"anna"}),
        ("tel", set()),  # the middle of a word is not the start of one
        ("100%", set()),
        ("%", set()),  # no word at all: nobody
    ],
)
def test_a_search_finds_people_by_the_start_of_any_word_ignoring_case_and_accents(client, people, hr, query, expected):
    assert found_on_people_list(client, query) == expected
    assert found_on_staff_list(client, query) == expected


def test_the_words_follow_a_rename_and_a_new_email(app, auth, client, people, hr, runner):
    anna = people["anna"]
    form = person_form(name="Anna Okafor", email="anna.okafor@example.org", employee_id="E0042")
    assert auth.post(f"/staff/{anna.id}/edit", form, token_from="/staff").status_code == 302

    response = client.get("/compliance/people", query_string={"q": "okaf"}).get_data(as_text=True)
    assert f'<a href="/compliance/people/{anna.id}">Anna Okafor</a>' in response
    assert "Anna Okafor" in client.get("/compliance/people", query_string={"q": "anna.okafor@"}).get_data(as_text=True)
    assert "Anna Okafor" not in client.get("/compliance/people", query_string={"q": "patel"}).get_data(as_text=True)
    assert "Anna Okafor" not in client.get("/compliance/people", query_string={"q": "a.ps"}).get_data(as_text=True)
    result = runner.invoke(args=["compliance", "reconcile"])
    assert result.exit_code == 0 and "No drift" in result.output, result.output


def test_people_added_by_the_csv_import_are_found(app, auth, client, hr):
    preview = upload(auth, csv_bytes("E900,Zoë Ærøskøbing,zoe@example.org,,,,"))
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert apply(auth, preview).status_code == 302

    for query in ("zoe", "AEROSK", "e900"):
        html = client.get("/compliance/people", query_string={"q": query}).get_data(as_text=True)
        assert "Zoë Ærøskøbing" in html, query


def test_reconcile_reports_words_that_drifted_and_fixes_them(app, client, people, hr, runner):
    bob = people["bob"]
    with app.app_context():
        db.session.execute(delete(PersonWord).where(PersonWord.user_id == bob.id, PersonWord.word == "brown"))
        db.session.commit()
    assert found_on_people_list(client, "brown") == set()

    checked = runner.invoke(args=["compliance", "reconcile"])
    assert checked.exit_code == 1
    assert f"person_word ({bob.id})" in checked.output

    fixed = runner.invoke(args=["compliance", "reconcile", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert found_on_people_list(client, "brown") == {"bob"}
    assert "No drift" in runner.invoke(args=["compliance", "reconcile"]).output


def test_a_rename_by_a_bulk_update_is_noted_by_the_triggers(app, client, people, hr, runner):
    """A statement that bypasses the ORM's objects (as the HR feed's do) still moves the words."""
    with app.app_context():
        db.session.execute(update(User), [{"id": people["bob"].id, "name": "Robert Brown"}])
        db.session.commit()
    html = client.get("/compliance/people", query_string={"q": "robert"}).get_data(as_text=True)
    assert "Robert Brown" in html
    assert "No drift" in runner.invoke(args=["compliance", "reconcile"]).output
