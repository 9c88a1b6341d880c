"""Which model a library works with when a command names none (``store.library_model``)."""
from __future__ import annotations

import json

import numpy as np

from _edit_fixtures import add_embeddings, add_photos
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.embedding.store import library_model
from photoclust.core.library.models import Setting


def test_new_library_uses_the_default_model(library):
    assert library_model(library) == DEFAULT_MODEL


def test_library_model_prefers_clustering_then_setting_then_most_embeddings(library):
    ids = add_photos(library, 6)
    rng = np.random.default_rng(0)
    add_embeddings(library, ids, rng.normal(size=(6, 8)), model="efficientnet_lite0")
    add_embeddings(library, ids[:2], rng.normal(size=(2, 8)), model="resnet50")
    assert library_model(library) == "efficientnet_lite0"  # most embeddings

    with library.session() as s:
        s.add(Setting(key="model", value="{not json"))
    assert library_model(library) == "efficientnet_lite0"  # a damaged setting is ignored
    with library.session() as s:
        s.merge(Setting(key="model", value=json.dumps("resnet50")))
    assert library_model(library) == "resnet50"  # chosen in the settings

    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, [0, 1] * 3)
    assert library_model(library) == "efficientnet_lite0"  # the newest clustering's
