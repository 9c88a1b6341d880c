"""What a first Organize says (issue 24, point 3): the one-off model build is announced as its
own stage, and a folder without photos ends in one plain sentence, before any model is loaded."""
from __future__ import annotations

import time

import pytest

from helpers import make_labeled_folder, write_jpeg
from photoclust.core.jobs import JobContext, JobError
from photoclust.core.organize.pipeline import PREPARING_MODEL, OrganizeJob

MODEL = "efficientnet_lite0"


def _organize(library, folder):
    return OrganizeJob(library, [folder], model=MODEL, device="cpu", batch_size=4)


def _run(job) -> list[tuple[int, int, str]]:
    reports: list[tuple[int, int, str]] = []
    job.prepare()
    job.run(JobContext(lambda done, total, message: reports.append((done, total, message))))
    return reports


def test_the_first_organize_says_it_prepares_the_model_and_the_next_does_not(
        library, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("PHOTOCLUST_MODEL_CACHE", str(tmp_path / "empty-model-cache"))
    folder = tmp_path / "photos"
    make_labeled_folder(folder, per_class=1, size=(96, 72))
    first = _run(_organize(library, folder))
    messages = [m for _, _, m in first]
    assert f"prepare: {PREPARING_MODEL}" in messages
    said = messages.index(f"prepare: {PREPARING_MODEL}")
    assert not any(m.startswith("embed") for m in messages[:said])  # before it looks at photos
    make_labeled_folder(tmp_path / "more", per_class=1, size=(80, 60))
    again = _run(_organize(library, tmp_path / "more"))
    assert not any(m.startswith("prepare") for _, _, m in again)  # built once


def test_an_empty_folder_ends_in_one_plain_sentence_before_the_model_loads(library, tmp_path):
    folder = tmp_path / "nothing here"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("not a photo")
    job = _organize(library, folder)
    job.prepare()
    started = time.monotonic()
    with pytest.raises(JobError) as raised:
        job.run(JobContext())
    assert str(raised.value) == f"No photos found in {folder}."
    assert job.embed_job.backbone is None  # no model was loaded for nothing
    assert time.monotonic() - started < 5


def test_a_folder_of_unreadable_photos_says_so(library, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"not a jpeg at all")
    (folder / "b.png").write_bytes(b"\x89PNG nothing")
    with pytest.raises(JobError) as raised:
        _run(_organize(library, folder))
    assert str(raised.value) == \
        f"No photos found in {folder} (2 files could not be read as photos)."


def test_photos_in_the_library_already_are_organized_even_if_the_folder_is_empty_now(
        library, tmp_path):
    """The quick check is only a shortcut: a library with photos still organizes."""
    folder = tmp_path / "photos"
    write_jpeg(folder / "one.jpg", (96, 72), (200, 30, 30))
    write_jpeg(folder / "two.jpg", (96, 72), (30, 200, 30))
    _run(_organize(library, folder))
    empty = tmp_path / "empty"
    empty.mkdir()
    job = OrganizeJob(library, [folder, empty], model=MODEL, device="cpu", batch_size=4)
    job.prepare()
    job.run(JobContext())  # no JobError


def test_the_embed_total_is_all_photos_from_the_moment_indexing_ends(library, tmp_path,
                                                                      monkeypatch):
    """The model lags behind indexing: when indexing ends while only its first batch is queued,
    the total says every photo to look at, not the few queued so far ("16 of 32", then "40 of
    150": the bar went back)."""
    from sqlalchemy import func, select

    from photoclust.core.embedding.engine import EmbedJob
    from photoclust.core.library.models import Photo

    folder = tmp_path / "photos"
    make_labeled_folder(folder, per_class=10, size=(64, 48))  # 40 photos: 32 + 8 indexed
    store = EmbedJob._store

    def slow_store(self, backbone, batch):
        # The first batch is saved only once indexing has committed every photo (and ended).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with library.session() as s:
                if s.scalar(select(func.count()).select_from(Photo)) == 40:
                    break
            time.sleep(0.05)
        time.sleep(0.3)
        return store(self, backbone, batch)

    monkeypatch.setattr(EmbedJob, "_store", slow_store)
    job = _organize(library, folder)
    job.scan_job.batch_size = 4  # indexing commits 4 photos at a time
    job.prepare()
    job.embed_job.load()  # the model is ready at once: it waits for indexing, not the reverse
    reports: list[tuple[int, int, str]] = []
    job.run(JobContext(lambda done, total, message: reports.append((done, total, message))))
    embed = [(done, total) for done, total, m in reports if m.startswith("embed")]
    assert embed, reports
    assert {total for _, total in embed} == {40}
    assert [done for done, _ in embed] == sorted(done for done, _ in embed)
    # While indexing runs, its reports say the photos looked at "of" all there will be (40),
    # not of the files read so far, and none comes after the embed stage took over.
    indexing = [m for _, _, m in reports if m.startswith("index") and "embedded)" in m]
    assert all(m.endswith(" of 40 embedded)") for m in indexing), indexing
    stages = [m.split(":")[0].split(" ")[0] for _, _, m in reports]
    first_embed = stages.index("embed")
    assert "index" not in stages[first_embed:]
