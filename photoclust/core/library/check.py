"""Checking a library and repairing what is safe to repair.

A check reports: SQLite's own ``PRAGMA integrity_check``, photos marked present whose file has
vanished, photos whose file changed since it was indexed (other size or time, or no longer a file:
``index`` re-reads them), and orphan rows (assignments to inactive or unknown clusters, embeddings
of contents no photo has, malformed embedding vectors, foreign keys pointing nowhere). Thumbnails
no photo uses are reported as information, not as damage: an index interrupted inside a batch
leaves the thumbnails of the photos it had not committed yet, and the next index reuses them.

A repair only does what loses nothing the user made: photos whose file changed are read again
(their folders indexed, the changed files read even where size and time were kept: bytes changed
in place, found by ``read_files``), vanished photos are marked ``missing`` (they
keep their labels and come back when found again), derived data that can be recomputed
(embeddings, thumbnails) is deleted, an algorithm's assignment to a dead cluster is dropped (the
next clustering places the photo again), and a cluster still holding photos the user placed is
made active again instead of losing them. Edit events are never touched. A file that fails the
integrity check is not written at all: repairs on a damaged file could make it worse.
"""
from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import Job, JobContext
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import Library
from photoclust.core.library.exports import sweep_killed_exports
from photoclust.core.library.models import (
    Assignment,
    Cluster,
    Embedding,
    Photo,
    PhotoStatus,
    Source,
    utcnow,
)
from photoclust.core.library.scan import UNREADABLE, ScanJob, ScanResult, hash_file

#: A thumbnail temporary file younger than this may belong to an index running right now.
STALE_TEMP_SECONDS = 3600
_STAT_BATCH = 500
#: Kinds of orphans that are leftovers rather than damage (see the module docs): reported, and
#: removed by a repair, but the library is sound with them.
LEFTOVER_KINDS = frozenset({"thumbnails", "export_temp_files"})


@dataclass
class CheckReport:
    """What ``CheckJob`` found and repaired.

    ``integrity`` holds the lines of ``PRAGMA integrity_check`` (``["ok"]`` when sound);
    ``missing`` the present-marked photos whose file is gone; ``changed`` those whose file no
    longer matches what was indexed (``{"photo_id", "path", "reason"}``); ``orphans`` one list
    per kind of orphan (``thumbnails`` are leftovers, not problems: ``LEFTOVER_KINDS``);
    ``repaired`` how many of each kind were repaired (empty without ``repair``). ``unreadable``
    (information, not a problem of the library) lists the photos ``index`` found damaged or no
    longer a photo file: they keep their clusters and labels until their file reads again.
    """

    integrity: list[str] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)
    orphans: dict[str, list] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def integrity_ok(self) -> bool:
        return self.integrity == ["ok"]

    @property
    def problems(self) -> int:
        found = len(self.missing) + len(self.changed) + sum(
            len(rows) for kind, rows in self.orphans.items() if kind not in LEFTOVER_KINDS)
        return found - sum(n for kind, n in self.repaired.items() if kind not in LEFTOVER_KINDS)

    @property
    def ok(self) -> bool:
        """The library is sound now: intact, and every problem found was repaired."""
        return self.integrity_ok and self.problems == 0

    def to_json(self) -> dict:
        return {"ok": self.ok, "integrity": self.integrity, "missing": self.missing,
                "changed": self.changed, "unreadable": self.unreadable,
                "orphans": self.orphans, "repaired": self.repaired}


def integrity_check(library: Library) -> list[str]:
    """The result lines of ``PRAGMA integrity_check`` (``["ok"]`` for a sound file); a file too
    damaged for the check itself to finish gives SQLite's error instead."""
    try:
        with library.engine.connect() as con:
            return [str(row[0]) for row in con.exec_driver_sql("PRAGMA integrity_check")]
    except DBAPIError as exc:
        return [f"the check could not finish: {exc.orig}"]


def _file_change(path: str, size: int, mtime_ns: int) -> str | None:
    """How the file at ``path`` differs from the indexed one, or ``None`` when it matches."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        return "now a folder"
    if not stat.S_ISREG(st.st_mode):
        return "no longer a regular file"
    if st.st_size != size:
        return f"size changed ({size} -> {st.st_size} bytes)"
    if st.st_mtime_ns != mtime_ns:
        return "modified since it was indexed"
    return None


def _content_change(path: str, content_hash: str) -> str | None:
    """Whether the bytes at ``path`` still have the indexed hash (``None`` when they do)."""
    try:
        found, _st = hash_file(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None if found == content_hash else "content changed (same size and time)"


class CheckJob(Job[CheckReport]):
    """Check ``library``; with ``repair`` also apply the safe repairs (see the module docs).
    With ``read_files`` every present photo whose size and time match is also read and its
    bytes compared with the indexed hash (slow: it reads the whole collection)."""

    title = "Checking the library"

    def __init__(self, library: Library, repair: bool = False, read_files: bool = False):
        self.library = library
        #: What reading the changed photos again found (``repair``), or None.
        self.reindexed: ScanResult | None = None
        self.repair = repair
        self.read_files = read_files

    def run(self, ctx: JobContext) -> CheckReport:
        report = CheckReport(integrity=integrity_check(self.library))
        if not report.integrity_ok:
            return report  # nothing else can be trusted, and nothing is written
        report.missing, report.changed = self._vanished_and_changed(ctx)
        with self.library.session() as s:
            report.unreadable = [{"photo_id": i, "path": p} for i, p in s.execute(
                select(Photo.id, Photo.path).where(Photo.status == UNREADABLE)
                .order_by(Photo.path))]
        with self.library.session() as s:
            report.orphans = {
                "assignments": self._orphan_assignments(s),
                "embeddings": self._orphan_embeddings(s),
                "malformed_embeddings": self._malformed_embeddings(s),
                "thumbnails": self._orphan_thumbnails(s),
                "foreign_keys": self._broken_foreign_keys(s),
            }
        if self.repair:
            report.repaired = self._repair(report)
            reread = self._read_changed_again(report, ctx)
            if reread:
                report.repaired["changed"] = reread
        return report

    def _read_changed_again(self, report: CheckReport, ctx: JobContext) -> int:
        """Index the folders of the photos whose file changed, reading those files again even
        where their size and time are what was indexed (bytes changed in place, found by
        ``read_files``): their rows get the new facts, or they are marked unreadable with the
        reason. Returns how many were read again."""
        paths = [row["path"] for row in report.changed]
        if not paths:
            return 0
        folders = sorted({os.path.dirname(p) for p in paths})
        folders = [f for f in folders if os.path.isdir(f)]
        if not folders:
            return 0
        job = ScanJob(self.library, folders, reread=paths)
        job.prepare()
        scanned = job.run(ctx)
        self.reindexed = scanned
        return len(paths)

    # -- findings ------------------------------------------------------------------------------
    def _vanished_and_changed(self, ctx: JobContext) -> tuple[list[dict], list[dict]]:
        """Present photos whose file is gone, and those whose file is not what was indexed
        (one ``stat`` each; the bytes are read only with ``read_files``)."""
        with self.library.session() as s:
            rows = s.execute(select(Photo.id, Photo.path, Photo.file_size, Photo.mtime_ns,
                                    Photo.content_hash)
                             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id)).all()
        missing, changed = [], []
        every = 1 if self.read_files else _STAT_BATCH
        for i, (photo_id, path, size, mtime_ns, content_hash) in enumerate(rows, 1):
            if not os.path.lexists(path):
                missing.append({"photo_id": photo_id, "path": path})
            else:
                reason = _file_change(path, size, mtime_ns)
                if reason is None and self.read_files:
                    reason = _content_change(path, content_hash)
                if reason:
                    changed.append({"photo_id": photo_id, "path": path, "reason": reason})
            if i % every == 0 or i == len(rows):
                ctx.raise_if_cancelled()
                ctx.report(i, len(rows), "looking for vanished and changed files")
        return missing, changed

    @staticmethod
    def _orphan_assignments(s) -> list[dict]:
        rows = s.execute(
            select(Assignment.photo_id, Assignment.cluster_id, Assignment.source, Cluster.id)
            .outerjoin(Cluster, Cluster.id == Assignment.cluster_id)
            .where((Cluster.id.is_(None)) | (Cluster.active.is_(False)))
            .order_by(Assignment.photo_id)
        ).all()
        return [{"photo_id": photo_id, "cluster_id": cluster_id, "source": source,
                 "reason": "no such cluster" if found is None else "inactive cluster"}
                for photo_id, cluster_id, source, found in rows]

    @staticmethod
    def _orphan_embeddings(s) -> list[dict]:
        rows = s.execute(
            select(Embedding.content_hash, Embedding.model, Embedding.preprocess_version)
            .where(Embedding.content_hash.not_in(select(Photo.content_hash)))
            .order_by(Embedding.content_hash)
        ).all()
        return [{"content_hash": h, "model": m, "preprocess_version": v} for h, m, v in rows]

    @staticmethod
    def _malformed_embeddings(s) -> list[dict]:
        """Vectors whose length is not ``dim`` float16 values (they would crash a clustering)."""
        rows = s.execute(
            select(Embedding.content_hash, Embedding.model, Embedding.preprocess_version)
            .where(func.length(Embedding.vector) != Embedding.dim * 2)
        ).all()
        return [{"content_hash": h, "model": m, "preprocess_version": v} for h, m, v in rows]

    def _orphan_thumbnails(self, s) -> list[str]:
        root = Path(self.library.thumbnail_dir)
        if not root.is_dir():
            return []
        hashes = s.scalars(select(Photo.content_hash).distinct()).all()
        expected = set()
        for content_hash in hashes:
            try:
                expected.add(thumbnail_path(self.library, content_hash))
            except ValueError:
                continue  # a malformed hash has no thumbnail
        orphans = []
        stale_before = time.time() - STALE_TEMP_SECONDS
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if name.startswith("."):  # a temporary file of a killed thumbnail write
                    try:
                        if path.stat().st_mtime < stale_before:
                            orphans.append(str(path))
                    except OSError:
                        pass
                elif name.endswith(".jpg") and path not in expected:
                    orphans.append(str(path))
        return sorted(orphans)

    @staticmethod
    def _broken_foreign_keys(s) -> list[dict]:
        """Rows whose foreign key points nowhere (possible only in a file written with foreign
        keys off). Assignments are covered above; the rest is reported, not repaired."""
        rows = s.execute(text("PRAGMA foreign_key_check")).all()
        return [{"table": table, "rowid": rowid, "parent": parent}
                for table, rowid, parent, _fkid in rows if table != "assignments"]

    # -- repairs -------------------------------------------------------------------------------
    def _repair(self, report: CheckReport) -> dict[str, int]:
        repaired: dict[str, int] = {}
        with self.library.session() as s:
            ids = [m["photo_id"] for m in report.missing]
            for part in chunks(ids):
                s.execute(update(Photo).where(Photo.id.in_(part))
                          .values(status=PhotoStatus.MISSING, updated_at=utcnow()))
            repaired["missing"] = len(ids)

            fixed = 0
            for row in report.orphans["assignments"]:
                if row["source"] == Source.USER and row["reason"] == "inactive cluster":
                    s.execute(update(Cluster).where(Cluster.id == row["cluster_id"])
                              .values(active=True))
                else:
                    s.execute(delete(Assignment).where(Assignment.photo_id == row["photo_id"]))
                fixed += 1
            repaired["assignments"] = fixed

            for kind in ("embeddings", "malformed_embeddings"):
                for row in report.orphans[kind]:
                    s.execute(delete(Embedding).where(
                        Embedding.content_hash == row["content_hash"],
                        Embedding.model == row["model"],
                        Embedding.preprocess_version == row["preprocess_version"]))
                repaired[kind] = len(report.orphans[kind])
        killed = sweep_killed_exports(self.library)
        if killed:
            repaired["export_temp_files"] = killed
        removed = 0
        for path in report.orphans["thumbnails"]:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                removed += 1
            except OSError:
                pass
        repaired["thumbnails"] = removed
        return {kind: n for kind, n in repaired.items() if n}
