"""The in-memory search index of a library, built on first use and kept while the library is
unchanged.

Two parts with their own freshness checks: the *vectors* (each embedded photo's ImageNet class
probabilities as a sparse matrix, and its embedding reduced and normalised for "similar") are
rebuilt only when photos or embeddings come or go; the *facts* (paths, clusters and their names,
dates, cameras, and word lists over them) are re-read whenever the library file changed (an edit,
a rename, a scan). Building over 100,000 photos takes seconds; a query then takes milliseconds
(docs/search.md).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
from scipy import sparse
from sqlalchemy import func, select

from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.embedding.store import library_model, load_embeddings, load_top_classes
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo
from photoclust.core.search.vocabulary import Vocabulary, vocabulary, words

#: Dimensions of the space "similar" compares photos in (PCA of the normalised embeddings, as
#: clustering does): measured in bench/search_quality.py.
SIMILAR_DIMENSIONS = 128
#: Folders above a photo whose names count as its words (with its file name).
PATH_FOLDERS = 2


@dataclass
class Vectors:
    """What the model saw in each embedded photo, in ``photo_ids`` order."""

    key: tuple
    model: str
    photo_ids: np.ndarray             # int64, sorted
    probs: sparse.csr_matrix          # n x 1000: stored top-class probabilities
    space: np.ndarray                 # n x d float32, unit rows: the space "similar" uses


@dataclass
class SearchIndex:
    """Facts of the present photos (in id order) and their vectors."""

    key: tuple
    ids: np.ndarray                   # int64, sorted
    paths: list[str]
    cluster_ids: np.ndarray           # int64, -1 when in no cluster
    years: np.ndarray                 # int16, 0 when unknown
    months: np.ndarray                # int8, 0 when unknown
    cameras: list[str]
    path_words: dict[str, np.ndarray]
    camera_words: dict[str, np.ndarray]
    cluster_names: dict[int, tuple[str, str, frozenset[str]]]  # id -> (name, source, words)
    vectors: Vectors
    vector_rows: np.ndarray           # for each row of ``vectors``, its row in ``ids``
    row_of_vector: np.ndarray = field(default=None)  # for each row of ``ids``, -1 or vectors row

    def row_of_id(self, photo_id: int) -> int | None:
        i = int(np.searchsorted(self.ids, photo_id))
        return i if i < len(self.ids) and self.ids[i] == photo_id else None


_lock = threading.Lock()
_cache: dict[str, SearchIndex] = {}


def search_index(library: Library, model: str | None = None) -> SearchIndex:
    """The index of ``library`` under ``model`` (default: the library's own), fresh."""
    model = model or library_model(library)
    with _lock:
        cache_id = f"{Path(library.path).resolve()}|{model}"
        cached = _cache.get(cache_id)
        file_key = _file_key(library)
        if cached is not None and cached.key == file_key:
            return cached
        vectors_key = _vectors_key(library, model)
        vectors = cached.vectors if cached is not None and cached.vectors.key == vectors_key \
            else _build_vectors(library, model, vectors_key)
        index = _build_facts(library, file_key, vectors, vocabulary())
        if len(_cache) > 3:
            _cache.clear()
        _cache[cache_id] = index
        return index


def forget(library: Library) -> None:
    """Drop the cached indexes of ``library`` (tests; a library closed for good)."""
    prefix = f"{Path(library.path).resolve()}|"
    with _lock:
        for key in [k for k in _cache if k.startswith(prefix)]:
            del _cache[key]


def _file_key(library: Library) -> tuple:
    """Changes whenever anything is written to the library (its file or its write-ahead log)."""
    parts = []
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
                           .where(Photo.status == "present")).one()
        embeddings = s.scalar(select(func.count()).select_from(Embedding)
                              .where(Embedding.model == model))
    return model, tuple(photos), embeddings


def _build_vectors(library: Library, model: str, key: tuple) -> Vectors:
    vocab = vocabulary()
    photo_ids, X = load_embeddings(library, model)
    top = load_top_classes(library, model, photo_ids.tolist()) if len(photo_ids) else {}
    rows, cols, vals = [], [], []
    for row, pid in enumerate(photo_ids.tolist()):
        for name, prob in top.get(pid, ()):
            k = vocab.class_index.get(name)
            if k is not None:
                rows.append(row)
                cols.append(k)
                vals.append(prob)
    probs = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                              shape=(len(photo_ids), vocab.n_classes))
    if len(photo_ids) > 2:
        dims = min(SIMILAR_DIMENSIONS, X.shape[1], len(photo_ids) - 1)
        space = EmbeddingPreprocessor(dims).fit_transform(X).astype(np.float32)
    else:
        from photoclust.core.clustering.preprocess import l2_normalize

        space = l2_normalize(X) if len(photo_ids) else np.zeros((0, 0), np.float32)
    return Vectors(key, model, photo_ids, probs, np.ascontiguousarray(space))


def _word_table(texts: list[str], vocab: Vocabulary) -> dict[str, np.ndarray]:
    """Each word (and the singular forms it may be a plural of) -> the rows whose text has it."""
    table: dict[str, list[int]] = {}
    forms_of: dict[str, list[str]] = {}
    for row, text in enumerate(texts):
        for word in set(words(text)):
            forms = forms_of.get(word)
            if forms is None:
                forms = forms_of[word] = vocab.singular_forms(word)
            for form in forms:
                table.setdefault(form, []).append(row)
    return {w: np.asarray(rows, dtype=np.int64) for w, rows in table.items()}


def path_text(path: str) -> str:
    """The words of a path that describe a photo: its file name and the folders just above."""
    p = PurePath(path)
    folders = [part for part in p.parent.parts[-PATH_FOLDERS:] if part not in ("/", "\\")]
    return " ".join([*folders, p.stem])


def _build_facts(library: Library, key: tuple, vectors: Vectors, vocab: Vocabulary) -> SearchIndex:
    query = (select(Photo.id, Photo.path, Photo.taken_at, Photo.camera, Assignment.cluster_id)
             .outerjoin(Assignment, Assignment.photo_id == Photo.id)
             .where(Photo.status == "present").order_by(Photo.id))
    with library.session() as s:
        rows = s.execute(query).all()
        clusters = s.execute(select(Cluster.id, Cluster.name, Cluster.name_source)
                             .where(Cluster.active.is_(True))).all()
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    paths = [r[1] for r in rows]
    cameras = [r[3] or "" for r in rows]
    cluster_ids = np.fromiter((-1 if r[4] is None else r[4] for r in rows), np.int64, count=n)
    years = np.fromiter((r[2].year if r[2] else 0 for r in rows), dtype=np.int16, count=n)
    months = np.fromiter((r[2].month if r[2] else 0 for r in rows), dtype=np.int8, count=n)
    names = {}
    for cid, name, source in clusters:
        if name:
            forms = {f for w in words(name) for f in vocab.singular_forms(w)}
            names[cid] = (name, source, frozenset(forms))
    vector_rows = np.searchsorted(ids, vectors.photo_ids)
    vector_rows = np.minimum(vector_rows, max(n - 1, 0))
    keep = (n > 0) & (ids[vector_rows] == vectors.photo_ids) if n else np.zeros(0, bool)
    row_of_vector = np.full(n, -1, dtype=np.int64)
    row_of_vector[vector_rows[keep]] = np.flatnonzero(keep)
    vector_rows = np.where(keep, vector_rows, -1)
    return SearchIndex(
        key=key, ids=ids, paths=paths, cluster_ids=cluster_ids, years=years, months=months,
        cameras=cameras, path_words=_word_table([path_text(p) for p in paths], vocab),
        camera_words=_word_table(cameras, vocab), cluster_names=names, vectors=vectors,
        vector_rows=vector_rows, row_of_vector=row_of_vector,
    )
