"""Fast library contents for the editing and identity tests: photo and embedding rows written
directly into the tables (no image decoding), and a snapshot of the editable state."""
from __future__ import annotations

import sqlite3

import numpy as np
from sqlalchemy import insert, select

from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library.models import (
    Assignment,
    CannotLink,
    Cluster,
    Embedding,
    Photo,
)


def add_photos(library, n: int, prefix: str = "/photos/p") -> list[int]:
    """``n`` present photo rows with distinct paths and content hashes; returns their ids."""
    with library.session() as s:
        start = s.scalar(select(Photo.id).order_by(Photo.id.desc()).limit(1)) or 0
        rows = [{"path": f"{prefix}{start + i:05d}.jpg", "content_hash": f"h{start + i:05d}",
                 "file_size": 1000 + i, "mtime_ns": 1, "width": 640, "height": 480,
                 "status": "present"} for i in range(n)]
        s.execute(insert(Photo), rows)
        return list(s.scalars(select(Photo.id).where(Photo.id > start).order_by(Photo.id)))


def add_embeddings(library, photo_ids, X, model: str = "efficientnet_lite0",
                   preprocess_version: int = PREPROCESS_VERSION, top_classes=None) -> None:
    """float16 embedding rows for the photos' contents (as the embedding engine stores them)."""
    X = np.asarray(X, dtype=np.float16)
    with library.session() as s:
        hashes = dict(tuple(row) for row in s.execute(select(Photo.id, Photo.content_hash)
                                .where(Photo.id.in_(list(map(int, photo_ids))))))
        s.execute(insert(Embedding), [
            {"content_hash": hashes[int(pid)], "model": model,
             "preprocess_version": preprocess_version, "dim": X.shape[1],
             "vector": X[i].tobytes(),
             "top_classes": None if top_classes is None else top_classes[i]}
            for i, pid in enumerate(photo_ids)])


def snapshot(library) -> dict:
    """Everything an edit may change: active clusters with names, assignments, cannot-links."""
    with library.session() as s:
        clusters = {c.id: (c.name, c.name_source) for c in
                    s.scalars(select(Cluster).where(Cluster.active.is_(True)))}
        assignments = {pid: (cid, source) for pid, cid, source in
                       s.execute(select(Assignment.photo_id, Assignment.cluster_id,
                                        Assignment.source))}
        links = {tuple(row) for row in s.execute(select(CannotLink.photo_id,
                                                             CannotLink.cluster_id))}
    return {"clusters": clusters, "assignments": assignments, "cannot_links": links}


def members(library, cluster_id: int) -> set[int]:
    with library.session() as s:
        return set(s.scalars(select(Assignment.photo_id)
                             .where(Assignment.cluster_id == cluster_id)))


def cluster_of(library) -> dict[int, int]:
    with library.session() as s:
        return dict(tuple(row) for row in s.execute(select(Assignment.photo_id,
                                                              Assignment.cluster_id)))


def check_invariants(library) -> None:
    """Every assignment points to an active cluster (a photo has at most one by the primary key)
    and no automatic assignment contradicts a cannot-link."""
    with library.session() as s:
        inactive = s.scalars(select(Assignment.photo_id).join(Cluster, Cluster.id ==
                                                              Assignment.cluster_id)
                             .where(Cluster.active.is_(False))).all()
        assert inactive == [], f"photos in inactive clusters: {inactive}"
        clash = s.execute(select(Assignment.photo_id).join(
            CannotLink, (CannotLink.photo_id == Assignment.photo_id)
            & (CannotLink.cluster_id == Assignment.cluster_id))
            .where(Assignment.source == "auto")).all()
        assert clash == [], f"auto assignments against cannot-links: {clash}"


def labelled_library(library, n_classes=3, per_class=30, seed=0):
    """Photos with embeddings in ``n_classes`` clear groups, clustered with classes 0 and 1
    merged into one cluster. Returns (photo ids, true labels, {label group -> cluster id})."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, 24))
    X = np.concatenate([c + 0.3 * rng.normal(size=(per_class, 24)) for c in centres])
    y = np.repeat(np.arange(n_classes), per_class)
    ids = add_photos(library, len(y))
    add_embeddings(library, ids, X)
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, np.where(y <= 1, 0, y - 1))
    clusters = cluster_of(library)
    return np.array(ids), y, {0: clusters[ids[0]], 1: clusters[ids[-1]]}


def as_version_1(path, drop_tables=(), statements=()) -> None:
    """Rewrite the library file at ``path`` as photoclust 1 wrote it: without ``drop_tables``
    (the tables later versions added), schema version 1, SQLite's ``user_version`` 0; then run
    ``statements`` (``(sql, parameters)``, e.g. a version 1 setting) in the same transaction."""
    con = sqlite3.connect(path)
    for table in drop_tables:
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE schema_info SET version = 1")
    con.execute("PRAGMA user_version = 0")
    for sql, parameters in statements:
        con.execute(sql, parameters)
    con.commit()
    con.close()
