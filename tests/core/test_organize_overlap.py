"""`organize` indexes and embeds at the same time, and still stops, resumes and survives a kill
losing at most the batches in flight."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from photoclust.core.embedding.store import load_embeddings
from photoclust.core.jobs import Cancelled, JobContext, run_job
from photoclust.core.library import open_library
from photoclust.core.library.models import Embedding, Photo
from photoclust.core.organize.pipeline import OrganizeJob

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL = "efficientnet_lite0"


def draw_photos(folder: Path, count: int, size=(320, 240)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = np.random.default_rng(i)
        image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = int(rng.integers(0, size[0] - 80)), int(rng.integers(0, size[1] - 60))
            colour = tuple(int(v) for v in rng.integers(0, 255, 3))
            draw.ellipse((x, y, x + 80, y + 60), fill=colour)
        image.save(folder / f"img_{i:03d}.jpg", "JPEG", quality=90)
    return folder


def organize_job(library, folder: Path) -> OrganizeJob:
    job = OrganizeJob(library, [folder], model=MODEL, k=2, device="cpu", batch_size=2)
    job.scan_job.batch_size = 2
    return job


def counts(library) -> tuple[int, int]:
    with library.session() as s:
        photos = s.scalar(select(func.count()).select_from(Photo))
        vectors = s.scalar(select(func.count()).select_from(Embedding))
    return photos, vectors


def slow_indexing(job: OrganizeJob, seconds: float) -> None:
    examine = job.scan_job._examine

    def slowly(item):
        time.sleep(seconds)
        return examine(item)

    job.scan_job._examine = slowly


def test_photos_are_embedded_while_indexing_goes_on(library, tmp_path):
    folder = draw_photos(tmp_path / "photos", 12)
    job = organize_job(library, folder)
    job.embed_job.load()  # the model loads once, before or while indexing
    slow_indexing(job, 0.1)
    store, seen_at_stores = job.embed_job._store, []

    def store_and_look(backbone, batch):
        seen_at_stores.append(counts(library)[0])
        store(backbone, batch)

    job.embed_job._store = store_and_look
    messages: list[str] = []
    reports: list = []
    result = run_job(job, JobContext(lambda done, total, message: messages.append(message),
                                     on_update=reports.append))

    assert seen_at_stores and seen_at_stores[0] <= 6  # vectors came long before the last row
    indexing = [m for m in messages if m.startswith("index: ")]
    # the file's name (as the embed stage says it), then the photos looked at meanwhile
    assert indexing and all(str(tmp_path) not in m for m in indexing)
    assert any(m.startswith("index: img_0") and m.endswith(" embedded)") for m in indexing)
    # The same reports as data: a stage, numbers, and the photos embedded while indexing; faces
    # and events come after the clustering.
    assert {p.stage for p in reports} == {"index", "embed", "cluster", "faces", "events"}
    assert any(p.stage == "index" and p.embedded and p.message.startswith("img_0")
               for p in reports)
    assert all(p.embedded is None for p in reports if p.stage != "index")
    assert [p.text for p in reports] == messages
    assert (result.index.added, result.embed.embedded, result.embed.already) == (12, 12, 0)
    assert counts(library) == (12, 12)
    assert result.cluster.to_json()["k"] == 2
    again = run_job(organize_job(library, folder))
    assert (again.index.unchanged, again.embed.embedded, again.embed.already) == (12, 0, 12)


def test_cancel_while_overlapped_stops_both_and_resumes(library, tmp_path):
    folder = draw_photos(tmp_path / "photos", 12)
    job = organize_job(library, folder)
    job.embed_job.load()
    slow_indexing(job, 0.1)
    ctx = JobContext()
    store = job.embed_job._store

    def store_then_cancel(backbone, batch):
        store(backbone, batch)
        ctx.cancel()

    job.embed_job._store = store_then_cancel
    with pytest.raises(Cancelled):
        run_job(job, ctx)
    photos, vectors = counts(library)
    assert 0 < vectors < 12 and photos < 12  # both stopped early, each at a batch boundary

    result = run_job(organize_job(library, folder))
    assert counts(library) == (12, 12)
    assert result.embed.embedded + result.embed.already == 12
    ids, X = load_embeddings(library, MODEL)
    assert len(ids) == 12 and np.isfinite(X).all()


def test_indexing_failure_stops_embedding_and_is_raised(library, tmp_path):
    folder = draw_photos(tmp_path / "photos", 8)
    job = organize_job(library, folder)
    examine, calls = job.scan_job._examine, []

    def dies_on_the_fifth(item):
        calls.append(item)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return examine(item)

    job.scan_job._examine = dies_on_the_fifth
    with pytest.raises(OSError, match="No space left"):
        run_job(job)
    photos, vectors = counts(library)
    assert photos < 8 and vectors <= photos


def photoclust(library: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "photoclust", *args, "--library", str(library)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sql_count(library: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{library}?mode=ro", uri=True, timeout=30)
    except sqlite3.OperationalError:  # not created yet
        return 0
    try:
        return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # no tables yet, or the writer holds the file this instant
        return 0
    finally:
        con.close()


def test_killed_organize_resumes_and_loses_at_most_the_batches_in_flight(tmp_path):
    folder = draw_photos(tmp_path / "photos", 40, size=(1600, 1200))
    library_path = tmp_path / "lib" / "library.sqlite"
    organize = ["organize", str(folder), "--model", MODEL, "--device", "cpu", "--batch-size", "2",
                "--k", "2"]
    process = photoclust(library_path, *organize)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if sql_count(library_path, "SELECT count(*) FROM embeddings") >= 2:
            break
        time.sleep(0.01)
    assert process.poll() is None, "organize finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    photos = sql_count(library_path, "SELECT count(*) FROM photos")
    vectors = sql_count(library_path, "SELECT count(*) FROM embeddings")
    assert 2 <= vectors < 40 and vectors <= photos

    out, err = photoclust(library_path, *organize, "--json").communicate(timeout=600)
    assert b"Traceback" not in err, err.decode()
    resumed = json.loads(out)
    assert resumed["embed"]["embedded"] == 40 - vectors  # nothing embedded twice
    assert resumed["index"]["added"] + resumed["index"]["unchanged"] == 40
    library = open_library(library_path)
    try:
        assert counts(library) == (40, 40)
    finally:
        library.close()
    assert sql_count(library_path, "SELECT count(*) FROM assignments") == 40
    con = sqlite3.connect(str(library_path))
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def test_organize_on_onnx_runtime_never_imports_torch(tmp_path):
    from photoclust.core.embedding.backbones import model_spec
    from photoclust.core.embedding.onnx_runtime import load_onnx_model

    load_onnx_model(model_spec(MODEL))  # exported once (with torch) into the session's cache
    folder = draw_photos(tmp_path / "photos", 6)
    script = (
        "import sys\n"
        "from photoclust.cli import main\n"
        f"code = main(['organize', {str(folder)!r}, '--model', {MODEL!r}, '--k', '2',\n"
        f"             '--library', {str(tmp_path / 'lib.sqlite')!r}, '--json'])\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules)\n"
        "print('IMPORTED', code, ','.join(heavy) or '-')\n"
    )
    # The faces stage describes faces with torch when it is installed (core/faces/resnet.py, 7x
    # dlib's speed); without torch (the packaged app) it uses dlib's own, as it does here.
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "PHOTOCLUST_FACES_DLIB_ONLY": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    last = done.stdout.strip().splitlines()[-1]
    assert last == "IMPORTED 0 -", done.stderr
    organized = json.loads(done.stdout[:done.stdout.rindex("IMPORTED")])
    assert organized["embed"]["runtime"] == "onnx" and organized["embed"]["embedded"] == 6
