"""`photoclust embed --ray`: a local Ray cluster on the loopback address, started by the test
(head + 2 worker CPUs), embeds as a local run does, survives a killed worker, and an unreachable
cluster is one sentence with nothing lost."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from helpers import write_photos
from photoclust.cli import main
from photoclust.core.embedding.engine import EmbedJob
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.models import Embedding, Photo
from photoclust.core.library.scan import ScanJob

ray = pytest.importorskip("ray")

#: Loads real model weights on the workers.
pytestmark = pytest.mark.slow

MODEL = "efficientnet_lite0"
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Ray head on 127.0.0.1 with 2 CPUs, in a process group of its own (stopped by its id)."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]),
               RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    ray_cli = Path(sys.executable).with_name("ray")
    temp = tmp_path_factory.mktemp("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
         f"--temp-dir={temp}", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if head.poll() is not None:
                pytest.skip("the local Ray head did not start")
            time.sleep(0.5)
    os.environ["RAY_AUTH_MODE"] = "disabled"
    time.sleep(3)  # the head's services after its port opens
    yield address
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(10)


@pytest.fixture
def photo_library(tmp_path):
    library = open_library(tmp_path / "lib" / "library.sqlite")
    write_photos(tmp_path / "photos", 24, size=(320, 240))
    run_job(ScanJob(library, [str(tmp_path / "photos")]))
    yield library
    library.close()


def _vectors(library) -> dict[str, np.ndarray]:
    with library.session() as s:
        rows = s.execute(select(Embedding.content_hash, Embedding.vector, Embedding.model)).all()
    assert {r[2] for r in rows} <= {MODEL}
    return {r[0]: np.frombuffer(r[1], "<f2").astype(np.float32) for r in rows}


def _local_copy(library, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(Path(library.path).parent, copy)
    return open_library(copy / Path(library.path).name)


def test_embedded_on_the_cluster_as_a_local_run_embeds(cluster, photo_library, tmp_path):
    from photoclust.core.embedding.distributed import RayEmbedJob
    from photoclust.core.imaging import thumbnail_path

    with photo_library.session() as s:
        broken = s.execute(select(Photo.path, Photo.content_hash).order_by(Photo.id)).first()
    local = _local_copy(photo_library, tmp_path)
    Path(broken[0]).write_bytes(b"not a photo any more")  # unreadable on the shared storage
    for library in (local, photo_library):
        thumbnail_path(library, broken[1]).unlink()
    local_result = run_job(EmbedJob(local, model=MODEL, device="cpu", batch_size=4))
    result = run_job(RayEmbedJob(photo_library, cluster, model=MODEL, device="cpu",
                                 batch_size=4))
    assert result.embedded == 23 and local_result.embedded == 23
    assert result.skipped == local_result.skipped and result.skipped[0][0] == broken[0]
    here, there = _vectors(local), _vectors(photo_library)
    assert set(here) == set(there) and len(here) == 23
    for content, vector in here.items():
        assert np.allclose(there[content], vector, atol=2e-2, rtol=1e-2)
    again = run_job(RayEmbedJob(photo_library, cluster, model=MODEL, device="cpu"))
    assert again.embedded == 0 and again.already == 23  # resumable: nothing twice
    local.close()


def test_a_killed_worker_loses_no_photo(cluster, photo_library):
    from photoclust.core.embedding.distributed import RayEmbedJob

    job = RayEmbedJob(photo_library, cluster, model=MODEL, device="cpu", batch_size=2,
                      workers=2)
    killed = []

    def kill_one_worker(job, actors):
        if not killed and len(actors) == 2:
            pid = ray.get(actors[0].describe.remote())["pid"]
            os.kill(pid, signal.SIGKILL)  # a worker process of the test's own cluster
            killed.append(pid)

    job.on_batch_stored = kill_one_worker
    result = run_job(job)
    assert killed
    with photo_library.session() as s:
        embedded = s.scalar(select(func.count()).select_from(Photo).join(
            Embedding, Embedding.content_hash == Photo.content_hash))
    assert embedded == 24 and result.embedded == 24


def test_an_unreachable_cluster_is_one_sentence_and_nothing_is_lost(photo_library, capsys):
    port = _free_port()  # nothing listens there
    code = main(["embed", "--library", str(photo_library.path), "--model", MODEL,
                 "--ray", f"127.0.0.1:{port}"])
    out, err = capsys.readouterr()
    assert code != 0
    said = (out + err).strip().splitlines()
    assert len(said) == 1 and f"Cannot reach the Ray cluster at 127.0.0.1:{port}" in said[0]
    assert "without --ray" in said[0]
    assert _vectors(photo_library) == {}


def test_a_cluster_lost_mid_run_keeps_what_was_embedded_and_the_rest_runs_here(
        cluster, photo_library):
    from photoclust.core.embedding.distributed import RayEmbedJob, RayUnavailable

    job = RayEmbedJob(photo_library, cluster, model=MODEL, device="cpu", batch_size=2,
                      workers=2)
    killed = []

    def kill_every_worker(job, actors):
        if not killed:
            for actor in actors:
                pid = ray.get(actor.describe.remote())["pid"]
                os.kill(pid, signal.SIGKILL)  # the test's own cluster's worker processes
                killed.append(pid)

    job.on_batch_stored = kill_every_worker
    with pytest.raises(RayUnavailable) as lost:
        run_job(job)
    kept = len(_vectors(photo_library))
    assert 0 < kept < 24 and len(killed) == 2
    message = str(lost.value)
    assert "no worker left" in message and f"{kept} photos were embedded and kept" in message
    assert "\n" not in message
    rest = run_job(EmbedJob(photo_library, model=MODEL, device="cpu"))
    assert rest.embedded == 24 - kept and rest.already == kept
