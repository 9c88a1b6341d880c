"""Reading stored embeddings back: all vectors of a model in one query, top classes by photo.

Vectors are stored once per content (``content_hash``); every present photo row with that content
gets the same vector, so duplicates cluster together without being embedded twice.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator

import numpy as np
from sqlalchemy import Integer, func, literal_column, select

from photoclust.core.embedding.backbones import DEFAULT_MODEL, PREPROCESS_VERSION
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import Library, raw_cursor
from photoclust.core.library.models import (
    ClusteringRun,
    Embedding,
    Photo,
    PhotoStatus,
    Setting,
)

#: Rows read at a time by ``load_embeddings``.
LOAD_CHUNK = 4096


def _embedding_of_photo(model: str, preprocess_version: int):
    return (Embedding.content_hash == Photo.content_hash) & (Embedding.model == model) & (
        Embedding.preprocess_version == preprocess_version)




def newest_clustering_model(library: Library) -> str | None:
    """The model of the newest clustering run, the one the current clusters were made with."""
    with library.session() as s:
        return s.scalar(select(ClusteringRun.model).order_by(ClusteringRun.id.desc()).limit(1))


def library_model(library: Library) -> str:
    """The model this library works with when none is named: the one its newest clustering used
    (the current clusters live in its space), else the one chosen in its settings, else the one
    most of its embeddings have, else ``DEFAULT_MODEL``. A library organised before the default
    changed keeps its model, so its clusters, corrections and new photos stay in one space."""
    clustered = newest_clustering_model(library)
    if clustered:
        return clustered
    with library.session() as s:
        chosen = s.scalar(select(Setting.value).where(Setting.key == "model"))
        try:
            chosen = json.loads(chosen) if chosen else None
        except ValueError:
            chosen = None
        if isinstance(chosen, str) and chosen:
            return chosen
        embedded = s.scalar(select(Embedding.model).group_by(Embedding.model)
                            .order_by(func.count().desc()).limit(1))
    return embedded or DEFAULT_MODEL


def load_embeddings(library: Library, model: str,
                    preprocess_version: int = PREPROCESS_VERSION,
                    dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``(photo_ids, X)``: int64 ids of the present photos that have an embedding under ``model``,
    in id order, and their vectors as a ``len(ids) x dim`` array of ``dtype`` (0 x 0 when none).
    ``np.float16`` (as stored) halves the memory: 2.6 GB instead of 5.1 GB for a million photos
    of 1,280 numbers."""
    query = (
        select(Photo.id, Embedding.dim, Embedding.vector)
        .join(Embedding, _embedding_of_photo(model, preprocess_version))
        .where(Photo.status == PhotoStatus.PRESENT)
        .order_by(Photo.id)
    )
    count_query = select(func.count()).select_from(query.subquery())
    with library.session() as s:
        n = s.scalar(count_query) or 0
        if not n:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=dtype)
        # read LOAD_CHUNK rows at a time into the result (no list of every row and no joined
        # copy of every vector: a million 1,280-number vectors are 5 GB as float32 already)
        photo_ids = np.zeros(n, dtype=np.int64)
        vectors: np.ndarray | None = None
        filled = 0
        streamed = query.execution_options(yield_per=LOAD_CHUNK)  # else the ORM reads all rows
        for part in s.execute(streamed).partitions(LOAD_CHUNK):
            if vectors is None:
                vectors = np.zeros((n, part[0][1]), dtype=dtype)
            part = part[:n - filled]
            photo_ids[filled:filled + len(part)] = [r[0] for r in part]
            vectors[filled:filled + len(part)] = np.frombuffer(
                b"".join(r[2] for r in part), dtype="<f2").reshape(len(part), vectors.shape[1])
            filled += len(part)
    assert vectors is not None
    return photo_ids[:filled], vectors[:filled]


def embedded_photo_ids(library: Library, model: str,
                       preprocess_version: int = PREPROCESS_VERSION) -> np.ndarray:
    """The int64 ids of the present photos with an embedding under ``model``, in id order: the
    rows of ``load_embeddings``, without reading a vector."""
    query = (select(Photo.id).join(Embedding, _embedding_of_photo(model, preprocess_version))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        return np.fromiter((r[0] for r in raw_cursor(s, query)), dtype=np.int64)


def embedded_photo_rows(library: Library, model: str,
                        preprocess_version: int = PREPROCESS_VERSION
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``(photo_ids, embedding_rows)``: ``embedded_photo_ids`` and the rowid of each photo's
    embedding (which vector it has: a photo re-embedded gets another row)."""
    query = (select(Photo.id, literal_column("embeddings.rowid", Integer))
             .join(Embedding, _embedding_of_photo(model, preprocess_version))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    with library.session() as s:
        rows = raw_cursor(s, query).fetchall()
    return (np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)))


def iter_embeddings(library: Library, model: str, photo_ids: Iterable[int] | None = None,
                    preprocess_version: int = PREPROCESS_VERSION,
                    chunk: int = LOAD_CHUNK) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(ids, vectors)`` blocks of at most ``chunk`` present photos with an embedding under
    ``model`` (those of ``photo_ids`` only, when given), in id order, vectors float16 as stored:
    a whole library's embeddings in bounded memory."""
    def block(part):
        dim = part[0][1]
        return (np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part)),
                np.frombuffer(b"".join(r[2] for r in part), dtype="<f2")
                .reshape(len(part), dim).astype(np.float16))

    def blocks(query):
        with library.session() as s:
            for part in s.execute(query.execution_options(yield_per=chunk)).partitions(chunk):
                yield block(part)

    query = (select(Photo.id, Embedding.dim, Embedding.vector)
             .join(Embedding, _embedding_of_photo(model, preprocess_version))
             .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id))
    if photo_ids is None:  # every row: sqlite3's own cursor (the ORM's rows cost as much again)
        with library.session() as s:
            cursor = raw_cursor(s, query)
            while part := cursor.fetchmany(chunk):
                yield block(part)
        return
    for part in chunks(sorted(int(i) for i in photo_ids)):
        yield from blocks(query.where(Photo.id.in_(part)))


def load_top_classes(library: Library, model: str, photo_ids: Iterable[int],
                     preprocess_version: int = PREPROCESS_VERSION
                     ) -> dict[int, list[tuple[str, float]]]:
    """The ImageNet classes the model saw in each photo, most probable first:
    ``{photo_id: [(class_name, probability), ...]}``; photos without an embedding are left out."""
    ids = [int(i) for i in photo_ids]
    result: dict[int, list[tuple[str, float]]] = {}
    with library.session() as s:
        for chunk in chunks(ids):
            query = (
                select(Photo.id, Embedding.top_classes)
                .join(Embedding, _embedding_of_photo(model, preprocess_version))
                .where(Photo.id.in_(chunk))
            )
            for photo_id, top_classes in s.execute(query):
                if top_classes:
                    result[photo_id] = [(str(name), float(p))
                                        for name, p in json.loads(top_classes)]
    return result

