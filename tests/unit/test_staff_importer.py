"""The staff CSV importer on its own: decoding, header, line numbers, row rules and the plan."""

from datetime import date

import pytest

from training.staff.csv_file import FileProblem, decode, header_columns
from training.staff.import_plan import Directory, ExistingPerson
from training.staff.import_planner import MAX_ROWS, plan_import

HEADER = "employee_id,name,email,department,job_title,hire_date,manager_email"

ALICE = ExistingPerson(1, "E1", "Alice Adams", "alice@example.org", "Pharmacy", "Pharmacist", date(2020, 1, 6), None)
BOB = ExistingPerson(2, "E2", "Bob Brown", "bob@example.org", "Pharmacy", "Technician", None, "alice@example.org")
CARL = ExistingPerson(3, None, "Carl Cole", "carl@example.org", None, "", None, None)
GONE = ExistingPerson(4, "E4", "Gina Gone", "gina@example.org", "Pharmacy", "", None, None, active=False)
ADMIN = ExistingPerson(5, "E5", "Ada Admin", "ada@example.org", None, "Director", None, None, role="admin")
DIRECTORY = Directory((ALICE, BOB, CARL, GONE, ADMIN), ("Pharmacy", "Emergency Department"))


def csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def plan(data: bytes, **options):
    return plan_import(data, DIRECTORY, **options)


def messages(result) -> list[str]:
    return [str(error) for error in result.errors]


# --- decoding ------------------------------------------------------------------------------------


def test_decodes_utf8_with_and_without_bom_and_windows_1252():
    assert decode("Zoë".encode()) == ("Zoë", "UTF-8")
    assert decode(b"\xef\xbb\xbfZo\xc3\xab") == ("Zoë", "UTF-8 with BOM")
    assert decode("Zoë \u2013 Müller".encode("cp1252")) == ("Zoë \u2013 Müller", "Windows-1252 (Latin-1)")


@pytest.mark.parametrize("data", [b"", b"   \n\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data):
    with pytest.raises(FileProblem, match="The file is empty"):
        decode(data)


@pytest.mark.parametrize(
    "data", [b"PK\x03\x04\x14\x00\x00\x00", b"\x89PNG\r\n\x1a\n", bytes([0x81, 0x8D, 0x41]), b"a\x01b"]
)
def test_binary_data_is_not_a_csv_file(data):
    with pytest.raises(FileProblem, match="not a CSV text file"):
        decode(data)


# --- header --------------------------------------------------------------------------------------


def test_header_names_are_case_insensitive_and_in_any_order():
    columns = header_columns([" Email", "NAME", "employee_id", "Manager_Email", "hire_date", "job_title", "Department"])
    assert columns["email"] == 0 and columns["name"] == 1 and columns["department"] == 6


@pytest.mark.parametrize(
    "header, expected",
    [
        ("employee_id,name,email", "missing column(s) department, job_title, hire_date, manager_email"),
        (HEADER + ",salary", "unknown column(s) salary (extra columns are not accepted)"),
        (HEADER + ",", "unknown column(s) (column 8 has no name)"),
        (HEADER + ",email", "repeated column(s) email"),
        (HEADER.replace(",", ";"), "separated by semicolons"),
        ("E1,Alice Adams,alice@example.org,Pharmacy,Pharmacist,2020-01-06,", "unknown column(s) e1"),
    ],
)
def test_a_wrong_header_is_one_clear_error(header, expected):
    result = plan(csv("E9,New Person,new@example.org,,,,", header=header))
    assert not result.ok and len(result.errors) == 1
    assert result.errors[0].line is None
    assert expected in result.errors[0].message and "Line 1 (the header)" in result.errors[0].message
    assert HEADER in result.errors[0].message


def test_a_header_without_rows_is_an_error():
    assert messages(plan(csv())) == ["The file has a header but no rows of people."]


# --- rows ----------------------------------------------------------------------------------------


def test_line_numbers_count_the_header_blank_lines_and_quoted_line_breaks():
    data = csv(
        "E10,Ann One,ann@example.org,Pharmacy,,2024-01-01,",
        "",
        'E11,"Ben\nTwo",ben@example.org,Pharmacy,,2024-01-01,',
        "E12,Cy Three,not-an-email,Pharmacy,,2024-01-01,",
    )
    result = plan(data)
    assert [e.line for e in result.errors] == [4, 6]
    assert "name contains a control character (U+000A, line feed)" in result.errors[0].message
    assert "email 'not-an-email' is not a valid email address" in result.errors[1].message


def test_a_new_person_an_update_and_an_unchanged_row():
    result = plan(
        csv(
            "E10,Nia Okafor,Nia.Okafor@Example.org,pharmacy,Nurse,2024-03-31,bob@example.org",
            "E2,Bob Brown,bob@example.org,Emergency Department,Technician,2021-05-01,alice@example.org",
            "E1,Alice Adams,alice@example.org,Pharmacy,Pharmacist,2020-01-06,",
        )
    )
    assert result.ok, messages(result)
    assert result.encoding == "UTF-8"
    new, bob, alice = result.rows
    assert (new.action, new.person_id, new.record.email, new.record.department) == (
        "create",
        None,
        "nia.okafor@example.org",
        "Pharmacy",
    )
    assert bob.action == "update"
    assert [(c.field, c.old, c.new) for c in bob.changes] == [
        ("department", "Pharmacy", "Emergency Department"),
        ("hire_date", "", "2021-05-01"),
    ]
    assert alice.action == "unchanged"
    assert result.summary() == "1 new, 1 updated, 1 unchanged"


def test_someone_without_employee_id_is_matched_by_email_and_given_one():
    result = plan(csv("E30,Carl Cole,CARL@example.org,,,,"))
    assert result.ok and result.rows[0].person_id == CARL.id
    assert [(c.field, c.old, c.new) for c in result.rows[0].changes] == [("employee_id", "", "E30")]


def test_empty_required_fields_are_named():
    result = plan(csv(",,,Pharmacy,,,"))
    assert [e.line for e in result.errors] == [2, 2, 2]
    assert "employee_id is empty" in result.errors[0].message
    assert "name is empty" in result.errors[1].message
    assert "email is empty" in result.errors[2].message


def test_a_row_with_the_wrong_number_of_values():
    assert messages(plan(csv("E10,Ann,ann@example.org"))) == ["line 2: has 3 values but the header has 7 columns"]


@pytest.mark.parametrize("value", ["03/04/2021", "2021-02-30", "2021-2-3", "20210203", "yesterday"])
def test_bad_dates_say_the_expected_format(value):
    result = plan(csv(f"E10,Ann,ann@example.org,Pharmacy,,{value},"))
    assert messages(result) == [
        f"line 2: hire_date {value!r} is not a date in the format YYYY-MM-DD (for example 2024-03-31)"
    ]


@pytest.mark.parametrize("value", ["9999-12-31", "1899-12-31"])
def test_dates_outside_the_supported_years_are_refused(value):
    """9999-12-31 overflowed when due dates were counted from it."""
    result = plan(csv(f"E10,Ann,ann@example.org,Pharmacy,,{value},"))
    assert messages(result) == [f"line 2: hire_date {value!r}: Enter a date from 1900 to 2999."]


def test_values_longer_than_the_records_allow():
    result = plan(csv(f"E10,{'x' * 201},ann@example.org,Pharmacy,,,"))
    assert messages(result) == ["line 2: name is longer than 200 characters"]


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            'E10,"Ann\r\nAdams",ann@example.org,Pharmacy,,,',
            "line 2: name contains a control character (U+000D, carriage return); remove it",
        ),
        (
            "E10,Ann\u2028Adams,ann@example.org,Pharmacy,,,",
            "line 2: name contains a line separator (U+2028); remove it",
        ),
        (
            "E10,Ann\x85Adams,ann@example.org,Pharmacy,,,",
            "line 2: name contains a control character (U+0085, next line); remove it",
        ),
        (
            "E10,Ann\u202eAdams,ann@example.org,Pharmacy,,,",
            "line 2: name contains a bidirectional text control (U+202E, right-to-left override); remove it",
        ),
        (
            "E10,Ann Adams,ann@example.org,Pharmacy,Nurse\tLead,,",
            "line 2: job_title contains a control character (U+0009, tab); remove it",
        ),
        (
            "E\u200f10,Ann Adams,ann@example.org,Pharmacy,,,",
            "line 2: employee_id contains a bidirectional text control (U+200F, right-to-left mark); remove it",
        ),
        (
            "E10,Ann Adams,ann@example.org,Phar\ufeffmacy,,,",
            "line 2: department contains an invisible formatting character (U+FEFF, byte order mark); remove it",
        ),
    ],
)
def test_hidden_characters_in_a_persons_fields_are_refused_with_their_line(row, expected):
    """A department with a line break is not tidied into an existing one either: the row is refused."""
    assert messages(plan(csv(row), create_departments=True)) == [expected]


def test_a_byte_order_mark_at_the_start_of_a_value_is_dropped():
    result = plan(csv("\ufeffE10,\ufeffAnn Adams,\ufeffann@example.org,\ufeffPharmacy,\ufeffNurse,,"))
    assert result.ok, messages(result)
    record = result.rows[0].record
    assert (record.employee_id, record.name, record.email, record.department, record.job_title) == (
        "E10",
        "Ann Adams",
        "ann@example.org",
        "Pharmacy",
        "Nurse",
    )


def test_names_in_any_script_are_imported_as_written():
    names = ["محمد الأحمد", "שרה כהן", "王小明", "Siobhán O'Connor-Ní Bhriain", "علی" + "\u200c" + "اکبر رضایی"]
    rows = [f"E{n},{name},p{n}@example.org,Pharmacy,,," for n, name in enumerate(names)]
    result = plan(csv(*rows))
    assert result.ok, messages(result)
    assert [row.record.name for row in result.rows] == names


def test_duplicate_emails_in_the_file_name_the_first_line():
    result = plan(csv("E10,Ann,ann@example.org,,,,", "E11,Ann Again,ANN@example.org,,,,"))
    assert messages(result) == ["line 3: email ann@example.org is also on line 2"]


def test_duplicate_employee_ids_in_the_file_name_the_first_line():
    result = plan(csv("E10,Ann,ann@example.org,,,,", "E10,Ben,ben@example.org,,,,"))
    assert messages(result) == ["line 3: employee_id E10 is also on line 2"]


def test_an_email_belonging_to_another_existing_person():
    result = plan(csv("E1,Alice Adams,bob@example.org,Pharmacy,Pharmacist,2020-01-06,"))
    assert messages(result) == [
        "line 2: email bob@example.org belongs to another person (Bob Brown, employee_id E2), "
        "not to employee_id E1 (Alice Adams)"
    ]


def test_an_employee_id_is_never_changed_by_matching_an_email():
    result = plan(csv("E99,Bob Brown,bob@example.org,Pharmacy,Technician,,alice@example.org"))
    assert messages(result) == [
        "line 2: email bob@example.org belongs to another person (Bob Brown, employee_id E2); "
        "employee_id E99 is not theirs"
    ]


def test_an_unknown_department_is_an_error_that_says_where_to_add_it():
    result = plan(csv("E10,Ann,ann@example.org,Radiology,,,"))
    assert len(result.errors) == 1
    assert 'department "Radiology" does not exist' in result.errors[0].message
    assert (
        "Staff > Departments" in result.errors[0].message and "Create missing departments" in result.errors[0].message
    )


def test_missing_departments_are_listed_to_create_only_when_asked():
    data = csv("E10,Ann,ann@example.org,Radiology,,,", "E11,Ben,ben@example.org,RADIOLOGY,,,")
    result = plan(data, create_departments=True)
    assert result.ok and result.new_departments == ("Radiology",)
    assert [row.record.department for row in result.rows] == ["Radiology", "Radiology"]


def test_managers_may_be_later_in_the_file_or_in_the_records():
    result = plan(
        csv(
            "E10,Ann,ann@example.org,,,,ben@example.org",
            "E11,Ben,ben@example.org,,,,alice@example.org",
        )
    )
    assert result.ok, messages(result)


@pytest.mark.parametrize(
    "manager, expected",
    [
        ("ghost@example.org", "manager_email ghost@example.org is not in this file or in the staff records"),
        ("gina@example.org", "manager_email gina@example.org belongs to a deactivated person"),
        ("ann@example.org", "a person cannot be their own manager"),
        ("not an email", "manager_email 'not an email' is not a valid email address"),
    ],
)
def test_bad_managers(manager, expected):
    result = plan(csv(f"E10,Ann,ann@example.org,,,,{manager}"))
    assert len(result.errors) == 1 and expected in result.errors[0].message


def test_an_email_changed_by_the_file_no_longer_names_a_manager():
    result = plan(
        csv(
            "E1,Alice Adams,alice.adams@example.org,Pharmacy,Pharmacist,2020-01-06,",
            "E10,Ann,ann@example.org,,,,alice@example.org",
        )
    )
    assert messages(result) == ["line 3: manager_email alice@example.org is not in this file or in the staff records"]


def test_only_an_admin_may_change_hr_and_admin_accounts():
    row = "E5,Ada Admin,ada@example.org,,Chief Executive,,"
    refused = plan(csv(row))
    assert messages(refused) == ["line 2: Ada Admin, employee_id E5 has the admin role; only an admin can change them"]
    assert plan(csv(row), may_change_privileged=True).ok
    assert plan(csv("E5,Ada Admin,ada@example.org,,Director,,")).ok  # unchanged: nothing to refuse
    assert plan(csv(row), importer_id=ADMIN.id).ok  # their own record, as on the form


def test_every_problem_on_a_row_is_reported_at_once():
    result = plan(
        csv(
            "E10,Ann,ann@example.org,,,,",
            "E10,,ANN@example.org,Radiology,,2024-02-30,ghost@example.org",
        )
    )
    assert [e.line for e in result.errors] == [3] * 6
    found = " | ".join(e.message for e in result.errors)
    for part in (
        "name is empty",
        'department "Radiology" does not exist',
        "hire_date '2024-02-30'",
        "email ann@example.org is also on line 2",
        "employee_id E10 is also on line 2",
        "manager_email ghost@example.org is not in this file",
    ):
        assert part in found


def test_a_row_with_errors_can_still_be_someones_manager():
    result = plan(csv("E10,Ann,ann@example.org,,,,ben@example.org", "E11,Ben,ben@example.org,,,bad-date,"))
    assert messages(result) == [
        "line 3: hire_date 'bad-date' is not a date in the format YYYY-MM-DD (for example 2024-03-31)"
    ]


def test_a_file_with_errors_still_shows_what_the_valid_rows_would_do():
    result = plan(csv("E10,Ann,ann@example.org,,,,", "E11,Ben,ben@example.org,,,31/12/2024,"))
    assert not result.ok and [row.line for row in result.rows] == [2]
    assert result.summary() == "1 new, 0 updated, 0 unchanged; 1 error(s)"


def test_malformed_csv_quoting_is_reported_with_its_line():
    result = plan(csv("E10,Ann,ann@example.org,,,,", 'E11,"Ben,ben@example.org,,,,'))
    assert len(result.errors) == 1 and result.errors[0].line is None
    assert result.errors[0].message.startswith("Line 3: the file cannot be read as CSV")


def test_more_than_the_row_cap_is_refused():
    rows = [f"E{n},P{n},p{n}@example.org,,,," for n in range(MAX_ROWS + 1)]
    result = plan(csv(*rows))
    assert messages(result) == ["The file has more than 50,000 rows. Split it into smaller files."]
