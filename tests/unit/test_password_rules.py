"""The password rules as a pure function: length, common passwords, context words (ASVS 6.2)."""

import gzip

import pytest

from training.auth import password_rules
from training.auth.password_rules import (
    BREACHED,
    COMMON,
    CONTAINS_EMAIL,
    ONLY_SPACES,
    TOO_LONG,
    TOO_SHORT,
    common_passwords,
    password_problem,
)


@pytest.mark.parametrize(
    "password, problem",
    [
        ("a" * 11, TOO_SHORT),
        ("correct horse", None),  # 13 characters, spaces allowed, no composition rules
        ("x" * 128, None),
        ("x" * 129, TOO_LONG),
        ("ünïcödé wörds ✓", None),
        ("密码是一个很长的句子吗", TOO_SHORT),  # 11 characters (33 bytes in UTF-8): characters are counted
        ("密码是一个很长的句子对吧", None),  # 12 characters
        ("🔒" * 12, None),
        (" " * 12, ONLY_SPACES),
        ("\t\n" * 8, ONLY_SPACES),
    ],
)
def test_length_is_counted_in_characters_from_12_to_128(password, problem):
    assert password_problem(password) == problem


@pytest.mark.parametrize("password", ["qwerty123456", "QWERTY123456", "  1q2w3e4r5t6y  ", "Startfinding"])
def test_common_passwords_are_refused_whatever_their_case_and_surrounding_spaces(password):
    assert password_problem(password) == COMMON


# Keyboard patterns that meet any composition rule, from breach corpora; not words, not on Django's list.
@pytest.mark.parametrize("password", ["1qaz!QAZ2wsx@WSX", "!QAZ2wsx#EDC", "zaq12wsxcde3", "Qwerty123456!"])
def test_passwords_from_data_breaches_are_refused(password):
    assert password.strip().lower() not in common_passwords()
    assert password_problem(password) == BREACHED


def test_the_refusal_says_why_and_what_to_do():
    assert COMMON == "This password is on a list of commonly used passwords. Choose another."


def test_the_shipped_list_is_django_s_20000_passwords_loaded_once():
    passwords = common_passwords()
    assert len(passwords) > 19_000 and "password" in passwords and "qwerty123456" in passwords
    assert all(p == p.strip() and p for p in passwords)
    assert common_passwords() is passwords, "cached: the file is read once per process"
    with gzip.open(password_rules.COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        assert sum(1 for line in lines if line.strip()) >= len(passwords)


def test_the_list_s_licence_ships_beside_it():
    licence = password_rules.COMMON_PASSWORDS_FILE.with_name("COMMON-PASSWORDS-LICENSE").read_text()
    assert "Django Software Foundation" in licence and "Redistribution and use" in licence


@pytest.mark.parametrize(
    "password, email, problem",
    [
        ("nia.okafor@example.org", "nia.okafor@example.org", CONTAINS_EMAIL),
        ("  NIA.OKAFOR@example.org ", "nia.okafor@example.org", CONTAINS_EMAIL),
        ("my name is Nia.Okafor!", "nia.okafor@example.org", CONTAINS_EMAIL),
        ("nia.oka for the win", "nia.okafor@example.org", CONTAINS_EMAIL),  # spaces do not hide it
        ("nia okafor rides a bike", "nia.okafor@example.org", None),
        ("jo@example.org", "jo@example.org", CONTAINS_EMAIL),  # the address itself, however short
        ("jo is a fine name to have", "jo@example.org", None),  # a short local part alone is not refused
        ("a passphrase for dana", "", None),
    ],
)
def test_a_password_containing_the_account_s_email_is_refused(password, email, problem):
    assert password_problem(password, email=email) == problem


def test_words_specific_to_the_site_are_refused():
    problem = password_problem("demohealth is great", context_words=["Demo Health"])
    assert problem == "This password contains the name of this site (Demo Health). Choose another."
    assert password_problem("a demo of good health", context_words=["Demo Health"]) is None
    assert password_problem("an NHS password!!", context_words=["NHS"]) is None, "words under 4 letters are skipped"


def test_the_rules_are_checked_in_order_length_first():
    assert password_problem("qwerty", email="qwerty@example.org") == TOO_SHORT
    assert password_problem("qwerty123456", email="qwerty123456@example.org") == COMMON
