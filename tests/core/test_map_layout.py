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
