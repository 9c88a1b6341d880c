"""The read queries the views need, each shaped for one view and answered by one indexed query.

The sidebar needs each cluster's size *and* its cover's thumbnail key, the grid a page of
(id, content hash, path); reading them here in one statement each keeps paint-time work off the
database. All edits go through ``photoclust.core.editing``.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from photoclust.core.library import Library


@dataclass(frozen=True)
class ClusterSummary:
    id: int
    name: str
    name_source: str
    size: int
    cover_hash: str | None
    cover_path: str | None


@dataclass(frozen=True)
class PhotoSummary:
    id: int
    content_hash: str
    path: str


_CLUSTERS = text("""
    WITH members AS (
        SELECT a.cluster_id AS cluster_id, COUNT(*) AS size,
               -- SQLite returns the row holding the maximum for bare columns: the most
               -- confident photo is the cover (the lowest id among equals).
               MAX(COALESCE(a.confidence, 0) - a.photo_id * 1e-12) AS best, a.photo_id AS cover_id
        FROM assignments a JOIN photos p ON p.id = a.photo_id
        WHERE p.status = 'present'
        GROUP BY a.cluster_id)
    SELECT c.id, c.name, c.name_source, COALESCE(m.size, 0), p.content_hash, p.path
    FROM clusters c
    LEFT JOIN members m ON m.cluster_id = c.id
    LEFT JOIN photos p ON p.id = m.cover_id
    WHERE c.active = 1 AND COALESCE(m.size, 0) > 0
    ORDER BY COALESCE(m.size, 0) DESC, c.id
""")

_PHOTO_PAGE = text("""
    SELECT p.id, p.content_hash, p.path
    FROM assignments a JOIN photos p ON p.id = a.photo_id
    WHERE a.cluster_id = :cluster_id AND p.status = 'present'
    ORDER BY a.photo_id
    LIMIT :limit OFFSET :offset
""")


def cluster_summaries(library: Library) -> list[ClusterSummary]:
    """Active, non-empty clusters, largest first."""
    with library.session() as s:
        return [ClusterSummary(*row) for row in s.execute(_CLUSTERS)]


def photo_page(library: Library, cluster_id: int, offset: int, limit: int) -> list[PhotoSummary]:
    """Photos ``offset`` to ``offset + limit`` of a cluster, in a stable order."""
    with library.session() as s:
        rows = s.execute(_PHOTO_PAGE, {"cluster_id": cluster_id, "offset": offset,
                                       "limit": limit})
        return [PhotoSummary(*row) for row in rows]
