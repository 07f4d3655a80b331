"""Certificate serials and certificate status (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from training import clock
from training.certificates import rules
from training.certificates.serials import ALPHABET, LENGTH, InvalidSerial, display_serial, new_serial, parse_serial


def test_new_serials_are_16_crockford_characters_and_do_not_repeat():
    serials = {new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    assert all(len(s) == LENGTH and set(s) <= set(ALPHABET) for s in serials)


def test_serials_carry_80_random_bits():
    """Every position takes every symbol: no fixed prefix or padding eats into the randomness."""
    serials = [new_serial() for _ in range(3000)]
    assert LENGTH * 5 >= 80
    for position in range(LENGTH):
        assert {s[position] for s in serials} == set(ALPHABET)


def test_display_form_groups_by_four():
    assert display_serial("7KQ2M9XD4HRTB3VW") == "7KQ2-M9XD-4HRT-B3VW"


@pytest.mark.parametrize(
    "text",
    ["7KQ2-M9XD-4HRT-B3VW", "7kq2m9xd4hrtb3vw", " 7KQ2 M9XD 4HRT B3VW ", "7KQ2-M9XD-4HRT-B3VW".lower()],
)
def test_parse_forgives_case_dashes_and_spaces(text):
    assert parse_serial(text) == "7KQ2M9XD4HRTB3VW"


def test_parse_reads_look_alike_letters_as_digits():
    assert parse_serial("OOOO-IIII-LLLL-0000") == "0000111111110000"


@pytest.mark.parametrize(
    "text", ["", "7KQ2", "7KQ2-M9XD-4HRT-B3VWX", "7KQ2-M9XD-4HRT-B3VU", "../../etc/passwd", "7KQ2%M9XD", "é" * 16]
)
def test_parse_rejects_what_cannot_be_a_serial(text):
    with pytest.raises(InvalidSerial, match="16 letters and digits"):
        parse_serial(text)


NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "revoked_at", "expected"),
    [
        (NOW + timedelta(days=1), None, rules.VALID),
        (NOW, None, rules.EXPIRED),
        (NOW - timedelta(days=1), None, rules.EXPIRED),
        (NOW + timedelta(days=1), NOW - timedelta(seconds=1), rules.REVOKED),
        (NOW - timedelta(days=1), NOW - timedelta(days=30), rules.REVOKED),
        (NOW + timedelta(days=1), NOW + timedelta(days=1), rules.VALID),
    ],
)
def test_certificate_status(expires_at, revoked_at, expected):
    assert rules.certificate_status(expires_at, revoked_at, NOW) == expected


def test_dates_are_written_month_day_year():
    assert clock.format_date(datetime(2026, 3, 2, 23, 0, tzinfo=UTC)) == "2 March 2026"
