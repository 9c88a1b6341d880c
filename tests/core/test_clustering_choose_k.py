"""Automatic k on synthetic collections of known k (unequal sizes, anisotropic, overlapping)."""
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from photoclust.core.clustering.choose_k import KChooser, choose_k
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.jobs import Cancelled, JobContext


def collection(k, seed, spread=(1.0, 3.0), dim=64):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(40, 250, size=k)
    X, _ = make_blobs(sizes, n_features=dim, cluster_std=rng.uniform(*spread, k), random_state=seed)
    shear = rng.normal(size=(dim, dim)) * 0.3 + np.eye(dim)
    return EmbeddingPreprocessor(32).fit_transform(X @ shear)


@pytest.mark.parametrize("k", [2, 5, 12])
def test_graph_k_finds_known_k(k):
    assert choose_k(collection(k, seed=k)) == k


def test_graph_k_on_wide_overlapping_blobs():
    assert choose_k(collection(6, seed=1, spread=(3.0, 6.0))) == 6


def test_coarser_check_merges_pieces_of_compact_groups():
    Z = collection(2, seed=7)
    chooser = KChooser().fit(Z)
    assert min(chooser.candidates_) > 2  # modularity alone over-splits two tight blobs
    assert chooser.n_clusters_ == 2
    assert chooser.scores_[2] > chooser.scores_[max(chooser.candidates_)] + 0.1


def test_silhouette_method_and_bounds():
    Z = collection(4, seed=3)
    assert KChooser(method="silhouette", k_max=10).fit(Z).n_clusters_ == 4
    assert KChooser(k_max=3).fit(Z).n_clusters_ == 3
    with pytest.raises(ValueError, match="unknown method"):
        KChooser(method="magic").fit(Z)


def test_large_collection_is_subsampled_with_same_answer():
    Z = collection(5, seed=11)
    big = np.repeat(Z, 4, axis=0) + np.random.default_rng(0).normal(0, 1e-3, (len(Z) * 4, 32))
    assert KChooser(sample_size=600).fit(big.astype(np.float32)).n_clusters_ == 5


def test_tiny_collections():
    assert choose_k(np.zeros((1, 4), np.float32)) == 1
    assert choose_k(np.eye(4, dtype=np.float32)) in (1, 2)


def test_cancel():
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        KChooser().fit(collection(3, seed=3), ctx=ctx)


def test_copies_of_one_or_two_photos():
    one = np.ones((10, 8), dtype=np.float32)
    assert choose_k(one) == 1
    two = np.vstack([one, -one])
    assert choose_k(two) == 2
