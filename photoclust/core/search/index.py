"""The in-memory search index of a library, built on first use and kept while the library is
unchanged.

Four parts with their own freshness checks: the *photo facts* (paths, dates, cameras) are
re-read when photos come, go or are re-read by a scan (and kept when the rows read are the same);
the *classes* (each embedded photo's stored ImageNet class probabilities, a sparse matrix) when
the embeddings of the present photos change; the *space* "similar" compares photos in (the
embeddings reduced as clustering reduces them) is built on the first "similar" and kept on disk
beside the library with its PCA basis: later, only new or changed embeddings are projected; the
*placements* (each photo's cluster, the clusters' names) are re-read whenever the library file
changed (an edit, a rename). Over 100,000 photos a query then takes milliseconds
(docs/search.md).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sqlalchemy import Integer, func, literal_column, select

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import library_model
from photoclust.core.library import Library
from photoclust.core.library.db import raw_cursor
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
#: Embeddings read and projected at a time when the space is built (bounds the memory used).
SPACE_CHUNK = 4096
#: Changes when the way the space is built changes: a space kept on disk by another version of
#: this code is then rebuilt.
SPACE_VERSION = 3
#: The PCA basis of that space is fitted again when the library has grown this many times since
#: it was fitted (new photos are otherwise projected on the stored basis: seconds saved).
REFIT_GROWTH = 2

log = logging.getLogger(__name__)
#: Which stored embedding a photo has (a new one for new content or a model run again).
_EMBEDDING_ROWID = literal_column("embeddings.rowid", Integer)


@dataclass
class Vectors:
    """What the model saw in each embedded photo, in ``photo_ids`` order."""

    key: tuple
    model: str
    photo_ids: np.ndarray             # int64, sorted
    embedding_ids: np.ndarray         # int64: the rowid of each photo's embedding
    probs: sparse.csr_matrix          # n x 1000: stored top-class probabilities
    space: np.ndarray | None = None   # n x d float32, unit rows; built by ``similarity_space``
    basis: Basis | None = None        # what ``space`` is projected on
    quick_key: tuple = ()             # the counts that last found these vectors unchanged
    #: ``_fingerprint`` of the library when these pairs were read (or found unchanged)
    fingerprint: tuple = ()


class WordColumn:
    """One text per photo row, searchable by whole words (and their singular forms)."""

    def __init__(self, texts: list[str]):
        lowered = [t.lower().replace("\n", " ") for t in texts]
        self.text = "\n".join(lowered)
        lengths = np.fromiter((len(t) + 1 for t in lowered), dtype=np.int64, count=len(lowered))
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lowered) else \
            np.zeros(0, np.int64)

    def extended(self, more: WordColumn) -> WordColumn:
        """This column with the rows of ``more`` appended (the same as building it anew)."""
        if not len(self.starts):
            return more
        if not len(more.starts):
            return self
        joined = WordColumn([])
        joined.text = self.text + "\n" + more.text
        joined.starts = np.concatenate([self.starts, more.starts + len(self.text) + 1])
        return joined

    def rows_with(self, forms: list[str]) -> np.ndarray:
        """Rows whose text has one of ``forms`` as a whole word, or its plural.

        One regular expression per form scans the text in C: it starts with the form itself (so
        the scan jumps from one occurrence to the next as ``str.find`` does), then asks that no
        letter or digit comes before it and none after its plural ending. Only whole words come
        back to Python: a form inside many longer words ("12" in "img_0012") costs no Python
        step per occurrence (a word search at a million photos took 0.06-1.3 s, docs/search.md).
        """
        found = []
        for form in forms:
            if not form:
                continue
            starts = np.fromiter(map(re.Match.start, _whole_word(form).finditer(self.text)),
                                 dtype=np.int64)
            if starts.size:  # in text order, so the rows come sorted
                found.append(np.searchsorted(self.starts, starts, side="right") - 1)
        if not found:
            return np.zeros(0, np.int64)
        rows = np.sort(np.concatenate(found)) if len(found) > 1 else found[0]
        return rows[np.concatenate([[True], rows[1:] != rows[:-1]])]


@functools.lru_cache(maxsize=256)
def _whole_word(form: str) -> re.Pattern:
    """``form``, ``forms`` or ``formes`` with neither a letter nor a digit on either side
    (``[^\\W_]`` is exactly ``str.isalnum``)."""
    literal = re.escape(form)
    return re.compile(literal + r"(?<![^\W_]" + literal + r")(?:|s|es)(?![^\W_])")


@dataclass
class PhotoFacts:
    """What a scan writes about each present photo, in id order."""

    key: tuple
    ids: np.ndarray                   # int64, sorted
    paths: list[str]
    years: np.ndarray                 # int16, 0 when unknown
    months: np.ndarray                # int8, 0 when unknown
    cameras: list[str]
    path_words: WordColumn
    camera_words: WordColumn
    rows_hash: int = 0                # of the rows read: unchanged rows need no new facts


@dataclass
class SearchIndex:
    """Facts of the present photos (in id order), where they are placed, and their vectors."""

    key: tuple
    photos: PhotoFacts
    cluster_ids: np.ndarray           # int64, NO_CLUSTER when in no cluster
    cluster_names: dict[int, tuple[str, str, frozenset[str]]]  # id -> (name, source, words)
    vectors: Vectors
    vector_rows: np.ndarray           # for each row of ``vectors``, its row in ``ids`` (or -1)
    row_of_vector: np.ndarray  # for each row of ``ids``, -1 or its row in ``vectors``

    @property
    def ids(self) -> np.ndarray:
        return self.photos.ids

    @property
    def paths(self) -> list[str]:
        return self.photos.paths

    @property
    def years(self) -> np.ndarray:
        return self.photos.years

    @property
    def months(self) -> np.ndarray:
        return self.photos.months

    @property
    def cameras(self) -> list[str]:
        return self.photos.cameras

    @property
    def path_words(self) -> WordColumn:
        return self.photos.path_words

    @property
    def camera_words(self) -> WordColumn:
        return self.photos.camera_words

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
        photos_key = _photos_key(library)
        photos = cached.photos if cached is not None else None
        if photos is None or photos.key != photos_key:
            photos = _read_photos(library, photos_key, photos)
        quick_key = (photos_key, _embeddings_key(library, model))
        vectors = cached.vectors if cached is not None else None
        if vectors is None or vectors.model != model or vectors.quick_key != quick_key:
            # photos or embeddings may have changed (a scan re-reads every photo it sees):
            # the vectors are read again only when the embeddings present did change
            vectors_key = (model, _present_embeddings_key(library, model))
            if vectors is None or vectors.key != vectors_key:
                vectors = _build_vectors(library, model, vectors_key,
                                         vectors if vectors is not None and vectors.model == model
                                         else None)
            vectors.quick_key = quick_key
        index = _build_index(library, file_key, photos, vectors, vocabulary())
        if len(_cache) > 3:
            _cache.clear()
        _cache[cache_id] = index
        return index


_similar_cache: dict[str, Vectors] = {}


def similar_vectors(library: Library, model: str | None = None, recheck: bool = False
                    ) -> Vectors:
    """What "similar" needs of the index: the present embedded photos (ids, and which embedding
    each has) and their space once built, without the photos' facts and classes that only a
    search by words needs (reading them is most of a new process's first "similar"): the cached
    full index's vectors when it is fresh, else these alone. A new process takes them from the
    space kept on disk when the library's ``_fingerprint`` is the one kept with it (no row of the
    library read, the space mapped), else reads every present photo's pair; ``recheck`` reads
    them whatever the fingerprint says (a result found stale, ``finder.similar_photos``)."""
    with _lock:
        cache_id = f"{Path(library.path).resolve()}|{model or ''}"
        full = _cache.get(cache_id)
        file_key = _file_key(library)
        if full is not None and full.key == file_key:
            return full.vectors
        cached = _similar_cache.get(cache_id)
        if cached is not None and cached.quick_key == file_key and not recheck:
            return cached  # nothing was written to the library since
        model = model or library_model(library)
        fingerprint = _fingerprint(library, model)
        if not recheck:
            for known in (cached, full.vectors if full is not None else None):
                if known is not None and known.model == model and \
                        known.fingerprint == fingerprint:
                    known.quick_key = file_key
                    return known
            stored = _load_space(library, model)
            if stored is not None and stored.fingerprint == fingerprint:
                # nothing that changes the pairs was written since the space was kept: its ids
                # are the present embedded photos', its rows (mapped, not read) their space
                vectors = Vectors((model, "kept", fingerprint), model, stored.photo_ids,
                                  stored.embedding_ids, sparse.csr_matrix(
                                      (len(stored.photo_ids), 0), dtype=np.float32),
                                  space=stored.space, basis=stored.basis, quick_key=file_key,
                                  fingerprint=fingerprint)
                return _cached_similar(cache_id, vectors)
        join = (Embedding, (Embedding.content_hash == Photo.content_hash)
                & (Embedding.model == model)
                & (Embedding.preprocess_version == PREPROCESS_VERSION))
        with library.session() as s:
            pairs = raw_cursor(s, select(Photo.id, _EMBEDDING_ROWID).join(*join)
                                .where(Photo.status == PhotoStatus.PRESENT)
                                .order_by(Photo.id)).fetchall()
        n = len(pairs)
        vectors = Vectors((model, "read", fingerprint), model,
                          np.fromiter((r[0] for r in pairs), np.int64, count=n),
                          np.fromiter((r[1] for r in pairs), np.int64, count=n),
                          sparse.csr_matrix((n, 0), dtype=np.float32), quick_key=file_key,
                          fingerprint=fingerprint)
        for known in (cached, full.vectors if full is not None else None):
            if known is not None and known.model == model and known.space is not None and \
                    np.array_equal(known.photo_ids, vectors.photo_ids) and \
                    np.array_equal(known.embedding_ids, vectors.embedding_ids):
                # the same pairs: its space holds, and is kept with the new fingerprint
                vectors.space, vectors.basis = known.space, known.basis
                _save_space(library, vectors, _load_space(library, model))
                break
        return _cached_similar(cache_id, vectors)


def _cached_similar(cache_id: str, vectors: Vectors) -> Vectors:
    if len(_similar_cache) > 3:
        _similar_cache.clear()
    _similar_cache[cache_id] = vectors
    return vectors


def vectors_space(library: Library, vectors: Vectors) -> np.ndarray:
    """``similarity_space`` of ``vectors`` (from ``search_index`` or ``similar_vectors``)."""
    with _lock:
        if vectors.space is None:
            stored = _load_space(library, vectors.model)
            vectors.space, vectors.basis, changed = _updated_space(library, vectors, stored)
            if changed or stored is None or stored.fingerprint != vectors.fingerprint:
                _save_space(library, vectors, None if changed else stored)
        return vectors.space


def similarity_space(library: Library, index: SearchIndex) -> np.ndarray:
    """The embeddings of ``index.vectors``' photos, L2-normalised, reduced by PCA and normalised
    again (as for clustering); kept with the vectors, and on disk beside the library
    (``Library.data_dir``) with its PCA basis. A later call (or process) reuses the rows whose
    embedding is unchanged and projects only the new ones on the stored basis; the basis is fitted
    again only when the model changed or the library has grown ``REFIT_GROWTH`` times since."""
    return vectors_space(library, index.vectors)


@dataclass
class Basis:
    """The PCA the space is projected on: ``components`` dim x d and ``offset`` (the mean's
    projection), or none (``components`` empty: only normalised), fitted on ``fit_n`` photos."""

    components: np.ndarray
    offset: np.ndarray
    fit_n: int
    dim: int

    @property
    def width(self) -> int:
        return self.components.shape[1] if self.components.size else self.dim

    def project(self, X: np.ndarray) -> np.ndarray:
        from photoclust.core.clustering.preprocess import l2_normalize

        X = X.astype(np.float32)
        if not self.components.size:
            return l2_normalize(X)
        norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", X, X)), 1e-12)
        return l2_normalize((X @ self.components) / norms[:, None] - self.offset)


@dataclass
class _Stored:
    photo_ids: np.ndarray
    embedding_ids: np.ndarray
    space: np.ndarray                 # mapped from ``rows_file`` (read whole from a legacy file)
    basis: Basis
    fingerprint: tuple | None = None  # the library's ``_fingerprint`` when the pairs were read
    rows_file: Path | None = None


def _updated_space(library: Library, vectors: Vectors, stored: _Stored | None
                   ) -> tuple[np.ndarray, Basis, bool]:
    """The space of ``vectors`` (from ``stored`` where it can be), its basis, and whether it
    differs from ``stored``."""
    n = len(vectors.photo_ids)
    if stored is None or n >= REFIT_GROWTH * max(stored.basis.fit_n, 1) or \
            stored.basis.dim != (_dim(library, vectors.model) or stored.basis.dim):
        basis = _fit_basis(library, vectors)
        space = np.zeros((n, basis.width), np.float32)
        _project_into(library, vectors, basis, space, None)
        return space, basis, True
    basis, m = stored.basis, len(stored.photo_ids)
    if m == n and np.array_equal(stored.photo_ids, vectors.photo_ids) and \
            np.array_equal(stored.embedding_ids, vectors.embedding_ids):
        return stored.space, basis, False  # unchanged: no copy of every row
    space = np.zeros((n, stored.space.shape[1]), np.float32)
    kept = np.zeros(n, bool)
    if m and n:
        at = np.minimum(np.searchsorted(stored.photo_ids, vectors.photo_ids), m - 1)
        kept = (stored.photo_ids[at] == vectors.photo_ids) & \
            (stored.embedding_ids[at] == vectors.embedding_ids)
        space[kept] = stored.space[at[kept]]
    new = np.flatnonzero(~kept)
    if len(new):
        _project_into(library, vectors, basis, space, new)
    return space, basis, bool(len(new)) or m != n


def _space_path(library: Library, model: str) -> Path:
    """The description of the kept space: its photo ids, embedding ids, basis, the library's
    fingerprint when it was kept, and the name of the file of its rows (``.npy``, mapped into
    memory: a query reads only the rows it needs). A file of an earlier version held the rows
    too: it is read whole once and written again as two."""
    return library.data_dir / f"similar-{model}.npz"


def _rows_files(library: Library, model: str) -> list[Path]:
    path = _space_path(library, model)
    return sorted(path.parent.glob(f"{path.stem}.*.npy"))


def _space_key(model: str) -> str:
    return json.dumps([SPACE_VERSION, SIMILAR_DIMENSIONS, SIMILAR_PCA_SAMPLE, model,
                       PREPROCESS_VERSION])


def _load_space(library: Library, model: str) -> _Stored | None:
    """The space kept on disk for ``model``; None when there is none, or it was kept by
    another version or model, or it is damaged (then it is built again)."""
    path = _space_path(library, model)
    try:
        with np.load(path) as data:
            if str(data["key"]) != _space_key(model):
                return None
            rows_file = fingerprint = None
            if "rows_file" in data.files:
                rows_file = path.parent / Path(str(data["rows_file"])).name
                space = np.load(rows_file, mmap_mode="r")
                fingerprint = tuple(json.loads(str(data["fingerprint"])))
            else:  # kept by an earlier version: the rows inside, read whole
                space = np.asarray(data["space"], np.float32)
            stored = _Stored(np.asarray(data["photo_ids"], np.int64),
                             np.asarray(data["embedding_ids"], np.int64),
                             space,
                             Basis(np.asarray(data["components"], np.float32),
                                   np.asarray(data["offset"], np.float32), int(data["fit_n"]),
                                   int(data["dim"])), fingerprint, rows_file)
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile):
        return None  # none yet, or unreadable: built again
    b, rows = stored.basis, len(stored.photo_ids)
    if b.components.size and (b.components.shape[0] != b.dim or b.offset.shape != (b.width,)) \
            or stored.space.dtype != np.float32 or stored.space.ndim != 2 \
            or stored.space.shape != (rows, b.width) or len(stored.embedding_ids) != rows \
            or np.any(np.diff(stored.photo_ids) <= 0):
        return None  # not what this code writes: built again
    return stored


def _save_space(library: Library, vectors: Vectors, stored: _Stored | None = None) -> None:
    """Keep the space for the next process (the rows under a new name, then the description
    naming them, written beside and renamed: a reader finds the old pair or the new one); only
    the description when ``stored`` holds the same rows already. A library that cannot be
    written keeps none."""
    basis = vectors.basis
    if library.read_only or vectors.space is None or basis is None:
        return
    path = _space_path(library, vectors.model)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    rows_file = stored.rows_file if stored is not None and stored.space is vectors.space \
        else None
    written = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if rows_file is None:
            written = rows_file = path.with_name(f"{path.stem}.{os.getpid()}-{time.time_ns()}.npy")
            tmp_rows = rows_file.with_name(f".{rows_file.name}.tmp")
            with open(tmp_rows, "wb") as f:
                np.save(f, np.asarray(vectors.space, dtype=np.float32))
            os.replace(tmp_rows, rows_file)
        np.savez(tmp, key=np.array(_space_key(vectors.model)), photo_ids=vectors.photo_ids,
                 embedding_ids=vectors.embedding_ids, rows_file=np.array(rows_file.name),
                 fingerprint=np.array(json.dumps(list(vectors.fingerprint))),
                 components=basis.components, offset=basis.offset, fit_n=np.array(basis.fit_n),
                 dim=np.array(basis.dim))
        os.replace(tmp, path)
    except OSError as exc:
        log.info("the space for similar photos is not kept on disk: %s", exc)
        tmp.unlink(missing_ok=True)
        if written is not None:
            for leftover in (written, written.with_name(f".{written.name}.tmp")):
                leftover.unlink(missing_ok=True)
        return
    for old in _rows_files(library, vectors.model):
        if old != rows_file:
            try:
                old.unlink()
            except OSError:
                pass  # still mapped elsewhere (Windows): removed by a later save


def _embedding_rows(library: Library, model: str, photo_ids=None):
    """A query of ``(photo id, vector)`` of the present photos embedded under ``model``, in id
    order (only ``photo_ids`` when given)."""
    query = (select(Photo.id, Embedding.vector)
             .join(Embedding, (Embedding.content_hash == Photo.content_hash)
                   & (Embedding.model == model)
                   & (Embedding.preprocess_version == PREPROCESS_VERSION))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    if photo_ids is not None:
        query = query.where(Photo.id.in_([int(i) for i in photo_ids]))
    return query




def _fill(X: np.ndarray, photo_ids: np.ndarray, rows) -> np.ndarray:
    """Write float16 vectors ``rows`` (id, bytes) into the rows of ``X`` of their ids; returns
    the rows of ``X`` written (a vector of another length than ``X``'s is left out)."""
    n, nbytes = len(photo_ids), 2 * X.shape[1]
    rows = [r for r in rows if len(r[1]) == nbytes]
    if not rows or n == 0:
        return np.zeros(0, np.int64)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    at = np.minimum(np.searchsorted(photo_ids, ids), n - 1)
    ok = photo_ids[at] == ids
    X[at[ok]] = np.frombuffer(b"".join(r[1] for r, keep in zip(rows, ok) if keep),
                              dtype="<f2").reshape(-1, X.shape[1])
    return at[ok]


def _dim(library: Library, model: str) -> int | None:
    with library.session() as s:
        dim = s.execute(select(Embedding.dim).where(Embedding.model == model)
                        .where(Embedding.preprocess_version == PREPROCESS_VERSION)
                        .limit(1)).scalar()
    return None if dim is None else int(dim)


def _fit_basis(library: Library, vectors: Vectors) -> Basis:
    """The PCA fitted on a fixed random sample of ``SIMILAR_PCA_SAMPLE`` of the photos."""
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor

    n, dim = len(vectors.photo_ids), _dim(library, vectors.model) or 1
    none = Basis(np.zeros((0, 0), np.float32), np.zeros(0, np.float32), n, dim)
    if n == 0:
        return none
    sample = np.sort(np.random.default_rng(0).choice(n, min(n, SIMILAR_PCA_SAMPLE),
                                                     replace=False))
    fit = np.zeros((len(sample), dim), "<f2")
    sample_ids = vectors.photo_ids[sample]
    with library.session() as s:
        read = [_fill(fit, sample_ids, s.connection().execute(
            _embedding_rows(library, vectors.model, sample_ids[i:i + 900])).all())
            for i in range(0, len(sample_ids), 900)]
    fit = fit[np.sort(np.concatenate(read))]
    if len(fit) <= 2:
        return none
    reducer = EmbeddingPreprocessor(min(SIMILAR_DIMENSIONS, dim, len(fit) - 1))
    reducer.fit(fit.astype(np.float32))
    if reducer.pca_ is None:
        return none
    components = reducer.pca_.components_.T.astype(np.float32)
    return Basis(components, reducer.pca_.mean_.astype(np.float32) @ components, n, dim)


def _project_into(library: Library, vectors: Vectors, basis: Basis, space: np.ndarray,
                  rows: np.ndarray | None) -> None:
    """Project the embeddings of ``rows`` of ``vectors`` (all when None) into those rows of
    ``space``: all are read ``SPACE_CHUNK`` at a time (no float32 copy of them all), a few by
    their ids."""
    n, dim = len(vectors.photo_ids), basis.dim
    if n == 0:
        return
    with library.session() as s:
        if rows is None:
            cursor = raw_cursor(s, _embedding_rows(library, vectors.model))
            parts = iter(lambda: cursor.fetchmany(SPACE_CHUNK), [])
        else:
            wanted = vectors.photo_ids[rows]
            parts = (s.connection().execute(_embedding_rows(
                library, vectors.model, wanted[i:i + 900])).all()
                for i in range(0, len(wanted), 900))
        for part in parts:
            block = np.zeros((len(part), dim), "<f2")
            ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
            written = _fill(block, ids, part)
            at = np.minimum(np.searchsorted(vectors.photo_ids, ids[written]), n - 1)
            ok = vectors.photo_ids[at] == ids[written]
            space[at[ok]] = basis.project(block[written[ok]])


def forget(library: Library) -> None:
    """Drop the cached indexes of ``library`` (tests; a library closed for good)."""
    prefix = f"{Path(library.path).resolve()}|"
    with _lock:
        for cache in (_cache, _similar_cache):
            for key in [k for k in cache if k.startswith(prefix)]:
                del cache[key]


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


def _photos_key(library: Library) -> tuple:
    """Changes when photos come or go, and when a scan re-reads one (it sets ``updated_at``)."""
    with library.session() as s:
        row = s.execute(select(func.count(), func.max(Photo.id), func.sum(Photo.id),
                               func.max(Photo.updated_at))
                        .where(Photo.status == PhotoStatus.PRESENT)).one()
    return tuple(str(v) if v is not None and not isinstance(v, int) else v for v in row)


def _embeddings_key(library: Library, model: str) -> tuple:
    """Changes when embeddings come or go (the largest rowid: read from the primary key's index,
    where the newest ``created_at`` would read every stored vector)."""
    with library.session() as s:
        return tuple(s.execute(select(func.count(), func.max(literal_column("rowid")))
                               .select_from(Embedding).where(Embedding.model == model)).one())


def _fingerprint(library: Library, model: str) -> tuple:
    """Changes when photos may have joined the pairs of present photo and embedding
    (``similar_vectors``), read from indexes rather than every row (about 0.2 s at a million
    photos against 4 s for ``_present_embeddings_key``): which photos are present (their count,
    the sum and largest of their ids: a new photo, one back on disk), the largest embedding rowid
    (a new embedding has a new one) and a sum over every photo's id times the first character of
    its content hash (a photo whose content changed to one embedded already: caught 15 times in
    16). Photos that left the pairs (gone from disk, an embedding deleted) can only be missing
    from an answer: ``finder.similar_photos`` checks the pairs of the photos it answers with."""
    with library.session() as s:
        con = s.connection()
        present = con.execute(select(func.count(), func.sum(Photo.id), func.max(Photo.id))
                              .where(Photo.status == PhotoStatus.PRESENT)).one()
        hashes = con.execute(select(func.sum(Photo.id * func.unicode(Photo.content_hash))))\
            .scalar()
        newest = con.execute(select(func.max(_EMBEDDING_ROWID)).select_from(Embedding)).scalar()
    return (model, PREPROCESS_VERSION, *present, hashes, newest)


def _present_embeddings_key(library: Library, model: str) -> tuple:
    """Changes when the embeddings of the present photos change: which photos have one, and
    which embedding each has (its rowid), not when a scan merely re-reads the photos."""
    query = (select(func.count(), func.sum(Photo.id), func.sum(_EMBEDDING_ROWID),
                    func.sum(Photo.id * _EMBEDDING_ROWID % 1_000_003))
             .join(Embedding, (Embedding.content_hash == Photo.content_hash)
                   & (Embedding.model == model)
                   & (Embedding.preprocess_version == PREPROCESS_VERSION))
             .where(Photo.status == PhotoStatus.PRESENT))
    with library.session() as s:
        return tuple(s.execute(query).one())


def _build_vectors(library: Library, model: str, key: tuple,
                   previous: Vectors | None = None) -> Vectors:
    """The stored top classes of every present embedded photo, in one query, or those of the
    photos whose embedding is not in ``previous`` only (the vectors themselves are read only when
    "similar" first needs them)."""
    join = (Embedding, (Embedding.content_hash == Photo.content_hash)
            & (Embedding.model == model) & (Embedding.preprocess_version == PREPROCESS_VERSION))
    if previous is not None and len(previous.photo_ids):
        with library.session() as s:
            pairs = raw_cursor(s, select(Photo.id, _EMBEDDING_ROWID).join(*join)
                                .where(Photo.status == PhotoStatus.PRESENT)
                                .order_by(Photo.id)).fetchall()
        photo_ids = np.fromiter((r[0] for r in pairs), dtype=np.int64, count=len(pairs))
        embedding_ids = np.fromiter((r[1] for r in pairs), dtype=np.int64, count=len(pairs))
        at = np.minimum(np.searchsorted(previous.photo_ids, photo_ids), len(previous.photo_ids) - 1)
        kept = (previous.photo_ids[at] == photo_ids) & (previous.embedding_ids[at] == embedding_ids)
        new = np.flatnonzero(~kept)
        if len(new) <= len(photo_ids) // 2:  # else one query for all is faster
            tops: dict[int, str | None] = {}
            wanted = embedding_ids[new].tolist()
            with library.session() as s:
                for i in range(0, len(wanted), 900):
                    tops.update(s.execute(select(_EMBEDDING_ROWID, Embedding.top_classes)
                                          .select_from(Embedding)
                                          .where(_EMBEDDING_ROWID.in_(wanted[i:i + 900]))).all())
            stacked = sparse.vstack([previous.probs[at[kept]],
                                     _class_matrix([tops.get(e) for e in wanted])], format="csr")
            order = np.argsort(np.concatenate([np.flatnonzero(kept), new]), kind="stable")
            return Vectors(key, model, photo_ids, embedding_ids, stacked[order])
    query = (select(Photo.id, Embedding.top_classes, _EMBEDDING_ROWID).join(*join)
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        rows_read = raw_cursor(s, query).fetchall()
    photo_ids = np.fromiter((r[0] for r in rows_read), dtype=np.int64, count=len(rows_read))
    embedding_ids = np.fromiter((r[2] for r in rows_read), dtype=np.int64, count=len(rows_read))
    return Vectors(key, model, photo_ids, embedding_ids, _class_matrix([r[1] for r in rows_read]))


def _class_matrix(tops: list[str | None]) -> sparse.csr_matrix:
    """The probabilities of the stored top classes ``tops`` (JSON), one row each."""
    vocab = vocabulary()
    rows, cols, vals = [], [], []
    class_index = vocab.class_index
    for row, top in enumerate(tops):
        try:  # (one json.loads of all rows at once is slower: the collector runs over it)
            for name, prob in json.loads(top) if top else ():
                k, p = class_index.get(name), float(prob)
                if k is not None:
                    rows.append(row)
                    cols.append(k)
                    vals.append(p)
        except (ValueError, TypeError):
            continue  # a damaged row: what it has read is kept, it spoils no other
    return sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                             shape=(len(tops), vocab.n_classes))


def path_text(path: str) -> str:
    """The words of a path that describe a photo: its file name (without the extension) and the
    folders just above (string operations: ``PurePath`` takes seconds over 100,000 paths)."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return " ".join([*(p for p in parts[-1 - PATH_FOLDERS:-1] if p), stem])


def _read_photos(library: Library, key: tuple, previous: PhotoFacts | None) -> PhotoFacts:
    """The facts of the present photos; ``previous`` (with a new ``key``) when they are the same
    (a scan sets every photo's ``updated_at`` even when nothing else changed), ``previous`` with
    the new photos' facts appended when photos were only added (new photos have the largest
    ids: the first search after an import reads their facts only)."""
    query = (select(Photo.id, Photo.path, Photo.taken_at, Photo.camera)
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:  # raw rows (no row processing: 100,000 rows)
        rows = raw_cursor(s, query).fetchall()
    rows_hash = hash(tuple(rows))
    if previous is not None and previous.rows_hash == rows_hash:
        previous.key = key
        return previous
    m = len(previous.ids) if previous is not None else 0
    if previous is not None and 0 < m < len(rows) and hash(tuple(rows[:m])) == previous.rows_hash:
        added = _facts(key, rows[m:], rows_hash)
        return PhotoFacts(
            key=key, ids=np.concatenate([previous.ids, added.ids]),
            paths=previous.paths + added.paths,
            years=np.concatenate([previous.years, added.years]),
            months=np.concatenate([previous.months, added.months]),
            cameras=previous.cameras + added.cameras,
            path_words=previous.path_words.extended(added.path_words),
            camera_words=previous.camera_words.extended(added.camera_words), rows_hash=rows_hash)
    return _facts(key, rows, rows_hash)


def _facts(key: tuple, rows: list, rows_hash: int) -> PhotoFacts:
    """The facts of photo ``rows`` (id, path, taken_at, camera), in id order."""
    n = len(rows)
    paths = [r[1] for r in rows]
    cameras = [r[3] or "" for r in rows]
    dates = [_year_month(r[2]) for r in rows]
    return PhotoFacts(
        key=key, ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=n), paths=paths,
        years=np.fromiter((d[0] for d in dates), dtype=np.int16, count=n),
        months=np.fromiter((d[1] for d in dates), dtype=np.int8, count=n),
        cameras=cameras, path_words=WordColumn([path_text(p) for p in paths]),
        camera_words=WordColumn(cameras), rows_hash=rows_hash)


def _year_month(stored: str | None) -> tuple[int, int]:
    """Year and month of a date as SQLite keeps it ("2023-07-14 10:00:00.000000"); 0, 0 when
    there is none or it is not one."""
    try:
        year, month = int(stored[:4]), int(stored[5:7])  # type: ignore[index]
    except (TypeError, ValueError):
        return 0, 0
    return (year, month) if 1 <= month <= 12 and 0 < year < 32768 else (0, 0)


def _build_index(library: Library, key: tuple, photos: PhotoFacts, vectors: Vectors,
                 vocab: Vocabulary) -> SearchIndex:
    """The index over ``photos`` and ``vectors`` with the placements read now."""
    with library.session() as s:
        placed = raw_cursor(s, select(Assignment.photo_id, Assignment.cluster_id)).fetchall()
        clusters = s.execute(select(Cluster.id, Cluster.name, Cluster.name_source)
                             .where(Cluster.active.is_(True))).all()
    ids, n = photos.ids, len(photos.ids)
    cluster_ids = np.full(n, NO_CLUSTER, dtype=np.int64)
    if n and placed:
        pids = np.fromiter((r[0] for r in placed), dtype=np.int64, count=len(placed))
        cids = np.fromiter((r[1] for r in placed), dtype=np.int64, count=len(placed))
        at = np.minimum(np.searchsorted(ids, pids), n - 1)
        ok = ids[at] == pids
        cluster_ids[at[ok]] = cids[ok]
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
    return SearchIndex(key=key, photos=photos, cluster_ids=cluster_ids, cluster_names=names,
                       vectors=vectors, vector_rows=vector_rows, row_of_vector=row_of_vector)
