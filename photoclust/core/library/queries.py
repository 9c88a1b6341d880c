"""The read side of the library for the CLI and the GUI: clusters with sizes, the photos of a
cluster page by page, photos by path, unassigned photos.

Each function is one query (or one per ``chunks`` of ids or paths), so a 50,000-photo library
answers in milliseconds: sizes are one ``GROUP BY`` over the assignments, pages use the
``cluster_id`` index. Only present photos count and are listed; a missing photo keeps its
assignment for when it comes back. Results are plain frozen dataclasses, safe to hand to
another thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from sqlalchemy import Select, distinct, func, select

from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import (
    Assignment,
    Cluster,
    Embedding,
    Photo,
    PhotoStatus,
    Source,
)

#: Sort orders for ``photos_in_cluster``: "confidence" puts the least confident photos first.
PHOTO_ORDERS = ("path", "taken_at", "confidence")

_PRESENT = PhotoStatus.PRESENT


@dataclass(frozen=True)
class ClusterInfo:
    id: int
    name: str
    size: int
    cover_photo_id: int | None
    name_source: str


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    path: str
    content_hash: str
    width: int | None
    height: int | None
    taken_at: datetime | None
    confidence: float | None
    source: str | None
    cluster_id: int | None = None


@dataclass(frozen=True)
class PlacedPhoto:
    """Where a present photo is: ``source`` is ``user`` (a person placed or confirmed it) or
    ``auto``; ``cluster_id``/``cluster_name``/``confidence`` are ``None`` when it is in no
    cluster. ``confidence``: the probability that the photo is in the right cluster (see
    docs/learning.md, "Confidence"), ``None`` where no honest number exists."""

    id: int
    path: str
    cluster_id: int | None
    cluster_name: str | None
    source: str
    confidence: float | None

    def to_json(self) -> dict:
        return {"id": self.id, "path": self.path, "cluster_id": self.cluster_id,
                "cluster_name": self.cluster_name, "source": self.source,
                "confidence": None if self.confidence is None else round(self.confidence, 4)}


def _cluster_query() -> Select:
    size = func.count(Assignment.photo_id).label("size")
    # SQLite returns the bare column ``photo_id`` from the row holding the max(): the most
    # confident photo (user-placed ones have confidence 1) becomes the cover, the lowest id
    # among equals, so the cover does not flicker between refreshes.
    best = func.max(func.coalesce(Assignment.confidence, 0.0) - Assignment.photo_id * 1e-12)
    return (select(Cluster.id, Cluster.name, size, Assignment.photo_id, Cluster.name_source, best)
            .join(Assignment, Assignment.cluster_id == Cluster.id)
            .join(Photo, Photo.id == Assignment.photo_id)
            .where(Cluster.active.is_(True), Photo.status == _PRESENT)
            .group_by(Cluster.id))


def list_clusters(library: Library) -> list[ClusterInfo]:
    """Active clusters that hold at least one present photo, largest first."""
    query = _cluster_query().order_by(func.count(Assignment.photo_id).desc(), Cluster.id)
    with library.session() as s:
        return [ClusterInfo(cid, name, size, cover, source)
                for cid, name, size, cover, source, _ in s.execute(query)]


@dataclass(frozen=True)
class ClusterSizes:
    """``clusters``: as ``list_clusters`` (largest first) but without covers
    (``cover_photo_id`` is ``None``); ``present``: photos whose file is there; ``unassigned``:
    present photos in no cluster."""

    clusters: list[ClusterInfo]
    present: int
    unassigned: int


def cluster_sizes(library: Library) -> ClusterSizes:
    """The sizes of ``list_clusters`` and the counts of ``count_present_photos`` and
    ``count_unassigned_photos``, read without visiting a photo row per assignment: the
    assignments are counted per cluster from their ``cluster_id`` index alone, less those of
    the photos not present (usually few; found through the ``status`` index). At a million
    photos this takes a tenth of a second where ``list_clusters`` takes one: what a window
    opening reads before it shows anything; the covers can follow (``list_clusters``)."""
    with library.session() as s:
        assigned = {cid: n for cid, n in s.execute(
            select(Assignment.cluster_id, func.count()).group_by(Assignment.cluster_id))}
        absent: dict[int, int] = {}
        # Two ranges of the status index, the photos found first (an ``IN`` list), rather than
        # ``!=`` or a join, which SQLite answers by visiting every assignment's photo.
        for other in (Photo.status < _PRESENT, Photo.status > _PRESENT):
            for cid, n in s.execute(select(Assignment.cluster_id, func.count())
                                    .where(Assignment.photo_id.in_(
                                        select(Photo.id).where(other)))
                                    .group_by(Assignment.cluster_id)):
                absent[cid] = absent.get(cid, 0) + n
        present = s.scalar(select(func.count()).select_from(Photo)
                           .where(Photo.status == _PRESENT)) or 0
        infos = [ClusterInfo(cid, name, assigned.get(cid, 0) - absent.get(cid, 0), None, source)
                 for cid, name, source in s.execute(
                     select(Cluster.id, Cluster.name, Cluster.name_source)
                     .where(Cluster.active.is_(True)))]
    infos = sorted((c for c in infos if c.size > 0), key=lambda c: (-c.size, c.id))
    placed = sum(assigned.values()) - sum(absent.values())
    return ClusterSizes(infos, present, present - placed)


def cluster_info(library: Library, cluster_id: int) -> ClusterInfo | None:
    """One active cluster (size 0 and no cover when it holds no present photo), or ``None``."""
    with library.session() as s:
        row = s.execute(_cluster_query().where(Cluster.id == cluster_id)).first()
        if row is not None:
            cid, name, size, cover, source, _ = row
            return ClusterInfo(cid, name, size, cover, source)
        cluster = s.get(Cluster, cluster_id)
        if cluster is None or not cluster.active:
            return None
        return ClusterInfo(cluster.id, cluster.name, 0, None, cluster.name_source)


def _photo_columns() -> tuple:
    return (Photo.id, Photo.path, Photo.content_hash, Photo.width, Photo.height, Photo.taken_at,
            Assignment.confidence, Assignment.source, Assignment.cluster_id)


def _photo_infos(s, query: Select) -> list[PhotoInfo]:
    return [PhotoInfo(*row) for row in s.execute(query)]


def photos_in_cluster(library: Library, cluster_id: int, offset: int = 0,
                      limit: int | None = None, order: str = "path") -> list[PhotoInfo]:
    """A page of the present photos of a cluster, sorted by ``order`` (see ``PHOTO_ORDERS``)."""
    if order not in PHOTO_ORDERS:
        raise ValueError(f"order must be one of {', '.join(PHOTO_ORDERS)}")
    sort = {"path": (Photo.path,),
            "taken_at": (Photo.taken_at.is_(None), Photo.taken_at, Photo.path),
            "confidence": (func.coalesce(Assignment.confidence, 0.0), Photo.path)}[order]
    query = (select(*_photo_columns())
             .join(Assignment, Assignment.photo_id == Photo.id)
             .where(Assignment.cluster_id == cluster_id, Photo.status == _PRESENT)
             .order_by(*sort).offset(offset).limit(limit))
    with library.session() as s:
        return _photo_infos(s, query)


def count_photos_in_cluster(library: Library, cluster_id: int) -> int:
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(Assignment)
                        .join(Photo, Photo.id == Assignment.photo_id)
                        .where(Assignment.cluster_id == cluster_id,
                               Photo.status == _PRESENT)) or 0


@dataclass(frozen=True)
class LibraryCounts:
    """What a library holds: ``photos`` present, ``missing`` and ``unreadable`` ones,
    ``duplicates`` (present photos whose content another present photo has), ``embedded``
    present photos per model, active ``clusters`` holding a present photo, and ``labels``
    (photos the user placed or confirmed)."""

    photos: int
    missing: int
    unreadable: int
    duplicates: int
    embedded: dict[str, int]
    clusters: int
    labels: int


def library_counts(library: Library) -> LibraryCounts:
    present = Photo.status == PhotoStatus.PRESENT
    with library.session() as s:
        by_status = {status: count for status, count in s.execute(
            select(Photo.status, func.count()).group_by(Photo.status))}
        distinct_contents = s.scalar(
            select(func.count(distinct(Photo.content_hash))).where(present)) or 0
        embedded = {model: count for model, count in s.execute(
            select(Embedding.model, func.count(distinct(Photo.id)))
            .join(Photo, Photo.content_hash == Embedding.content_hash)
            .where(present).group_by(Embedding.model).order_by(Embedding.model))}
        clusters = s.scalar(
            select(func.count(distinct(Cluster.id)))
            .join(Assignment, Assignment.cluster_id == Cluster.id)
            .join(Photo, Photo.id == Assignment.photo_id)
            .where(Cluster.active.is_(True), present)) or 0
        labels = s.scalar(select(func.count()).select_from(Assignment)
                          .where(Assignment.source == Source.USER)) or 0
    photos = by_status.get(PhotoStatus.PRESENT, 0)
    return LibraryCounts(photos=photos, missing=by_status.get(PhotoStatus.MISSING, 0),
                         unreadable=by_status.get(PhotoStatus.UNREADABLE, 0),
                         duplicates=photos - distinct_contents, embedded=embedded,
                         clusters=clusters, labels=labels)


def photo_by_path(library: Library, path: str | Path) -> PhotoInfo | None:
    """The photo stored under ``path`` (as given, or made absolute), present or missing."""
    return photos_by_paths(library, [path]).get(str(path))


def photos_by_paths(library: Library, paths: Iterable[str | Path]) -> dict[str, PhotoInfo]:
    """``{path as given: PhotoInfo}`` for the paths the library knows; unknown ones are left out.
    A path is tried as given, then absolute, then with symlinks resolved."""
    candidates: dict[str, str] = {}
    for given in paths:
        raw = Path(given).expanduser()
        for form in (str(given), str(raw.absolute()), str(raw.resolve())):
            candidates.setdefault(form, str(given))
    found: dict[str, PhotoInfo] = {}
    forms = list(candidates)
    with library.session() as s:
        for part in chunks(forms):
            query = (select(*_photo_columns())
                     .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                     .where(Photo.path.in_(part)))
            for info in _photo_infos(s, query):
                found.setdefault(candidates[info.path], info)
    return found


def placed_photos(library: Library, cluster_id: int | None = None, unassigned: bool = False,
                  offset: int = 0, limit: int | None = None) -> list[PlacedPhoto]:
    """Every present photo with its cluster, by id; only those of ``cluster_id``, or only those
    in no cluster (``unassigned``), when asked."""
    if cluster_id is not None and unassigned:
        raise ValueError("ask for the photos of one cluster or the unassigned ones, not both")
    query = (select(Photo.id, Photo.path, Assignment.cluster_id, Cluster.name, Assignment.source,
                    Assignment.confidence)
             .outerjoin(Assignment, Assignment.photo_id == Photo.id)
             .outerjoin(Cluster, Cluster.id == Assignment.cluster_id)
             .where(Photo.status == _PRESENT))
    if cluster_id is not None:
        query = query.where(Assignment.cluster_id == int(cluster_id))
    if unassigned:
        query = query.where(Assignment.photo_id.is_(None))
    query = query.order_by(Photo.id).offset(offset).limit(limit)
    with library.session() as s:
        return [PlacedPhoto(pid, path, cid, name if cid is not None else None,
                            Source.USER if source == Source.USER else Source.AUTO,
                            None if cid is None or conf is None else float(conf))
                for pid, path, cid, name, source, conf in s.execute(query)]


def _unassigned_query(columns) -> Select:
    return (select(*columns)
            .outerjoin(Assignment, Assignment.photo_id == Photo.id)
            .where(Assignment.photo_id.is_(None), Photo.status == _PRESENT))


def unassigned_photos(library: Library, offset: int = 0,
                      limit: int | None = None) -> list[PhotoInfo]:
    """Present photos in no cluster (not yet clustered, removed by the user, or noise)."""
    query = _unassigned_query(_photo_columns()).order_by(Photo.path).offset(offset).limit(limit)
    with library.session() as s:
        return _photo_infos(s, query)


def count_unassigned_photos(library: Library) -> int:
    with library.session() as s:
        return s.scalar(_unassigned_query([func.count(Photo.id)]))


def count_present_photos(library: Library) -> int:
    """Photos whose file is there (in a cluster or not)."""
    with library.session() as s:
        return s.scalar(select(func.count(Photo.id)).where(Photo.status == _PRESENT)) or 0


def photo_files(library: Library, photo_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """``{photo_id: (content_hash, path)}`` (thumbnail key and file) for the given photos."""
    ids = sorted(set(photo_ids))
    out: dict[int, tuple[str, str]] = {}
    with library.session() as s:
        for part in chunks(ids):
            rows = s.execute(select(Photo.id, Photo.content_hash, Photo.path)
                             .where(Photo.id.in_(part)))
            out.update({pid: (content_hash, path) for pid, content_hash, path in rows})
    return out


def photos_now_in(library: Library, cluster_id: int | None, photo_ids: list[int]) -> list[int]:
    """Which of ``photo_ids`` are in ``cluster_id`` now (``None``: in no cluster), in the
    order given."""
    found: list[int] = []
    with library.session() as s:
        for chunk in chunks(photo_ids):
            assigned = dict(s.execute(select(Assignment.photo_id, Assignment.cluster_id)
                                      .where(Assignment.photo_id.in_(chunk))).all())
            found += [pid for pid in chunk if assigned.get(pid) == cluster_id]
    return found


@dataclass(frozen=True)
class PhotoDetails:
    """What the app shows beside a photo."""

    id: int
    path: str
    width: int | None
    height: int | None
    file_size: int
    taken_at: datetime | None
    camera: str | None
    status: str
    cluster_id: int | None
    cluster_name: str | None
    source: str | None
    confidence: float | None


def photo_details(library: Library, photo_id: int) -> PhotoDetails | None:
    """One photo's metadata and placement (one primary-key lookup); ``None`` when unknown."""
    with library.session() as s:
        row = s.execute(
            select(Photo.id, Photo.path, Photo.width, Photo.height, Photo.file_size,
                   Photo.taken_at, Photo.camera, Photo.status, Cluster.id, Cluster.name,
                   Assignment.source, Assignment.confidence)
            .outerjoin(Assignment, Assignment.photo_id == Photo.id)
            .outerjoin(Cluster, Cluster.id == Assignment.cluster_id)
            .where(Photo.id == photo_id)).first()
    return PhotoDetails(*tuple(row)) if row is not None else None


def library_version(library: Library) -> tuple:
    """A cheap fingerprint of what edits and clustering runs the library holds: it changes when
    anyone (this app, the CLI, another window) edits, undoes, redoes or clusters."""
    from photoclust.core.library.models import ClusteringRun, EditEvent

    with library.session() as s:
        edits = s.execute(select(func.max(EditEvent.id), func.count(EditEvent.id),
                                 func.sum(EditEvent.undone))).one()
        runs = s.scalar(select(func.max(ClusteringRun.id)))
    return (*edits, runs)
