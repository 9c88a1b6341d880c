import sqlite3

import pytest
from sqlalchemy import select, text

from photoclust.core.library import NewerLibraryError, migrations, open_library
from photoclust.core.library.db import LibraryError
from photoclust.core.library.models import Photo, SchemaInfo


def _add_photo(lib, path="/p/a.jpg"):
    with lib.session() as s:
        s.add(Photo(path=path, content_hash="h" + path, file_size=1, mtime_ns=1))


def test_open_library_creates_schema_with_wal_and_foreign_keys(tmp_path):
    lib = open_library(tmp_path / "l.sqlite")
    with lib.session() as s:
        assert s.scalar(select(SchemaInfo.version)) == migrations.SCHEMA_VERSION
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    lib.close()


def test_open_library_reopens_and_keeps_rows(tmp_path):
    lib = open_library(tmp_path / "l.sqlite")
    _add_photo(lib)
    lib.close()
    lib = open_library(tmp_path / "l.sqlite")
    with lib.session() as s:
        assert s.scalars(select(Photo.path)).all() == ["/p/a.jpg"]
    lib.close()


def test_open_library_refuses_newer_schema_without_touching_file(tmp_path):
    path = tmp_path / "l.sqlite"
    open_library(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_info SET version = ?", (migrations.SCHEMA_VERSION + 5,))
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(NewerLibraryError, match="newer photoclust"):
        open_library(path)
    assert path.read_bytes() == before


def test_open_library_refuses_foreign_sqlite_file(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(LibraryError, match="not a photoclust library"):
        open_library(path)


def test_open_library_refuses_garbage_file(tmp_path):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 10)
    with pytest.raises(LibraryError):
        open_library(path)


def test_migration_runs_in_order_and_backs_up_first(tmp_path, monkeypatch):
    path = tmp_path / "l.sqlite"
    lib = open_library(path)
    _add_photo(lib)
    lib.close()
    old = migrations.SCHEMA_VERSION

    def add_column(con):
        con.execute(text("ALTER TABLE photos ADD COLUMN rating INTEGER DEFAULT 0"))

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", old + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, old, add_column)
    lib = open_library(path)
    with lib.session() as s:
        assert s.scalar(select(SchemaInfo.version)) == old + 1
        assert s.execute(text("SELECT path, rating FROM photos")).all() == [("/p/a.jpg", 0)]
    lib.close()
    backup = path.with_name(f"{path.name}.v{old}.bak")
    con = sqlite3.connect(backup)
    assert con.execute("SELECT version FROM schema_info").fetchone()[0] == old
    con.close()


def test_failed_migration_leaves_library_at_old_version(tmp_path, monkeypatch):
    path = tmp_path / "l.sqlite"
    open_library(path).close()
    old = migrations.SCHEMA_VERSION

    def broken(con):
        con.execute(text("ALTER TABLE photos ADD COLUMN rating INTEGER"))
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", old + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, old, broken)
    with pytest.raises(RuntimeError):
        open_library(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_info").fetchone()[0] == old
    cols = [r[1] for r in con.execute("PRAGMA table_info(photos)")]
    assert "rating" not in cols
    con.close()
