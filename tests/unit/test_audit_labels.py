"""Audit action labels and the compact view of an event's details, checked without an app."""

import pytest

from training.audit.labels import ACTION_GROUPS, ACTION_LABELS, action_choices, action_label, detail_lines, group_of
from training.authoring.activity import ACTION_LABELS as AUTHORING_LABELS


@pytest.mark.parametrize(
    ("action", "label"),
    [
        ("certificate.revoked", "Certificate revoked"),
        ("access.denied", "Access refused"),
        ("mfa.recovery_code_used", "Recovery code used"),
        ("report.scheduled_later", "Report scheduled later"),  # not known yet: readable from its name
        ("", "(no action)"),
    ],
)
def test_action_labels(action, label):
    assert action_label(action) == label


def test_every_label_belongs_to_a_group_and_each_group_offers_its_prefix():
    assert all(group_of(action) != "Other" for action in ACTION_LABELS)
    assert group_of("nothing.known") == "Other"
    groups = dict(action_choices())
    assert groups["Staff records"][0] == ("staff.", "All in “Staff records”")
    assert ("staff.updated", "Person's record changed") in groups["Staff records"]
    assert [value for value, _ in groups["Two-step sign-in"]][:2] == ["mfa.", "mfa.enabled"], (
        "the group, then its actions"
    )
    assert len(groups) == len(ACTION_GROUPS)


def test_the_authoring_activity_page_keeps_its_labels_from_the_one_map():
    assert AUTHORING_LABELS["question.created"] == "Question created"
    assert AUTHORING_LABELS["question_bank.exported"] == "Questions exported"
    assert "staff.updated" not in AUTHORING_LABELS and "access.denied" not in AUTHORING_LABELS


def test_details_are_short_key_value_lines():
    details = {
        "reason": "not_owner",
        "filter": {"q": "", "department_id": 3, "status": None},
        "changed": {"title": ["Old", "New"]},
        "material": False,
        "counts": {"people": 2},
        "rows": 0,
        "empty": [],
        "items": [{"a": 1}, "b"],
    }
    assert detail_lines(details) == [
        "changed.title: Old, New",
        "counts.people: 2",
        "filter.department id: 3",
        "items: a: 1, b",
        "material: no",
        "reason: not_owner",
        "rows: 0",
    ]


def test_a_long_value_is_cut_with_an_ellipsis():
    (line,) = detail_lines({"message": "x" * 500})
    assert len(line) == 200 and line.endswith("…") and line.startswith("message: xxx")


def test_no_details_no_lines():
    assert detail_lines({}) == [] and detail_lines(None) == []
