"""ClusterJob end to end on a real library file with embeddings inserted directly."""
import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import select

from _clustering_fixtures import add_embedded_photos
from photoclust.core.clustering.job import ClusterJob
from photoclust.core.jobs import Cancelled, JobContext, JobError, run_job
from photoclust.core.library.models import Assignment, Cluster


@pytest.fixture
def four_groups(library):
    X, y = make_blobs([60, 45, 30, 25], n_features=48, cluster_std=2.0, random_state=3)
    ids = add_embedded_photos(library, X.astype(np.float32), y)
    return ids, y


def assignments(library):
    with library.session() as s:
        return dict(s.execute(select(Assignment.photo_id, Assignment.cluster_id)).all())


@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "hdbscan", "scan"])
def test_cluster_job_auto_k_stores_named_clusters(library, four_groups, method):
    ids, y = four_groups
    result = run_job(ClusterJob(library, method=method))
    assert result.k == 4 and result.k_auto and result.n == len(ids)
    stored = assignments(library)
    assert adjusted_rand_score(y, [stored[i] for i in ids]) == 1.0
    assert sorted(c["size"] for c in result.clusters) == [25, 30, 45, 60]
    names = {c["name"] for c in result.clusters}
    assert names == {"espresso", "golden retriever", "sports car", "daisy"}  # every photo's top
    with library.session() as s:
        confidences = s.scalars(select(Assignment.confidence)).all()
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert result.to_json()["run_id"] == result.run_id


def test_cluster_job_with_given_k_and_stable_ids(library, four_groups):
    ids, _ = four_groups
    first = run_job(ClusterJob(library, k=4))
    before = assignments(library)
    second = run_job(ClusterJob(library, k=4, random_state=5, fresh=True))
    assert second.run_id != first.run_id and second.mode == "fresh"
    assert assignments(library) == before  # same groups keep their cluster ids
    run_job(ClusterJob(library, k=2, fresh=True))
    with library.session() as s:
        assert s.scalar(select(Cluster).where(Cluster.active.is_(True)).limit(1)) is not None
    assert len(set(assignments(library).values())) == 2


def test_new_photos_join_existing_clusters(library, four_groups):
    ids, y = four_groups
    run_job(ClusterJob(library, k=4))
    before = assignments(library)
    X_new, y_new = make_blobs([60, 45, 30, 25], n_features=48, cluster_std=2.0, random_state=3)
    new_ids = add_embedded_photos(library, X_new[:8].astype(np.float32) + 0.01, y_new[:8],
                                  start=1000)
    run_job(ClusterJob(library, k=4))
    after = assignments(library)
    assert all(after[i] == before[i] for i in ids)
    for new_id, old_id in zip(new_ids, ids[:8]):
        assert after[new_id] == before[old_id]


def test_cluster_job_refuses_bad_requests(library, four_groups):
    with pytest.raises(JobError, match="unknown method"):
        run_job(ClusterJob(library, method="magic"))
    with pytest.raises(JobError, match="hdbscan finds"):
        run_job(ClusterJob(library, method="hdbscan", k=3))
    with pytest.raises(JobError, match="'auto' or a whole number"):
        run_job(ClusterJob(library, k="many"))
    with pytest.raises(JobError, match="at least 2"):
        run_job(ClusterJob(library, k=1))
    with pytest.raises(JobError, match="run `photoclust embed` first"):
        run_job(ClusterJob(library, model="other_model"))


def test_cluster_job_cancel_stores_nothing(library, four_groups):
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        run_job(ClusterJob(library), ctx)
    assert assignments(library) == {}


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("method", ["kmeans", "agglomerative", "hdbscan", "scan"])
def test_tiny_libraries_make_one_cluster(library, n, method):
    X = np.random.default_rng(0).normal(size=(n, 16)).astype(np.float32)
    add_embedded_photos(library, X, [0] * n)
    result = run_job(ClusterJob(library, method=method))
    assert result.k == 1 and [c["size"] for c in result.clusters] == [n]


def test_scan_reports_only_clusters_it_used(library):
    add_embedded_photos(library, np.ones((10, 16), np.float32), [0] * 10)
    result = run_job(ClusterJob(library, method="scan", k=3))
    assert result.k == len(result.clusters) == 1


def test_streamed_projection_equals_projecting_everything(library, four_groups, monkeypatch):
    """``project_embeddings`` reads the embeddings a block at a time (issue 26) and gives the
    projections ``fit_transform`` gives on every embedding loaded at once, the PCA fitted on the
    same sampled rows; the raw vectors it keeps are those of the marked photos, in order."""
    import photoclust.core.clustering.job as job_module
    import photoclust.core.clustering.preprocess as preprocess_module
    import photoclust.core.embedding.store as store_module
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.embedding.store import embedded_photo_ids, load_embeddings

    monkeypatch.setattr(job_module, "PCA_FIT_SAMPLE", 70)  # the PCA fitted on a sample
    monkeypatch.setattr(preprocess_module, "PCA_FIT_SAMPLE", 70)
    monkeypatch.setattr(store_module, "LOAD_CHUNK", 16)  # many blocks
    photo_ids, X = load_embeddings(library, job_module.library_model(library))
    expected = EmbeddingPreprocessor(8, random_state=2).fit_transform(X)
    ids = embedded_photo_ids(library, job_module.library_model(library))
    assert ids.tolist() == photo_ids.tolist()
    marked = np.arange(len(ids)) % 7 == 0
    kept, Z, raw = job_module.project_embeddings(
        library, job_module.library_model(library), EmbeddingPreprocessor(8, random_state=2),
        ids, marked)
    assert kept.all() and Z.shape == expected.shape
    np.testing.assert_allclose(Z, expected, atol=1e-5)
    np.testing.assert_array_equal(raw, X[marked].astype(np.float16))


def test_learn_projects_the_embeddings_as_they_come_into_the_same_space(library, four_groups,
                                                                        monkeypatch):
    """Learn's space is the one ``fit_transform`` gives on every embedding at once, without
    holding them all as float32 (issue 26: 5.1 GB at a million photos)."""
    import photoclust.core.clustering.job as job_module
    import photoclust.core.clustering.preprocess as preprocess_module
    import photoclust.core.learning.job as learn_module
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.embedding.store import load_embeddings

    monkeypatch.setattr(job_module, "PCA_FIT_SAMPLE", 70)
    monkeypatch.setattr(preprocess_module, "PCA_FIT_SAMPLE", 70)
    monkeypatch.setattr(learn_module, "LEARNING_COMPONENTS", 8)
    run_job(ClusterJob(library, k=4))
    photo_ids, X = load_embeddings(library, job_module.library_model(library))
    expected = EmbeddingPreprocessor(8, random_state=0).fit_transform(X)

    def every_vector(*args, **kwargs):
        raise AssertionError("every embedding loaded at once")

    monkeypatch.setattr(learn_module, "load_embeddings", every_vector, raising=False)
    data = learn_module.load_learning_data(library)
    assert data.photo_ids.tolist() == photo_ids.tolist()
    np.testing.assert_allclose(data.X, expected, atol=1e-5)
