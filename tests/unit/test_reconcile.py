"""The files-versus-browser decision for one item, without a database."""

import pytest

from training.content import reconcile
from training.content.reconcile import APPLY, CONFLICT, KEPT, OVERRIDDEN, SAME, Fingerprints, decide, decide_missing


@pytest.mark.parametrize(
    ("item", "prefer_files", "expected"),
    [
        (Fingerprints("f2", "f1", "f1", False), False, APPLY),  # only the files changed
        (Fingerprints("f1", None, None, False), False, APPLY),  # new in the files
        (Fingerprints("f1", "f1", "f0", True), False, SAME),  # exported: in agreement again
        (Fingerprints("f1", "b1", "f1", True), False, KEPT),  # only the browser changed
        (Fingerprints("f2", "b1", "f1", True), False, CONFLICT),  # both changed
        (Fingerprints("f1", "b1", None, True), False, CONFLICT),  # never synced: cannot tell
        (Fingerprints("f2", "b1", "f1", True), True, OVERRIDDEN),
        (Fingerprints("f1", "b1", "f1", True), True, OVERRIDDEN),
    ],
)
def test_decide(item, prefer_files, expected):
    assert decide(item, prefer_files) == expected


@pytest.mark.parametrize(
    ("edited", "synced", "prefer_files", "expected"),
    [
        (False, "f1", False, APPLY),
        (True, "f1", False, KEPT),
        (True, None, False, KEPT),
        (True, "f1", True, OVERRIDDEN),
        (True, None, True, KEPT),  # made in the browser: the files never had it
    ],
)
def test_decide_missing(edited, synced, prefer_files, expected):
    assert decide_missing(edited, synced, prefer_files) == expected


def test_a_retired_or_unpublished_item_never_agrees_with_the_files():
    assert reconcile.held("abc", "published", "published") == "abc"
    assert reconcile.held("abc", "retired", "published") != "abc"


def test_fingerprints_change_with_what_the_files_hold():
    base = reconcile.module_fingerprint("Intro", "", "Body", 1)
    assert base == reconcile.module_fingerprint("Intro", "", "Body", 1)
    assert base != reconcile.module_fingerprint("Intro", "", "Body", 2)
    assert base != reconcile.module_fingerprint("Intro", "", "Body.", 1)
