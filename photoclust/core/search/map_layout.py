"""The map's 2-D layout as a background job, cached beside the library.

The layout is t-SNE on the clustering's own preprocessing of the embeddings (L2, PCA to 50, L2).
t-SNE is fitted on at most ``MAX_TSNE_FIT`` photos (about 10 s on one CPU core); every other photo
is placed at the distance-weighted mean of its nearest fitted neighbours, so a 50,000-photo library
gets a map in about the same time. It runs as a ``Job`` (the app's map page runs it off the GUI
thread) and the result is kept in ``<library>.data/map-<model>.npz`` with the photo ids it was
computed for; the cache is used while that set of photos has not changed. Cluster colours are
read fresh every time (they change with every edit; the layout does not).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment

MAX_TSNE_FIT = 2000
PLACEMENT_NEIGHBOURS = 5


def tsne_layout(X: np.ndarray, random_state: int = 0,
                max_fit: int = MAX_TSNE_FIT) -> np.ndarray:
    """2-D coordinates for the rows of ``X`` (see the module docstring).

    Runs on one thread: OpenMP's spinning workers against the GUI's own threads (or other busy
    processes) made a 60-photo t-SNE take over a minute instead of a quarter second.
    """
    from threadpoolctl import threadpool_limits

    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor

    with threadpool_limits(limits=1):
        Z = EmbeddingPreprocessor(min(50, X.shape[1]), random_state=random_state).fit_transform(X)
        return _layout_of_projections(Z, random_state, max_fit)


def layout_of_projections(Z: np.ndarray, random_state: int = 0,
                          max_fit: int = MAX_TSNE_FIT) -> np.ndarray:
    """``tsne_layout`` of embeddings already preprocessed (``EmbeddingPreprocessor`` to 50)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _layout_of_projections(Z, random_state, max_fit)


def _layout_of_projections(Z: np.ndarray, random_state: int, max_fit: int) -> np.ndarray:
    # Imported here: scikit-learn adds seconds to the app's start-up.
    from sklearn.manifold import TSNE
    from sklearn.neighbors import NearestNeighbors

    n = len(Z)
    if n <= 3:
        return np.column_stack([np.arange(n, dtype=np.float32), np.zeros(n, np.float32)])
    rng = np.random.default_rng(random_state)
    fit_rows = np.sort(rng.choice(n, max_fit, replace=False)) if n > max_fit else np.arange(n)
    perplexity = float(min(30, (len(fit_rows) - 1) / 3))
    fitted = TSNE(2, perplexity=perplexity, init="pca",
                  random_state=random_state).fit_transform(Z[fit_rows])
    Y = np.empty((n, 2), dtype=np.float32)
    Y[fit_rows] = fitted
    rest = np.setdiff1d(np.arange(n), fit_rows)
    if len(rest):
        k = min(PLACEMENT_NEIGHBOURS, len(fit_rows))
        dist, nearest = NearestNeighbors(n_neighbors=k).fit(Z[fit_rows]).kneighbors(Z[rest])
        weights = 1.0 / (dist + 1e-6)
        Y[rest] = (fitted[nearest] * weights[..., None]).sum(1) / weights.sum(1, keepdims=True)
    return Y


@dataclass
class MapLayout:
    photo_ids: np.ndarray  # int64, n
    xy: np.ndarray  # float32, n x 2
    cluster_ids: np.ndarray  # int64, n; -1 for photos in no cluster


def cluster_of_photos(library: Library, photo_ids: np.ndarray) -> np.ndarray:
    with library.session() as s:
        current = dict(s.execute(select(Assignment.photo_id, Assignment.cluster_id)).all())
    return np.array([current.get(int(p), -1) for p in photo_ids], dtype=np.int64)


class MapLayoutJob(Job[MapLayout]):
    title = "Computing the map"

    def __init__(self, library: Library, model: str, random_state: int = 0):
        self.library = library
        self.model = model
        self.random_state = random_state

    @property
    def cache_path(self):
        return self.library.data_dir / f"map-{self.model}.npz"

    def run(self, ctx: JobContext) -> MapLayout:
        from photoclust.core.clustering.job import project_embeddings
        from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
        from photoclust.core.embedding.store import embedded_photo_ids

        ctx.report(0, 3, "Reading embeddings")
        # The ids first: a kept layout needs no vector. Otherwise the vectors are read a block at
        # a time and projected to 50 numbers (0.2 GB at a million photos, not 5.1 GB of float32
        # vectors: the app's peak memory).
        photo_ids = embedded_photo_ids(self.library, self.model)
        if len(photo_ids) < 2:
            raise JobError("The map needs at least two photos with embeddings: "
                           "run Organize first.")
        xy = self._cached(photo_ids)
        if xy is None:
            ctx.raise_if_cancelled()
            kept, Z, _ = project_embeddings(
                self.library, self.model, EmbeddingPreprocessor(50, self.random_state),
                photo_ids, np.zeros(len(photo_ids), dtype=bool), ctx)
            photo_ids = photo_ids[kept]
            if len(photo_ids) < 2:
                raise JobError("The map needs at least two photos with embeddings: "
                               "run Organize first.")
            ctx.raise_if_cancelled()
            ctx.report(1, 3, f"Laying out {len(photo_ids):,} photos")
            xy = np.asarray(layout_of_projections(Z, random_state=self.random_state),
                            dtype=np.float32)
            ctx.raise_if_cancelled()
            self.library.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(".tmp.npz")
            np.savez(tmp, photo_ids=photo_ids, xy=xy)
            tmp.replace(self.cache_path)
        ctx.report(2, 3, "Colouring by cluster")
        layout = MapLayout(photo_ids, xy, cluster_of_photos(self.library, photo_ids))
        ctx.report(3, 3, "")
        return layout

    def _cached(self, photo_ids: np.ndarray) -> np.ndarray | None:
        try:
            with np.load(self.cache_path) as data:
                if np.array_equal(data["photo_ids"], photo_ids):
                    return data["xy"]
        except (OSError, KeyError, ValueError):
            pass
        return None
