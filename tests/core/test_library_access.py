"""Opening a library that cannot be written: a full disk, a read-only library, a newer version.
Nothing may be written then (not even -wal/-shm files), the message says exactly why, and
commands that only read still work on a read-only library."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from _mounts import NO_MOUNT, fill_disk, remount_read_only, small_tmpfs
from photoclust.core.library import (
    LibraryUnavailableError,
    NewerLibraryError,
    db,
    migrations,
    open_library,
)
from photoclust.core.library.models import Photo


def _make_library(path: Path, photos: int = 3) -> None:
    with open_library(path) as lib, lib.session() as s:
        for i in range(photos):
            s.add(Photo(path=f"/p/{i}.jpg", content_hash=f"{i:064x}", file_size=1, mtime_ns=1))


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _paths(lib) -> list[str]:
    with lib.session() as s:
        return s.scalars(select(Photo.path).order_by(Photo.id)).all()


def test_a_newer_library_is_refused_and_nothing_at_all_is_written(tmp_path):
    path = tmp_path / "lib" / "library.sqlite"
    _make_library(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_info SET version = ?", (migrations.SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    before = _listing(path.parent)
    for read_only_ok in (False, True):
        with pytest.raises(NewerLibraryError, match="newer photoclust.*not changed"):
            open_library(path, read_only_ok=read_only_ok)
    assert _listing(path.parent) == before  # no -wal, no -shm, the file untouched


def test_read_only_open_writes_nothing_and_refuses_writes(tmp_path, monkeypatch):
    """Simulated read-only library (chmod does not stop root): a writing command is refused with
    the reason, a reading one gets a library that reads through an immutable URI."""
    path = tmp_path / "lib" / "library.sqlite"
    _make_library(path)
    before = _listing(path.parent)
    monkeypatch.setattr(db, "write_problem", lambda p: f"the file {p} is read-only")
    with pytest.raises(LibraryUnavailableError, match=r"library .* is read-only \(the file .* is "
                       r"read-only\)\. This command changes the library"):
        open_library(path)
    with open_library(path, read_only_ok=True) as lib:
        assert lib.read_only == f"the file {path} is read-only"
        assert _paths(lib) == ["/p/0.jpg", "/p/1.jpg", "/p/2.jpg"]
        with pytest.raises(Exception, match="readonly"), lib.session() as s:
            s.add(Photo(path="/p/new.jpg", content_hash="f" * 64, file_size=1, mtime_ns=1))
    assert _listing(path.parent) == before


def test_read_only_open_sees_commits_still_in_the_wal_file(tmp_path, monkeypatch):
    path = tmp_path / "library.sqlite"
    _make_library(path)
    writer = open_library(path)  # holds the -wal file open, as a running app would
    with writer.session() as s:
        s.add(Photo(path="/p/late.jpg", content_hash="e" * 64, file_size=1, mtime_ns=1))
    assert (tmp_path / "library.sqlite-wal").stat().st_size > 0
    monkeypatch.setattr(db, "write_problem", lambda p: "simulated")
    with open_library(path, read_only_ok=True) as lib:
        assert _paths(lib)[-1] == "/p/late.jpg"
    writer.close()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="chmod does not stop root from writing; the mount tests cover root")
def test_read_only_folder_and_file_by_chmod(tmp_path):
    path = tmp_path / "lib" / "library.sqlite"
    _make_library(path)
    path.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(LibraryUnavailableError, match="is read-only"):
            open_library(path)
        with open_library(path, read_only_ok=True) as lib:
            assert len(_paths(lib)) == 3
        assert sorted(os.listdir(path.parent)) == ["library.sqlite"]
    finally:
        path.parent.chmod(0o755)


def test_read_only_file_system(tmp_path):
    with small_tmpfs(tmp_path / "mnt") as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        path = mnt / "library.sqlite"
        _make_library(path)
        assert remount_read_only(mnt)
        with pytest.raises(LibraryUnavailableError,
                           match=r"is read-only \(.* is on a read-only file system\)"):
            open_library(path)
        with open_library(path, read_only_ok=True) as lib:
            assert len(_paths(lib)) == 3
            assert "read-only file system" in lib.read_only
        assert sorted(os.listdir(mnt)) == ["library.sqlite"]


def test_a_full_disk_is_named_as_such_and_reading_still_works(tmp_path):
    with small_tmpfs(tmp_path / "mnt", size_kb=1024) as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        path = mnt / "library.sqlite"
        _make_library(path)
        fill_disk(mnt)
        with open_library(path, read_only_ok=True) as lib:
            assert len(_paths(lib)) == 3
            assert lib.read_only == db.DISK_FULL
        assert sorted(os.listdir(mnt)) == ["filler.bin", "library.sqlite"]  # nothing beside it
        with pytest.raises(LibraryUnavailableError, match=r"the disk holding .* is full\. "
                           "Nothing is damaged"):
            open_library(path)


def test_a_full_disk_simulated(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: SQLite's failure to make its -shm file on a full disk."""
    path = tmp_path / "library.sqlite"
    _make_library(path)

    def fail_like_a_full_disk(*args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db, "_open_writable", fail_like_a_full_disk)
    monkeypatch.setattr(db, "disk_is_full", lambda folder: True)
    with pytest.raises(LibraryUnavailableError, match="the disk holding .* is full"):
        open_library(path)
    monkeypatch.setattr(db, "disk_is_full", lambda folder: False)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        open_library(path)  # not explained by a full disk: the error itself, not a guess
