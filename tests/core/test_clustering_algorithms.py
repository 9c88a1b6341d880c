"""Preprocessing, the clustering estimators, naming and duplicates on small hand-made data."""
from datetime import datetime, timedelta

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from photoclust.core.clustering.algorithms import PhotoAgglomerative, PhotoHDBSCAN, PhotoKMeans
from photoclust.core.clustering.duplicates import find_duplicate_groups
from photoclust.core.clustering.naming import suggest_names
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.jobs import Cancelled, JobContext


def blobs(n=600, k=5, dim=64, seed=0):
    X, y = make_blobs(n, n_features=dim, centers=k, cluster_std=1.5, random_state=seed)
    return X.astype(np.float32), y


def test_preprocessor_gives_unit_rows_of_requested_dimension():
    X, _ = blobs()
    Z = EmbeddingPreprocessor(n_components=16).fit(X).transform(X)
    assert Z.shape == (600, 16)
    assert np.allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)


def test_preprocessor_projects_as_normalise_centre_project_normalise():
    X, _ = blobs()
    X[3] = 0  # an all-zero row stays defined
    pre = EmbeddingPreprocessor(n_components=16).fit(X)
    X64 = X.astype(np.float64)
    Xn = X64 / np.maximum(np.linalg.norm(X64, axis=1, keepdims=True), 1e-12)
    expected = (Xn - pre.pca_.mean_) @ pre.pca_.components_.T
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(pre.transform(X), expected, atol=1e-5)
    assert np.allclose(pre.transform(X.astype(np.float16)), expected, atol=1e-2)


def test_preprocessor_skips_pca_on_tiny_collections():
    X, _ = blobs(n=10)
    Z = EmbeddingPreprocessor(n_components=128).fit_transform(X)
    assert Z.shape == (10, 64)


@pytest.mark.parametrize("estimator", [PhotoKMeans(5), PhotoAgglomerative(5), PhotoHDBSCAN()])
def test_estimators_recover_separated_blobs_with_confidence(estimator):
    X, y = blobs()
    Z = EmbeddingPreprocessor(16).fit_transform(X)
    est = estimator.fit(Z)
    assert adjusted_rand_score(y, est.labels_) > 0.95
    assert est.confidence_.shape == (600,)
    assert 0.0 <= est.confidence_.min() and est.confidence_.max() <= 1.0
    assert est.confidence_.mean() > 0.5


def test_kmeans_confidence_is_low_between_clusters():
    left = np.zeros((20, 2)) + [0, 0.1] * np.arange(20)[:, None] / 20
    X = np.vstack([left, left + [10, 0], [[5, 0.05]]]).astype(np.float32)
    est = PhotoKMeans(2).fit(X)
    assert est.confidence_[-1] < 0.1
    assert est.confidence_[:-1].min() > 0.9


def test_minibatch_path_and_cancel(monkeypatch):
    import photoclust.core.clustering.algorithms as alg

    monkeypatch.setattr(alg, "FULL_KMEANS_MAX", 100)
    X, y = blobs(n=2000)
    Z = EmbeddingPreprocessor(16).fit_transform(X)
    est = PhotoKMeans(5, batch_size=256).fit(Z)
    assert adjusted_rand_score(y, est.labels_) > 0.95
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        PhotoKMeans(5, batch_size=256).fit(Z, ctx=ctx)


def test_agglomerative_uses_micro_clusters_on_large_input(monkeypatch):
    import photoclust.core.clustering.algorithms as alg

    monkeypatch.setattr(alg, "AGGLOMERATIVE_MAX", 100)
    X, y = blobs(n=1000)
    est = PhotoAgglomerative(5, micro_clusters=50).fit(EmbeddingPreprocessor(16).fit_transform(X))
    assert adjusted_rand_score(y, est.labels_) > 0.95


def test_labels_are_numbered_largest_first():
    X, _ = make_blobs([50, 200, 100], n_features=8, random_state=0)
    est = PhotoKMeans(3).fit(X.astype(np.float32))
    assert list(np.bincount(est.labels_)) == [200, 100, 50]


def test_names_stay_distinct():
    top = {1: [("espresso", 0.6), ("cup", 0.3)], 2: [("espresso", 0.5), ("cup", 0.4)],
           3: [("espresso", 0.9), ("coffee_mug", 0.05)], 4: [("espresso", 0.8)],
           5: [("golden_retriever", 0.9)]}
    names = suggest_names([0, 0, 1, 1, 2], [1, 2, 3, 4, 5], top)
    assert names[0] == "espresso"
    assert names[1] not in ("", "espresso")  # the next concept up, not a repeat
    assert names[2] == "golden retriever"
    assert suggest_names([0], [9], {}) == {0: ""}


def test_duplicates_exact_near_and_burst():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 32)).astype(np.float32)
    X[3] = X[1] + 0.01 * rng.normal(size=32)   # a near copy of photo 11
    X[5] = X[4] + 0.5 * rng.normal(size=32)    # alike, not a copy
    t0 = datetime(2024, 5, 1, 12, 0, 0)
    taken = [None, None, None, None, t0, t0 + timedelta(seconds=3)]
    groups = find_duplicate_groups([10, 11, 12, 13, 14, 15], ["a", "b", "a", "c", "d", "e"], X,
                                   taken_at=taken, burst_threshold=0.6)
    kinds = {g.kind: g.photo_ids for g in groups}
    assert kinds == {"exact": [10, 12], "near": [11, 13], "burst": [14, 15]}
    far_apart = [None, None, None, None, t0, t0 + timedelta(hours=1)]
    groups = find_duplicate_groups([10, 11, 12, 13, 14, 15], ["a", "b", "a", "c", "d", "e"], X,
                                   taken_at=far_apart, burst_threshold=0.6)
    assert {g.kind for g in groups} == {"exact", "near"}


def test_duplicates_exact_copies_stay_exact_though_their_embeddings_are_identical():
    """In a library, identical files share one embedding: similarity 1.0 must not make them
    'near' copies."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 16)).astype(np.float32)
    X[1] = X[0]
    groups = find_duplicate_groups([1, 2, 3], ["h", "h", "other"], X)
    assert [(g.kind, g.photo_ids) for g in groups] == [("exact", [1, 2])]
