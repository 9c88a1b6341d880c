"""The map's 2-D layout as a background job, cached beside the library.

t-SNE of a few thousand embeddings takes seconds to minutes, so it runs as a ``Job`` (through
``workers.JobWorker``) and its result is kept in ``<library>.data/map-<model>.npz`` together with the
photo ids it was computed for; the cache is used while that set of photos has not changed. The
cluster colours are read fresh every time (they change with every edit; the layout does not).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment


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
        from photoclust.core.embedding.store import load_embeddings
        from photoclust.core.evaluation import tsne_layout

        ctx.report(0, 3, "Reading embeddings")
        photo_ids, X = load_embeddings(self.library, self.model)
        if len(photo_ids) < 2:
            raise JobError("The map needs at least two photos with embeddings: "
                           "run Organize first.")
        xy = self._cached(photo_ids)
        if xy is None:
            ctx.raise_if_cancelled()
            ctx.report(1, 3, f"Laying out {len(photo_ids):,} photos")
            xy = np.asarray(tsne_layout(X, random_state=self.random_state), dtype=np.float32)
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
