"""``ClusterJob``: load a library's embeddings, cluster them, name the clusters, store the run.

Stages, each a cancel point: load vectors (one query), preprocess (L2, PCA 128, L2), choose k
unless given, cluster, suggest names from the photos' ImageNet classes, then hand the labels to
``identity.apply_clustering``, which keeps cluster ids, user names and user-placed photos stable.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from photoclust.core.clustering import METHODS
from photoclust.core.clustering.algorithms import (
    PhotoAgglomerative,
    PhotoHDBSCAN,
    PhotoKMeans,
    relabel_by_size,
)
from photoclust.core.clustering.choose_k import KChooser
from photoclust.core.clustering.contrastive import adapt_embeddings
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.clustering.naming import suggest_names
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.clustering.scan_refine import SCANRefiner
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import library_model, load_embeddings, load_top_classes
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.db import Library
from photoclust.core.library.models import Embedding, Photo
from photoclust.core.queries import list_clusters

#: Below this many photos, hdbscan and scan fall back to K-means (one cluster with auto k).
TINY_COLLECTION = 5

#: Per-photo scores for every cluster are handed to identity (for cannot-links) up to this size.
MAX_LABEL_SCORES = 20_000_000


@dataclass
class ClusterResult:
    run_id: int
    model: str
    method: str
    k: int
    k_auto: bool
    n: int
    seconds: float
    # The library's active clusters after the run, {"id", "name", "size"}, largest first.
    clusters: list[dict] = field(default_factory=list)
    photo_ids: np.ndarray | None = None
    labels: np.ndarray | None = None

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "k": self.k, "k_auto": self.k_auto, "method": self.method,
                "model": self.model, "n": self.n, "seconds": round(self.seconds, 2),
                "clusters": self.clusters}


def parse_k(value: int | str) -> int | str:
    """``"auto"`` or a positive int (from the CLI, settings or the GUI)."""
    if value == "auto":
        return value
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise JobError(f"k must be 'auto' or a positive number, not {value!r}") from None
    if k < 1:
        raise JobError(f"k must be at least 1, not {k}")
    return k


def cluster_embeddings(Z: np.ndarray, k: int | str, method: str, random_state: int = 0,
                       ctx: JobContext | None = None):
    """Cluster preprocessed embeddings ``Z``: ``(labels, confidences, scores)``, where ``scores``
    is ``(n, k)``, higher meaning closer (None when too large to hand around).

    ``k="auto"`` chooses k with ``KChooser`` (HDBSCAN always finds its own). ``scan`` starts from
    the same k and trains a SCAN head on the neighbour graph."""
    ctx = ctx or JobContext()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    if len(Z) < TINY_COLLECTION and method in ("hdbscan", "scan"):
        # Density estimates and a trained head need more photos than this; K-means does not.
        method, k = "kmeans", (1 if k == "auto" else k)
    if method != "hdbscan":
        k = KChooser(random_state=random_state).fit(Z, ctx=ctx).n_clusters_ if k == "auto" \
            else min(int(k), len(Z))
    if method == "scan":
        refiner = SCANRefiner(k, hidden=512, epochs=50, random_state=random_state)
        refiner.fit(Z, ctx=ctx)
        # A head may leave some of its k outputs unused: number the used ones 0..k'-1.
        labels = relabel_by_size(refiner.labels_)
        used = [int(refiner.labels_[labels == new][0]) for new in range(int(labels.max()) + 1)]
        return labels, refiner.confidence_, refiner.probabilities_[:, used]
    if method == "kmeans":
        est = PhotoKMeans(k, random_state=random_state)
    elif method == "agglomerative":
        est = PhotoAgglomerative(k, random_state=random_state)
    else:
        est = PhotoHDBSCAN(random_state=random_state)
    est.fit(Z, ctx=ctx)
    scores = None
    if len(Z) * est.n_clusters_ <= MAX_LABEL_SCORES:
        centers = est.cluster_centers_
        scores = -(((Z ** 2).sum(1)[:, None]) - 2 * Z @ centers.T + (centers ** 2).sum(1))
    return est.labels_, est.confidence_, scores


class ClusterJob(Job[ClusterResult]):
    """Cluster every embedded present photo of ``library``.

    ``method``: ``kmeans`` (default; measured best or equal on every labelled set),
    ``agglomerative`` (Ward), ``hdbscan`` (finds k itself, ``k`` must be ``"auto"``) or ``scan``
    (K-means k, then a SCAN head trained on the neighbour graph). ``adapt``: first adapt the
    embeddings to the library by contrastive training on augmented views (slow: two extra model
    passes per photo; see ``contrastive``).
    """

    title = "Clustering photos"

    def __init__(self, library: Library, model: str | None = None, k: int | str = "auto",
                 method: str = "kmeans", n_components: int = 128, adapt: bool = False,
                 random_state: int = 0):
        self.library = library
        self.model = model or library_model(library)
        self.k = k
        self.method = method
        self.n_components = n_components
        self.adapt = adapt
        self.random_state = random_state

    def prepare(self) -> None:
        if self.method not in METHODS:
            raise JobError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        self.k = parse_k(self.k)
        if self.method == "hdbscan" and self.k != "auto":
            raise JobError("hdbscan finds the number of clusters itself; use --k auto")
        with self.library.session() as s:
            count = s.scalar(select(func.count()).select_from(Photo).join(
                Embedding, (Embedding.content_hash == Photo.content_hash)
                & (Embedding.model == self.model)
                & (Embedding.preprocess_version == PREPROCESS_VERSION))
                .where(Photo.status == "present"))
        if not count:
            raise JobError(f"no photo has an embedding under model {self.model!r} yet; "
                           "run `photoclust embed` first")

    def run(self, ctx: JobContext) -> ClusterResult:
        started = time.monotonic()
        ctx.report(0, 0, "loading embeddings")
        photo_ids, X = load_embeddings(self.library, self.model)
        if len(photo_ids) == 0:
            raise JobError(f"no photo has an embedding under model {self.model!r}")
        ctx.raise_if_cancelled()
        if self.adapt:
            X = adapt_embeddings(self.library, self.model, photo_ids, X,
                                 random_state=self.random_state, ctx=ctx)
        ctx.report(0, 0, "preprocessing")
        preprocessor = EmbeddingPreprocessor(self.n_components, random_state=self.random_state)
        Z = preprocessor.fit_transform(X)
        ctx.raise_if_cancelled()
        k_auto = self.k == "auto"
        labels, confidence, scores = cluster_embeddings(Z, self.k, self.method,
                                                        self.random_state, ctx)
        k = len(np.unique(labels))
        ctx.raise_if_cancelled()
        ctx.report(0, 0, "naming clusters")
        names = suggest_names(labels, photo_ids,
                              load_top_classes(self.library, self.model, photo_ids))
        params = {"k": "auto" if k_auto else self.k, "n_components": self.n_components,
                  "adapt": self.adapt,
                  "random_state": self.random_state, "n": len(photo_ids)}
        run_id = apply_clustering(self.library, self.model, self.method, photo_ids, labels,
                                  confidences=confidence, suggested_names=names, params=params,
                                  label_scores=scores)
        result = ClusterResult(run_id=run_id, model=self.model, method=self.method,
                               k=k, k_auto=k_auto, n=len(photo_ids),
                               seconds=time.monotonic() - started, photo_ids=photo_ids,
                               labels=labels)
        result.clusters = [{"id": c.id, "name": c.name, "size": c.size}
                           for c in list_clusters(self.library)]
        ctx.report(1, 1, f"{result.k} clusters")
        return result
