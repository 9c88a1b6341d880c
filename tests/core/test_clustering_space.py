"""A large library keeps its clustering space: placing new photos reads and projects only them
(issue 26: 10,000 new photos into a million). ``KEEP_FROM`` is lowered so that a library of a
few hundred photos counts as large; real library files, embeddings inserted directly."""
import logging

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from _clustering_fixtures import MODEL, add_embedded_photos
from photoclust.core.clustering import job as job_module
from photoclust.core.clustering import space
from photoclust.core.clustering.job import ClusterJob
from photoclust.core.clustering.preprocess import project_rows
from photoclust.core.embedding.store import load_embeddings
from photoclust.core.jobs import run_job

CENTRES = np.random.default_rng(7).normal(scale=6.0, size=(5, 48))


def blobs(sizes, seed=3):
    X, y = make_blobs(sizes, n_features=48, centers=CENTRES, cluster_std=3.0, random_state=seed)
    return X.astype(np.float32), y


@pytest.fixture
def large(library, monkeypatch):
    """Kinds 0-3 clustered in a library that counts as large (kind 4 kept for later)."""
    monkeypatch.setattr(space, "KEEP_FROM", 100)
    X, y = blobs([40, 40, 40, 40, 0])
    ids = add_embedded_photos(library, X, y)
    assert run_job(ClusterJob(library, n_components=16)).mode == "first"
    return ids, y


def kept(library):
    found = space.load(library, MODEL, 16)
    assert found is not None
    return found


def test_a_first_clustering_keeps_its_space_and_a_small_library_keeps_none(library, large,
                                                                            monkeypatch):
    ids, _ = large
    first = kept(library)
    assert np.array_equal(first.photo_ids, ids) and first.fit_n == len(ids)
    _, X = load_embeddings(library, MODEL)
    assert np.allclose(first.space, project_rows(X, first.components, first.shift), atol=1e-5)
    monkeypatch.setattr(space, "KEEP_FROM", 10_000)  # the same library, no longer large
    run_job(ClusterJob(library, n_components=16, fresh=True))
    assert space.load(library, MODEL, 16) is None


def test_new_photos_are_placed_in_the_kept_space_reading_only_them(library, large,
                                                                   monkeypatch):
    ids, y = large
    before = kept(library)
    X_new, y_new = blobs([5, 5, 5, 5, 12], seed=11)
    new_ids = add_embedded_photos(library, X_new, y_new, start=1000)
    read: list[int] = []
    real_iter = space.iter_embeddings

    def counting(library, model, photo_ids=None, *args, **kwargs):
        assert photo_ids is not None, "the whole library was read"
        read.extend(photo_ids)
        yield from real_iter(library, model, photo_ids, *args, **kwargs)

    def whole(*args, **kwargs):
        raise AssertionError("every embedding projected again")

    monkeypatch.setattr(space, "iter_embeddings", counting)
    monkeypatch.setattr(job_module, "project_embeddings", whole)
    result = run_job(ClusterJob(library, n_components=16))
    assert result.mode == "place" and result.placed == len(new_ids)
    assert sorted(read) == sorted(new_ids.tolist())
    assert len(result.founded_cluster_ids) == 1  # the unseen kind founds its cluster
    after = kept(library)
    assert np.array_equal(after.photo_ids, np.concatenate([ids, new_ids]))
    assert after.fit_n == before.fit_n and np.array_equal(after.components, before.components)
    assert np.array_equal(after.space[:len(ids)], before.space)  # old rows as they were
    assert np.allclose(after.space[len(ids):],
                       project_rows(X_new.astype(np.float16), before.components, before.shift),
                       atol=1e-5)


def test_a_damaged_or_outgrown_space_is_fitted_again(library, large, monkeypatch, caplog):
    ids, _ = large
    path = space._path(library, MODEL)
    path.write_bytes(b"not a space")
    X_new, y_new = blobs([10, 10, 10, 10, 0], seed=12)
    add_embedded_photos(library, X_new, y_new, start=1000)
    with caplog.at_level(logging.WARNING, logger=space.__name__):
        assert run_job(ClusterJob(library, n_components=16)).mode == "place"
    assert "damaged" in caplog.text
    refitted = kept(library)  # projected whole and kept again
    assert refitted.fit_n == len(ids) + 40
    # the library doubles since that fit: fitted again, not projected on the old basis
    X_more, y_more = blobs([50, 50, 50, 50, 0], seed=13)
    add_embedded_photos(library, X_more, y_more, start=2000)
    assert refitted.usable_for(*space_rows(library)) is None
    run_job(ClusterJob(library, n_components=16))
    assert kept(library).fit_n == len(ids) + 240


def test_a_re_embedded_photo_is_projected_again(library, large):
    ids, _ = large
    first = kept(library)
    photo_ids, rows = space_rows(library)
    rows = rows.copy()
    rows[3] += 10_000  # another embedding row for the fourth photo
    at = first.usable_for(photo_ids, rows)
    assert at is not None and at[3] == -1 and (np.delete(at, 3) >= 0).all()
    # the kept rows copied, that photo read and projected again (here: the same vector)
    seen, Z, raw = space.project_with(library, MODEL, first, at, photo_ids,
                                      np.arange(len(photo_ids)) % 50 == 0)
    assert seen.all() and raw.shape == (4, first.components.shape[0])
    np.testing.assert_allclose(Z, first.space, atol=1e-5)
    assert np.array_equal(np.delete(Z, 3, axis=0), np.delete(np.asarray(first.space), 3, axis=0))


def space_rows(library):
    from photoclust.core.embedding.store import embedded_photo_rows

    return embedded_photo_rows(library, MODEL)
