"""Uploaded files kept on the server between an import's preview and its apply step.

Two imports use this: staff CSVs (training/staff) and question files (training/authoring), each in
its own folder (STAFF_IMPORT_DIR, AUTHORING_IMPORT_DIR) with its own messages.

Why on the server: the apply step must import exactly the file the person looked at, and check it
again. Sending the file back through the browser in a hidden field would mean up to 2 MB more in the
apply request (beyond the request limit once form-encoded) and content the client could swap. So the
browser holds only a random token and the file's SHA-256; the apply step reads the stored bytes
(only for the person who uploaded them, within a day), checks the digest, then validates the file
again against the records as they are at that moment.

Applying first claims the file by renaming it (atomic: of twenty simultaneous clicks, one rename
succeeds), and a successful import leaves only a note that the file was imported, so a repeated
apply is a 409 that says so instead of a second import. The note holds no one's details; notes and
files are pruned after a day.
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


@dataclass(frozen=True)
class StagedUpload:
    """A staged file: its token, digest and bytes, and what the import noted about it (`meta`)."""

    token: str
    sha256: str
    data: bytes
    meta: dict


@dataclass(frozen=True)
class StagingMessages:
    """What a person is told when the preview cannot be applied: gone or not theirs, or already done."""

    expired: str
    already_imported: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class StagingStore:
    def __init__(self, folder: Path, messages: StagingMessages):
        self.folder = folder
        self.messages = messages

    def save(self, user_id: int, data: bytes, meta: dict, now: datetime) -> StagedUpload:
        """Keep the file for its uploader; `meta` (file name, options) comes back with it at apply."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prune(now)
        token = secrets.token_urlsafe(24)
        meta = {**meta, "user_id": user_id, "sha256": sha256_hex(data), "saved_at": now.isoformat()}
        self._path(token, ".upload").write_bytes(data)
        self._path(token, ".json").write_text(json.dumps(meta))
        for suffix in (".upload", ".json"):
            self._path(token, suffix).chmod(0o600)
        return StagedUpload(token, meta["sha256"], data, meta)

    def claim(self, token: str, user_id: int, sha256: str, now: datetime, **expected) -> StagedUpload:
        """Take the staged file for applying: this person's, less than a day old, unchanged, saved with
        the `expected` meta values, and not taken by another request (NotFound, or Conflict when it is
        imported or being imported)."""
        meta = self._meta(token)
        if not TOKEN_PATTERN.match(token or "") or (meta is not None and not _matches(meta, user_id, sha256, expected)):
            # Not a token we make, or another person's file, another digest, another course: a crafted form.
            raise NotFound(self.messages.expired, tampered="staged import token or digest")
        if meta is None or now - datetime.fromisoformat(meta["saved_at"]) >= MAX_AGE:
            raise NotFound(self.messages.expired)
        if meta.get("imported_at"):
            raise Conflict(self.messages.already_imported)
        claimed = self._path(token, ".applying")
        try:
            self._path(token, ".upload").rename(claimed)
        except OSError:
            raise Conflict(self.messages.already_imported) from None
        data = claimed.read_bytes()
        if sha256_hex(data) != sha256:
            self.discard(token)
            raise NotFound(self.messages.expired)
        return StagedUpload(token, sha256, data, meta)

    def mark_imported(self, token: str, now: datetime) -> None:
        """Drop the file and keep a note that it was imported, so a repeated apply says so."""
        meta = self._meta(token) or {}
        write_json(self._path(token, ".json"), {**meta, "imported_at": now.isoformat()})
        self._path(token, ".applying").unlink(missing_ok=True)

    def discard(self, token: str) -> None:
        for suffix in (".upload", ".applying", ".json"):
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


def _matches(meta: dict, user_id: int, sha256: str, expected: dict) -> bool:
    """The staged file is this person's, with this digest and the `expected` meta values."""
    same = meta["user_id"] == user_id and meta["sha256"] == sha256
    return same and all(meta.get(key) == value for key, value in expected.items())


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
