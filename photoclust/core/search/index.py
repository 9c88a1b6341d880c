"""The in-memory search index of a library, built on first use and kept while the library is
unchanged.

Three parts with their own freshness checks: the *classes* (each embedded photo's stored
ImageNet class probabilities, a sparse matrix) and the *space* "similar" compares photos in (the
embeddings reduced as clustering reduces them, built on the first "similar" only) are rebuilt when
photos or embeddings come or go; the *facts* (paths, clusters and their names, dates, cameras) are
re-read whenever the library file changed (an edit, a rename, a scan). Over 100,000 photos a
query then takes milliseconds (docs/search.md).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sqlalchemy import func, select

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import library_model
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo, PhotoStatus
from photoclust.core.search.vocabulary import Vocabulary, vocabulary, words

#: Dimensions of the space "similar" compares photos in (PCA of the normalised embeddings, as
#: clustering does): a little better than all 1,280 and 5x smaller (docs/search.md).
SIMILAR_DIMENSIONS = 128
#: Photos the PCA of that space is fitted on: the randomized SVD is most of the space's build
#: time, and 128 axes are well estimated from a few thousand photos.
SIMILAR_PCA_SAMPLE = 4_000
#: Folders above a photo whose names count as its words (with its file name).
PATH_FOLDERS = 2


@dataclass
class Vectors:
    """What the model saw in each embedded photo, in ``photo_ids`` order."""

    key: tuple
    model: str
    photo_ids: np.ndarray             # int64, sorted
    probs: sparse.csr_matrix          # n x 1000: stored top-class probabilities
    space: np.ndarray | None = None   # n x d float32, unit rows; built by ``similarity_space``


class WordColumn:
    """One text per photo row, searchable by whole words (and their singular forms)."""

    def __init__(self, texts: list[str]):
        lowered = [t.lower().replace("\n", " ") for t in texts]
        self.text = "\n".join(lowered)
        lengths = np.fromiter((len(t) + 1 for t in lowered), dtype=np.int64, count=len(lowered))
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lowered) else \
            np.zeros(0, np.int64)

    def rows_with(self, forms: list[str]) -> np.ndarray:
        """Rows whose text has one of ``forms`` as a whole word, or its plural."""
        text, positions = self.text, []
        for form in forms:
            i = text.find(form)
            while i >= 0:
                end = i + len(form)
                for suffix in ("", "s", "es"):
                    if text.startswith(suffix, end):
                        after = end + len(suffix)
                        if (i == 0 or not text[i - 1].isalnum()) and (
                                after == len(text) or not text[after].isalnum()):
                            positions.append(i)
                            break
                i = text.find(form, i + 1)
        if not positions:
            return np.zeros(0, np.int64)
        rows = np.searchsorted(self.starts, np.asarray(positions, np.int64), side="right") - 1
        return np.unique(rows)


@dataclass
class SearchIndex:
    """Facts of the present photos (in id order) and their vectors."""

    key: tuple
    ids: np.ndarray                   # int64, sorted
    paths: list[str]
    cluster_ids: np.ndarray           # int64, NO_CLUSTER when in no cluster
    years: np.ndarray                 # int16, 0 when unknown
    months: np.ndarray                # int8, 0 when unknown
    cameras: list[str]
    path_words: WordColumn
    camera_words: WordColumn
    cluster_names: dict[int, tuple[str, str, frozenset[str]]]  # id -> (name, source, words)
    vectors: Vectors
    vector_rows: np.ndarray           # for each row of ``vectors``, its row in ``ids`` (or -1)
    row_of_vector: np.ndarray  # for each row of ``ids``, -1 or its row in ``vectors``

    def row_of_id(self, photo_id: int) -> int | None:
        i = int(np.searchsorted(self.ids, photo_id))
        return i if i < len(self.ids) and self.ids[i] == photo_id else None


_lock = threading.Lock()
_cache: dict[str, SearchIndex] = {}


def search_index(library: Library, model: str | None = None) -> SearchIndex:
    """The index of ``library`` under ``model`` (default: the library's own), fresh."""
    with _lock:
        cache_id = f"{Path(library.path).resolve()}|{model or ''}"
        cached = _cache.get(cache_id)
        file_key = _file_key(library)
        if cached is not None and cached.key == file_key:
            return cached
        model = model or library_model(library)
        vectors_key = _vectors_key(library, model)
        vectors = cached.vectors if cached is not None and cached.vectors.key == vectors_key \
            else _build_vectors(library, model, vectors_key)
        index = _build_facts(library, file_key, vectors, vocabulary())
        if len(_cache) > 3:
            _cache.clear()
        _cache[cache_id] = index
        return index


def similarity_space(library: Library, index: SearchIndex) -> np.ndarray:
    """The embeddings of ``index.vectors``' photos, L2-normalised, reduced by PCA and normalised
    again (as for clustering); built on first use and kept with the vectors. The float16 vectors
    are projected a few thousand rows at a time: no float32 copy of them all."""
    vectors = index.vectors
    with _lock:
        if vectors.space is None:
            vectors.space = _reduced_embeddings(library, vectors)
        return vectors.space


def _reduced_embeddings(library: Library, vectors: Vectors) -> np.ndarray:
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, l2_normalize

    query = (select(Photo.id, Embedding.dim, Embedding.vector)
             .join(Embedding, (Embedding.content_hash == Photo.content_hash)
                   & (Embedding.model == vectors.model)
                   & (Embedding.preprocess_version == PREPROCESS_VERSION))
             .where(Photo.id.in_(select(Photo.id).where(Photo.status == PhotoStatus.PRESENT)))
             .order_by(Photo.id))
    with library.session() as s:
        rows = s.connection().execute(query).all()
    n = len(vectors.photo_ids)
    if not rows or n == 0:
        return np.zeros((n, 1), np.float32)
    dim = rows[0][1]
    X = np.zeros((n, dim), dtype="<f2")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    at = np.searchsorted(vectors.photo_ids, ids)
    ok = (at < n) & (vectors.photo_ids[np.minimum(at, n - 1)] == ids)
    X[at[ok]] = np.frombuffer(b"".join(r[2] for r, keep in zip(rows, ok) if keep),
                              dtype="<f2").reshape(-1, dim)
    if n <= 2:
        return l2_normalize(X.astype(np.float32))
    sample = np.random.default_rng(0).choice(n, min(n, SIMILAR_PCA_SAMPLE), replace=False)
    reducer = EmbeddingPreprocessor(min(SIMILAR_DIMENSIONS, dim, len(sample) - 1))
    reducer.fit(X[np.sort(sample)].astype(np.float32))
    width = reducer.transform(X[:1].astype(np.float32)).shape[1]
    space = np.empty((n, width), dtype=np.float32)
    for start in range(0, n, 4096):
        space[start:start + 4096] = reducer.transform(X[start:start + 4096].astype(np.float32))
    return space


def forget(library: Library) -> None:
    """Drop the cached indexes of ``library`` (tests; a library closed for good)."""
    prefix = f"{Path(library.path).resolve()}|"
    with _lock:
        for key in [k for k in _cache if k.startswith(prefix)]:
            del _cache[key]


def _file_key(library: Library) -> tuple:
    """Changes whenever anything is written to the library (its file or its write-ahead log)."""
    parts: list[tuple[int, int] | None] = []
    for suffix in ("", "-wal"):
        try:
            st = Path(str(library.path) + suffix).stat()
            parts.append((st.st_mtime_ns, st.st_size))
        except OSError:
            parts.append(None)
    return tuple(parts)


def _vectors_key(library: Library, model: str) -> tuple:
    with library.session() as s:
        photos = s.execute(select(func.count(), func.max(Photo.id), func.sum(Photo.id))
                           .where(Photo.status == PhotoStatus.PRESENT)).one()
        embeddings = s.scalar(select(func.count()).select_from(Embedding)
                              .where(Embedding.model == model))
    return model, tuple(photos), embeddings


def _build_vectors(library: Library, model: str, key: tuple) -> Vectors:
    """The stored top classes of every present embedded photo, in one query (the vectors
    themselves are read only when "similar" first needs them)."""
    vocab = vocabulary()
    query = (select(Photo.id, Embedding.top_classes)
             .join(Embedding, (Embedding.content_hash == Photo.content_hash)
                   & (Embedding.model == model)
                   & (Embedding.preprocess_version == PREPROCESS_VERSION))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        rows_read = s.connection().execute(query).all()
    photo_ids = np.fromiter((r[0] for r in rows_read), dtype=np.int64, count=len(rows_read))
    rows, cols, vals = [], [], []
    class_index = vocab.class_index
    for row, (_, top) in enumerate(rows_read):
        for name, prob in json.loads(top) if top else ():
            k = class_index.get(name)
            if k is not None:
                rows.append(row)
                cols.append(k)
                vals.append(prob)
    probs = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                              shape=(len(photo_ids), vocab.n_classes))
    return Vectors(key, model, photo_ids, probs)


def path_text(path: str) -> str:
    """The words of a path that describe a photo: its file name (without the extension) and the
    folders just above (string operations: ``PurePath`` takes seconds over 100,000 paths)."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return " ".join([*(p for p in parts[-1 - PATH_FOLDERS:-1] if p), stem])


def _build_facts(library: Library, key: tuple, vectors: Vectors, vocab: Vocabulary) -> SearchIndex:
    query = (select(Photo.id, Photo.path, Photo.taken_at, Photo.camera, Assignment.cluster_id)
             .outerjoin(Assignment, Assignment.photo_id == Photo.id)
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:  # Core rows (no ORM row processing: 100,000 rows)
        rows = s.connection().execute(query).all()
        clusters = s.execute(select(Cluster.id, Cluster.name, Cluster.name_source)
                             .where(Cluster.active.is_(True))).all()
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    paths = [r[1] for r in rows]
    cameras = [r[3] or "" for r in rows]
    cluster_ids = np.fromiter((NO_CLUSTER if r[4] is None else r[4] for r in rows), np.int64,
                              count=n)
    years = np.fromiter((r[2].year if r[2] else 0 for r in rows), dtype=np.int16, count=n)
    months = np.fromiter((r[2].month if r[2] else 0 for r in rows), dtype=np.int8, count=n)
    names = {}
    for cid, name, source in clusters:
        if name:
            forms = {f for w in words(name) for f in vocab.singular_forms(w)}
            names[cid] = (name, source, frozenset(forms))
    vector_rows = np.full(len(vectors.photo_ids), -1, dtype=np.int64)
    row_of_vector = np.full(n, -1, dtype=np.int64)
    if n and len(vectors.photo_ids):
        found = np.minimum(np.searchsorted(ids, vectors.photo_ids), n - 1)
        keep = ids[found] == vectors.photo_ids
        vector_rows[keep] = found[keep]
        row_of_vector[found[keep]] = np.flatnonzero(keep)
    return SearchIndex(
        key=key, ids=ids, paths=paths, cluster_ids=cluster_ids, years=years, months=months,
        cameras=cameras, path_words=WordColumn([path_text(p) for p in paths]),
        camera_words=WordColumn(cameras), cluster_names=names, vectors=vectors,
        vector_rows=vector_rows, row_of_vector=row_of_vector,
    )
