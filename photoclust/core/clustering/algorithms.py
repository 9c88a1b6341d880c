"""Clustering algorithms over preprocessed embeddings, each giving labels and a confidence.

Every estimator follows the scikit-learn contract (parameters in ``__init__``, ``fit`` returns
``self``, results in ``labels_``, ``cluster_centers_`` and ``confidence_``) and takes an optional
``ctx`` (a ``photoclust.core.jobs.JobContext``) in ``fit`` for progress and cancel points.

``confidence_`` is the centroid margin ``1 - d1 / d2`` (``d1``, ``d2``: distances to the nearest and
second-nearest cluster centre): 1 at a centre, 0 on the boundary between two clusters. It is
comparable across methods, which the review queue and the GUI rely on.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import (
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
    kmeans_plusplus,
)
from sklearn.utils.validation import validate_data

from photoclust.core.jobs import JobContext

#: Up to this many photos, full-batch K-means with several restarts; above, mini-batches.
FULL_KMEANS_MAX = 20_000
#: Ward linkage needs O(n^2) memory; above this, it runs on K-means micro-clusters.
AGGLOMERATIVE_MAX = 8_000
#: HDBSCAN is fitted on at most this many photos; the rest join their nearest cluster.
HDBSCAN_MAX = 20_000


def _check(ctx: JobContext | None) -> None:
    if ctx is not None:
        ctx.raise_if_cancelled()


def _report(ctx: JobContext | None, done: int, total: int, message: str) -> None:
    if ctx is not None:
        ctx.report(done, total, message)


def nearest_centers(X: np.ndarray, centers: np.ndarray, chunk: int = 65_536):
    """Index of the nearest and distances to the two nearest centres, in chunks to bound memory."""
    n = len(X)
    labels = np.empty(n, dtype=np.int64)
    d1 = np.empty(n, dtype=np.float32)
    d2 = np.empty(n, dtype=np.float32)
    c_sq = (centers ** 2).sum(1)
    for start in range(0, n, chunk):
        block = X[start:start + chunk]
        dist = (block ** 2).sum(1)[:, None] - 2 * block @ centers.T + c_sq[None, :]
        dist = np.sqrt(np.maximum(dist, 0))
        if centers.shape[0] == 1:
            labels[start:start + chunk] = 0
            d1[start:start + chunk] = dist[:, 0]
            d2[start:start + chunk] = np.inf
            continue
        two = np.argpartition(dist, 1, axis=1)[:, :2]
        rows = np.arange(len(block))
        a, b = dist[rows, two[:, 0]], dist[rows, two[:, 1]]
        swap = b < a
        labels[start:start + chunk] = np.where(swap, two[:, 1], two[:, 0])
        d1[start:start + chunk] = np.minimum(a, b)
        d2[start:start + chunk] = np.maximum(a, b)
    return labels, d1, d2


def margin_confidence(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """``1 - d1/d2`` clipped to [0, 1]: how clearly a photo sits with its own centre."""
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = 1.0 - d1 / np.maximum(d2, 1e-12)
    conf[~np.isfinite(conf)] = 1.0
    return np.clip(conf, 0.0, 1.0).astype(np.float32)


def centers_of(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean of each cluster's rows (labels 0..n_clusters-1; empty clusters get a zero centre)."""
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float32)
    sums = np.zeros((n_clusters, X.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, X)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1, largest cluster first (stable, readable output)."""
    uniq, counts = np.unique(labels, return_counts=True)
    order = uniq[np.argsort(-counts, kind="stable")]
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping[v] for v in labels], dtype=np.int64)


class _CentroidResultMixin:
    def _finish(self, X: np.ndarray, labels: np.ndarray) -> None:
        labels = relabel_by_size(labels)
        k = int(labels.max()) + 1
        centers = centers_of(X, labels, k)
        nearest, d1, d2 = nearest_centers(X, centers)
        own = np.sqrt(((X - centers[labels]) ** 2).sum(1))
        # Distance to the own centre, and to the nearest other one.
        d_other = np.where(nearest == labels, d2, d1)
        self.labels_ = labels
        self.cluster_centers_ = centers
        self.n_clusters_ = k
        self.confidence_ = margin_confidence(own, np.maximum(d_other, own))


class PhotoKMeans(_CentroidResultMixin, ClusterMixin, BaseEstimator):
    """K-means: full batch with ``n_init`` restarts for small collections, mini-batch with a cancel
    point per batch for large ones.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(300, centers=3, random_state=0)
    >>> PhotoKMeans(n_clusters=3).fit(X.astype("float32")).n_clusters_
    3
    """

    def __init__(self, n_clusters: int = 8, n_init: int = 4, max_epochs: int = 20,
                 batch_size: int = 4096, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X, y=None, ctx: JobContext | None = None):
        X = validate_data(self, X, dtype=np.float32, order="C")
        k = max(1, min(int(self.n_clusters), len(X)))
        if len(X) <= FULL_KMEANS_MAX:
            labels = self._fit_full(X, k, ctx)
        else:
            labels = self._fit_minibatch(X, k, ctx)
        self._finish(X, labels)
        return self

    def _fit_full(self, X, k, ctx):
        best, best_inertia = None, np.inf
        for run in range(self.n_init):
            _check(ctx)
            _report(ctx, run, self.n_init, f"K-means k={k}, restart {run + 1}/{self.n_init}")
            km = KMeans(k, n_init=1, random_state=self.random_state + run).fit(X)
            if km.inertia_ < best_inertia:
                best, best_inertia = km.labels_, km.inertia_
        return best

    def _fit_minibatch(self, X, k, ctx):
        rng = np.random.default_rng(self.random_state)
        sample = X[rng.choice(len(X), min(len(X), 20 * k + 10_000), replace=False)]
        init, _ = kmeans_plusplus(sample, k, random_state=self.random_state)
        mbk = MiniBatchKMeans(k, init=init, n_init=1, batch_size=self.batch_size,
                              random_state=self.random_state)
        n_batches = -(-len(X) // self.batch_size)
        previous = init.copy()
        for epoch in range(self.max_epochs):
            order = rng.permutation(len(X))
            for b in range(n_batches):
                _check(ctx)
                mbk.partial_fit(X[order[b * self.batch_size:(b + 1) * self.batch_size]])
            _report(ctx, epoch + 1, self.max_epochs, f"mini-batch K-means k={k}")
            shift = float(np.abs(mbk.cluster_centers_ - previous).max())
            previous = mbk.cluster_centers_.copy()
            if shift < 1e-3:
                break
        labels, _, _ = nearest_centers(X, mbk.cluster_centers_)
        return labels


class PhotoAgglomerative(_CentroidResultMixin, ClusterMixin, BaseEstimator):
    """Ward agglomerative clustering; on large collections it merges K-means micro-clusters
    (``micro_clusters`` of them) instead of single photos, to stay within memory."""

    def __init__(self, n_clusters: int = 8, micro_clusters: int = 1000, random_state: int = 0):
        self.n_clusters = n_clusters
        self.micro_clusters = micro_clusters
        self.random_state = random_state

    def fit(self, X, y=None, ctx: JobContext | None = None):
        X = validate_data(self, X, dtype=np.float32, order="C")
        k = max(1, min(int(self.n_clusters), len(X)))
        _check(ctx)
        _report(ctx, 0, 2, f"agglomerative k={k}")
        if k == 1:
            labels = np.zeros(len(X), dtype=np.int64)
        elif len(X) <= AGGLOMERATIVE_MAX:
            labels = AgglomerativeClustering(k, linkage="ward").fit_predict(X)
        else:
            micro = PhotoKMeans(max(k, self.micro_clusters), n_init=1,
                                random_state=self.random_state).fit(X, ctx=ctx)
            _check(ctx)
            merged = AgglomerativeClustering(k, linkage="ward").fit_predict(micro.cluster_centers_)
            labels = merged[micro.labels_]
        _report(ctx, 2, 2, f"agglomerative k={k}")
        self._finish(X, labels)
        return self


class PhotoHDBSCAN(_CentroidResultMixin, ClusterMixin, BaseEstimator):
    """HDBSCAN: finds k itself from density. Photos it calls noise join their nearest cluster with
    their confidence halved, because a photo organiser shows every photo somewhere.

    ``min_cluster_size=None`` uses ``max(5, n // 100)``: a cluster is at least 1% of the library.
    """

    def __init__(self, min_cluster_size: int | None = None, min_samples: int | None = None,
                 random_state: int = 0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.random_state = random_state

    def fit(self, X, y=None, ctx: JobContext | None = None):
        X = validate_data(self, X, dtype=np.float32, order="C")
        n = len(X)
        _check(ctx)
        _report(ctx, 0, 2, "HDBSCAN")
        fit_rows = np.arange(n)
        if n > HDBSCAN_MAX:
            fit_rows = np.sort(np.random.default_rng(self.random_state).choice(n, HDBSCAN_MAX,
                                                                               replace=False))
        size = self.min_cluster_size or max(5, len(fit_rows) // 100)
        model = HDBSCAN(min_cluster_size=min(size, max(2, len(fit_rows))),
                        min_samples=self.min_samples, copy=True).fit(X[fit_rows])
        _check(ctx)
        labels_fit = model.labels_
        if (labels_fit >= 0).sum() == 0:
            labels_fit = np.zeros_like(labels_fit)
        k = int(labels_fit.max()) + 1
        centers = centers_of(X[fit_rows][labels_fit >= 0], labels_fit[labels_fit >= 0], k)
        labels, _, _ = nearest_centers(X, centers)
        noise = np.ones(n, dtype=bool)
        keep = labels_fit >= 0
        labels[fit_rows[keep]] = labels_fit[keep]
        noise[fit_rows[keep]] = False
        self._finish(X, labels)
        self.confidence_[noise] *= 0.5
        self.noise_ = noise
        _report(ctx, 2, 2, "HDBSCAN")
        return self


# -- clustering embeddings with a method (ClusterJob, placement, the benches) -------------------

#: Below this many photos, hdbscan and scan fall back to K-means (one cluster with auto k).
TINY_COLLECTION = 5

#: Per-photo scores for every cluster are handed to identity (for cannot-links) up to this size.
MAX_LABEL_SCORES = 20_000_000


def cluster_embeddings(Z: np.ndarray, k: int | str, method: str, random_state: int = 0,
                       ctx: JobContext | None = None):
    """Cluster preprocessed embeddings ``Z``: ``(labels, confidences, scores)``, where ``scores``
    is ``(n, k)``, higher meaning closer (None when too large to hand around).

    ``k="auto"`` chooses k with ``KChooser`` (HDBSCAN always finds its own). ``scan`` starts from
    the same k and trains a SCAN head on the neighbour graph."""
    from photoclust.core.clustering import METHODS
    from photoclust.core.clustering.choose_k import KChooser
    from photoclust.core.clustering.scan_refine import SCANRefiner

    ctx = ctx or JobContext()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    if len(Z) < TINY_COLLECTION and method in ("hdbscan", "scan"):
        # Density estimates and a trained head need more photos than this; K-means does not.
        method, k = "kmeans", (1 if k == "auto" else k)
    n_clusters = 0  # HDBSCAN finds its own
    if method != "hdbscan":
        n_clusters = KChooser(random_state=random_state).fit(Z, ctx=ctx).n_clusters_ \
            if k == "auto" else min(int(k), len(Z))
    if method == "scan":
        refiner = SCANRefiner(n_clusters, hidden=512, epochs=50, random_state=random_state)
        refiner.fit(Z, ctx=ctx)
        # A head may leave some of its k outputs unused: number the used ones 0..k'-1.
        labels = relabel_by_size(refiner.labels_)
        used = [int(refiner.labels_[labels == new][0]) for new in range(int(labels.max()) + 1)]
        return labels, refiner.confidence_, refiner.probabilities_[:, used]
    if method == "kmeans":
        est = PhotoKMeans(n_clusters, random_state=random_state)
    elif method == "agglomerative":
        est = PhotoAgglomerative(n_clusters, random_state=random_state)
    else:
        est = PhotoHDBSCAN(random_state=random_state)
    est.fit(Z, ctx=ctx)
    scores = None
    if len(Z) * est.n_clusters_ <= MAX_LABEL_SCORES:
        centers = est.cluster_centers_
        scores = -(((Z ** 2).sum(1)[:, None]) - 2 * Z @ centers.T + (centers ** 2).sum(1))
    return est.labels_, est.confidence_, scores
