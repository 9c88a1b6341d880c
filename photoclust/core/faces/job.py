"""``FacesJob``: search every photo for faces, store them, then group them into people.

Incremental and resumable: a photo is searched once per content (``face_scans`` records the
content hash and the detector version; a photo whose file changed is searched again, its old
faces replaced). Photos are committed in batches of ``BATCH`` (each batch one transaction), so a
cancelled or killed job loses at most the batch in flight and the next run continues. A photo
that cannot be decoded is recorded with its reason and skipped. The photos of a batch are
searched in ``workers`` threads (one per core by default: decoding, HOG and the descriptor release
the GIL), each with its own HOG detector (``FaceFinder``), and stored in the batch's order, so the
faces stored are the same as one thread's. Grouping
(``grouping.group_faces``) runs at the end over every face in no person, so an interrupted run's
faces are grouped by the next one.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, func, insert, or_, select

from photoclust.core.edits.history import write_session
from photoclust.core.faces.cluster_names import name_clusters_of_people
from photoclust.core.faces.detect import (
    DETECT_MIN_SIDE,
    DETECTOR_VERSION,
    FaceFinder,
    FaceModelError,
)
from photoclust.core.faces.grouping import GroupingResult, group_faces
from photoclust.core.imaging import ImageError, load_rgb
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import WRITE_LOCK
from photoclust.core.library.models import Face, FaceScan, Photo, PhotoStatus

log = logging.getLogger(__name__)

#: Photos searched per transaction.
BATCH = 16
#: Threads searching a batch's photos (``None``: one per core).
WORKERS_ENV = "PHOTOCLUST_FACES_WORKERS"


def default_workers() -> int:
    """``$PHOTOCLUST_FACES_WORKERS`` if set (1: the serial search), else one per core."""
    try:
        wanted = int(os.environ.get(WORKERS_ENV, "") or 0)
    except ValueError:
        wanted = 0
    return max(1, wanted or os.cpu_count() or 1)


@dataclass
class FacesResult:
    photos: int = 0  # photos searched by this run
    with_faces: int = 0
    faces: int = 0
    unsure: int = 0
    already: int = 0  # photos searched before
    skipped: list[tuple[str, str]] = field(default_factory=list)
    grouping: GroupingResult = field(default_factory=GroupingResult)
    seconds: float = 0.0
    #: Why faces were not searched at all (a model missing or damaged), else ``None``.
    error: str | None = None
    #: Clusters named for the people in them (``cluster_names.py``): ``{cluster_id: name}``.
    clusters_named: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"photos": self.photos, "with_faces": self.with_faces, "faces": self.faces,
                "unsure": self.unsure, "already": self.already,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "grouping": self.grouping.to_json(), "seconds": round(self.seconds, 2),
                "error": self.error,
                "clusters_named": [{"cluster_id": c, "name": n}
                                   for c, n in sorted(self.clusters_named.items())]}


def photos_to_search(library: Library, after_id: int = 0, limit: int | None = None
                     ) -> list[tuple[int, str, str, int | None, int | None]]:
    """``(id, path, content_hash, width, height)`` of present photos not searched for faces
    with this content and detector version, by id."""
    with library.session() as s:
        query = (select(Photo.id, Photo.path, Photo.content_hash, Photo.width, Photo.height)
                 .outerjoin(FaceScan, FaceScan.photo_id == Photo.id)
                 .where(Photo.status == PhotoStatus.PRESENT, Photo.id > after_id,
                        or_(FaceScan.photo_id.is_(None),
                            and_(FaceScan.photo_id.is_not(None),
                                 or_(FaceScan.content_hash != Photo.content_hash,
                                     FaceScan.version != DETECTOR_VERSION))))
                 .order_by(Photo.id))
        if limit is not None:
            query = query.limit(limit)
        return [tuple(r) for r in s.execute(query)]  # type: ignore[misc]


def present_count(library: Library) -> int:
    with library.session() as s:
        return int(s.scalar(select(func.count(Photo.id))
                            .where(Photo.status == PhotoStatus.PRESENT)) or 0)


class FacesJob(Job[FacesResult]):
    """Find, describe and group the faces of the photos not searched yet."""

    title = "Finding faces"

    def __init__(self, library: Library, finder: FaceFinder | None = None, group: bool = True,
                 workers: int | None = None):
        self.library = library
        self.finder = finder or FaceFinder()
        self.group = group
        #: Threads searching each batch (``default_workers()`` when ``None``).
        self.workers = max(1, workers) if workers is not None else default_workers()

    def prepare(self) -> None:
        try:
            self.finder.check()
        except FaceModelError as exc:
            raise JobError(str(exc)) from None

    def run(self, ctx: JobContext) -> FacesResult:
        started = time.monotonic()
        result = FacesResult()
        todo = photos_to_search(self.library)
        result.already = present_count(self.library) - len(todo)
        total = len(todo)
        ctx.report(0, total, "")
        done = self._search_all(ctx, todo, result)
        if self.group:
            ctx.raise_if_cancelled()
            ctx.report(done, total, "grouping into people")
            result.grouping = group_faces(self.library)
            with write_session(self.library) as s:
                result.clusters_named = name_clusters_of_people(s)
        result.seconds = time.monotonic() - started
        return result

    def _search_all(self, ctx: JobContext, todo: list, result: FacesResult) -> int:
        """Search ``todo`` (``photos_to_search`` rows) batch by batch, each batch's photos in
        ``workers`` threads and stored in one transaction in their order; counts into
        ``result``. Returns the photos searched."""
        done, total = 0, len(todo)
        if not todo:
            return done
        self.finder.load()
        workers = min(self.workers, BATCH, len(todo))
        pool = (ThreadPoolExecutor(workers, thread_name_prefix="photoclust-faces")
                if workers > 1 else None)
        try:
            for batch in _in_batches(todo, BATCH):
                ctx.raise_if_cancelled()
                found = (list(pool.map(self._search, batch)) if pool is not None
                         else [self._search(item) for item in batch])
                self._store(batch, found)
                for item, (faces, error) in zip(batch, found):
                    _count(result, item[1], faces, error)
                done += len(batch)
                ctx.report(done, total, f"{result.faces} faces in {done} photos")
        finally:
            if pool is not None:
                pool.shutdown()
        return done

    def _search(self, item) -> tuple[list | None, str | None]:
        """``(faces, None)``, or ``(None, why)`` for a photo that cannot be decoded; safe to run
        in several threads (it touches nothing but the finder)."""
        _pid, path, _hash, width, height = item
        try:
            image = load_rgb(path, min_side=DETECT_MIN_SIDE)
        except ImageError as exc:
            return None, str(exc)
        except OSError as exc:
            return None, exc.strerror or str(exc)
        full = (width or image.size[0], height or image.size[1])
        return self.finder.find(image, full,
                                detail=lambda side: load_rgb(path, min_side=side)), None

    def _store(self, batch, found) -> None:
        with self.library.session() as s:
            # The write lock first, as every batch writer takes it (an edit may write meanwhile).
            s.connection(execution_options=WRITE_LOCK)
            ids = [item[0] for item in batch]
            for part in chunks(ids):
                s.execute(delete(Face).where(Face.photo_id.in_(part)))
                s.execute(delete(FaceScan).where(FaceScan.photo_id.in_(part)))
            rows = []
            scans = []
            for (pid, _path, content_hash, _w, _h), (faces, error) in zip(batch, found):
                scans.append({"photo_id": pid, "content_hash": content_hash,
                              "version": DETECTOR_VERSION, "faces": len(faces or ()),
                              "error": error})
                for face in faces or ():
                    left, top, w, h = face.box
                    rows.append({"photo_id": pid, "left": left, "top": top, "width": w,
                                 "height": h, "descriptor": face.descriptor.astype("<f4").tobytes(),
                                 "detector_score": round(face.score, 4), "person_id": None,
                                 "source": "auto", "confidence": None, "unsure": face.unsure,
                                 "removed": False})
            if scans:
                s.execute(insert(FaceScan), scans)
            if rows:
                s.execute(insert(Face), rows)


def _count(result: FacesResult, path: str, faces: list | None, error: str | None) -> None:
    if faces is None:
        result.skipped.append((path, error or "unreadable"))
        return
    result.photos += 1
    result.with_faces += bool(faces)
    result.faces += len(faces)
    result.unsure += sum(f.unsure for f in faces)


def _in_batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
