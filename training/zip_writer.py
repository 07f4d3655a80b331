"""A ZIP file written entry by entry to a seekable file, in memory that does not grow with the number of entries.

The standard library's `zipfile` and zipstream-ng keep every entry's header in memory until the archive is
closed (about half a kilobyte each: 20 MB for 44,000 certificates). This writer spools the central directory to
a temporary file instead and copies it to the end when it closes. Entries are stored (PDFs are compressed
already) or deflated (text), each smaller than 4 GiB; the archive itself may be larger (ZIP64 offsets and
counts), which every current unzip tool reads.
"""

import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

STORED, DEFLATED = 0, 8
UTF8_NAMES = 0x800
VERSION = 45  # ZIP64
LIMIT_32 = 0xFFFFFFFF
LIMIT_16 = 0xFFFF
COPY_CHUNK = 1024 * 1024


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((t.tm_year - 1980) << 9) | (
        t.tm_mon << 5
    ) | t.tm_mday


class ZipWriter:
    """Write `add_*` entries to `target` (a binary file opened for writing, seekable), then `close()`."""

    def __init__(
        self, target: IO[bytes], directory: IO[bytes] | None = None, entries: int = 0, moment: float | None = None
    ):
        """`directory` and `entries`: where the central directory is spooled and how many entries it holds
        already, for an archive continued after a checkpoint; by default a new temporary file."""
        self.target = target
        self.owns_directory = directory is None
        self.directory = directory or tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.count = entries
        self.time, self.date = _dos_time(moment if moment is not None else time.time())

    def add_bytes(self, name: str, data: bytes, compress: bool = False) -> None:
        self.add_chunks(name, [data], compress)

    def add_path(self, name: str, path: Path | str) -> None:
        with open(path, "rb") as source:
            self.add_chunks(name, iter(lambda: source.read(COPY_CHUNK), b""))

    def add_chunks(self, name: str, chunks: Iterable[bytes], compress: bool = False) -> None:
        """One entry from `chunks`: its local header is written first and its sizes and CRC patched in after."""
        encoded = name.encode("utf-8")
        method = DEFLATED if compress else STORED
        offset = self.target.tell()
        self.target.write(self._local_header(encoded, method, 0, 0, 0))
        crc, size, written = self._write_data(chunks, method)
        if size > LIMIT_32 or written > LIMIT_32:
            raise ValueError(f"{name} is 4 GiB or more: too large for one entry")
        end = self.target.tell()
        self.target.seek(offset)
        self.target.write(self._local_header(encoded, method, crc, written, size))
        self.target.seek(end)
        self.directory.write(self._central_header(encoded, method, crc, written, size, offset))
        self.count += 1

    def _write_data(self, chunks: Iterable[bytes], method: int) -> tuple[int, int, int]:
        crc = size = written = 0
        packer = zlib.compressobj(6, zlib.DEFLATED, -15) if method == DEFLATED else None
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            out = packer.compress(chunk) if packer else chunk
            self.target.write(out)
            written += len(out)
        if packer:
            tail = packer.flush()
            self.target.write(tail)
            written += len(tail)
        return crc, size, written

    def _local_header(self, name: bytes, method: int, crc: int, written: int, size: int) -> bytes:
        return (
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                VERSION,
                UTF8_NAMES,
                method,
                self.time,
                self.date,
                crc,
                written,
                size,
                len(name),
                0,
            )
            + name
        )

    def _central_header(self, name: bytes, method: int, crc: int, written: int, size: int, offset: int) -> bytes:
        extra = b""
        if offset >= LIMIT_32:
            extra = struct.pack("<HHQ", 0x0001, 8, offset)
            offset = LIMIT_32
        head = struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            VERSION,
            VERSION,
            UTF8_NAMES,
            method,
            self.time,
            self.date,
            crc,
            written,
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        return head + name + extra

    def close(self) -> None:
        """Copy the central directory to the end of the archive and write its end records."""
        start = self.target.tell()
        self.directory.seek(0)
        shutil.copyfileobj(self.directory, self.target, COPY_CHUNK)
        if self.owns_directory:
            self.directory.close()
        size = self.target.tell() - start
        if self.count >= LIMIT_16 or start >= LIMIT_32 or size >= LIMIT_32:
            self._zip64_end(start, size)
        self.target.write(
            struct.pack(
                "<4sHHHHIIH",
                b"PK\x05\x06",
                0,
                0,
                min(self.count, LIMIT_16),
                min(self.count, LIMIT_16),
                min(size, LIMIT_32),
                min(start, LIMIT_32),
                0,
            )
        )

    def _zip64_end(self, start: int, size: int) -> None:
        record = self.target.tell()
        self.target.write(
            struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, VERSION, VERSION, 0, 0, self.count, self.count, size, start)
        )
        self.target.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, record, 1))
