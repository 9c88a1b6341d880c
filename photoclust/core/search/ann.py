"""Nearest photos by an index: an HNSW graph (usearch) over the space "similar" compares photos
in, kept on disk beside the library and updated as photos arrive and leave.

The index holds one vector per present embedded photo (its row of ``similarity_space``: the
embeddings L2-normalised, reduced by PCA to 128 dimensions and normalised again), keyed by photo
id. It lives in the library's data folder (``<library>.data/``) as two files: ``ann-<model>.npz``
(what the index holds: each photo id with the rowid of its embedding, and the PCA basis it was
built on) and the graph it names, ``ann-<model>-<generation>.usearch`` (a new name on every
save, so the pair is replaced atomically: the description is written last and names a complete
graph). A later process maps the graph into memory (no read of the whole file).

When the photos or their embeddings changed, only the difference is applied (photos gone or
re-embedded are removed, new ones added); the index is built again when it is missing, when its
basis or its model changed (every vector moved), when more than half of it would change, or when
it is damaged (a file unreadable, or the graph does not hold exactly the photos its description
names): then one log sentence says so. Results are never wrong: every answer is checked against
the photos the caller has and rescored exactly from their vectors, and the caller searches exactly
when there is no index.

Libraries under ``EXACT_BELOW`` photos are searched exactly: a matrix-vector product over them is
faster than the graph (measured: docs/performance.md, "Nearest neighbours by an index").
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoclust.core.library import Library

log = logging.getLogger(__name__)

#: Below this many photos "similar" and near-duplicate search compare exactly (bench/million.py,
#: bench/ann_choice.py: one exact query over 128 dimensions costs about 1 ms per 20,000 photos on
#: two cores; the graph answers in about 0.1-0.3 ms, but is first built).
EXACT_BELOW = 20_000
#: The graph's degree, build and search effort, and how it stores vectors (bench/ann_choice.py
#: at 100,000 photos: half the build time of expansion 128 for recall@10 0.99; half-precision
#: vectors: the answers are scored exactly afterwards).
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 96
STORED_AS = "f16"
#: Changes when the files this module writes change.
ANN_VERSION = 1
#: The index is built again rather than updated when more than this share of it changes.
REBUILD_SHARE = 0.5


def available() -> bool:
    """Whether the index library is installed (it is a dependency; a trimmed install searches
    exactly)."""
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def basis_id(basis) -> str:
    """A short fingerprint of the PCA basis (``index.Basis``) the space was projected on,
    computed once per basis."""
    known = getattr(basis, "_ann_id", None)
    if known is None:
        digest = hashlib.sha1(np.ascontiguousarray(basis.components, np.float32).tobytes())
        digest.update(np.ascontiguousarray(basis.offset, np.float32).tobytes())
        known = digest.hexdigest()[:16]
        basis._ann_id = known
    return known


@dataclass
class NeighbourIndex:
    """The graph and what it holds: ``photo_ids`` (sorted) and their ``embedding_ids``."""

    graph: Any                   # usearch.index.Index
    photo_ids: np.ndarray
    embedding_ids: np.ndarray
    basis: str
    dim: int
    #: The file the graph was mapped from (read-only), or None when it is in memory.
    mapped: Path | None = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(photo ids, similarities)``, each ``len(queries) x k``, best first; id -1 where the
        graph found fewer."""
        k = max(1, min(k, len(self.photo_ids)))
        Q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        found = self.graph.search(Q, k, threads=THREADS)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(Q), -1)
        sims = 1.0 - np.asarray(found.distances, dtype=np.float32).reshape(len(Q), -1)
        # one query gives Matches (as many keys as found), several give BatchMatches (counts)
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]])).reshape(-1)
        missing = np.arange(keys.shape[1])[None, :] >= counts[:, None]
        keys[missing] = -1
        sims[missing] = -np.inf
        return keys, sims


_lock = threading.Lock()
_cache: dict[str, NeighbourIndex] = {}


def _paths(library: Library, model: str) -> tuple[Path, Path]:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    return library.data_dir / f"ann-{safe}.npz", library.data_dir / f"ann-{safe}"


def neighbour_index(library: Library, model: str, photo_ids: np.ndarray,
                    embedding_ids: np.ndarray, space: np.ndarray, basis: str
                    ) -> NeighbourIndex | None:
    """The index over ``space`` (row i: photo ``photo_ids[i]`` with embedding
    ``embedding_ids[i]``; ``photo_ids`` sorted), brought up to date: from this process's memory,
    else from disk, updated by the difference, else built. None when the index library is not
    installed (the caller then searches exactly)."""
    if not available():
        return None
    photo_ids = np.asarray(photo_ids, np.int64)
    embedding_ids = np.asarray(embedding_ids, np.int64)
    cache_id = f"{Path(library.path).resolve()}|{model}"
    with _lock:
        index = _cache.get(cache_id)
        if index is None or index.basis != basis or index.dim != space.shape[1]:
            index = _load(library, model, basis, space.shape[1])
        if index is not None and _same(index, photo_ids, embedding_ids):
            _cache[cache_id] = index
            return index
        index = _updated(library, model, index, photo_ids, embedding_ids, space, basis)
        _cache[cache_id] = index
        return index


def forget(library: Library) -> None:
    """Drop this process's copies of ``library``'s indexes (tests; a library closed for good)."""
    prefix = f"{Path(library.path).resolve()}|"
    with _lock:
        for key in [k for k in _cache if k.startswith(prefix)]:
            del _cache[key]


def _same(index: NeighbourIndex, photo_ids: np.ndarray, embedding_ids: np.ndarray) -> bool:
    return len(index.photo_ids) == len(photo_ids) and \
        bool(np.array_equal(index.photo_ids, photo_ids)) and \
        bool(np.array_equal(index.embedding_ids, embedding_ids))


#: Threads for adding to and searching the graph. A graph built by several threads depends on
#: their timing (the same photos, a slightly different graph); tests that compare two builds set 1.
THREADS = os.cpu_count() or 1


def _new_graph(dim: int):
    from usearch.index import Index

    return Index(ndim=dim, metric="ip", dtype=STORED_AS, connectivity=CONNECTIVITY,
                 expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)


def _updated(library: Library, model: str, index: NeighbourIndex | None, photo_ids: np.ndarray,
             embedding_ids: np.ndarray, space: np.ndarray, basis: str) -> NeighbourIndex:
    """``index`` with the photos gone or re-embedded removed and the new ones added, or a new
    index when there is none or most of it changes; saved for the next process."""
    n = len(photo_ids)
    rows = np.arange(n)
    if index is not None:
        m = len(index.photo_ids)
        at = np.minimum(np.searchsorted(photo_ids, index.photo_ids), max(n - 1, 0))
        still = (photo_ids[at] == index.photo_ids) & (embedding_ids[at] == index.embedding_ids) \
            if n else np.zeros(m, bool)
        gone = index.photo_ids[~still]
        kept = np.zeros(n, bool)
        kept[at[still]] = True
        rows = np.flatnonzero(~kept)
        if len(gone) + len(rows) > REBUILD_SHARE * max(m, n):
            index = None
        else:
            graph = index.graph if index.mapped is None else _restore(index.mapped, view=False)
            if graph is None:
                index = None
            else:
                if len(gone):
                    graph.remove(gone.astype(np.uint64))
                if len(rows):
                    graph.add(photo_ids[rows].astype(np.uint64),
                              np.ascontiguousarray(space[rows], np.float32),
                              threads=THREADS)
                index = NeighbourIndex(graph, photo_ids.copy(), embedding_ids.copy(), basis,
                                       space.shape[1])
    if index is None:
        graph = _new_graph(space.shape[1])
        for start in range(0, n, 65_536):
            stop = min(n, start + 65_536)
            graph.add(photo_ids[start:stop].astype(np.uint64),
                      np.ascontiguousarray(space[start:stop], np.float32),
                      threads=THREADS)
        index = NeighbourIndex(graph, photo_ids.copy(), embedding_ids.copy(), basis,
                               space.shape[1])
    _save(library, model, index)
    return index


def _restore(path: Path, view: bool):
    from usearch.index import Index

    try:
        graph = Index.restore(str(path), view=view)
    except (OSError, RuntimeError, ValueError) as exc:
        log.debug("index graph %s unreadable: %s", path, exc)
        return None
    return graph


def _key(model: str, basis: str, dim: int) -> str:
    return json.dumps([ANN_VERSION, model, basis, dim, CONNECTIVITY, EXPANSION_ADD, STORED_AS])


def _load(library: Library, model: str, basis: str, dim: int) -> NeighbourIndex | None:
    """The index kept on disk, when it is there, for this basis, and whole; None otherwise (a
    damaged one is said in one log sentence)."""
    meta, stem = _paths(library, model)
    if not meta.exists():
        log.info("No nearest-neighbour index for similar photos in %s yet: it is built.",
                 library.data_dir)
        return None
    try:
        with np.load(meta) as data:
            key = str(data["key"])
            generation = str(data["generation"])
            photo_ids = np.asarray(data["photo_ids"], np.int64)
            embedding_ids = np.asarray(data["embedding_ids"], np.int64)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        log.warning("The nearest-neighbour index in %s is damaged (its description does not "
                    "read); it is built again.", library.data_dir)
        return None
    if key != _key(model, basis, dim):
        log.info("The nearest-neighbour index in %s was built on another space; it is built "
                 "again.", library.data_dir)
        return None
    path = stem.with_name(f"{stem.name}-{generation}.usearch")
    graph = _restore(path, view=True)
    if graph is None or len(graph) != len(photo_ids) or graph.ndim != dim or \
            len(photo_ids) != len(embedding_ids) or np.any(np.diff(photo_ids) <= 0) or \
            not _holds(graph, photo_ids):
        log.warning("The nearest-neighbour index in %s is damaged (its graph is missing or does "
                    "not hold the photos it names); it is built again.", library.data_dir)
        return None
    return NeighbourIndex(graph, photo_ids, embedding_ids, basis, dim, mapped=path)


def _holds(graph, photo_ids: np.ndarray) -> bool:
    """Does the graph hold every one of ``photo_ids`` (all of them up to 100,000, else a fixed
    sample of 10,000 with the first and last)?"""
    ids = photo_ids
    if len(ids) > 100_000:
        pick = np.random.default_rng(0).choice(len(ids), 10_000, replace=False)
        ids = np.concatenate([ids[[0, -1]], ids[pick]])
    try:
        return bool(np.all(graph.contains(ids.astype(np.uint64))))
    except (RuntimeError, ValueError):
        return False


def _save(library: Library, model: str, index: NeighbourIndex) -> None:
    """Keep the index for the next process (a read-only library keeps none): the graph under a
    new name, then its description, which names it; the graph it replaces is removed."""
    if library.read_only:
        return
    meta, stem = _paths(library, model)
    generation = os.urandom(6).hex()
    graph_path = stem.with_name(f"{stem.name}-{generation}.usearch")
    tmp = meta.with_name(f".{meta.stem}.{os.getpid()}.tmp.npz")
    try:
        meta.parent.mkdir(parents=True, exist_ok=True)
        index.graph.save(str(graph_path))
        np.savez(tmp, key=np.array(_key(model, index.basis, index.dim)),
                 generation=np.array(generation), photo_ids=index.photo_ids,
                 embedding_ids=index.embedding_ids)
        os.replace(tmp, meta)
    except (OSError, RuntimeError) as exc:
        log.info("The nearest-neighbour index is not kept on disk: %s", exc)
        tmp.unlink(missing_ok=True)
        graph_path.unlink(missing_ok=True)
        return
    for old in stem.parent.glob(f"{stem.name}-*.usearch"):
        if old != graph_path:
            try:
                old.unlink()
            except OSError:
                pass  # still open elsewhere (Windows): removed by a later save


def library_neighbours(library: Library, model: str
                       ) -> tuple[np.ndarray, np.ndarray, NeighbourIndex | None]:
    """``(photo ids, space, index)``: the present photos embedded under ``model`` (sorted), their
    rows of the space of similar photos, and the index over them (None without the index
    library, or when there is nothing to index). The photos are read from the library (not
    taken from the kept space on the library's fingerprint: the caller compares every one)."""
    from photoclust.core.search.index import similar_vectors, vectors_space

    vectors = similar_vectors(library, model, recheck=True)
    space = vectors_space(library, vectors)
    if vectors.basis is None or not len(space):
        return vectors.photo_ids, space, None
    return vectors.photo_ids, space, neighbour_index(
        library, model, vectors.photo_ids, vectors.embedding_ids, space, basis_id(vectors.basis))
