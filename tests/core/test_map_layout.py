"""The map layout job's t-SNE (Qt-free, core/search/map_layout.py)."""
from __future__ import annotations

import numpy as np


def test_layout_places_photos_beyond_the_fitted_sample_near_their_neighbours():
    from photoclust.core.search.map_layout import tsne_layout

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 32)) * 10
    labels = np.repeat(np.arange(3), 40)
    X = (centers[labels] + rng.normal(size=(120, 32))).astype(np.float32)
    Y = tsne_layout(X, max_fit=60)
    assert Y.shape == (120, 2) and np.isfinite(Y).all()
    # every photo lies closer to its own group's centre on the map than to any other group's
    means = np.array([Y[labels == g].mean(0) for g in range(3)])
    nearest = np.argmin(((Y[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).all()


def test_the_job_lays_out_the_projections_without_loading_every_vector(library, monkeypatch):
    """The job projects the vectors a block at a time (``project_embeddings``) instead of
    loading them all as float32 (5.1 GB at a million photos): the same map as ``tsne_layout``
    of the loaded vectors; a kept layout is used without reading any vector."""
    from _edit_fixtures import add_embeddings, add_photos
    from photoclust.core.clustering import job as clustering_job
    from photoclust.core.embedding import store
    from photoclust.core.jobs import JobContext
    from photoclust.core.search.map_layout import MapLayoutJob, tsne_layout

    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 64)) * 10
    X = (centers[np.repeat(np.arange(3), 20)] + rng.normal(size=(60, 64))).astype(np.float32)
    ids = add_photos(library, 60)
    add_embeddings(library, ids, X)
    model = "efficientnet_lite0"
    expected_ids, loaded = store.load_embeddings(library, model)
    expected = tsne_layout(loaded)

    def refused(*_a, **_k):
        raise AssertionError("every vector loaded at once")

    monkeypatch.setattr(store, "load_embeddings", refused)
    layout = MapLayoutJob(library, model).run(JobContext())
    assert layout.photo_ids.tolist() == expected_ids.tolist() == ids
    np.testing.assert_allclose(layout.xy, expected, atol=1e-3)
    monkeypatch.setattr(clustering_job, "project_embeddings", refused)
    again = MapLayoutJob(library, model).run(JobContext())  # the kept layout
    np.testing.assert_array_equal(again.xy, layout.xy)
