"""Near faces: every pair of faces nearer than a threshold (``near_pairs``) and each face's
nearest faces (``nearest_faces``), exactly for a few thousand faces and by cells beyond.

The exact search compares every face with every other one (a matrix product in blocks of rows):
its cost grows with the square of the faces, 4 s of CPU for the first grouping of 20,000 faces
and minutes for 100,000 (docs/people.md, "Scale"). Past ``EXACT_UP_TO`` products the faces are
split into cells first: about ``CELL`` faces each, around centres found by a few rounds of
k-means (Lloyd's, seeded, on a sample); each face is compared only with the faces of its
``PROBES`` nearest cells. Faces of one person are near each other and fall in one cell or in
neighbouring ones, so the pairs nearer than the grouping's threshold are nearly all found
(measured: docs/people.md, "Scale": every pair of 100,000 made-up faces but a few in a
million), and every distance returned is the exact one. A face for which the cells hold fewer
than the nearest faces asked is searched exactly.

Why cells and not the HNSW graph of similar photos (``search.ann``, usearch): on the scale
bench's made-up people (5,000 people of 20 faces, spread like dlib's descriptors) the graph,
built in 5-12 s of CPU, found all of a face's 16 nearest for 54 % of the faces in id order (98.7
% in a shuffled order), and not even the face itself for 0.6-11 %: its greedy search is lost
among thousands of tight groups all about equally far from each other; the cells find every
pair in less time, with numpy alone and the same answer on every CPU (no threads' timing nor
SIMD kernel decides which faces are found).

``ROUTE`` (or the environment variable ``PHOTOCLUST_FACE_NEIGHBOURS``: ``exact`` or
``cells``) forces one route for every size (benchmarks and tests); ``None`` chooses by size.
"""
from __future__ import annotations

import os

import numpy as np

#: The search goes by cells above this many face-to-face comparisons (rows times columns) when
#: they also cost more than the cells would, about ``CELL_COST`` comparisons per face (measured:
#: docs/people.md, "Scale": an exact comparison costs about 10 ns, the cells about 25-40 us per
#: face; the exact first grouping of 2,440 faces, 6 million comparisons, keeps its figures).
EXACT_UP_TO = 30_000_000
CELL_COST = 3_000
#: Faces per cell (on average), and how many of its nearest cells a face is compared in.
CELL = 256
PROBES = 3
#: Rounds of k-means finding the cells' centres, on at most this many faces per cell.
ROUNDS = 4
SAMPLE_PER_CELL = 64
#: Rows of the distance matrix computed at once (bounded memory on 100,000 faces).
CHUNK = 2048
#: Distances computed at once within a cell (bounded memory when many faces are alike).
BLOCK = 2**22
#: "exact", "cells" or None (by size); the environment variable wins when set.
ROUTE: str | None = None


def route(comparisons: int, faces: int) -> str:
    """``"exact"`` or ``"cells"`` for a search of that many comparisons among that many faces
    (rows and columns, each face once)."""
    forced = os.environ.get("PHOTOCLUST_FACE_NEIGHBOURS") or ROUTE
    if forced in ("exact", "cells"):
        return forced
    return "cells" if comparisons > max(EXACT_UP_TO, CELL_COST * faces) else "exact"


def near_pairs(a: np.ndarray, b: np.ndarray | None, threshold: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, distance)`` for every row ``i`` of ``a`` and ``j`` of ``b`` (of ``a`` itself
    when ``None``: each pair once, ``i < j``) nearer than ``threshold``, ordered by ``i`` then
    ``j``; past ``EXACT_UP_TO`` comparisons by cells (nearly every pair, exact distances)."""
    other = a if b is None else b
    faces = len(a) if b is None else len(a) + len(b)
    if len(a) and len(other) and route(len(a) * len(other), faces) == "cells":
        with _one_thread():
            return _cell_pairs(a, b, threshold)
    return exact_near_pairs(a, b, threshold)


def nearest_faces(vectors: np.ndarray, rows: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(index, distance)``, each ``len(rows) x min(k, n - 1)``: the ``k`` faces of ``vectors``
    nearest each face of ``rows`` (itself left out), nearest first; past ``EXACT_UP_TO``
    comparisons by cells."""
    n = len(vectors)
    if min(k, n - 1) > 0 and len(rows) and route(len(rows) * n, n) == "cells":
        with _one_thread():
            return _cell_nearest(vectors, np.asarray(rows, dtype=np.int64), min(k, n - 1))
    return exact_nearest_faces(vectors, rows, k)


def _one_thread():
    """BLAS in one thread: the cells' products are small, and the threads' waiting between them
    cost twice the CPU of the work (100,000 faces: 3.6-4.8 s of CPU against 1.6-1.8 s, and no
    less wall time, on two loaded cores)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _empty_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    empty = np.zeros(0, dtype=np.int64)
    return empty, empty, np.zeros(0, dtype=np.float32)


def exact_near_pairs(a: np.ndarray, b: np.ndarray | None = None, threshold: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``near_pairs`` comparing every row with every row (blocks of ``CHUNK`` rows)."""
    same = b is None
    b = (a if b is None else b).astype(np.float32)
    b_sq = (b * b).sum(axis=1)
    out_i, out_j, out_d = [], [], []
    for start in range(0, len(a), CHUNK):
        d2 = sq_distances(a[start:start + CHUNK].astype(np.float32), b, b_sq)
        ii, jj = np.nonzero(d2 < threshold * threshold)
        ii = ii + start
        if same:
            keep = ii < jj
            ii, jj = ii[keep], jj[keep]
        out_i.append(ii)
        out_j.append(jj)
        out_d.append(np.sqrt(d2[ii - start, jj]))
    if not out_i:
        return _empty_pairs()
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)


def exact_nearest_faces(vectors: np.ndarray, rows: np.ndarray, k: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``nearest_faces`` comparing each row with every face (in chunks of rows)."""
    n = len(vectors)
    k = min(k, n - 1)
    out_i = np.zeros((len(rows), max(k, 0)), dtype=np.int64)
    out_d = np.zeros((len(rows), max(k, 0)), dtype=np.float32)
    if k <= 0 or not len(rows):
        return out_i, out_d
    b = vectors.astype(np.float32)
    b_sq = (b ** 2).sum(axis=1)
    step = max(1, 2**24 // max(1, n))
    for start in range(0, len(rows), step):
        part_rows = rows[start:start + step]
        d2 = sq_distances(b[part_rows], b, b_sq)
        d2[np.arange(len(part_rows)), part_rows] = np.inf
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.take_along_axis(d2, near, axis=1)
        order = np.argsort(dist, axis=1)
        out_i[start:start + step] = np.take_along_axis(near, order, axis=1)
        out_d[start:start + step] = np.sqrt(np.take_along_axis(dist, order, axis=1))
    return out_i, out_d


def sq_distances(x: np.ndarray, y: np.ndarray, y_sq: np.ndarray | None = None,
                 x_sq: np.ndarray | None = None) -> np.ndarray:
    """The squared distance of every row of ``x`` to every row of ``y`` (``len(x) x len(y)``,
    never below 0); ``x_sq`` and ``y_sq``: the rows' squared lengths when already known."""
    x_sq = (x * x).sum(axis=1) if x_sq is None else x_sq
    y_sq = (y * y).sum(axis=1) if y_sq is None else y_sq
    d2 = x_sq[:, None] + y_sq[None, :] - 2.0 * (x @ y.T)
    return np.maximum(d2, 0.0, out=d2)


def cell_centres(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """About ``len(x) / CELL`` centres of ``x`` (float32 rows): ``ROUNDS`` rounds of Lloyd's
    k-means on a seeded sample of at most ``SAMPLE_PER_CELL`` faces per centre, started from
    faces of the sample (a centre left with no face stays where it was)."""
    m = max(1, int(round(len(x) / CELL)))
    rng = np.random.default_rng(seed)
    sample = x
    if len(x) > SAMPLE_PER_CELL * m:
        sample = x[np.sort(rng.choice(len(x), SAMPLE_PER_CELL * m, replace=False))]
    centres = sample[np.sort(rng.choice(len(sample), m, replace=False))].copy()
    for _ in range(ROUNDS):
        nearest = _nearest_cells(sample, centres, 1)[:, 0]
        order = np.argsort(nearest, kind="stable")
        cells, starts = np.unique(nearest[order], return_index=True)
        sums = np.add.reduceat(sample[order].astype(np.float64), starts, axis=0)
        counts = np.diff(np.append(starts, len(order)))
        centres[cells] = (sums / counts[:, None]).astype(np.float32)
    return centres


def _nearest_cells(x: np.ndarray, centres: np.ndarray, probes: int) -> np.ndarray:
    """Each row's ``probes`` nearest centres, nearest first (``len(x) x probes``)."""
    probes = min(probes, len(centres))
    c_sq = (centres * centres).sum(axis=1)
    out = np.empty((len(x), probes), dtype=np.int64)
    for start in range(0, len(x), CHUNK):
        d2 = sq_distances(x[start:start + CHUNK], centres, c_sq)
        if probes == 1:
            out[start:start + CHUNK, 0] = d2.argmin(axis=1)
            continue
        near = np.argpartition(d2, probes - 1, axis=1)[:, :probes]
        order = np.argsort(np.take_along_axis(d2, near, axis=1), axis=1, kind="stable")
        out[start:start + CHUNK] = np.take_along_axis(near, order, axis=1)
    return out


def _by_cell(cells: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each cell: ``(rows, bounds)``, cell ``c``'s rows being
    ``rows[bounds[c]:bounds[c + 1]]`` (``cells``: a row's cell, or each row's several cells)."""
    cells = np.asarray(cells)
    rows = np.repeat(np.arange(len(cells)), cells.shape[1]) if cells.ndim == 2 \
        else np.arange(len(cells))
    flat = cells.ravel()
    order = np.argsort(flat, kind="stable")
    return rows[order], np.searchsorted(flat[order], np.arange(m + 1))


def _cell_pairs(a: np.ndarray, b: np.ndarray | None, threshold: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``near_pairs`` by cells: a pair is compared when one face's nearest cell is among the
    other's ``PROBES`` nearest."""
    same = b is None
    xa = np.ascontiguousarray(a, dtype=np.float32)
    xb = xa if same else np.ascontiguousarray(b, dtype=np.float32)
    centres = cell_centres(xb)
    m = len(centres)
    top_a = _nearest_cells(xa, centres, PROBES)
    top_b = top_a if same else _nearest_cells(xb, centres, PROBES)
    a_sq, b_sq = (xa * xa).sum(axis=1), (xb * xb).sum(axis=1)
    limit = threshold * threshold
    # (rows of a, rows of b) compared in each cell: a's faces whose nearest cell it is against
    # b's faces that probe it, and (for two sets) the other way round.
    blocks = [(_by_cell(top_a[:, 0], m), _by_cell(top_b, m))]
    if not same:
        blocks.append((_by_cell(top_a, m), _by_cell(top_b[:, 0], m)))
    out_i, out_j, out_d = [], [], []
    for (rows_a, bounds_a), (rows_b, bounds_b) in blocks:
        for c in range(m):
            ra = rows_a[bounds_a[c]:bounds_a[c + 1]]
            rb = rows_b[bounds_b[c]:bounds_b[c + 1]]
            step = max(1, BLOCK // max(1, len(rb)))
            for start in range(0, len(ra), step):
                part = ra[start:start + step]
                d2 = sq_distances(xa[part], xb[rb], b_sq[rb], a_sq[part])
                ii, jj = np.nonzero(d2 < limit)
                i, j, d = part[ii], rb[jj], np.sqrt(d2[ii, jj])
                if same:
                    keep = i != j
                    i, j, d = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep]), d[keep]
                out_i.append(i)
                out_j.append(j)
                out_d.append(d)
    if not out_i:
        return _empty_pairs()
    i, j, d = np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)
    _, first = np.unique(i * len(xb) + j, return_index=True)  # sorted by i, then j
    return i[first].astype(np.int64), j[first].astype(np.int64), d[first].astype(np.float32)


def _cell_nearest(vectors: np.ndarray, rows: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``nearest_faces`` by cells: each row against the faces whose nearest cell is among its
    ``PROBES`` nearest; a row with fewer than ``k`` such faces is searched exactly."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    centres = cell_centres(x)
    m = len(centres)
    home = _nearest_cells(x, centres, 1)[:, 0]
    probe = _nearest_cells(x[rows], centres, PROBES)
    x_sq = (x * x).sum(axis=1)
    members, member_bounds = _by_cell(home, m)
    queries, query_bounds = _by_cell(probe, m)
    cand_q, cand_j, cand_d = [], [], []
    for c in range(m):
        q = queries[query_bounds[c]:query_bounds[c + 1]]   # positions in rows
        f = members[member_bounds[c]:member_bounds[c + 1]]  # faces
        take = min(k, len(f))
        step = max(1, BLOCK // max(1, len(f)))
        for start in range(0, len(q) if len(f) else 0, step):
            part = q[start:start + step]
            d2 = sq_distances(x[rows[part]], x[f], x_sq[f], x_sq[rows[part]])
            d2[rows[part][:, None] == f[None, :]] = np.inf
            near = np.argpartition(d2, take - 1, axis=1)[:, :take] if take < len(f) \
                else np.broadcast_to(np.arange(len(f)), (len(part), len(f)))
            cand_q.append(np.repeat(part, take))
            cand_j.append(f[near].ravel())
            cand_d.append(np.take_along_axis(d2, near, axis=1).ravel())
    if not cand_q:
        return exact_nearest_faces(vectors, rows, k)
    qs, js, ds = (np.concatenate(cand_q), np.concatenate(cand_j), np.concatenate(cand_d))
    found = np.isfinite(ds)
    qs, js, ds = qs[found], js[found], ds[found]
    order = np.lexsort((js, ds, qs))
    qs, js, ds = qs[order], js[order], ds[order]
    first = np.searchsorted(qs, np.arange(len(rows)))
    rank = np.arange(len(qs)) - first[qs]
    keep = rank < k
    out_i = np.zeros((len(rows), k), dtype=np.int64)
    out_d = np.zeros((len(rows), k), dtype=np.float32)
    out_i[qs[keep], rank[keep]] = js[keep]
    out_d[qs[keep], rank[keep]] = np.sqrt(ds[keep])
    short = np.flatnonzero(np.bincount(qs[keep], minlength=len(rows)) < k)
    if len(short):
        out_i[short], out_d[short] = exact_nearest_faces(vectors, rows[short], k)
    return out_i, out_d
