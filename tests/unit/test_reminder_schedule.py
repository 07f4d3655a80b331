"""The reminder schedule and mail settings: pure, no app and no database."""

from datetime import date

import pytest

from training.compliance import rules
from training.mail import MailConfigError, MailSettings, build_message
from training.reminders.schedule import RECENT, SEND, SENT_TODAY, LastReminder, decide, urgent_refs

TODAY = date(2026, 6, 10)


def last(days_ago: int, *urgent: str) -> LastReminder:
    return LastReminder(date.fromordinal(TODAY.toordinal() - days_ago), frozenset(urgent))


@pytest.mark.parametrize(
    ("previous", "urgent_now", "expected"),
    [
        (None, set(), SEND),
        (None, {"course:1"}, SEND),
        (last(0), set(), SENT_TODAY),
        (last(0), {"course:1"}, SENT_TODAY),  # never twice a day, whatever changed
        (last(6), set(), RECENT),
        (last(6, "course:1"), {"course:1"}, RECENT),  # still overdue: not news
        (last(6), {"course:1"}, SEND),  # became overdue since: sooner
        (last(6, "course:1"), {"course:1", "policy:2"}, SEND),
        (last(6, "course:1", "policy:2"), {"policy:2"}, RECENT),  # one got better, none got worse
        (last(7), set(), SEND),
        (last(30, "course:1"), {"course:1"}, SEND),
    ],
)
def test_decide(previous, urgent_now, expected):
    assert decide(previous, frozenset(urgent_now), TODAY, 7) == expected


def test_a_reminder_dated_after_the_day_asked_counts_as_today():
    assert decide(last(-1), frozenset(), TODAY, 7) == SENT_TODAY


def test_only_overdue_and_expired_are_urgent():
    pairs = [("a", rules.OVERDUE), ("b", rules.EXPIRED), ("c", rules.DUE_SOON), ("d", rules.NOT_STARTED)]
    assert urgent_refs(pairs) == {"a", "b"}


def test_mail_settings_defaults_and_environment_strings():
    assert MailSettings.from_config({}) == MailSettings()
    assert MailSettings.from_config({}).console
    settings = MailSettings.from_config(
        {
            "MAIL_SERVER": " smtp.example.org ",
            "MAIL_PORT": "465",
            "MAIL_USE_SSL": "1",
            "MAIL_USE_TLS": "1",
            "MAIL_FROM": "Training <training@example.org>",
            "MAIL_TIMEOUT": "2.5",
        }
    )
    assert (settings.server, settings.port, settings.use_ssl, settings.use_tls) == (
        "smtp.example.org",
        465,
        True,
        False,
    )
    assert settings.timeout == 2.5 and not settings.console


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"MAIL_PORT": "0"}, "MAIL_PORT must be between 1 and 65535"),
        ({"MAIL_PORT": "x"}, "MAIL_PORT must be a number"),
        ({"MAIL_TIMEOUT": "-1"}, "MAIL_TIMEOUT must be between"),
        ({"MAIL_USE_SSL": "sometimes"}, "MAIL_USE_SSL must be 1 or 0"),
        ({"MAIL_SERVER": "smtp.example.org"}, "MAIL_FROM must be an email address"),
        ({"MAIL_SERVER": "smtp.example.org", "MAIL_FROM": "Training"}, "MAIL_FROM must be an email address"),
    ],
)
def test_bad_mail_settings(config, message):
    with pytest.raises(MailConfigError, match=message):
        MailSettings.from_config(config)


def test_a_message_has_text_html_and_no_header_injection():
    message = build_message(
        "training@example.org",
        "Eve\r\nBcc: x@evil.example",
        "eve@example.org",
        "Hi\nBcc: y@evil.example",
        "Body",
        "<p>Body</p>",
    )
    assert message["To"] == '"Eve Bcc: x@evil.example" <eve@example.org>'
    assert message["Subject"] == "Hi Bcc: y@evil.example"
    assert message["Bcc"] is None
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_body(("plain",)).get_content() == "Body\n"
    assert message.get_body(("html",)).get_content() == "<p>Body</p>\n"
