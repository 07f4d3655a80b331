"""The certificate store: one PDF per serial under a directory, written atomically."""

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CertificateStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, serial: str) -> Path:
        """Two-character subfolders keep any one directory small for a large organisation."""
        return self.root / serial[:2] / f"{serial}.pdf"

    def read(self, serial: str) -> bytes | None:
        try:
            return self.path_for(serial).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, serial: str, data: bytes) -> Path:
        """Write to a temporary file beside the target, flush it to disk, then rename over the target.

        A crash at any point leaves either the old file or the complete new one, never a partial
        PDF under the certificate's name (a leftover `.tmp-*` file is never served).
        """
        target = self.path_for(serial)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".pdf", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return target
