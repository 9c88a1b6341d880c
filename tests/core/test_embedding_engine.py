"""EmbedJob over a real library: content-keyed work, resume, duplicates, moves, bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from helpers import write_photo
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.engine import EmbedJob
from photoclust.core.embedding.store import load_embeddings, load_top_classes
from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import Cancelled, JobContext, run_job
from photoclust.core.library.models import Embedding, Photo
from photoclust.core.library.scan import ScanJob

#: Every test here loads real model weights.
pytestmark = pytest.mark.slow

MODEL = "efficientnet_lite0"


def scan(library, folder: Path):
    return run_job(ScanJob(library, [str(folder)]))


def embed(library, **kwargs):
    return run_job(EmbedJob(library, model=MODEL, device="cpu", **kwargs))


def stored_contents(library) -> int:
    with library.session() as s:
        return s.scalar(select(func.count()).select_from(Embedding))


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    root = tmp_path / "photos"
    for i in range(5):
        write_photo(root / f"p{i}.jpg", seed=i, size=(400, 300))
    return root


def test_embed_stores_one_vector_per_photo_with_top_classes(library, photo_folder):
    scan(library, photo_folder)
    result = embed(library, batch_size=2)

    assert (result.embedded, result.already, result.skipped) == (5, 0, [])
    photo_ids, vectors = load_embeddings(library, MODEL)
    assert len(photo_ids) == 5 and vectors.shape == (5, 1280) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert len({v.tobytes() for v in vectors}) == 5
    top = load_top_classes(library, MODEL, photo_ids)
    assert set(top) == set(photo_ids.tolist())
    names, probs = zip(*top[int(photo_ids[0])])
    assert len(names) == 5 and all(isinstance(n, str) and n for n in names)
    assert list(probs) == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    with library.session() as s:
        row = s.scalars(select(Embedding)).first()
    assert row.preprocess_version == PREPROCESS_VERSION and row.dim == 1280
    assert len(row.vector) == 1280 * 2  # float16
    summary = result.to_json()
    assert summary["embedded"] == 5 and summary["model"] == MODEL
    assert summary["device"].startswith("cpu") and summary["photos_per_second"] > 0


def test_second_run_embeds_nothing(library, photo_folder):
    scan(library, photo_folder)
    embed(library)
    again = embed(library)
    assert (again.embedded, again.already) == (0, 5)
    assert stored_contents(library) == 5


def test_duplicates_share_one_embedding(library, photo_folder):
    shutil.copy(photo_folder / "p0.jpg", photo_folder / "copy_of_p0.jpg")
    shutil.copy(photo_folder / "p0.jpg", photo_folder / "second_copy.jpg")
    scan(library, photo_folder)

    result = embed(library)

    assert result.embedded == 7  # every photo row is covered...
    assert stored_contents(library) == 5  # ...by one inference per distinct content
    photo_ids, vectors = load_embeddings(library, MODEL)
    with library.session() as s:
        path_of = dict(s.execute(select(Photo.id, Photo.path)).all())
    by_name = {Path(path_of[int(i)]).name: v for i, v in zip(photo_ids, vectors)}
    np.testing.assert_array_equal(by_name["p0.jpg"], by_name["copy_of_p0.jpg"])
    np.testing.assert_array_equal(by_name["p0.jpg"], by_name["second_copy.jpg"])


def test_moved_and_new_photos_only_new_content_is_embedded(library, photo_folder):
    scan(library, photo_folder)
    embed(library)
    (photo_folder / "moved").mkdir()
    shutil.move(photo_folder / "p1.jpg", photo_folder / "moved" / "p1_renamed.jpg")
    write_photo(photo_folder / "new.jpg", seed=99, size=(400, 300))
    scan_result = scan(library, photo_folder)
    assert scan_result.moved == 1

    result = embed(library)

    assert (result.embedded, result.already) == (1, 5)
    assert stored_contents(library) == 6
    assert len(load_embeddings(library, MODEL)[0]) == 6


def test_cancelled_run_resumes_without_embedding_anything_twice(library, tmp_path):
    root = tmp_path / "photos"
    for i in range(7):
        write_photo(root / f"p{i}.jpg", seed=10 + i, size=(300, 260))
    scan(library, root)
    ctx = JobContext(on_progress=lambda done, total, msg: done >= 2 and ctx.cancel())

    with pytest.raises(Cancelled):
        run_job(EmbedJob(library, model=MODEL, device="cpu", batch_size=2), ctx)

    assert stored_contents(library) == 2  # the first whole batch, nothing of the next
    resumed = embed(library, batch_size=2)
    assert (resumed.embedded, resumed.already) == (5, 2)
    assert stored_contents(library) == 7


def test_undecodable_photo_is_skipped_with_its_reason(library, photo_folder):
    scan(library, photo_folder)
    broken = photo_folder / "p3.jpg"
    with library.session() as s:
        content_hash = s.scalar(select(Photo.content_hash).where(Photo.path == str(broken)))
    thumbnail_path(library, content_hash).unlink()
    broken.write_bytes(b"this is not a jpeg any more")

    result = embed(library, batch_size=2)

    assert result.embedded == 4
    assert [(Path(p).name, bool(reason)) for p, reason in result.skipped] == [("p3.jpg", True)]
    assert stored_contents(library) == 4


def test_thumbnail_serves_as_model_input_when_the_original_is_offline(library, photo_folder):
    scan(library, photo_folder)
    (photo_folder / "p2.jpg").unlink()  # e.g. an unplugged drive: the row is still present

    result = embed(library)

    assert (result.embedded, result.skipped) == (5, [])


def test_missing_photos_are_not_embedded_or_loaded(library, photo_folder):
    scan(library, photo_folder)
    embed(library)
    (photo_folder / "p4.jpg").unlink()
    scan(library, photo_folder)  # marks p4 missing
    photo_ids, _ = load_embeddings(library, MODEL)
    assert len(photo_ids) == 4
    assert load_embeddings(library, "resnet50")[1].shape == (0, 0)


def test_failure_mid_run_keeps_whole_batches_only(library, tmp_path):
    root = tmp_path / "photos"
    for i in range(5):
        write_photo(root / f"p{i}.jpg", seed=30 + i, size=(300, 260))
    scan(library, root)
    job = EmbedJob(library, model=MODEL, device="cpu", batch_size=2)
    job.prepare()
    model_infer, calls = job.backbone.infer, []

    def infer_that_dies_on_the_second_batch(crops):
        calls.append(len(crops))
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return model_infer(crops)

    job.backbone.infer = infer_that_dies_on_the_second_batch
    with pytest.raises(RuntimeError, match="simulated crash"):
        job.run(JobContext())

    assert stored_contents(library) == 2
    resumed = embed(library, batch_size=2)
    assert (resumed.embedded, resumed.already) == (3, 2)
