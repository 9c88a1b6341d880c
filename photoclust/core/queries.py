"""The read side of the library for the CLI and the GUI: clusters with sizes, the photos of a
cluster page by page, photos by path, unassigned photos.

Each function is one query (or one per 900 paths), so a 50,000-photo library answers in
milliseconds: sizes are one ``GROUP BY`` over the assignments, pages use the ``cluster_id`` index.
Only present photos count and are listed; a missing photo keeps its assignment for when it comes
back. Results are plain frozen dataclasses, safe to hand to another thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from sqlalchemy import Select, func, select

from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Cluster, Photo

#: Sort orders for ``photos_in_cluster``: "confidence" puts the least confident photos first.
PHOTO_ORDERS = ("path", "taken_at", "confidence")

_PRESENT = "present"
_CHUNK = 900


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
        for start in range(0, len(forms), _CHUNK):
            query = (select(*_photo_columns())
                     .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                     .where(Photo.path.in_(forms[start:start + _CHUNK])))
            for info in _photo_infos(s, query):
                found.setdefault(candidates[info.path], info)
    return found


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
