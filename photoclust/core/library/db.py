"""Opening a library: engine, pragmas, schema version check and migrations.

No module-level engine: every caller (CLI, GUI, tests) opens its own ``Library`` on a path, and
uses one short session per unit of work (``with lib.session() as s: ...``), never sharing a session
across threads. A full disk, a read-only library and a newer one are told apart from damage and
nothing is written then (docs/reliability.md, "The library file").
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import appdirs
from sqlalchemy import create_engine, event, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
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


class NotALibraryError(LibraryError):
    """The file is not a photoclust library at all (another kind of file, or another program's
    SQLite database): not damage, and nothing to recover."""


class NoLibraryError(LibraryError):
    """A command that only reads was given a path where there is no library (it makes none)."""


class LibraryUnavailableError(LibraryError):
    """The library file is sound but cannot be used now: its disk is full, or it is read-only and
    the command must write. Nothing is damaged (``check`` must not call it damaged)."""


#: Below this much free space a failure to open or write the library is put down to a full disk.
DISK_FULL_BELOW = 1 << 20


def default_library_path() -> Path:
    return Path(appdirs.user_data_dir(APP_NAME, appauthor=False)) / "library.sqlite"


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def write_problem(path: Path) -> str | None:
    """Why the library file at ``path`` cannot be written (read-only file system, file or
    folder), as words that follow "the library is read-only: ", or ``None``."""
    folder = path.parent
    if not folder.is_dir():
        return None  # to be created; a failure to create it says why
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except (OSError, AttributeError):
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is read-only"
    for suffix in ("-wal", "-shm"):
        if _sidecar(path, suffix).exists() and not os.access(_sidecar(path, suffix), os.W_OK):
            return f"the file {_sidecar(path, suffix)} is read-only"
    return None


def disk_is_full(folder: Path) -> bool:
    """Whether the file system holding ``folder`` has (almost) no space left for this user."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_BELOW
    except OSError:
        return False


DISK_FULL = "its disk is full"


def unavailable_message(path: Path, reason: str) -> str:
    """What to tell the user when the library at ``path`` cannot be written for ``reason``
    (``DISK_FULL`` or a ``write_problem``)."""
    if reason == DISK_FULL:
        return (f"the disk holding {path} is full. Nothing is damaged; free some space and run "
                "the command again.")
    return (f"the library {path} is read-only ({reason}). This command changes the library; "
            "reading commands (status, clusters, photos, export, search) work on it as it is.")


def _why_unwritable(path: Path) -> str | None:
    """After an SQLite failure on ``path``: the reason that is not damage (a full disk, a
    read-only library), or ``None`` when neither explains it."""
    if disk_is_full(path.parent):
        return DISK_FULL
    return write_problem(path)


def _read_only_uris(path: Path) -> list[str]:
    """SQLite URIs that read ``path`` without writing anything beside it. ``immutable`` creates
    no -wal/-shm file, and is exact only when there is no -wal file (every commit is then in the
    main file); with a -wal file, ``mode=ro`` reads its commits too (it needs the -shm file)."""
    base = "file:" + quote(str(path))
    if _has_wal(path):
        return [base + "?mode=ro"]
    return [base + "?immutable=1"]


def _has_wal(path: Path) -> bool:
    """Whether commits may be waiting in ``path``'s -wal file (not yet in the main file)."""
    try:
        return _sidecar(path, "-wal").stat().st_size > 0
    except OSError:
        return False


class _CopyConnection(sqlite3.Connection):
    """A read-only connection to a temporary copy of a library and its -wal file; the copy is
    deleted when the connection closes (or is collected)."""

    copy_dir: str | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.copy_dir is not None:
                shutil.rmtree(self.copy_dir, ignore_errors=True)


def _connect_to_copy(path: Path) -> sqlite3.Connection:
    """``path`` and its -wal file copied to a temporary folder and opened read-only there, where
    SQLite can make the -shm file it needs to read the -wal file: every commit is read, none is
    lost, and nothing is written beside the library."""
    folder = tempfile.mkdtemp(prefix="photoclust-library-")
    try:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(_sidecar(path, "-wal"), _sidecar(copy, "-wal"))
        con = sqlite3.connect("file:" + quote(str(copy)) + "?mode=ro", uri=True,
                              check_same_thread=False, factory=_CopyConnection)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    con.copy_dir = folder
    weakref.finalize(con, shutil.rmtree, folder, True)
    log.info("reading %s through a temporary copy with its -wal file (%s)", path, folder)
    return con


class StaleWalError(LibraryError):
    """The library's last commits are in a -wal file that cannot be read here."""


def _stale_wal_message(path: Path, reason: str) -> str:
    return (f"the last changes to {path} are in {_sidecar(path, '-wal').name}, which SQLite "
            f"cannot read here without its -shm file, and no temporary copy could be made "
            f"({reason}); nothing was shown, so that old data is not taken for current: copy "
            f"{path.name} and {_sidecar(path, '-wal').name} to a writable folder and use that "
            "copy.")


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that reads every commit of ``path`` and writes nothing beside it. With a
    -wal file but no -shm file beside it (a backup copied without it, a disk mounted read-only
    after a crash), ``mode=ro`` cannot read the -wal file where the -shm file cannot be made, and
    ``immutable=1`` would silently ignore it (old data shown as current): such a library is read
    through a temporary copy of both files instead, or refused (``StaleWalError``)."""
    error: sqlite3.Error | None = None
    wal = _has_wal(path)
    if not wal or _sidecar(path, "-shm").exists():
        for uri in _read_only_uris(path):
            con = None
            try:
                con = sqlite3.connect(uri, uri=True, check_same_thread=False)
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return con
            except sqlite3.Error as exc:
                if con is not None:
                    con.close()
                error = exc
        if not wal:
            assert error is not None
            raise error
    try:
        con = _connect_to_copy(path)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.Error:
        raise
    except OSError as exc:
        raise StaleWalError(_stale_wal_message(path, exc.strerror or str(exc))) from exc


SQLITE_HEADER = b"SQLite format 3\x00"


def _read_schema_version(path: Path) -> int | None:
    """Read the schema version without writing anything (no -wal/-shm file, no WAL switch): the
    larger of ``schema_info.version`` and ``PRAGMA user_version``, so that a newer photoclust is
    recognised whichever of the two it bumps."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    _refuse_non_sqlite(path)
    try:
        con = _connect_read_only(path)
    except sqlite3.DatabaseError as exc:
        reason = _why_unwritable(path) if isinstance(exc, sqlite3.OperationalError) else None
        if reason is not None:
            raise LibraryUnavailableError(unavailable_message(path, reason)) from exc
        raise LibraryError(f"{path}: not a photoclust library ({exc})") from exc
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        user_version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if "schema_info" not in tables:
            if tables:
                raise NotALibraryError(
                    f"{path} is not a photoclust library: it is an SQLite database of another "
                    "program (no photoclust tables in it). Nothing was changed.")
            return user_version or None
        row = con.execute("SELECT version FROM schema_info ORDER BY id LIMIT 1").fetchone()
        version = int(row[0]) if row else None
        if version is None:
            return user_version or None
        return max(version, user_version)
    except sqlite3.DatabaseError as exc:
        raise LibraryError(f"{path}: not a photoclust library ({exc})") from exc
    finally:
        con.close()


def _refuse_non_sqlite(path: Path) -> None:
    """A file that does not start like an SQLite database is not a library (not a damaged one:
    SQLite's recovery has nothing to work with)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError:
        return  # SQLite's own open says why
    if head != SQLITE_HEADER:
        raise NotALibraryError(f"{path} is not a photoclust library: it is not an SQLite "
                               "database at all (check the --library path). Nothing was changed.")


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


def _set_read_only_pragmas(dbapi_con, _record) -> None:
    dbapi_con.isolation_level = None
    dbapi_con.execute("PRAGMA foreign_keys=ON")
    dbapi_con.execute("PRAGMA busy_timeout=15000")


#: Execution options of a connection that takes SQLite's write lock when its transaction begins
#: (``BEGIN IMMEDIATE``): ``session.connection(execution_options=WRITE_LOCK)``.
WRITE_LOCK = {"photoclust_begin": "IMMEDIATE"}


def _begin(conn) -> None:
    """``BEGIN``, or ``BEGIN IMMEDIATE`` for a connection with the ``WRITE_LOCK`` option."""
    immediate = conn.get_execution_options().get("photoclust_begin") == "IMMEDIATE"
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Library:
    """An open photo library: the SQLite file plus the thumbnail cache beside it."""

    def __init__(self, path: Path, engine: Engine, read_only: str | None = None):
        self.path = path
        self.engine = engine
        #: Why this library was opened read-only (``open_library(read_only_ok=True)``), or None.
        self.read_only = read_only
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


def open_library(path: str | Path | None = None, *, create: bool = True,
                 read_only_ok: bool = False) -> Library:
    """Open (or create) the library at ``path``, migrating it to the current schema.

    Raises ``NewerLibraryError`` for a library from a newer photoclust without writing anything,
    ``LibraryUnavailableError`` when its disk is full or it is read-only (with ``read_only_ok``,
    for commands that only read, such a library is opened read-only instead: ``Library.read_only``
    says why), and ``LibraryError`` for a file that is not a photoclust library.
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
    if version is None and not create:
        raise NoLibraryError(
            f"there is no library at {path}" + (" (an empty file)" if path.exists() else "")
            + ": nothing to read. Check the --library path; `photoclust index FOLDER` or "
            "`photoclust organize FOLDER` makes a new library.")
    problem = write_problem(path)
    if problem is None and read_only_ok and version is not None and disk_is_full(path.parent):
        problem = DISK_FULL  # a reader need not try (and leave a -wal/-shm file on a full disk)
    if problem is not None:
        return _without_writing(path, version, problem, read_only_ok)
    created = _missing_folders(path.parent) if version is None else []
    if version is None and not path.exists():
        created.append(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_created(created)
        raise LibraryError(f"cannot create the folder for {path}: {exc.strerror}") from exc

    try:
        return _open_writable(path, version)
    except (DBAPIError, sqlite3.OperationalError) as exc:
        # A library that could not be created leaves nothing behind (SQLite makes a 0-byte
        # file before it fails on a full disk).
        _remove_created(created)
        reason = _why_unwritable(path)
        if reason is None:
            raise
        try:
            return _without_writing(path, version, reason, read_only_ok)
        except LibraryError as refusal:
            raise refusal from exc
    except BaseException:
        _remove_created(created)
        raise


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those above it that do not exist yet, the deepest last."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _remove_created(created: list[Path]) -> None:
    """Undo a library creation that failed: the library file (with its -wal, -shm and -journal
    files) and the folders made for it, deepest first; only what this call created."""
    for item in reversed(created):
        try:
            if item.is_dir():
                item.rmdir()  # only if empty
            else:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    sidecar = _sidecar(item, suffix)
                    if sidecar.exists():
                        sidecar.unlink()
        except OSError:
            pass


def _without_writing(path: Path, version: int | None, reason: str,
                     read_only_ok: bool) -> Library:
    """The library opened read-only when the command allows it, else the refusal that says why
    it cannot be written."""
    if version is None:
        raise LibraryUnavailableError(f"cannot create the library {path}: {reason}")
    if version < migrations.SCHEMA_VERSION:
        raise LibraryUnavailableError(
            f"{path} was written by an older photoclust and must be upgraded once, which writes "
            f"to it, but {reason}. Nothing was changed.")
    if read_only_ok:
        return _open_read_only(path, reason)
    raise LibraryUnavailableError(unavailable_message(path, reason))


def _open_writable(path: Path, version: int | None) -> Library:
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
                    insert(SchemaInfo).values(
                        id=1, version=migrations.SCHEMA_VERSION, app_version=__version__
                    )
                )
                con.exec_driver_sql(f"PRAGMA user_version = {int(migrations.SCHEMA_VERSION)}")
            else:
                for v in range(version, migrations.SCHEMA_VERSION):
                    log.info("migrating %s from schema %d to %d", path, v, v + 1)
                    migrations.MIGRATIONS[v](con)
                    con.execute(
                        update(SchemaInfo).values(version=v + 1, app_version=__version__)
                    )
                    con.exec_driver_sql(f"PRAGMA user_version = {v + 1}")
        lib = Library(path, engine)
        with lib.session() as s:
            s.scalar(select(SchemaInfo.version))  # fail early on a broken file
    except Exception:
        engine.dispose()
        raise
    return lib


def _open_read_only(path: Path, reason: str) -> Library:
    """The library opened for reading only: nothing is written, not even a -wal/-shm file."""
    engine = create_engine(f"sqlite:///{path}", future=True,
                           creator=lambda: _connect_read_only(path))
    event.listen(engine, "connect", _set_read_only_pragmas)
    event.listen(engine, "begin", _begin)
    lib = Library(path, engine, read_only=reason)
    try:
        with lib.session() as s:
            s.scalar(select(SchemaInfo.version))
    except Exception:
        engine.dispose()
        raise
    log.info("opened %s read-only (%s)", path, reason)
    return lib


def raw_cursor(s: Session, query):
    """The sqlite3 cursor of a Core ``query`` (no IN list) whose columns need no conversion
    (numbers, text, bytes): SQLAlchemy's row processing doubles the time of many rows (a million
    photos' ids and vectors). Used by the whole-library reads of clustering and search."""
    compiled = query.compile(dialect=s.get_bind().dialect)
    cursor = s.connection().connection.cursor()
    cursor.execute(str(compiled), [compiled.params[k] for k in compiled.positiontup or ()])
    return cursor
