"""Uploaded staff files, kept on the server between the dry run and the apply step.

Why on the server: the apply step must import exactly the file HR looked at, and check it again.
Sending the file back through the browser in a hidden field would mean up to 2 MB more in the
apply request (beyond the request limit once form-encoded) and content the client could swap.
So the browser holds only a random token and the file's SHA-256; the apply step reads the stored
bytes (only for the person who uploaded them), checks the digest, then validates the file again
against the records as they are at that moment.

Applying first claims the file by renaming it (atomic: of twenty simultaneous clicks, one rename
succeeds), and a successful import leaves only a note that the file was imported, so a repeated
apply is a 409 that says so instead of a second import. The note holds no one's details; notes
and files are pruned after a day.
"""

import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from training.errors import Conflict, NotFound

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_AGE = timedelta(days=1)
EXPIRED_MESSAGE = "This import preview has expired or was not yours. Upload the file again to see a new dry run."
ALREADY_MESSAGE = "This file has already been imported (or is being imported): see the people list."


@dataclass(frozen=True)
class StagedImport:
    token: str
    user_id: int
    filename: str
    sha256: str
    create_departments: bool
    data: bytes


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ImportStore:
    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, user_id: int, data: bytes, filename: str, create_departments: bool, now: datetime) -> StagedImport:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prune(now)
        token = secrets.token_urlsafe(24)
        staged = StagedImport(token, user_id, filename[:200], sha256_hex(data), create_departments, data)
        meta = {
            "user_id": user_id,
            "filename": staged.filename,
            "sha256": staged.sha256,
            "create_departments": create_departments,
            "saved_at": now.isoformat(),
        }
        self._path(token, ".csv").write_bytes(data)
        self._path(token, ".json").write_text(json.dumps(meta))
        for suffix in (".csv", ".json"):
            self._path(token, suffix).chmod(0o600)
        return staged

    def claim(self, token: str, user_id: int, sha256: str, now: datetime) -> StagedImport:
        """Take the staged file for applying: this person's, less than a day old, unchanged, and not
        taken by another request (NotFound, or Conflict when it is imported or being imported)."""
        meta = self._meta(token)
        fresh = meta is not None and now - datetime.fromisoformat(meta["saved_at"]) < MAX_AGE
        if not fresh or meta["user_id"] != user_id or meta["sha256"] != sha256:
            raise NotFound(EXPIRED_MESSAGE)
        if meta.get("imported_at"):
            raise Conflict(ALREADY_MESSAGE)
        claimed = self._path(token, ".applying")
        try:
            self._path(token, ".csv").rename(claimed)
        except OSError:
            raise Conflict(ALREADY_MESSAGE) from None
        data = claimed.read_bytes()
        if sha256_hex(data) != sha256:
            self.discard(token)
            raise NotFound(EXPIRED_MESSAGE)
        return StagedImport(token, user_id, meta["filename"], sha256, bool(meta["create_departments"]), data)

    def mark_imported(self, token: str, now: datetime) -> None:
        """Drop the file and keep a note that it was imported, so a repeated apply says so."""
        meta = self._meta(token) or {}
        write_json(self._path(token, ".json"), {**meta, "imported_at": now.isoformat()})
        self._path(token, ".applying").unlink(missing_ok=True)

    def discard(self, token: str) -> None:
        for suffix in (".csv", ".applying", ".json"):
            self._path(token, suffix).unlink(missing_ok=True)

    def prune(self, now: datetime) -> None:
        for meta_path in self.folder.glob("*.json"):
            meta = self._meta(meta_path.stem)
            if meta is None or now - datetime.fromisoformat(meta["saved_at"]) >= MAX_AGE:
                self.discard(meta_path.stem)

    def _meta(self, token: str) -> dict | None:
        if not TOKEN_PATTERN.match(token or ""):
            return None
        try:
            meta = json.loads(self._path(token, ".json").read_text())
            datetime.fromisoformat(meta["saved_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return meta

    def _path(self, token: str, suffix: str) -> Path:
        return self.folder / f"{token}{suffix}"


def write_json(path: Path, data: dict) -> None:
    """Replace the file in one step: a request reading it at that moment sees the old or the new note,
    never a half-written one."""
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
