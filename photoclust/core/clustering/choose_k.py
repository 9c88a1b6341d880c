"""Choosing the number of clusters k automatically.

The best silhouette score fails on real photo collections: on clothing14 its curve is flat
(0.06-0.09 for every k) and its maximum sits at a coarse split (upper body / lower body / shoes),
so k collapses to 2-5. What holds across collections is the community structure of the
nearest-neighbour graph: photos are linked to their ``n_neighbors`` most similar photos, the graph
is split into communities by Louvain modularity optimisation (networkx), and k is the number of
communities holding at least ``min_cluster_share`` of the photos (smaller ones are outliers that
K-means absorbs). The modularity criterion needs no threshold tuned per collection; its median over
a few seeds and subsamples makes k stable. Measured in bench/cluster_quality.py (imagenette224:
k=11 for 10 classes, clothing14: k=11 for 14 classes, where silhouette picks 11 and 5).

Modularity also splits compact, well separated groups into pieces (a kNN graph of one tight
Gaussian blob has communities too). So the graph's k is checked against coarser partitions: if
K-means with some smaller k has a silhouette higher by more than ``coarser_margin`` (silhouette
units, range [-1, 1]), the graph communities cut through compact groups and that smaller k wins.
On photo features the silhouette curve is flat (differences of 0.01-0.02), so this only acts on
collections of clearly separated groups, where it moves k from 5 to the true 2 on two blobs.

Large libraries are represented by a random subsample of ``sample_size`` photos, which keeps the
choice fast (a second on 100,000 photos) and independent of the library size.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import validate_data

from photoclust.core.jobs import JobContext


def knn_graph(Z: np.ndarray, n_neighbors: int) -> nx.Graph:
    """Undirected graph linking every row to its ``n_neighbors`` nearest rows."""
    n_neighbors = max(1, min(n_neighbors, len(Z) - 1))
    _, idx = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(Z).kneighbors(Z)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(Z)))
    graph.add_edges_from((i, int(j)) for i in range(len(Z)) for j in idx[i, 1:] if j != i)
    return graph


class KChooser(BaseEstimator):
    """Pick k for a collection of preprocessed embeddings.

    Parameters
    ----------
    method : "graph" or "silhouette"
        ``graph``: number of sizeable Louvain communities of the kNN graph, unless a coarser
        K-means partition is clearly better separated (the default).
        ``silhouette``: the k in ``[k_min, k_max]`` with the best K-means silhouette (kept as the
        baseline it is compared with; it under-splits photo collections).
    n_neighbors : int
        Neighbours per photo in the graph (fewer below 400 photos).
    min_cluster_share : float
        Communities smaller than this share of the photos do not count as clusters.
    k_min, k_max : int
        Bounds on k; ``k_max=None`` means ``min(200, n // 2)``.
    sample_size : int
        Photos the choice is made on (a random subsample of larger libraries).
    n_repeats : int
        Seeds (and subsamples) whose median k is taken.
    coarser_margin : float
        Silhouette gain a smaller k needs to override the graph's k.
    max_coarser_tries : int
        At most this many smaller k values are tried (evenly spread from 2 up).
    silhouette_sample : int
        Photos the coarser check's silhouettes are computed on (a margin of 0.1 is far above
        the sampling noise of 1,000 photos).
    random_state : int

    Attributes
    ----------
    n_clusters_ : int
    candidates_ : list[int] (k of each repeat; for silhouette, the k tried)
    scores_ : dict[int, float] (silhouette per k; empty for graph)

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(600, n_features=16, centers=6, random_state=0)
    >>> KChooser().fit(X).n_clusters_
    6
    """

    def __init__(self, method: str = "graph", n_neighbors: int = 10,
                 min_cluster_share: float = 0.01, k_min: int = 2, k_max: int | None = None,
                 sample_size: int = 3000, n_repeats: int = 3, coarser_margin: float = 0.1,
                 max_coarser_tries: int = 8, silhouette_sample: int = 1000,
                 random_state: int = 0):
        self.method = method
        self.n_neighbors = n_neighbors
        self.min_cluster_share = min_cluster_share
        self.k_min = k_min
        self.k_max = k_max
        self.sample_size = sample_size
        self.n_repeats = n_repeats
        self.coarser_margin = coarser_margin
        self.max_coarser_tries = max_coarser_tries
        self.silhouette_sample = silhouette_sample
        self.random_state = random_state

    def _bounds(self, n: int) -> tuple[int, int]:
        k_max = self.k_max if self.k_max is not None else min(200, n // 2)
        k_max = max(1, min(k_max, n))
        return min(self.k_min, k_max), k_max

    def _sample(self, Z: np.ndarray, repeat: int) -> np.ndarray:
        if len(Z) <= self.sample_size:
            return Z
        rng = np.random.default_rng(self.random_state + repeat)
        return Z[rng.choice(len(Z), self.sample_size, replace=False)]

    def fit(self, X, y=None, ctx: JobContext | None = None):
        Z = validate_data(self, X, dtype=np.float32, order="C")
        n = len(Z)
        k_min, k_max = self._bounds(n)
        self.scores_: dict[int, float] = {}
        distinct = len(np.unique(self._sample(Z, 0).round(5), axis=0))
        if n < 3 or distinct < 3:  # a graph of copies of one or two photos has no communities
            self.candidates_, self.n_clusters_ = [distinct], max(1, min(distinct, k_max))
            return self
        if self.method == "graph":
            self.candidates_ = []
            for repeat in range(self.n_repeats):
                if ctx is not None:
                    ctx.raise_if_cancelled()
                    ctx.report(repeat, self.n_repeats, "choosing k")
                self.candidates_.append(self._graph_k(self._sample(Z, repeat), repeat))
            k = int(np.clip(np.median(self.candidates_), k_min, k_max))
            sample = Z
            if len(Z) > self.silhouette_sample:
                rng = np.random.default_rng(self.random_state)
                sample = Z[rng.choice(len(Z), self.silhouette_sample, replace=False)]
            k = self._coarser_if_better_separated(sample, k, k_min, ctx)
        elif self.method == "silhouette":
            sample = self._sample(Z, 0)
            self._silhouettes(sample, range(max(2, k_min), min(k_max, len(sample) - 1) + 1), ctx)
            self.candidates_ = list(self.scores_)
            k = max(self.scores_, key=self.scores_.__getitem__) if self.scores_ else 1
        else:
            raise ValueError(f"unknown method {self.method!r}: use 'graph' or 'silhouette'")
        self.n_clusters_ = int(np.clip(k, k_min, k_max))
        return self

    def _silhouettes(self, sample: np.ndarray, ks, ctx: JobContext | None) -> None:
        ks = list(ks)
        for i, k in enumerate(ks):
            if ctx is not None:
                ctx.raise_if_cancelled()
                ctx.report(i, len(ks), f"silhouette of k={k}")
            k = int(k)
            if 2 <= k < len(sample) and k not in self.scores_:
                labels = KMeans(k, n_init=1, random_state=self.random_state).fit_predict(sample)
                self.scores_[k] = float(silhouette_score(sample, labels)) \
                    if len(np.unique(labels)) > 1 else -1.0

    def _coarser_if_better_separated(self, sample, k_graph, k_min, ctx) -> int:
        low = max(2, k_min)
        if k_graph <= low or len(sample) <= k_graph:
            return k_graph
        tries = np.linspace(low, k_graph - 1, self.max_coarser_tries)
        smaller = np.unique(tries.round().astype(int))
        self._silhouettes(sample, [*smaller, k_graph], ctx)
        best = max(smaller, key=lambda k: self.scores_[k])
        if self.scores_[best] > self.scores_[k_graph] + self.coarser_margin:
            return int(best)
        return k_graph

    def _graph_k(self, Z: np.ndarray, repeat: int) -> int:
        # A small collection has small clusters: ten neighbours would reach across clusters of
        # eight photos, so the neighbourhood shrinks to sqrt(n)/2 (unchanged from 400 photos up).
        n_neighbors = min(self.n_neighbors, max(3, int(np.sqrt(len(Z)) / 2)))
        graph = knn_graph(Z, n_neighbors)
        communities = nx.community.louvain_communities(graph, seed=self.random_state + repeat)
        min_size = max(2, self.min_cluster_share * len(Z))
        return max(1, sum(len(c) >= min_size for c in communities))


def choose_k(Z: np.ndarray, method: str = "graph", random_state: int = 0,
             ctx: JobContext | None = None) -> int:
    """The automatic k for preprocessed embeddings ``Z`` (see ``KChooser``)."""
    return KChooser(method=method, random_state=random_state).fit(Z, ctx=ctx).n_clusters_
