"""Uploaded staff files, kept on the server between the dry run and the apply step.

Why on the server: the apply step must import exactly the file HR looked at, and check it again.
Sending the file back through the browser in a hidden field would mean up to 2 MB more in the
apply request (beyond the request limit once form-encoded) and content the client could swap.
So the browser holds only a random token and the file's SHA-256; the apply step reads the stored
bytes (only for the person who uploaded them), checks the digest, then validates the file again
against the records as they are at that moment. Files are deleted after a successful import and
pruned after a day.
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from training.errors import NotFound

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
MAX_AGE = timedelta(days=1)
EXPIRED_MESSAGE = "This import preview has expired or was not yours. Upload the file again to see a new dry run."


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

    def load(self, token: str, user_id: int, sha256: str, now: datetime) -> StagedImport:
        """The staged file, if this person staged it, it is less than a day old and unchanged."""
        if not TOKEN_PATTERN.match(token or ""):
            raise NotFound(EXPIRED_MESSAGE)
        try:
            meta = json.loads(self._path(token, ".json").read_text())
            data = self._path(token, ".csv").read_bytes()
        except (OSError, ValueError):
            raise NotFound(EXPIRED_MESSAGE) from None
        fresh = now - datetime.fromisoformat(meta["saved_at"]) < MAX_AGE
        digest = sha256_hex(data)
        if meta["user_id"] != user_id or not fresh or digest != meta["sha256"] or digest != sha256:
            raise NotFound(EXPIRED_MESSAGE)
        return StagedImport(token, user_id, meta["filename"], digest, bool(meta["create_departments"]), data)

    def discard(self, token: str) -> None:
        for suffix in (".csv", ".json"):
            self._path(token, suffix).unlink(missing_ok=True)

    def prune(self, now: datetime) -> None:
        for meta_path in self.folder.glob("*.json"):
            try:
                saved_at = datetime.fromisoformat(json.loads(meta_path.read_text())["saved_at"])
            except (OSError, ValueError, KeyError):
                saved_at = None
            if saved_at is None or now - saved_at >= MAX_AGE:
                self.discard(meta_path.stem)

    def _path(self, token: str, suffix: str) -> Path:
        return self.folder / f"{token}{suffix}"
