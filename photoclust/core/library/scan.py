"""Scanning folders into the library: new, changed, moved and vanished photos.

The scan is incremental. A file with the same size and mtime as its row (and its thumbnail in
the cache) is not read again. Any other file is hashed (SHA-256 of its bytes); a new path whose
content matches a photo that has vanished from its old path is a *move*: the row gets the new
path and keeps its id, cluster, labels and edit history. Files that vanished are marked
``missing``, never deleted. Identical files are duplicates: one row each, one content hash, one
thumbnail, one embedding.

Each new or changed file is opened once in a small thread pool (Pillow and hashlib release the
GIL): its first bytes must be an image header, then it is hashed and decoded completely (JPEG draft
to 256 px) to validate it and write its thumbnail. Rows are written batch by batch, each batch in
its own committed transaction, so a cancelled or killed scan leaves a consistent library and the
next run picks up where it stopped. Bad files are skipped with a reason; a photo whose file
turned bad (overwritten, truncated, replaced by a folder or a broken link) becomes ``unreadable``:
it no longer counts as present, keeps its row, clusters and labels, and is present again once its
file reads. Special files (pipes, devices) are never opened, and folders holding a photoclust
export (its manifest) are not indexed: their photos are copies of indexed ones. See
docs/reliability.md.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator, Sequence

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from photoclust.core.files import EXPORT_MANIFEST_CSV, EXPORT_MANIFEST_JSON
from photoclust.core.imaging import (
    IMAGE_EXTENSIONS,
    ImageError,
    ImageMetadata,
    create_thumbnail,
    open_image_file,
    open_regular_file,
    read_metadata,
    special_file_reason,
    thumbnail_path,
)
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.capture_time import capture_time
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import WRITE_LOCK, Library
from photoclust.core.library.folders import remember_indexed_folders
from photoclust.core.library.models import Photo, PhotoStatus, PhotoWhenWhere, utcnow
from photoclust.core.library.refused import refused_files, remember_refused, still_refused

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20
#: Status of a photo whose file is there but no longer reads as an image (see the module docs).
UNREADABLE = PhotoStatus.UNREADABLE


@dataclass
class ScanResult:
    """Counts of one scan. ``missing`` is the number of photos under the scanned folders that are
    missing after the scan (vanished now or earlier and not found again); ``unreadable`` those
    whose file is there but does not read as a photo any more (each is in ``skipped``)."""

    added: int = 0
    unchanged: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    unreadable: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "moved": self.moved,
            "missing": self.missing,
            "unreadable": self.unreadable,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


@dataclass(frozen=True)
class _FoundFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class _ExistingRow:
    id: int
    size: int
    mtime_ns: int
    content_hash: str
    status: str


@dataclass
class _Examined:
    """A new or changed file after hashing and (if its content is new) decoding."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    content_hash: str = ""
    metadata: ImageMetadata | None = None
    error: str | None = None
    #: The error is the file's (it does not read as an image), not ours (thumbnail not written).
    file_error: bool = False


def printable_path(path: str) -> str:
    """``path`` as valid text: undecodable bytes shown as ``\\xff`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes stand for bytes that are not UTF-8
        return False
    return True


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished during the scan"
    return exc.strerror or str(exc)


def _has_image_extension(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def has_any_photo(folder: str) -> bool:
    """True as soon as a file named like a photo is found under ``folder`` (hidden entries
    left out, folder links followed once): the cheap "is there anything to organize" check."""
    stack, seen = [folder], set()
    while stack:
        try:
            current = stack.pop()
            st = os.stat(current)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(current) as listing:
                for entry in listing:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        stack.append(entry.path)
                    elif _has_image_extension(entry.name):
                        return True
        except OSError:
            continue
    return False


def hash_file(source: str | BinaryIO) -> tuple[str, os.stat_result]:
    """SHA-256 (hex) of the file's bytes, with the ``fstat`` of the file that was read (so the
    size and mtime stored belong to the bytes hashed). ``source`` is a path or an open file
    (read from its start and rewound). SHA-256 rather than BLAKE2b: with the SHA CPU
    instructions that OpenSSL uses it is twice as fast, and ``sha256sum`` can check it."""
    if isinstance(source, str):
        try:
            fh = open_regular_file(source)  # never a pipe that would block
        except ImageError as exc:
            raise OSError(errno.EINVAL, str(exc), source) from None
        with fh:
            return hash_file(fh)
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(_HASH_CHUNK):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest(), os.fstat(source.fileno())


def _is_export_folder(folder: str, names: set[str]) -> bool:
    """Whether ``folder`` holds the manifest of a photoclust export (its albums are copies)."""
    for name, mark in ((EXPORT_MANIFEST_JSON, b'"photoclust_version"'),
                       (EXPORT_MANIFEST_CSV, b"photo_id,")):
        if name in names:
            try:
                with open_regular_file(os.path.join(folder, name)) as fh:
                    if mark in fh.read(4096):
                        return True
            except (ImageError, OSError):
                continue
    return False


class _Walker:
    """Recursive folder walk that follows folder symlinks once, skipping loops, hidden entries
    and the library's own folders, and collecting a reason for everything it cannot read."""

    def __init__(self, excluded_dirs: Iterable[str]):
        self.skipped: list[tuple[str, str]] = []
        #: The same reasons by path as found (``skipped`` holds printable paths).
        self.reasons: dict[str, str] = {}
        self.unreadable_dirs: list[str] = []
        self.export_dirs: list[str] = []
        self._visited: set[tuple[int, int]] = set()
        for path in excluded_dirs:
            try:
                st = os.stat(path)
            except OSError:
                continue
            self._visited.add((st.st_dev, st.st_ino))

    def _skip(self, path: str, reason: str) -> None:
        log.info("skipping %s: %s", printable_path(path), reason)
        self.skipped.append((printable_path(path), reason))
        self.reasons[path] = reason

    def walk(self, root: str, ctx: JobContext) -> Iterator[_FoundFile]:
        root_st = os.stat(root)
        root_key = (root_st.st_dev, root_st.st_ino)
        if root_key in self._visited:
            return
        self._visited.add(root_key)
        # (folder, identities of the folders above it) so that a link back up is called a loop.
        stack: list[tuple[str, frozenset[tuple[int, int]]]] = [(root, frozenset({root_key}))]
        while stack:
            ctx.raise_if_cancelled()
            folder, ancestors = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                self.unreadable_dirs.append(folder)
                self._skip(folder, f"cannot read folder: {_os_reason(exc)}")
                continue
            names = {entry.name for entry in entries}
            if (EXPORT_MANIFEST_JSON in names or EXPORT_MANIFEST_CSV in names) \
                    and _is_export_folder(folder, names):
                self.export_dirs.append(folder)
                self._skip(folder, "a photoclust export (it holds its manifest): not indexed, its "
                           "photos are copies of photos in the library")
                continue
            subfolders = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue  # hidden files and folders (.git, .Trash, ._IMG.JPG resource forks)
                try:
                    is_dir = entry.is_dir()
                    is_link = entry.is_symlink()
                except OSError as exc:
                    self._skip(entry.path, _os_reason(exc))
                    continue
                if is_dir:
                    if not _is_utf8(entry.path):
                        self._skip(entry.path, "folder name is not valid UTF-8")
                        continue
                    try:
                        st = entry.stat()
                    except OSError as exc:
                        self._skip(entry.path, _os_reason(exc))
                        continue
                    key = (st.st_dev, st.st_ino)
                    if key in ancestors:
                        self._skip(entry.path, "symbolic link loop (links to a folder above it)")
                    elif key not in self._visited:  # else: already indexed by another path
                        self._visited.add(key)
                        subfolders.append((entry.path, ancestors | {key}))
                    continue
                if not _has_image_extension(entry.name):
                    continue
                if not _is_utf8(entry.path):
                    self._skip(entry.path, "file name is not valid UTF-8")
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    self._skip(entry.path, "broken symbolic link" if is_link
                               else "vanished during the scan")
                    continue
                except OSError as exc:
                    self._skip(entry.path, _os_reason(exc))
                    continue
                reason = special_file_reason(st.st_mode)
                if reason is not None:  # a named pipe or a device: never opened
                    self._skip(entry.path, reason)
                    continue
                yield _FoundFile(entry.path, st.st_size, st.st_mtime_ns)
            stack.extend(reversed(subfolders))


def _folder_range(folder: str) -> tuple[str, str]:
    """Bounds of the paths strictly inside ``folder`` for an index range query."""
    prefix = folder if folder.endswith(os.sep) else folder + os.sep
    return prefix, prefix[:-1] + chr(ord(os.sep) + 1)


def scan_root(folder: str | os.PathLike) -> str:
    """A folder as the scanner stores the paths under it: absolute, '.' and '..' resolved
    (symbolic links are not: a linked folder keeps its own name)."""
    return os.path.abspath(os.fspath(folder))


def default_workers() -> int:
    """Decoding threads: up to 4, fewer on small machines (decoding is CPU-bound)."""
    return max(1, min(4, os.cpu_count() or 1))


class ScanJob(Job[ScanResult]):
    """Index ``folders`` (recursively) into ``library``; see the module docstring."""

    title = "Indexing photos"

    def __init__(self, library: Library, folders: Sequence[str | os.PathLike],
                 workers: int | None = None, batch_size: int = 32,
                 reread: Iterable[str] = ()):
        self.library = library
        #: Paths read again even with their size and time unchanged (``check --read-files``
        #: found other bytes in them than were indexed; ``check --repair`` reads them again).
        self.reread = frozenset(reread)
        self.folders = [scan_root(f) for f in folders]
        self.workers = workers or default_workers()
        self.batch_size = batch_size

    def prepare(self) -> None:
        if not self.folders:
            raise JobError("no folder to index")
        for folder in self.folders:
            shown = printable_path(folder)
            if not os.path.exists(folder):
                raise JobError(f"{shown}: no such folder")
            if not os.path.isdir(folder):
                raise JobError(f"{shown}: not a folder")
            if not _is_utf8(folder):
                raise JobError(f"{shown}: folder name is not valid UTF-8")
            try:
                with os.scandir(folder):
                    pass
            except OSError as exc:
                raise JobError(f"{shown}: cannot read folder ({_os_reason(exc)})") from None

    # -- run ---------------------------------------------------------------------------------

    def run(self, ctx: JobContext) -> ScanResult:
        result = ScanResult()
        remember_indexed_folders(self.library, self.folders)  # export stays out of them
        walker = _Walker([str(self.library.thumbnail_dir), str(self.library.data_dir)])
        found: list[_FoundFile] = []
        for folder in self.folders:
            for item in walker.walk(folder, ctx):
                found.append(item)
                if len(found) % 500 == 0:
                    ctx.report(0, 0, f"found {len(found)} photos")
        result.skipped.extend(walker.skipped)

        existing = self._existing_rows()
        total = len(found)
        to_examine: list[_FoundFile] = []
        reappeared: list[int] = []
        refused_before = refused_files(self.library)
        refused_now: dict[str, tuple[int, int, str]] = {}
        for item in found:
            row = existing.get(item.path)
            still = still_refused(refused_before, item.path, item.size, item.mtime_ns)
            if (row is not None and row.size == item.size and row.mtime_ns == item.mtime_ns
                    and item.path not in self.reread
                    and thumbnail_path(self.library, row.content_hash).exists()):
                result.unchanged += 1
                if row.status != PhotoStatus.PRESENT:
                    reappeared.append(row.id)
            elif still is not None and (row is None or row.status == UNREADABLE):
                # Refused before and unchanged since: the same reason, without reading it again.
                result.skipped.append((printable_path(item.path), still))
                refused_now[item.path] = (item.size, item.mtime_ns, still)
            else:
                to_examine.append(item)
        if reappeared:
            self._mark(reappeared, PhotoStatus.PRESENT)
        done = total - len(to_examine)
        ctx.report(done, total, "checking for new and changed photos")

        claimed: set[int] = set()
        seen_paths = {item.path for item in found}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="photoclust-scan") as pool:
            for start in range(0, len(to_examine), self.batch_size):
                ctx.raise_if_cancelled()
                batch = to_examine[start:start + self.batch_size]
                examined = list(pool.map(self._examine, batch))
                self._write_batch(examined, existing, seen_paths, claimed, result)
                refused_now.update((item.path, (item.size, item.mtime_ns, done_item.error))
                                   for item, done_item in zip(batch, examined)
                                   if done_item.file_error and done_item.error)
                done += len(batch)
                ctx.report(done, total, printable_path(batch[-1].path))

        remember_refused(self.library, refused_before, self.folders, refused_now)
        ctx.raise_if_cancelled()
        result.missing, result.unreadable = self._mark_gone(seen_paths, walker, result)
        ctx.report(total, total, "done")
        log.info("scan of %s: %s", self.folders, {k: v for k, v in result.to_json().items()
                                                  if k != "skipped"})
        return result

    def _existing_rows(self) -> dict[str, _ExistingRow]:
        rows: dict[str, _ExistingRow] = {}
        with self.library.session() as s:
            for folder in self.folders:
                low, high = _folder_range(folder)
                query = select(Photo.path, Photo.id, Photo.file_size, Photo.mtime_ns,
                               Photo.content_hash, Photo.status).where(
                    Photo.path >= low, Photo.path < high)
                for path, *values in s.execute(query):
                    rows[path] = _ExistingRow(*values)  # type: ignore[arg-type]
        return rows

    def _examine(self, item: _FoundFile) -> _Examined:
        """Open the file once: check its header, hash it and, unless its content is already
        known, decode it completely to validate it and write its thumbnail (hash and pixels come
        from the same open file). Runs in the worker threads: no database access here."""
        try:
            fh = open_image_file(item.path)
        except ImageError as exc:
            return _Examined(item.path, error=str(exc), file_error=True)
        with fh:
            try:
                content_hash, st = hash_file(fh)
            except OSError as exc:
                return _Examined(item.path, error=f"cannot read file: {_os_reason(exc)}",
                                 file_error=True)
            examined = _Examined(item.path, st.st_size, st.st_mtime_ns, content_hash)
            try:
                if thumbnail_path(self.library, content_hash).exists():
                    # Same bytes as a photo already validated and thumbnailed (duplicate, move,
                    # or a thumbnail left by an interrupted run).
                    examined.metadata = read_metadata(fh)
                else:
                    examined.metadata = create_thumbnail(self.library, fh, content_hash)[1]
            except ImageError as exc:
                examined.error = str(exc)
                examined.file_error = True
            except OSError as exc:  # e.g. the thumbnail folder is not writable, or disk full
                if exc.errno == errno.ENOSPC:
                    raise
                examined.error = f"cannot make thumbnail: {_os_reason(exc)}"
        return examined

    def _write_batch(self, batch: list[_Examined], existing: dict[str, _ExistingRow],
                     seen_paths: set[str], claimed: set[int], result: ScanResult) -> None:
        """Write one batch of examined files in one transaction."""
        counts = {"added": 0, "updated": 0, "unchanged": 0, "moved": 0}
        skipped: list[tuple[str, str]] = []
        times: list[tuple[Photo, _Examined]] = []
        with self.library.session() as s:
            # The batch reads before it writes: a deferred transaction could not upgrade its
            # snapshot once another writer (organize's model lane) committed, and SQLite says
            # "database is locked" without waiting. Take the write lock first; others wait.
            s.connection(execution_options=WRITE_LOCK)
            for item in batch:
                if item.error is not None:
                    skipped.append((printable_path(item.path), item.error))
                    log.info("skipping %s: %s", printable_path(item.path), item.error)
                    old = existing.get(item.path)
                    if item.file_error and old is not None:
                        # A photo whose file turned bad: no longer present, but its row, clusters
                        # and labels stay for when the file reads again (like a missing photo).
                        # (Unless a good copy took the row over earlier in this run.)
                        status = (UNREADABLE if os.path.lexists(item.path)
                                  else PhotoStatus.MISSING)
                        s.execute(update(Photo).where(Photo.id == old.id,
                                                      Photo.path == item.path).values(
                            status=status, updated_at=utcnow()))
                    continue
                now = utcnow()
                old = existing.get(item.path)
                photo = s.get(Photo, old.id) if old is not None else None
                if photo is not None and photo.path != item.path:
                    photo = None  # a copy found earlier in this run took the row over (a move)
                elif old is None:
                    # Another index running at the same time may have added it meanwhile (this
                    # transaction holds the write lock, so what it reads now is current).
                    photo = s.scalar(select(Photo).where(Photo.path == item.path))
                if photo is not None:
                    counts["unchanged" if photo.content_hash == item.content_hash
                           else "updated"] += 1
                else:
                    photo = self._moved_photo(s, item.content_hash, seen_paths, claimed)
                    if photo is not None:
                        counts["moved"] += 1
                        claimed.add(photo.id)
                        log.info("moved: %s -> %s", photo.path, item.path)
                        photo.path = item.path
                    else:
                        counts["added"] += 1
                        photo = Photo(path=item.path, added_at=now)
                        s.add(photo)
                meta = item.metadata
                assert meta is not None  # a decoded photo has its metadata
                photo.content_hash = item.content_hash
                photo.file_size = item.size
                photo.mtime_ns = item.mtime_ns
                photo.width, photo.height = meta.width, meta.height
                photo.image_format = meta.format
                photo.taken_at, photo.camera = meta.taken_at, meta.camera
                photo.gps_lat, photo.gps_lon = meta.gps_lat, meta.gps_lon
                photo.status = PhotoStatus.PRESENT
                photo.updated_at = now
                times.append((photo, item))
            if times:
                s.flush()  # new photos get their ids
                _write_capture_times(s, times)
        # Counted only once the transaction committed.
        for key, value in counts.items():
            setattr(result, key, getattr(result, key) + value)
        result.skipped.extend(skipped)

    @staticmethod
    def _moved_photo(s, content_hash: str, seen_paths: set[str],
                     claimed: set[int]) -> Photo | None:
        """A photo with this content whose file is gone (marked missing or unreadable, or its
        path no longer exists): the file at the new path is that photo, moved or renamed (or
        restored from a backup beside its damaged file)."""
        candidates = s.scalars(
            select(Photo).where(Photo.content_hash == content_hash)
            .order_by((Photo.status == PhotoStatus.PRESENT).asc(), Photo.id)
        )
        for photo in candidates:
            if photo.id in claimed:
                continue
            if photo.status == UNREADABLE:  # its damaged file may still be there
                return photo
            if photo.path not in seen_paths and (
                    photo.status == PhotoStatus.MISSING or not os.path.lexists(photo.path)):
                return photo
        return None

    def _mark(self, photo_ids: list[int], status: str) -> None:
        with self.library.session() as s:
            for part in chunks(photo_ids):
                s.execute(update(Photo).where(Photo.id.in_(part))
                          .values(status=status, updated_at=utcnow()))

    def _mark_gone(self, seen_paths: set[str], walker: _Walker,
                   result: ScanResult) -> tuple[int, int]:
        """Mark photos under the scanned folders whose file is gone as missing, and those whose
        path now holds no photo (a folder, a broken link, a pipe) as unreadable, each with its
        reason in ``result.skipped``. Files we merely could not read (inside an unreadable
        folder) are left as they are. Returns how many photos under those folders are missing
        and unreadable now."""
        vanished: list[int] = []
        turned_bad: list[int] = []
        missing = unreadable = 0
        unreadable_dirs = tuple(d + os.sep for d in walker.unreadable_dirs)
        for path, row in self._existing_rows().items():
            status = row.status
            if status != PhotoStatus.MISSING and path not in seen_paths and not (
                    unreadable_dirs and path.startswith(unreadable_dirs)):
                status = self._status_of_unseen(path, status, walker, result)
                if status != row.status:
                    (vanished if status == PhotoStatus.MISSING else turned_bad).append(row.id)
            missing += status == PhotoStatus.MISSING
            unreadable += status == UNREADABLE
        if vanished:
            self._mark(vanished, PhotoStatus.MISSING)
            log.info("%d photos vanished and are marked missing", len(vanished))
        if turned_bad:
            self._mark(turned_bad, UNREADABLE)
            log.info("%d photos no longer read and are marked unreadable", len(turned_bad))
        return missing, unreadable

    @staticmethod
    def _status_of_unseen(path: str, status: str, walker: _Walker, result: ScanResult) -> str:
        """The status of a photo whose path the walk did not yield as a file to read."""
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return PhotoStatus.MISSING
        except OSError:
            return status
        reason = walker.reasons.get(path)  # a broken link, a pipe...: already in ``skipped``
        if reason is None:
            try:
                reason = special_file_reason(os.stat(path).st_mode)
            except OSError as exc:
                reason = "broken symbolic link" if isinstance(exc, FileNotFoundError) \
                    else _os_reason(exc)
            if reason is None:
                return status  # a file the walk reached by another path, or left out on purpose
            result.skipped.append((printable_path(path), reason))
        return UNREADABLE


def _write_capture_times(s, written: list[tuple[Photo, _Examined]]) -> None:
    """Each written photo's capture time (EXIF, its file name, else its file time: see
    ``capture_time``), read again whenever the file changed; the user's time shift and the
    place are kept (the place is computed again when the GPS position changed)."""
    rows = []
    for photo, item in written:
        meta = item.metadata
        found = capture_time(meta.time_tags if meta else None, item.path, item.mtime_ns)
        if found.note:
            log.info("capture time of %s: %s", printable_path(item.path), found.note)
        photo.taken_at = found.taken
        rows.append({"photo_id": photo.id, "taken_offset_min": found.offset_minutes,
                     "taken_source": found.source, "taken_note": found.note})
    statement = sqlite_insert(PhotoWhenWhere)
    s.execute(statement.on_conflict_do_update(
        index_elements=[PhotoWhenWhere.photo_id],
        set_={name: statement.excluded[name]
              for name in ("taken_offset_min", "taken_source", "taken_note")}), rows)
