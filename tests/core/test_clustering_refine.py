"""SCAN refinement and contrastive adaptation on small synthetic data (no model weights)."""
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from helpers import make_labeled_folder
from photoclust.core.clustering.contrastive import (
    ContrastiveAdapter,
    adapt_embeddings,
    augment,
    augmented_features,
    nt_xent,
)
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.clustering.scan_refine import SCANRefiner, mine_neighbors
from photoclust.core.jobs import Cancelled, JobContext, run_job
from photoclust.core.library.scan import ScanJob


def test_mined_neighbors_exclude_self_and_are_nearest():
    Z = np.array([[0.0], [0.1], [5.0], [5.2], [9.0]], dtype=np.float32)
    assert mine_neighbors(Z, 1).ravel().tolist() == [1, 0, 3, 2, 3]


def test_scan_refiner_clusters_blobs_with_probabilities():
    X, y = make_blobs(400, n_features=32, centers=4, cluster_std=2.0, random_state=0)
    Z = EmbeddingPreprocessor(16).fit_transform(X)
    scan = SCANRefiner(4, hidden=64, epochs=30, n_heads=2, self_label_threshold=0.9,
                       self_label_epochs=3).fit(Z)
    assert adjusted_rand_score(y, scan.labels_) > 0.95
    assert np.allclose(scan.probabilities_.sum(1), 1, atol=1e-5)
    assert np.array_equal(scan.predict(Z), scan.labels_)
    assert torch.get_num_threads() >= 1
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        SCANRefiner(4).fit(Z, ctx=ctx)


def test_nt_xent_is_low_for_matching_pairs():
    a = torch.eye(4) * 5
    assert nt_xent(a, a.clone(), 0.5) < nt_xent(a, a.roll(1, 0), 0.5)


def test_augment_is_seeded_and_sized():
    image = Image.linear_gradient("L").convert("RGB").resize((300, 200))
    one = augment(image, np.random.default_rng(1), size=64)
    two = augment(image, np.random.default_rng(1), size=64)
    assert one.size == (64, 64)
    assert np.array_equal(np.asarray(one), np.asarray(two))


def test_adapter_learns_to_ignore_what_augmentations_change():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 24)).astype(np.float32)
    views = np.repeat(base[:, None, :], 3, axis=1)
    views[:, :, :8] += rng.normal(0, 3.0, size=(200, 3, 8))  # nuisance: changes with each view
    adapter = ContrastiveAdapter(hidden=32, out_dim=16, epochs=40, batch_size=64).fit(views)
    assert adapter.loss_curve_[-1] < adapter.loss_curve_[0]

    def matched(A, B):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        B = B / np.linalg.norm(B, axis=1, keepdims=True)
        return ((A @ B.T).argmax(1) == np.arange(len(A))).mean()

    raw = matched(views[:, 0], views[:, 1])
    adapted = matched(adapter.transform(views[:, 0]), adapter.transform(views[:, 1]))
    assert adapted > raw + 0.1
    with pytest.raises(ValueError, match="two views"):
        ContrastiveAdapter().fit(views[:, :1])


class MeanColourBackbone:
    """Stands in for a CNN: the features of an image are its mean colour per quadrant."""

    input_size = 32

    def embed_images(self, images):
        feats = []
        for im in images:
            a = np.asarray(im.resize((32, 32)), dtype=np.float32) / 255
            feats.append(np.concatenate([q.mean((0, 1)) for r in np.split(a, 2)
                                         for q in np.split(r, 2, axis=1)]))
        return np.array(feats), None


def test_adapt_embeddings_reads_library_thumbnails(library, tmp_path):
    make_labeled_folder(tmp_path / "photos", per_class=3, size=(96, 72))
    run_job(ScanJob(library, [tmp_path / "photos"]))
    from sqlalchemy import select

    from photoclust.core.library.models import Photo
    with library.session() as s:
        ids = np.array(s.scalars(select(Photo.id).order_by(Photo.id)).all())
    features = augmented_features(MeanColourBackbone(), [Image.new("RGB", (40, 40), "red")] * 3,
                                  n_views=2)
    assert features.shape == (3, 2, 12)
    X = np.random.default_rng(0).normal(size=(len(ids), 12)).astype(np.float32)
    adapted = adapt_embeddings(library, "m", ids, X, epochs=2, backbone=MeanColourBackbone())
    assert adapted.shape == (len(ids), 512)
    assert np.allclose(np.linalg.norm(adapted, axis=1), 1, atol=1e-5)
