"""Files versus the browser: what a content sync does with one item (pure, no Flask, no database).

An item (a question, a module, a course's settings) has three fingerprints: what the files say now,
what the database holds now, and what the files said at the last sync (`synced_hash`). An item
changed in the browser since the last sync carries `browser_edited_at`. The rule (docs/authoring.md,
"Files and the browser"): a sync never overwrites a browser edit unless told to with --prefer-files.
"""

import hashlib
import json
from dataclasses import dataclass

APPLY = "apply"  # the files win: nobody edited this in the browser
SAME = "same"  # the files already say what the database holds: in agreement again
KEPT = "kept"  # edited in the browser, the files did not change since the last sync
CONFLICT = "conflict"  # edited in the browser and in the files: the browser's is kept
OVERRIDDEN = "overridden"  # edited in the browser, but --prefer-files let the files win


@dataclass(frozen=True)
class Fingerprints:
    file: str
    database: str | None  # None: not in the database yet
    synced: str | None
    browser_edited: bool


def decide(item: Fingerprints, prefer_files: bool = False) -> str:
    """What a sync does with an item that is in the files."""
    if item.database == item.file:
        return SAME
    if not item.browser_edited or item.database is None:
        return APPLY
    if prefer_files:
        return OVERRIDDEN
    if item.synced is not None and item.synced == item.file:
        return KEPT
    return CONFLICT


def decide_missing(browser_edited: bool, synced: str | None, prefer_files: bool = False) -> str:
    """What a sync does with an item in the database that the files no longer (or never) had.

    APPLY retires it. Something made or changed in the browser is kept; --prefer-files retires it
    only if the files once had it (synced), never what was created in the browser.
    """
    if not browser_edited:
        return APPLY
    if prefer_files and synced is not None:
        return OVERRIDDEN
    return KEPT


def fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def module_fingerprint(title: str, summary: str, body: str, position: int) -> str:
    """What a module file says: its title, summary, body and place in the course."""
    return fingerprint({"title": title, "summary": summary, "body": body, "position": position})


SETTINGS_FIELDS = (
    "title",
    "summary",
    "pass_mark",
    "questions_per_attempt",
    "certificate_validity_months",
    "estimated_minutes",
)


def settings_fingerprint(values: dict) -> str:
    """What course.yaml says (the settings the files hold; attempt limits live in the database only)."""
    return fingerprint({name: values[name] for name in SETTINGS_FIELDS})


def held(fingerprint_: str, state: str, normal: str) -> str:
    """The database's fingerprint of an item, marked when its state (draft, retired, unpublished) is
    one the files cannot express, so a file never "agrees" with a retired or unpublished item."""
    return fingerprint_ if state == normal else f"{state}:{fingerprint_}"
