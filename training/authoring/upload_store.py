"""Uploaded question files kept on the server between the import preview and the apply step.

As for staff CSVs (training/staff/staging.py): the browser holds only a random token and the file's
SHA-256; the apply step reads the stored bytes, only for the person who uploaded them, for the same
course, within a day. Applying first renames the file (atomic), so a double submit cannot import
twice: the second request finds the file claimed, or marked imported, and is refused.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from training.errors import Conflict, NotFound
from training.staff.staging import MAX_AGE, TOKEN_PATTERN, sha256_hex, write_json

EXPIRED = "This import preview has expired or was not yours. Upload the file again to see a new preview."
ALREADY = "This file has already been imported (or is being imported): see the question bank."


@dataclass(frozen=True)
class StagedUpload:
    token: str
    sha256: str
    data: bytes
    meta: dict


class UploadStore:
    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, user_id: int, data: bytes, meta: dict, now: datetime) -> StagedUpload:
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
        """Take the staged file for applying; refused if it is not this person's, stale, changed or taken."""
        meta = self._meta(token)
        fresh = meta is not None and now - datetime.fromisoformat(meta["saved_at"]) < MAX_AGE
        if not fresh or meta["user_id"] != user_id or meta["sha256"] != sha256:
            raise NotFound(EXPIRED)
        if any(meta.get(key) != value for key, value in expected.items()):
            raise NotFound(EXPIRED)
        if meta.get("imported_at"):
            raise Conflict(ALREADY)
        claimed = self._path(token, ".applying")
        try:
            self._path(token, ".upload").rename(claimed)
        except OSError:
            raise Conflict(ALREADY) from None
        data = claimed.read_bytes()
        if sha256_hex(data) != sha256:
            self.discard(token)
            raise NotFound(EXPIRED)
        return StagedUpload(token, sha256, data, meta)

    def mark_imported(self, token: str, now: datetime) -> None:
        """Keep only a note that the file was imported, so a repeated apply says so."""
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
