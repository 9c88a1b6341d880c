"""Near-duplicate groups and bursts.

Two photos are duplicates when they have the same content hash (the same bytes, e.g. a copy in
another folder) or when their embeddings are nearly parallel (cosine similarity at least
``threshold``: a resized, cropped or lightly edited copy). A *burst* is a run of photos taken
within ``burst_seconds`` of each other that also look alike (similarity at least
``burst_threshold``): the several shots of one moment, of which people keep one. A resized copy
(a half-size copy: its embedding drifts more than ``threshold`` allows) is found by its pixels:
a photo and its most similar photo whose pictures, shrunk, are the same (``RESIZED_FLOOR``).
Groups are the connected components of these links, found with a union-find.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

import numpy as np
from PIL import Image
from sqlalchemy import select

from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.embedding.store import library_model, load_embeddings
from photoclust.core.imaging import ImageError, load_rgb, thumbnail_path
from photoclust.core.library.db import Library
from photoclust.core.library.models import Photo, PhotoStatus

#: Near-duplicate similarity per model, each set just above the most similar *different* photos of
#: imagenette224 (docs/research.md, "Duplicates"). Lite0: a 5% border crop keeps 0.905-0.93 and
#: more, the most similar other photo of 99.9% of the photos is below 0.906 (the highest 0.916).
#: Lite2 is more semantic: other photos reach 0.941, so its threshold is 0.945 and it catches 70% of
#: 5% crops (Lite0 at 0.92: nearly all). A copy resized to 60% at JPEG quality 70 can fall to 0.85
#: (Lite0) or 0.78 (Lite2): heavy re-compression of small images is not caught, to keep different
#: photos apart. Lite2 int8 behaves as Lite2 (measured 29 Nov 2026, docs/research.md): its most
#: similar other photo is no closer than fp32's (imagenette224: 99.9th percentile 0.934 against
#: 0.937, highest 0.939 against 0.941; clothing14 alike), and it keeps 71% of 5% crops at 0.945
#: (fp32 74%); at Lite0's 0.92, 12 of imagenette224's 1,500 photos would pair with another.
#: Models not measured get the Lite0 figure.
NEAR_THRESHOLDS = {"efficientnet_lite0": 0.92, "efficientnet_lite2": 0.945,
                   "efficientnet_lite2_int8": 0.945}
DEFAULT_THRESHOLD = 0.92


def near_threshold(model: str | None) -> float:
    """The near-duplicate similarity for ``model``'s embeddings (``NEAR_THRESHOLDS``)."""
    return NEAR_THRESHOLDS.get(model or "", DEFAULT_THRESHOLD)
DEFAULT_BURST_SECONDS = 10.0
DEFAULT_BURST_THRESHOLD = 0.80

#: Resized copies. A small copy's embedding drifts from its original's (60 half-size copies of
#: imagenette224 photos at JPEG quality 75-95, 6 Dec 2026: cosine 0.62-0.97 under Lite2, median
#: 0.87; Lite0 0.70-0.97), below the thresholds above, yet the original was the most similar photo
#: of every copy. Their pictures agree: shrunk to 16x16 grey levels they differ by 0.7 levels at
#: most on average, where a photo and its most similar *other* photo differ by 25 or more
#: (bench/resized_copies.py). So a photo and its most similar photo (cosine at least
#: ``RESIZED_FLOOR``, the same shape) are copies when their pictures differ by at most
#: ``SAME_PICTURE_MAX_DIFF`` grey levels.
RESIZED_FLOOR = 0.6
SAME_PICTURE_SIDE = 16
SAME_PICTURE_MAX_DIFF = 6.0
#: Two photos have the same shape when their width/height ratios differ by at most this.
SAME_SHAPE_TOLERANCE = 0.02


@dataclass
class DuplicateGroup:
    """Photos that are copies of each other. ``kind``: ``exact`` (all share one content hash),
    ``near`` (similar embeddings) or ``burst`` (shot within seconds and alike)."""

    kind: str
    photo_ids: list[int]
    similarity: float  # smallest similarity of a link that joined the group (1.0 for exact)
    reasons: set[str] = field(default_factory=set)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def similar_pairs(X: np.ndarray, threshold: float, block: int = 256):
    """Pairs (i, j, cosine) with i < j and similarity >= threshold, computed block by block so
    that memory stays at ``block x n`` floats. All pairs are compared (n^2 dot products): seconds
    for 10,000 photos, minutes for 100,000."""
    Z = l2_normalize(X)
    out = []
    for start in range(0, len(Z), block):
        sims = Z[start:start + block] @ Z.T
        rows, cols = np.nonzero(sims >= threshold)
        rows = rows + start
        keep = cols > rows
        for i, j in zip(rows[keep], cols[keep]):
            out.append((int(i), int(j), float(sims[i - start, j])))
    return out


def nearest_neighbours(X: np.ndarray, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Each row's most similar other row and their cosine similarity, block by block."""
    Z = l2_normalize(X)
    nearest = np.zeros(len(Z), dtype=np.int64)
    sims = np.full(len(Z), -1.0, dtype=np.float32)
    for start in range(0, len(Z), block):
        part = Z[start:start + block] @ Z.T
        part[np.arange(len(part)), np.arange(start, start + len(part))] = -np.inf
        nearest[start:start + len(part)] = part.argmax(axis=1)
        sims[start:start + len(part)] = part.max(axis=1)
    return nearest, sims


def find_duplicate_groups(photo_ids: Sequence[int], content_hashes: Sequence[str],
                          X: np.ndarray | None = None,
                          taken_at: Sequence[datetime | None] | None = None,
                          threshold: float = DEFAULT_THRESHOLD,
                          burst_seconds: float = DEFAULT_BURST_SECONDS,
                          burst_threshold: float = DEFAULT_BURST_THRESHOLD,
                          same_picture: Callable[[int, int], bool] | None = None
                          ) -> list[DuplicateGroup]:
    """Groups of two or more photos, largest first. ``X`` (embeddings, one row per photo) and
    ``taken_at`` are optional: without them only exact copies are found. ``same_picture(i, j)``
    (rows i and j show the same picture, by their pixels) finds resized copies too: a photo and
    its most similar photo, at least ``RESIZED_FLOOR`` alike, whose pictures are the same."""
    n = len(photo_ids)
    uf = _UnionFind(n)
    reasons: list[tuple[int, int, float, str]] = []
    first_with_hash: dict[str, int] = {}
    for i, h in enumerate(content_hashes):
        if h in first_with_hash:
            reasons.append((first_with_hash[h], i, 1.0, "exact"))
        else:
            first_with_hash[h] = i
    if X is not None and n > 1:
        low = min(threshold, burst_threshold) if taken_at is not None else threshold
        for i, j, sim in similar_pairs(X, low):
            if content_hashes[i] == content_hashes[j]:
                continue  # already an exact copy: same bytes, same embedding
            if sim >= threshold:
                reasons.append((i, j, sim, "near"))
            elif taken_at is not None and taken_at[i] and taken_at[j] and \
                    abs((taken_at[i] - taken_at[j]).total_seconds()) <= burst_seconds:
                reasons.append((i, j, sim, "burst"))
    if X is not None and n > 1 and same_picture is not None:
        linked = {(i, j) for i, j, _, _ in reasons}
        nearest, sims = nearest_neighbours(X)
        for i in range(n):
            j, sim = int(nearest[i]), float(sims[i])
            pair = (min(i, j), max(i, j))
            if RESIZED_FLOOR <= sim < threshold and pair not in linked and \
                    content_hashes[i] != content_hashes[j] and same_picture(*pair):
                reasons.append((*pair, sim, "near"))
                linked.add(pair)
    for i, j, _, _ in reasons:
        uf.union(i, j)
    groups: dict[int, DuplicateGroup] = {}
    for i, _j, sim, why in reasons:
        root = uf.find(i)
        g = groups.setdefault(root, DuplicateGroup("exact", [], 1.0))
        g.similarity = min(g.similarity, sim)
        g.reasons.add(why)
    members: dict[int, list[int]] = {}
    for i in range(n):
        root = uf.find(i)
        if root in groups:
            members.setdefault(root, []).append(int(photo_ids[i]))
    for root, g in groups.items():
        g.photo_ids = sorted(members[root])
        g.kind = "burst" if "burst" in g.reasons else "near" if "near" in g.reasons else "exact"
    return sorted(groups.values(), key=lambda g: (-len(g.photo_ids), g.photo_ids[0]))


def library_duplicate_groups(library: Library, model: str | None = None,
                             threshold: float | None = None,
                             burst_seconds: float = DEFAULT_BURST_SECONDS,
                             burst_threshold: float = DEFAULT_BURST_THRESHOLD
                             ) -> tuple[list[DuplicateGroup], dict[int, str]]:
    """Duplicate groups among a library's present photos, and the path of each grouped photo.
    Photos without an embedding under ``model`` are compared by content hash only; ``threshold``
    defaults to the model's (``NEAR_THRESHOLDS``)."""
    with library.session() as s:
        rows = s.execute(select(Photo.id, Photo.path, Photo.content_hash, Photo.taken_at,
                                Photo.width, Photo.height)
                         .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id)).all()
    model = model or library_model(library)
    if threshold is None:
        threshold = near_threshold(model)
    embedded_ids, X = load_embeddings(library, model)
    row_of = {int(pid): i for i, pid in enumerate(embedded_ids)}
    if not len(embedded_ids):
        groups = find_duplicate_groups([r[0] for r in rows], [r[2] for r in rows])
    else:
        embedded = [r for r in rows if r[0] in row_of]
        unembedded = [r for r in rows if r[0] not in row_of]
        groups = find_duplicate_groups(
            [r[0] for r in embedded], [r[2] for r in embedded],
            X[[row_of[r[0]] for r in embedded]], [r[3] for r in embedded],
            threshold, burst_seconds, burst_threshold,
            same_picture=_SamePicture(library, embedded))
        groups += find_duplicate_groups([r[0] for r in unembedded], [r[2] for r in unembedded])
        groups.sort(key=lambda g: (-len(g.photo_ids), g.photo_ids[0]))
    paths = {r[0]: r[1] for r in rows}
    return groups, {pid: paths[pid] for g in groups for pid in g.photo_ids}


class _SamePicture:
    """``same_picture(i, j)`` over library rows (id, path, hash, taken_at, width, height): the
    same shape, and their pictures (thumbnails, else the files) shrunk to 16x16 grey levels
    differ by at most ``SAME_PICTURE_MAX_DIFF`` on average. Each picture is read once."""

    def __init__(self, library: Library, rows: Sequence):
        self.library, self.rows = library, rows
        self._grey: dict[int, np.ndarray | None] = {}

    def __call__(self, i: int, j: int) -> bool:
        (*_, wi, hi), (*_, wj, hj) = self.rows[i], self.rows[j]
        if wi and hi and wj and hj and \
                abs(wi / hi - wj / hj) > SAME_SHAPE_TOLERANCE * max(wi / hi, wj / hj):
            return False
        a, b = self._picture(i), self._picture(j)
        return a is not None and b is not None and \
            float(np.abs(a - b).mean()) <= SAME_PICTURE_MAX_DIFF

    def _picture(self, i: int) -> np.ndarray | None:
        if i not in self._grey:
            _pid, path, content_hash = self.rows[i][:3]
            thumbnail = thumbnail_path(self.library, content_hash)
            try:
                image = load_rgb(thumbnail if thumbnail.is_file() else path,
                                 min_side=SAME_PICTURE_SIDE * 4)
                grey = image.convert("L").resize((SAME_PICTURE_SIDE, SAME_PICTURE_SIDE),
                                                 Image.Resampling.BOX)
                self._grey[i] = np.asarray(grey, dtype=np.float32)
            except (ImageError, OSError):
                self._grey[i] = None
        return self._grey[i]
