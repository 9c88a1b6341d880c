"""Opening a library: engine, pragmas, schema version check and migrations.

No module-level engine: every caller (CLI, GUI, tests) opens its own ``Library`` on a path, and
uses one short session per unit of work (``with lib.session() as s: ...``), never sharing a session
across threads.
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import appdirs
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from photoclust import __version__
from photoclust.core.library import migrations
from photoclust.core.library.models import Base, SchemaInfo

log = logging.getLogger(__name__)

APP_NAME = "photoclust"


class LibraryError(Exception):
    """A library cannot be opened; the message is meant for the user."""


class NewerLibraryError(LibraryError):
    """The library was written by a newer photoclust; it is left untouched."""


def default_library_path() -> Path:
    return Path(appdirs.user_data_dir(APP_NAME, appauthor=False)) / "library.sqlite"


def _read_schema_version(path: Path) -> int | None:
    """Read the schema version without writing anything (read-only URI, no WAL switch)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LibraryError(f"{path}: cannot open library ({exc})") from exc
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_info" not in tables:
            if tables:
                raise LibraryError(f"{path}: not a photoclust library (unknown SQLite database)")
            return None
        row = con.execute("SELECT version FROM schema_info ORDER BY id LIMIT 1").fetchone()
        return int(row[0]) if row else None
    except sqlite3.DatabaseError as exc:
        raise LibraryError(f"{path}: not a photoclust library ({exc})") from exc
    finally:
        con.close()


def _set_pragmas(dbapi_con, _record) -> None:
    # Let SQLAlchemy, not pysqlite, issue BEGIN (see _begin), so that DDL in migrations is
    # transactional too and a failed migration rolls back completely.
    dbapi_con.isolation_level = None
    cur = dbapi_con.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # FULL: a committed correction survives a power cut too; commits are small and batched.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def _begin(conn) -> None:
    conn.exec_driver_sql("BEGIN")


class Library:
    """An open photo library: the SQLite file plus the thumbnail cache beside it."""

    def __init__(self, path: Path, engine: Engine):
        self.path = path
        self.engine = engine
        self._sessionmaker = sessionmaker(engine, expire_on_commit=False)

    @property
    def thumbnail_dir(self) -> Path:
        return self.path.with_name(self.path.stem + ".thumbnails")

    @property
    def data_dir(self) -> Path:
        """Folder beside the library for derived artefacts (adapted model heads, reports)."""
        return self.path.with_name(self.path.stem + ".data")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any exception."""
        s = self._sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _backup(path: Path, version: int) -> Path:
    backup = path.with_name(f"{path.name}.v{version}.bak")
    src = sqlite3.connect(str(path))
    try:
        dst = sqlite3.connect(str(backup))
        with dst:
            src.backup(dst)
        dst.close()
    finally:
        src.close()
    return backup


def open_library(path: str | Path | None = None, *, create: bool = True) -> Library:
    """Open (or create) the library at ``path``, migrating it to the current schema.

    Raises ``NewerLibraryError`` for a library from a newer photoclust without touching the file,
    and ``LibraryError`` for a file that is not a photoclust library.
    """
    path = Path(path) if path is not None else default_library_path()
    path = path.expanduser().absolute()
    version = _read_schema_version(path)
    if version is not None and version > migrations.SCHEMA_VERSION:
        raise NewerLibraryError(
            f"{path} was written by a newer photoclust (schema {version}, this version "
            f"understands up to {migrations.SCHEMA_VERSION}). Upgrade photoclust to open it; "
            "the file was not changed."
        )
    if version is None and not create and not path.exists():
        raise LibraryError(f"{path}: no such library")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot create the folder for {path}: {exc.strerror}") from exc

    if version is not None and version < migrations.SCHEMA_VERSION:
        backup = _backup(path, version)
        log.info("backed up %s to %s before migrating", path, backup)

    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _set_pragmas)
    event.listen(engine, "begin", _begin)
    try:
        with engine.begin() as con:
            if version is None:
                Base.metadata.create_all(con)
                con.execute(
                    SchemaInfo.__table__.insert().values(
                        id=1, version=migrations.SCHEMA_VERSION, app_version=__version__
                    )
                )
            else:
                for v in range(version, migrations.SCHEMA_VERSION):
                    log.info("migrating %s from schema %d to %d", path, v, v + 1)
                    migrations.MIGRATIONS[v](con)
                    con.execute(
                        SchemaInfo.__table__.update().values(version=v + 1, app_version=__version__)
                    )
    except Exception:
        engine.dispose()
        raise
    lib = Library(path, engine)
    with lib.session() as s:
        s.scalar(select(SchemaInfo.version))  # fail early on a broken file
    return lib
