"""Near-duplicate groups and bursts.

Two photos are duplicates when they have the same content hash (the same bytes, e.g. a copy in
another folder) or when their embeddings are nearly parallel (cosine similarity at least
``threshold``: a resized, cropped or lightly edited copy). A *burst* is a run of photos taken
within ``burst_seconds`` of each other that also look alike (similarity at least
``burst_threshold``): the several shots of one moment, of which people keep one.
Groups are the connected components of these links, found with a union-find.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

import numpy as np
from sqlalchemy import select

from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.embedding.store import library_model, load_embeddings
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


def find_duplicate_groups(photo_ids: Sequence[int], content_hashes: Sequence[str],
                          X: np.ndarray | None = None,
                          taken_at: Sequence[datetime | None] | None = None,
                          threshold: float = DEFAULT_THRESHOLD,
                          burst_seconds: float = DEFAULT_BURST_SECONDS,
                          burst_threshold: float = DEFAULT_BURST_THRESHOLD) -> list[DuplicateGroup]:
    """Groups of two or more photos, largest first. ``X`` (embeddings, one row per photo) and
    ``taken_at`` are optional: without them only exact copies are found."""
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
        rows = s.execute(select(Photo.id, Photo.path, Photo.content_hash, Photo.taken_at)
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
            threshold, burst_seconds, burst_threshold)
        groups += find_duplicate_groups([r[0] for r in unembedded], [r[2] for r in unembedded])
        groups.sort(key=lambda g: (-len(g.photo_ids), g.photo_ids[0]))
    paths = {r[0]: r[1] for r in rows}
    return groups, {pid: paths[pid] for g in groups for pid in g.photo_ids}
