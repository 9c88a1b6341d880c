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

import mmap
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

import numpy as np
from PIL import Image
from sqlalchemy import DateTime, func, select

from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import library_model, load_embeddings
from photoclust.core.imaging import ImageError, load_rgb, thumbnail_path
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import Library
from photoclust.core.library.models import Embedding, Photo, PhotoStatus

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


#: Libraries with at least this many embedded photos find near duplicates through the
#: nearest-neighbour index of similar photos (``search/ann.py``): each photo is compared exactly
#: with its ``DUPLICATE_NEIGHBOURS`` nearest only, not with every other photo. Below, all pairs
#: are compared (bench/million.py).
INDEXED_FROM = 20_000
#: Nearest photos (in the space of similar photos) each photo is compared with, by its raw
#: embedding, for near copies. Thousands of copies of one photo still form one group: each is
#: linked to its nearest copies, and the links chain.
DUPLICATE_NEIGHBOURS = 16
#: A content with exact copies asks the index for this many more neighbours at most (its copies
#: come first, at similarity 1).
MOST_COPIES = 256
#: A photo is compared for a burst with at most this many photos taken after it within the
#: burst's seconds (a longer run of photos within seconds still chains into one group).
BURST_WINDOW = 64
#: Pairs compared at once (bounds memory: this many x 2 raw vectors).
PAIR_BLOCK = 8192
#: Photo rows read at a time into arrays (``_photo_arrays``).
ROWS_AT_ONCE = 65_536
#: Bytes of a memory-mapped file (the raw vectors, the space of similar photos) read or written
#: before the process gives back the pages it mapped (``_drop_pages``).
DROP_PAGES_EVERY = 64 * 2**20
#: What reading one row of a mapped file maps at most: the system maps the pages around a
#: page read from its cache (Linux: 64 KiB), so scattered rows map far more than their bytes.
FAULT_AROUND = 64 * 2**10
_KINDS = ("exact", "near", "burst")


def similar_pairs(X: np.ndarray, threshold: float, block: int = 256
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs with i < j and cosine similarity >= threshold, as three arrays ``(i, j, cosine)``,
    computed block by block so that memory stays at ``block x n`` floats plus the pairs found.
    All pairs are compared (n^2 dot products): seconds for 10,000 photos, minutes for 100,000."""
    Z = l2_normalize(X)
    found_i, found_j, found_s = [], [], []
    for start in range(0, len(Z), block):
        sims = Z[start:start + block] @ Z.T
        rows, cols = np.nonzero(sims >= threshold)
        keep = cols > rows + start
        rows, cols = rows[keep], cols[keep]
        found_i.append(rows + start)
        found_j.append(cols)
        found_s.append(sims[rows, cols].astype(np.float64))
    if not found_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return (np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64),
            np.concatenate(found_s))


def _seconds(taken_at: Sequence[datetime | None] | None, n: int) -> np.ndarray:
    """Capture times as seconds (NaN where unknown)."""
    if taken_at is None:
        return np.full(n, np.nan)
    return np.array([t.timestamp() if t is not None else np.nan for t in taken_at], np.float64)


def _exact_links(content_hashes: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each photo linked to the first photo with its content hash (or its hash's code: an
    integer array, equal codes for equal hashes)."""
    if not len(content_hashes):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = content_hashes if isinstance(content_hashes, np.ndarray) and \
        content_hashes.dtype.kind in "iu" else \
        np.asarray(content_hashes, dtype=object).astype(str)
    _u, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    a = first[inverse.reshape(-1)].astype(np.int64)
    b = np.arange(len(content_hashes), dtype=np.int64)
    copy = a != b
    return a[copy], b[copy]


def _groups(photo_ids: Sequence[int] | np.ndarray, a: np.ndarray, b: np.ndarray, sim: np.ndarray,
            kind: np.ndarray) -> list[DuplicateGroup]:
    """The connected components of the links ``a[k] - b[k]`` (similarity ``sim[k]``, kind
    ``_KINDS[kind[k]]``) as groups, largest first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(photo_ids)
    if n == 0 or a.size == 0:
        return []
    graph = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(n, n))
    _count, component = connected_components(graph, directed=False)
    linked = np.zeros(n, bool)
    linked[a] = linked[b] = True
    roots = np.unique(component[linked])
    slot = np.full(component.max() + 1, -1, np.int64)
    slot[roots] = np.arange(roots.size)
    low = np.ones(roots.size)
    np.minimum.at(low, slot[component[a]], sim)
    flags = np.zeros(roots.size, np.int64)
    np.bitwise_or.at(flags, slot[component[a]], 1 << kind.astype(np.int64))
    ids = np.asarray(photo_ids, dtype=np.int64)
    members = np.flatnonzero(linked)
    order = np.argsort(slot[component[members]], kind="stable")
    members = members[order]
    bounds = np.searchsorted(slot[component[members]], np.arange(roots.size + 1))
    groups = []
    for g in range(roots.size):
        reasons = {_KINDS[k] for k in range(3) if flags[g] >> k & 1}
        kind_name = "burst" if "burst" in reasons else "near" if "near" in reasons else "exact"
        groups.append(DuplicateGroup(kind_name, sorted(ids[members[bounds[g]:bounds[g + 1]]]
                                                       .tolist()), float(low[g]), reasons))
    return sorted(groups, key=lambda g: (-len(g.photo_ids), g.photo_ids[0]))


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


def _resized_links(X: np.ndarray, content_hashes: Sequence[str], threshold: float,
                   same_picture: Callable[[int, int], bool], linked: set[tuple[int, int]]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resized copies: a photo and its most similar photo, at least ``RESIZED_FLOOR`` alike but
    below ``threshold``, whose pictures are the same (``same_picture``), as near links."""
    nearest, sims = nearest_neighbours(X)
    a: list[int] = []
    b: list[int] = []
    s: list[float] = []
    for i in range(len(X)):
        j, sim = int(nearest[i]), float(sims[i])
        pair = (min(i, j), max(i, j))
        if RESIZED_FLOOR <= sim < threshold and pair not in linked and \
                content_hashes[i] != content_hashes[j] and same_picture(*pair):
            a.append(pair[0])
            b.append(pair[1])
            s.append(sim)
            linked.add(pair)
    return (np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(s, np.float64),
            np.ones(len(a), np.int64))


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
    ea, eb = _exact_links(content_hashes)
    parts = [(ea, eb, np.ones(ea.size), np.zeros(ea.size, np.int64))]
    if X is not None and n > 1:
        low = min(threshold, burst_threshold) if taken_at is not None else threshold
        i, j, sim = similar_pairs(X, low)
        hashes = np.asarray(content_hashes, dtype=object)
        other = hashes[i] != hashes[j]  # an exact copy: same bytes, same embedding
        seconds = _seconds(taken_at, n)
        near = other & (sim >= threshold)
        with np.errstate(invalid="ignore"):
            burst = other & ~near & (np.abs(seconds[i] - seconds[j]) <= burst_seconds)
        parts.append((i[near], j[near], sim[near], np.ones(int(near.sum()), np.int64)))
        parts.append((i[burst], j[burst], sim[burst], np.full(int(burst.sum()), 2, np.int64)))
        if same_picture is not None:
            parts.append(_resized_links(X, content_hashes, threshold, same_picture,
                                        {(int(x), int(y)) for x, y in zip(i[near | burst],
                                                                          j[near | burst])}))
    a, b, sims, kinds = (np.concatenate([p[k] for p in parts]) for k in range(4))
    return _groups(photo_ids, a.astype(np.int64), b.astype(np.int64), sims, kinds)


def library_duplicate_groups(library: Library, model: str | None = None,
                             threshold: float | None = None,
                             burst_seconds: float = DEFAULT_BURST_SECONDS,
                             burst_threshold: float = DEFAULT_BURST_THRESHOLD
                             ) -> tuple[list[DuplicateGroup], dict[int, str]]:
    """Duplicate groups among a library's present photos, and the path of each grouped photo.
    Photos without an embedding under ``model`` are compared by content hash only; ``threshold``
    defaults to the model's (``NEAR_THRESHOLDS``). From ``INDEXED_FROM`` embedded photos, each
    photo is compared with its nearest photos only (``_indexed_links``), in bounded memory: the
    photos are held as arrays (ids, a code per content hash, capture seconds), and only the
    grouped photos' paths are read."""
    model = model or library_model(library)
    if threshold is None:
        threshold = near_threshold(model)
    if _indexed(library, model):
        ids, hash_codes, seconds = _photo_arrays(library)
        links = _indexed_links(library, model, ids, hash_codes, seconds, threshold,
                               burst_seconds, burst_threshold)
        if links is not None:
            groups = _groups(ids, *links)
            return groups, _paths(library, [pid for g in groups for pid in g.photo_ids])
    with library.session() as s:
        rows = s.execute(select(Photo.id, Photo.path, Photo.content_hash, Photo.taken_at,
                                Photo.width, Photo.height)
                         .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id)).all()
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
        groups += find_duplicate_groups([r[0] for r in unembedded],
                                        [r[2] for r in unembedded])
        groups.sort(key=lambda g: (-len(g.photo_ids), g.photo_ids[0]))
    paths = {r[0]: r[1] for r in rows}
    return groups, {pid: paths[pid] for g in groups for pid in g.photo_ids}


def _indexed(library: Library, model: str) -> bool:
    """Are near duplicates found through the index (``INDEXED_FROM`` embedded photos, and the
    index library installed)?"""
    from photoclust.core.search import ann

    if not ann.available():
        return False
    with library.session() as s:
        embedded = s.scalar(select(func.count()).select_from(Photo)
                            .join(Embedding, _embedding_join(model))
                            .where(Photo.status == PhotoStatus.PRESENT)) or 0
    return embedded >= INDEXED_FROM


def _photo_arrays(library: Library) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The present photos as arrays, in id order: their ids, a code per content hash (equal
    codes: equal hashes) and their capture times in seconds (NaN when unknown, as
    ``_seconds``), read ``ROWS_AT_ONCE`` rows at a time: no Python object per photo is kept
    (at a million photos, the rows as objects and the hashes as text were most of the memory)."""
    id_parts, hash_parts, second_parts = [], [], []
    query = (select(Photo.id, Photo.content_hash, Photo.taken_at)
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        dialect = s.get_bind().dialect
        convert = DateTime().dialect_impl(dialect).result_processor(dialect, None)  # as the ORM
        compiled = query.compile(dialect=dialect)
        cursor = s.connection().connection.cursor()
        cursor.execute(str(compiled), [compiled.params[k] for k in compiled.positiontup or ()])
        for part in iter(lambda: cursor.fetchmany(ROWS_AT_ONCE), []):
            id_parts.append(np.fromiter((r[0] for r in part), np.int64, count=len(part)))
            hash_parts.append(np.array([r[1].encode() for r in part], dtype=np.bytes_))
            times = [r[2] for r in part]
            if convert is not None:
                times = [convert(t) if t is not None else None for t in times]
            second_parts.append(_seconds(times, len(part)))
    if not id_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    hashes = np.concatenate(hash_parts)
    del hash_parts
    codes = np.unique(hashes, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return np.concatenate(id_parts), codes, np.concatenate(second_parts)


def _paths(library: Library, photo_ids: list[int]) -> dict[int, str]:
    paths: dict[int, str] = {}
    with library.session() as s:
        for part in chunks(photo_ids):
            paths.update((r[0], r[1]) for r in s.execute(
                select(Photo.id, Photo.path).where(Photo.id.in_(part))))
    return paths


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


def _indexed_links(library: Library, model: str, ids: np.ndarray, hash_codes: np.ndarray,
                   taken_seconds: np.ndarray, threshold: float, burst_seconds: float,
                   burst_threshold: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The links ``(a, b, similarity, kind)`` between rows of ``ids`` (all present photos, in id
    order; ``hash_codes``: equal for equal content hashes; ``taken_seconds``: NaN when unknown)
    found through the nearest-neighbour index: exact copies by hash; near copies among
    each embedded photo's ``DUPLICATE_NEIGHBOURS`` nearest in the space of similar photos,
    confirmed by their raw embeddings (as all pairs would); bursts among the photos taken
    within ``burst_seconds`` after each (at most ``BURST_WINDOW``). None below ``INDEXED_FROM``
    embedded photos or without the index: then all pairs are compared. Memory: the raw vectors
    go to a temporary memory-mapped file, pairs are compared ``PAIR_BLOCK`` at a time."""
    from photoclust.core.search import ann

    photo_ids, space, graph = ann.library_neighbours(library, model)
    if graph is None or not len(photo_ids):
        return None
    n = len(photo_ids)
    rows = np.minimum(np.searchsorted(ids, photo_ids), len(ids) - 1)  # row in ids of each vector
    seconds = taken_seconds[rows]
    with tempfile.TemporaryFile(dir=_scratch(library)) as scratch:
        raw = _raw_unit_vectors(library, model, photo_ids, scratch)
        if raw is None:
            return None
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
        touched = [0]

        def mapped(nbytes: int) -> None:
            """Give back the mapped pages of the raw vectors and the space every
            ``DROP_PAGES_EVERY`` bytes read from them: resident memory stays bounded."""
            touched[0] += nbytes
            if touched[0] >= DROP_PAGES_EVERY:
                _drop_pages(raw)
                _drop_pages(space)
                touched[0] = 0

        def confirm(a: np.ndarray, b: np.ndarray, low: float, kind: int) -> None:
            if a.size:  # each pair once (a photo and its neighbour find each other)
                pairs = np.unique(np.stack([a, b], axis=1), axis=0)
                a, b = pairs[:, 0], pairs[:, 1]
            for start in range(0, a.size, PAIR_BLOCK):
                i, j = a[start:start + PAIR_BLOCK], b[start:start + PAIR_BLOCK]
                # each photo's vector read and widened once per block, not once per pair
                both, at = np.unique(np.concatenate([i, j]), return_inverse=True)
                wide = _gather(raw, both).astype(np.float32)
                at = at.reshape(-1)
                sim = np.einsum("ij,ij->i", wide[at[:i.size]], wide[at[i.size:]])
                sim = sim.astype(np.float64)
                keep = (sim >= low) & (hash_codes[rows[i]] != hash_codes[rows[j]])
                found.append((i[keep], j[keep], sim[keep], kind))

        # One search per content (its exact copies share its vector and are linked by hash);
        # it asks for as many more neighbours as the content has copies, which would otherwise
        # fill its list (at most MOST_COPIES more).
        _codes, first, copies = np.unique(hash_codes[rows], return_index=True,
                                          return_counts=True)
        order = np.argsort(first)
        searched, extra = first[order], np.minimum(copies[order] - 1, MOST_COPIES)
        chunk = max(1, PAIR_BLOCK // DUPLICATE_NEIGHBOURS)
        for start in range(0, len(searched), chunk):
            mine = searched[start:start + chunk]
            k = DUPLICATE_NEIGHBOURS + 1 + int(extra[start:start + chunk].max())
            keys, _ = graph.search(space[mine], k)
            mapped(mine.size * space.shape[1] * space.itemsize)
            at = np.minimum(np.searchsorted(photo_ids, keys), n - 1)
            me = np.broadcast_to(mine[:, None], keys.shape)
            valid = (keys >= 0) & (photo_ids[at] == keys) & (at != me)
            a, b = np.minimum(me[valid], at[valid]), np.maximum(me[valid], at[valid])
            confirm(a, b, threshold, 1)
        timed = np.flatnonzero(~np.isnan(seconds))
        order = timed[np.argsort(seconds[timed], kind="stable")]
        for step in range(1, BURST_WINDOW + 1):
            a, b = order[:-step], order[step:]
            within = seconds[b] - seconds[a] <= burst_seconds
            if not within.any():
                break  # sorted by time: no pair further apart is within the burst either
            confirm(a[within], b[within], burst_threshold, 2)
    exact_a, exact_b = _exact_links(hash_codes)
    parts_a = [exact_a] + [rows[f[0]] for f in found]
    parts_b = [exact_b] + [rows[f[1]] for f in found]
    sims = [np.ones(exact_a.size)] + [f[2] for f in found]
    kinds = [np.zeros(exact_a.size, np.int64)] + [
        np.where(f[2] >= threshold, 1, f[3]).astype(np.int64) for f in found]
    return (np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(sims),
            np.concatenate(kinds))


def _embedding_join(model: str):
    return (Embedding.content_hash == Photo.content_hash) & (Embedding.model == model) & (
        Embedding.preprocess_version == PREPROCESS_VERSION)


def _scratch(library: Library) -> str | None:
    """Where the raw vectors are spread out for the comparison: beside the library (its disk has
    room for it), else the system's temporary folder."""
    folder = library.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(folder) if os.access(folder, os.W_OK) else None


def _raw_unit_vectors(library: Library, model: str, photo_ids: np.ndarray, scratch
                      ) -> np.ndarray | None:
    """The raw embeddings of ``photo_ids`` (sorted), L2-normalised, as float16 rows of a
    memory-mapped ``scratch`` file, read 4,096 at a time; None when they are not all there (the
    library changed meanwhile: all pairs are compared instead)."""
    n = len(photo_ids)
    dim = None
    filled = 0
    out = None
    query = (select(Photo.id, Embedding.vector).join(Embedding, _embedding_join(model))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        result = s.connection().execute(query)
        for part in result.partitions(4096):
            if dim is None:
                dim = len(part[0][1]) // 2
                scratch.truncate(n * dim * 2)
                out = np.memmap(scratch, dtype="<f2", mode="r+", shape=(n, dim))
            ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
            if any(len(r[1]) != 2 * dim for r in part):
                return None
            at = np.minimum(np.searchsorted(photo_ids, ids), n - 1)
            if not np.array_equal(photo_ids[at], ids):
                return None
            block = np.frombuffer(b"".join(r[1] for r in part), dtype="<f2").reshape(-1, dim)
            out[at] = l2_normalize(block.astype(np.float32)).astype("<f2")  # type: ignore[index]
            filled += len(part)
            if (filled // len(part)) % max(1, DROP_PAGES_EVERY // block.nbytes) == 0:
                _drop_pages(out)
    return out if filled == n else None


def _gather(mapped: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``mapped[rows]`` read ``DROP_PAGES_EVERY // FAULT_AROUND`` rows at a time, the pages
    mapped given back after each: scattered rows of a mapped file map far more than their
    bytes, so that the whole file would otherwise stay resident."""
    step = max(1, DROP_PAGES_EVERY // max(FAULT_AROUND, mapped.shape[1] * mapped.itemsize))
    if len(rows) <= step or getattr(mapped, "_mmap", None) is None:
        return mapped[rows]
    out = np.empty((len(rows), mapped.shape[1]), mapped.dtype)
    for start in range(0, len(rows), step):
        out[start:start + step] = mapped[rows[start:start + step]]
        _drop_pages(mapped)
    return out


def _drop_pages(array) -> None:
    """Give back the pages of the file ``array`` is mapped from (a ``numpy.memmap``) that this
    process has mapped so far: their contents stay in the file (and in the system's cache, as
    it can keep them), a later read maps them again. Without this, every row read once stays
    counted in the process's resident memory (2.5 GB of raw vectors at a million photos)."""
    handle = getattr(array, "_mmap", None)
    if handle is None or not hasattr(handle, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return  # not a mapped file, or a system without it (Windows)
    try:
        handle.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):
        pass
