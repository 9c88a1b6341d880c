"""Issue #25, case 5: a photo whose bytes changed with its size and time kept is found by
`check --read-files`, and a command fixes it: `check --repair` reads it again (`index` goes by
size and time and cannot see it); export names that command instead of `index`."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from _export_fixtures import add_cluster, assign
from helpers import write_photo
from photoclust.cli import main
from photoclust.core.export.albums import ExportJob
from photoclust.core.jobs import run_job
from photoclust.core.library.check import CheckJob
from photoclust.core.library.models import Photo
from photoclust.core.library.scan import ScanJob


def _change_in_place(path: Path, seed: int) -> None:
    """Other bytes (another photo of the same size), with the size and time kept."""
    st = path.stat()
    other = path.with_name("other.tmp.jpg")
    for extra in range(40):
        write_photo(other, seed + extra)
        if other.stat().st_size <= st.st_size:
            break
    data = other.read_bytes()
    other.unlink()
    path.write_bytes(data + b"\x01" * (st.st_size - len(data)))  # same size, decodes whole
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _indexed(library, root: Path) -> Path:
    path = write_photo(root / "a.jpg", 1)
    write_photo(root / "b.jpg", 2)
    run_job(ScanJob(library, [root]))
    return path


def _hash_of(library, path: Path) -> str:
    with library.session() as s:
        return s.scalar(select(Photo.content_hash).where(Photo.path == str(path)))


def test_check_repair_reads_again_a_photo_changed_with_its_size_and_time_kept(library, tmp_path):
    path = _indexed(library, tmp_path / "p")
    old_hash = _hash_of(library, path)
    _change_in_place(path, 10)

    run_job(ScanJob(library, [tmp_path / "p"]))
    assert _hash_of(library, path) == old_hash  # index goes by size and time: it cannot see it
    report = run_job(CheckJob(library, read_files=True))
    assert [row["reason"] for row in report.changed] == ["content changed (same size and time)"]

    report = run_job(CheckJob(library, read_files=True, repair=True))
    assert report.repaired.get("changed") == 1 and report.ok
    assert _hash_of(library, path) not in (old_hash, None)
    assert run_job(CheckJob(library, read_files=True)).ok


def test_export_names_the_command_that_reads_such_a_photo_again(library, tmp_path, capsys):
    path = _indexed(library, tmp_path / "p")
    with library.session() as s:
        photo_id = s.scalar(select(Photo.id).where(Photo.path == str(path)))
    cluster = add_cluster(library, "album")
    assign(library, photo_id, cluster)
    _change_in_place(path, 20)

    result = run_job(ExportJob(library, tmp_path / "out"))
    assert result.failed == [(str(path), "its bytes changed since it was indexed although its "
                              "size and time did not, not exported (run `photoclust check "
                              "--read-files --repair` to read such photos again)")]
    assert main(["check", "--read-files", "--library", str(library.path)]) == 1
    assert "`photoclust check --read-files --repair` reads them again" in capsys.readouterr().out
    assert main(["check", "--read-files", "--repair", "--library", str(library.path)]) == 0
    assert "The library is sound." in capsys.readouterr().out
    result = run_job(ExportJob(library, tmp_path / "out"))
    assert result.failed == [] and result.exported == 1
