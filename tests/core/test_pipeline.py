"""OrganizeJob (index + embed + cluster) through its public API: the whole chain on drawn photos,
its cheap checks, and cancelling in each stage, after which a new run continues where it stopped.

Only ``OrganizeJob(...)``, ``prepare()``, ``run(ctx)``, the result and the progress messages
(prefixed with the stage: ``index``, ``embed``, ``cluster``) are used, so the stages may overlap
or be reordered inside the job without these tests changing.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import distinct, func, select

from helpers import make_labeled_folder
from photoclust.core.jobs import Cancelled, JobContext, JobError
from photoclust.core.library.models import ClusteringRun, Embedding, Photo
from photoclust.core.organize.pipeline import OrganizeJob

MODEL = "efficientnet_lite0"  # the faster bundled model
PER_CLASS = 3
N_PHOTOS = 4 * PER_CLASS  # make_labeled_folder draws 4 classes


@pytest.fixture
def folder(tmp_path) -> Path:
    make_labeled_folder(tmp_path / "photos", per_class=PER_CLASS, size=(96, 72))
    return tmp_path / "photos"


def organize(library, folder: Path, **kwargs) -> OrganizeJob:
    return OrganizeJob(library, [folder], model=MODEL, device="cpu", batch_size=2, **kwargs)


def counts(library) -> tuple[int, int, int]:
    """(photos, embedded contents, clustering runs) stored in the library."""
    with library.session() as s:
        photos = s.scalar(select(func.count()).select_from(Photo))
        embedded = s.scalar(select(func.count(distinct(Embedding.content_hash)))
                            .where(Embedding.model == MODEL))
        runs = s.scalar(select(func.count()).select_from(ClusteringRun))
    return photos, embedded, runs


class Recorder:
    """A ``JobContext`` that records (done, total, message) and cancels on ``cancel_when``."""

    def __init__(self, cancel_when=None):
        self.reports: list[tuple[int, int, str]] = []
        self.cancel_when = cancel_when
        self.ctx = JobContext(self.on_progress)

    def on_progress(self, done: int, total: int, message: str) -> None:
        self.reports.append((done, total, message))
        if self.cancel_when is not None and self.cancel_when(done, total, message):
            self.ctx.cancel()

    def stages(self) -> list[str]:
        """The stages in the order they first reported."""
        seen: list[str] = []
        for _, _, message in self.reports:
            stage = message.split(":", 1)[0].split(" ", 1)[0]
            if stage in ("index", "embed", "cluster") and stage not in seen:
                seen.append(stage)
        return seen


# -- cheap checks: fail before anything is done (no model is loaded for these) ----------------

@pytest.mark.parametrize("kwargs, message", [
    ({"method": "spectral"}, "unknown method 'spectral'"),
    ({"k": 0}, "at least"),
    ({"k": "many"}, "'auto' or a"),
])
def test_prepare_refuses_a_bad_method_or_k_before_anything_is_done(library, folder, kwargs,
                                                                   message):
    job = organize(library, folder, **kwargs)
    with pytest.raises(JobError, match=message):
        job.prepare()
    assert counts(library) == (0, 0, 0)


def test_prepare_refuses_a_missing_folder_before_anything_is_done(library, tmp_path):
    job = organize(library, tmp_path / "absent")
    with pytest.raises(JobError, match="no such folder"):
        job.prepare()
    assert counts(library) == (0, 0, 0)


# -- the whole chain (loads the real bundled weights) -----------------------------------------

@pytest.mark.slow
def test_organize_indexes_embeds_and_clusters_a_folder(library, folder):
    recorder = Recorder()
    job = organize(library, folder, k=4)
    job.prepare()
    result = job.run(recorder.ctx)

    assert result.index.added == N_PHOTOS and not result.index.skipped
    assert result.embed.embedded == N_PHOTOS and result.embed.model == MODEL
    assert (result.cluster.n, result.cluster.k) == (N_PHOTOS, 4)
    assert sum(c["size"] for c in result.cluster.clusters) == N_PHOTOS
    assert counts(library) == (N_PHOTOS, N_PHOTOS, 1)
    assert set(result.to_json()) == {"index", "embed", "cluster", "faces", "events"}
    # The drawn photos carry no time (their file's time is a guess): they form no event.
    assert result.events is not None and result.events.photos_grouped == 0
    # Progress says which stage it is in, and clustering comes last.
    stages = recorder.stages()
    assert stages[-1] == "cluster" and set(stages) <= {"index", "embed", "cluster"}
    assert all(0 <= done <= total or total == 0 for done, total, _ in recorder.reports)

    again = organize(library, folder, k=4).run(JobContext())  # nothing new: nothing redone
    assert (again.index.added, again.index.unchanged) == (0, N_PHOTOS)
    assert again.embed.embedded == 0 and again.cluster.n == N_PHOTOS


@pytest.mark.slow
def test_cancel_while_indexing_then_organize_again_finishes(library, folder):
    """A cancel that arrives before indexing got anywhere (indexing is the first stage)."""
    recorder = Recorder()
    recorder.ctx.cancel()
    job = organize(library, folder, k=4)
    job.prepare()
    with pytest.raises(Cancelled):
        job.run(recorder.ctx)
    photos, embedded, runs = counts(library)
    assert runs == 0 and embedded <= photos < N_PHOTOS

    rerun = organize(library, folder, k=4).run(JobContext())
    assert rerun.index.added == N_PHOTOS - photos
    assert rerun.embed.embedded + rerun.embed.already == N_PHOTOS
    assert counts(library) == (N_PHOTOS, N_PHOTOS, 1)


@pytest.mark.slow
def test_cancel_while_embedding_keeps_the_embedded_batches(library, folder):
    recorder = Recorder(lambda done, total, message: message.startswith("embed") and done > 0)
    job = organize(library, folder, k=4)
    job.prepare()
    with pytest.raises(Cancelled):
        job.run(recorder.ctx)
    photos, embedded, runs = counts(library)
    assert photos == N_PHOTOS and 0 < embedded < N_PHOTOS and runs == 0

    rerun = organize(library, folder, k=4).run(JobContext())
    assert rerun.index.added == 0
    assert (rerun.embed.embedded, rerun.embed.already) == (N_PHOTOS - embedded, embedded)
    assert rerun.cluster.n == N_PHOTOS
    assert counts(library) == (N_PHOTOS, N_PHOTOS, 1)


@pytest.mark.slow
def test_cancel_while_clustering_keeps_every_embedding(library, folder):
    recorder = Recorder(lambda done, total, message: message.startswith("cluster"))
    job = organize(library, folder, k=4)
    job.prepare()
    with pytest.raises(Cancelled):
        job.run(recorder.ctx)
    assert counts(library) == (N_PHOTOS, N_PHOTOS, 0)

    rerun = organize(library, folder, k=4).run(JobContext())
    assert (rerun.index.added, rerun.embed.embedded) == (0, 0)
    assert (rerun.cluster.n, rerun.cluster.k) == (N_PHOTOS, 4)
    assert counts(library) == (N_PHOTOS, N_PHOTOS, 1)
