"""Pure compliance rules: who a rule applies to, due dates, recertification and the status on a day."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from training.compliance import rules
from training.compliance.rules import ItemRecord, ObligationDates, Person, Rule

TODAY = date(2026, 11, 24)
NURSE = Person(department_id=1, job_title="Registered Nurse", hire_date=date(2020, 1, 6))


def test_an_empty_rule_applies_to_everyone():
    assert rules.applies_to(Rule(30, TODAY), NURSE)
    assert rules.applies_to(Rule(30, TODAY), Person(None, "", None))


def test_department_and_job_title_must_both_match_when_given():
    assert rules.applies_to(Rule(30, TODAY, department_id=1, job_title="registered nurse "), NURSE)
    assert not rules.applies_to(Rule(30, TODAY, department_id=2), NURSE)
    assert not rules.applies_to(Rule(30, TODAY, department_id=1, job_title="Pharmacist"), NURSE)


def test_existing_staff_are_due_n_days_after_the_rule_was_made():
    dates = rules.obligation_dates([Rule(30, date(2026, 11, 1))], NURSE, ItemRecord())
    assert dates.due_on == date(2026, 12, 1) and dates.completed_on is None


def test_new_hires_are_due_n_days_after_their_hire_date():
    hired = Person(1, "Registered Nurse", date(2026, 11, 20))
    assert rules.obligation_dates([Rule(14, date(2026, 1, 1))], hired, ItemRecord()).due_on == date(2026, 12, 4)


def test_the_strictest_of_several_rules_wins():
    both = [Rule(60, date(2026, 11, 1), recertify_months=24), Rule(30, date(2026, 11, 1), recertify_months=12)]
    record = ItemRecord(done_on=date(2026, 3, 2), natural_until=date(2028, 3, 2))
    dates = rules.obligation_dates(both, NURSE, record)
    assert dates.valid_until == date(2027, 3, 2) and dates.due_on == date(2027, 3, 2)


def test_a_recertification_period_longer_than_the_certificate_does_not_extend_it():
    record = ItemRecord(done_on=date(2026, 3, 2), natural_until=date(2027, 3, 2))
    dates = rules.obligation_dates([Rule(30, date(2026, 1, 1), recertify_months=24)], NURSE, record)
    assert dates.valid_until == date(2027, 3, 2)


def test_recertification_months_clamp_to_the_end_of_the_month():
    assert rules.add_months_to_date(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_a_material_change_makes_the_old_completion_not_count_and_restarts_the_clock():
    record = ItemRecord(done_on=date(2026, 3, 2), natural_until=date(2027, 3, 2), superseded_on=date(2026, 11, 20))
    dates = rules.obligation_dates([Rule(30, date(2025, 1, 1))], NURSE, record)
    assert dates.completed_on is None and dates.due_on == date(2026, 12, 20)


def test_obligation_dates_need_a_rule():
    with pytest.raises(ValueError):
        rules.obligation_dates([], NURSE, ItemRecord())


def _dates(due_on, completed_on=None, valid_until=None, started=False):
    return ObligationDates(due_on=due_on, completed_on=completed_on, valid_until=valid_until, started=started)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (_dates(date(2027, 3, 1)), rules.NOT_STARTED),
        (_dates(date(2027, 3, 1), started=True), rules.IN_PROGRESS),
        (_dates(date(2026, 12, 24)), rules.DUE_SOON),  # exactly 30 days ahead
        (_dates(date(2026, 12, 25)), rules.NOT_STARTED),  # 31 days ahead
        (_dates(TODAY), rules.DUE_SOON),  # due today is still on time
        (_dates(date(2026, 11, 23), started=True), rules.OVERDUE),
        (_dates(date(2027, 6, 1), date(2026, 6, 1), date(2027, 6, 1)), rules.COMPLETED),
        (_dates(date(2026, 12, 1), date(2025, 12, 1), date(2026, 12, 1)), rules.DUE_SOON),
        (_dates(TODAY, date(2025, 11, 24), TODAY), rules.DUE_SOON),  # last valid day
        (_dates(date(2026, 11, 23), date(2025, 11, 23), date(2026, 11, 23)), rules.EXPIRED),
        (_dates(date(2020, 1, 1), date(2026, 1, 1), None), rules.COMPLETED),  # attested, no expiry
    ],
)
def test_status_on_a_day(dates, expected):
    assert rules.status_on(dates, TODAY, 30) == expected


def test_status_details_say_the_date_that_matters():
    fmt = lambda d: d.isoformat()  # noqa: E731
    assert rules.status_detail(rules.COMPLETED, _dates(TODAY, TODAY, date(2027, 1, 5)), fmt) == "valid until 2027-01-05"
    assert rules.status_detail(rules.EXPIRED, _dates(TODAY, TODAY, date(2026, 11, 1)), fmt) == "expired 2026-11-02"
    assert rules.status_detail(rules.OVERDUE, _dates(date(2026, 11, 1)), fmt) == "was due 2026-11-01"
    assert rules.status_detail(rules.DUE_SOON, _dates(TODAY, TODAY, date(2026, 12, 1)), fmt) == "renew by 2026-12-01"
    assert rules.status_detail(rules.NOT_STARTED, _dates(date(2027, 1, 1)), fmt) == "due 2027-01-01"


def test_the_worst_status_is_the_persons_status():
    assert rules.worst([rules.COMPLETED, rules.DUE_SOON, rules.EXPIRED]) == rules.EXPIRED
    assert rules.worst([]) is None


def test_days_are_counted_in_the_organisations_timezone():
    late_evening_in_new_york = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
    assert rules.local_day(late_evening_in_new_york, ZoneInfo("America/New_York")) == date(2026, 11, 24)
    assert rules.local_day(late_evening_in_new_york, ZoneInfo("UTC")) == date(2026, 11, 25)


def test_something_that_stops_at_local_midnight_was_valid_the_whole_day_before():
    zone = ZoneInfo("Europe/London")
    assert rules.local_last_valid_day(datetime(2027, 3, 2, 0, 0, tzinfo=UTC), zone) == date(2027, 3, 1)
    assert rules.local_last_valid_day(datetime(2027, 3, 2, 14, 0, tzinfo=UTC), zone) == date(2027, 3, 2)
