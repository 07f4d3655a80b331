"""The streaming ZIP writer: what it writes is a ZIP that the standard library reads back, entry for entry."""

import io
import struct
import zipfile

from training.zip_writer import ZipWriter


def written(build) -> zipfile.ZipFile:
    target = io.BytesIO()
    writer = ZipWriter(target)
    build(writer)
    writer.close()
    return zipfile.ZipFile(io.BytesIO(target.getvalue()))


def test_stored_deflated_and_file_entries_read_back(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.7 " * 1000)

    def build(writer):
        writer.add_bytes("README.txt", "Résumé of the packet\r\n".encode() * 50, compress=True)
        writer.add_chunks("people.csv", (f"{n},name {n}\r\n".encode() for n in range(500)), compress=True)
        writer.add_path("certificates/ÄB-1.pdf", pdf)
        writer.add_bytes("empty.txt", b"")

    archive = written(build)
    assert archive.testzip() is None
    assert archive.namelist() == ["README.txt", "people.csv", "certificates/ÄB-1.pdf", "empty.txt"]
    assert archive.read("certificates/ÄB-1.pdf") == pdf.read_bytes()
    assert archive.getinfo("certificates/ÄB-1.pdf").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("people.csv").compress_type == zipfile.ZIP_DEFLATED
    assert archive.read("people.csv").startswith(b"0,name 0\r\n1,name 1")
    assert archive.read("empty.txt") == b""


def test_more_entries_than_a_zip_without_zip64_can_count():
    archive = written(lambda writer: [writer.add_bytes(f"{n}.txt", b"x") for n in range(70_000)])
    assert len(archive.namelist()) == 70_000
    assert archive.read("69999.txt") == b"x"


def test_offsets_past_4_gib_are_written_as_zip64():
    """The central directory's ZIP64 extra field, checked without writing 4 GiB: an offset that large."""
    writer = ZipWriter(io.BytesIO(), directory=io.BytesIO())
    header = writer._central_header(b"a.pdf", 0, 0, 1, 1, 5 * 2**30)
    assert struct.unpack_from("<I", header, 42)[0] == 0xFFFFFFFF
    assert struct.unpack_from("<HHQ", header, 46 + len("a.pdf")) == (1, 8, 5 * 2**30)
