"""Issue #25, the library file: a -wal file without its -shm file on a read-only disk is read
whole (never old data shown as current), a newer ``PRAGMA user_version`` is refused, and a
library that cannot be created leaves nothing behind."""
from __future__ import annotations

import os
import shutil
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
from photoclust.core.library.models import Cluster, Photo


def _make_library(path: Path) -> None:
    with open_library(path) as lib, lib.session() as s:
        s.add(Cluster(id=1, name="old name"))
        s.add(Photo(path="/p/0.jpg", content_hash="0" * 64, file_size=1, mtime_ns=1))


def copy_with_commits_in_wal(source_folder: Path, dest: Path) -> None:
    """A library whose last commit (a rename, a new photo) is only in its -wal file, copied to
    ``dest`` without its -shm file (a backup made that way, a disk mounted read-only after a
    crash)."""
    path = source_folder / "library.sqlite"
    _make_library(path)
    writer = open_library(path)  # holds the -wal file: its commits are not checkpointed
    try:
        with writer.session() as s:
            s.get(Cluster, 1).name = "new name"
            s.add(Photo(path="/p/late.jpg", content_hash="e" * 64, file_size=1, mtime_ns=1))
        assert (source_folder / "library.sqlite-wal").stat().st_size > 0
        shutil.copyfile(path, dest / "library.sqlite")
        shutil.copyfile(source_folder / "library.sqlite-wal", dest / "library.sqlite-wal")
    finally:
        writer.close()


def _read(lib) -> tuple[str, list[str]]:
    with lib.session() as s:
        return (s.get(Cluster, 1).name,
                s.scalars(select(Photo.path).order_by(Photo.id)).all())


def test_a_wal_file_without_its_shm_on_a_read_only_disk_is_read_whole(tmp_path):
    with small_tmpfs(tmp_path / "mnt") as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        source = tmp_path / "src"
        source.mkdir()
        copy_with_commits_in_wal(source, mnt)
        assert remount_read_only(mnt)
        before = sorted(os.listdir(mnt))
        with open_library(mnt / "library.sqlite", read_only_ok=True) as lib:
            assert _read(lib) == ("new name", ["/p/0.jpg", "/p/late.jpg"])
            assert "read-only file system" in lib.read_only
        assert sorted(os.listdir(mnt)) == before == ["library.sqlite", "library.sqlite-wal"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="chmod does not stop root from writing; the mount test covers root")
def test_a_wal_file_without_its_shm_in_a_read_only_folder_is_read_whole(tmp_path):
    source, folder = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    folder.mkdir()
    copy_with_commits_in_wal(source, folder)
    folder.chmod(0o555)
    try:
        with open_library(folder / "library.sqlite", read_only_ok=True) as lib:
            assert _read(lib) == ("new name", ["/p/0.jpg", "/p/late.jpg"])
        assert sorted(os.listdir(folder)) == ["library.sqlite", "library.sqlite-wal"]
    finally:
        folder.chmod(0o755)


def test_a_wal_file_that_cannot_be_copied_is_refused_not_ignored(tmp_path, monkeypatch):
    source, folder = tmp_path / "src", tmp_path / "lib"
    source.mkdir()
    folder.mkdir()
    copy_with_commits_in_wal(source, folder)
    monkeypatch.setattr(db, "write_problem", lambda p: "simulated read-only")

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(db.tempfile, "mkdtemp", no_room)
    with pytest.raises(db.StaleWalError, match=r"last changes to .* are in library\.sqlite-wal, "
                       r"which SQLite cannot read here without its -shm file.*No space left"):
        open_library(folder / "library.sqlite", read_only_ok=True)
    assert sorted(os.listdir(folder)) == ["library.sqlite", "library.sqlite-wal"]


def test_the_temporary_copy_is_deleted_when_the_library_closes(tmp_path, monkeypatch):
    source, folder = tmp_path / "src", tmp_path / "lib"
    source.mkdir()
    folder.mkdir()
    copy_with_commits_in_wal(source, folder)
    made: list[str] = []
    real_mkdtemp = db.tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(db.tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setattr(db, "write_problem", lambda p: "simulated read-only")
    with open_library(folder / "library.sqlite", read_only_ok=True) as lib:
        assert _read(lib)[0] == "new name"
    assert made and not any(os.path.exists(m) for m in made)
    assert sorted(os.listdir(folder)) == ["library.sqlite", "library.sqlite-wal"]


def test_a_newer_user_version_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "lib" / "library.sqlite"
    _make_library(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    con.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()}
    for read_only_ok in (False, True):
        with pytest.raises(NewerLibraryError, match="newer photoclust.*not changed"):
            open_library(path, read_only_ok=read_only_ok)
    assert {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()} == before


def test_a_library_that_cannot_be_created_on_a_full_disk_leaves_nothing(tmp_path):
    with small_tmpfs(tmp_path / "mnt", size_kb=1024) as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        fill_disk(mnt)
        for path in (mnt / "library.sqlite", mnt / "new" / "folder" / "library.sqlite"):
            with pytest.raises(LibraryUnavailableError, match="disk is full"):
                open_library(path)
            assert sorted(os.listdir(mnt)) == ["filler.bin"]


def test_a_failed_create_removes_only_what_it_made(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: SQLite's failure after it made the file."""
    keep = tmp_path / "keep"
    keep.mkdir()

    def fail_after_creating(path, version):
        path.write_bytes(b"")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(db, "_open_writable", fail_after_creating)
    monkeypatch.setattr(db, "disk_is_full", lambda folder: True)
    with pytest.raises(LibraryUnavailableError, match="disk is full"):
        open_library(keep / "sub" / "library.sqlite")
    assert os.listdir(keep) == []
    assert keep.is_dir()


def test_a_wal_file_whose_shm_cannot_be_made_is_read_whole_without_mounts(tmp_path,
                                                                           monkeypatch):
    """Where no tmpfs can be mounted and chmod does not stop root: the -shm file cannot be made
    because its name is a link into a folder that does not exist, as on a read-only disk."""
    source, folder = tmp_path / "src", tmp_path / "lib"
    source.mkdir()
    folder.mkdir()
    copy_with_commits_in_wal(source, folder)
    (folder / "library.sqlite-shm").symlink_to(tmp_path / "no such folder" / "shm")
    monkeypatch.setattr(db, "write_problem", lambda p: "simulated read-only")
    with open_library(folder / "library.sqlite", read_only_ok=True) as lib:
        assert _read(lib) == ("new name", ["/p/0.jpg", "/p/late.jpg"])
    assert sorted(os.listdir(folder)) == ["library.sqlite", "library.sqlite-shm",
                                          "library.sqlite-wal"]
