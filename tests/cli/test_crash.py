"""Crash safety: SIGKILL `photoclust embed` and `photoclust cluster` at random (seeded) moments.

After every kill the library must pass SQLite's integrity check and keep every correction the
user made before; the next run of the same command must complete. The commands run as real
subprocesses through the command-line contract (`python -m photoclust ...`), so this covers
whatever the embedding and clustering code does between its commits.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import write_photos
from photoclust.cli import main as cli_main
from photoclust.core.clustering.editing import move_photos, rename_cluster
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.check import CheckJob
from photoclust.core.library.queries import list_clusters, photos_in_cluster

#: Every test here loads real model weights.
pytestmark = pytest.mark.slow

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEED = 20261125
EMBED = ["embed", "--device", "cpu", "--batch-size", "2"]
CLUSTER = ["cluster", "--k", "3"]


def photoclust(library: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "photoclust", *args, "--library", str(library)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_to_completion(library: Path, *args: str) -> float:
    started = time.monotonic()
    process = photoclust(library, *args)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"photoclust {' '.join(args)} failed:\n{err.decode()}"
    return time.monotonic() - started


def count(library: Path, sql: str) -> int:
    con = sqlite3.connect(f"file:{library}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def kill_when(process: subprocess.Popen, ready, extra_delay: float, timeout: float = 300) -> bool:
    """SIGKILL ``process`` ``extra_delay`` seconds after ``ready()`` first holds; False if it
    finished before."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if ready():
                break
        except sqlite3.OperationalError:
            pass  # the writer holds the file this instant; look again
        time.sleep(0.01)
    time.sleep(extra_delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def assert_intact(library_path: Path) -> None:
    con = sqlite3.connect(str(library_path), timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def corrections(library_path: Path) -> dict:
    """Everything the user did: the edit events and what they say about names and places."""
    con = sqlite3.connect(f"file:{library_path}?mode=ro", uri=True, timeout=30)
    try:
        return {
            "events": con.execute("SELECT id, kind, payload, undone FROM edit_events "
                                  "ORDER BY id").fetchall(),
            "names": con.execute("SELECT id, name FROM clusters WHERE name_source = 'user' "
                                 "ORDER BY id").fetchall(),
            "placed": con.execute("SELECT photo_id, cluster_id FROM assignments "
                                  "WHERE source = 'user' ORDER BY photo_id").fetchall(),
        }
    finally:
        con.close()


def test_sigkill_during_embed_and_cluster_loses_nothing(tmp_path):
    rng = random.Random(SEED)
    photos, library_path = tmp_path / "photos", tmp_path / "library.sqlite"
    write_photos(photos, 24)
    assert cli_main(["index", str(photos), "--library", str(library_path)]) == 0
    embedded = "SELECT count(DISTINCT content_hash) FROM embeddings"

    # Embedding, killed after a random number of committed photos, then finished.
    partial = []
    for _ in range(2):
        target = rng.randint(1, 20)
        process = photoclust(library_path, *EMBED)
        kill_when(process, lambda: count(library_path, embedded) >= target,
                  rng.uniform(0.0, 0.3))
        assert_intact(library_path)
        partial.append(count(library_path, embedded))
    assert any(0 < n < 24 for n in partial), f"no kill landed mid-embedding: {partial}"
    run_to_completion(library_path, *EMBED)
    assert count(library_path, embedded) == 24
    cluster_seconds = run_to_completion(library_path, *CLUSTER)

    # The user's corrections, each committed at once.
    library = open_library(library_path)
    try:
        first, second = [c.id for c in list_clusters(library)[:2]]
        photo_id = photos_in_cluster(library, first, 0, 1)[0].id
        rename_cluster(library, first, "Holiday 2026")
        move_photos(library, [photo_id], second)
    finally:
        library.close()
    before = corrections(library_path)
    assert len(before["events"]) == 2 and before["placed"] == [(photo_id, second)]

    # New photos arrive; embedding and clustering are killed again, then complete.
    write_photos(photos, 9, first=24)
    assert cli_main(["index", str(photos), "--library", str(library_path)]) == 0
    target = rng.randint(25, 31)
    kill_when(photoclust(library_path, *EMBED),
              lambda: count(library_path, embedded) >= target, rng.uniform(0.0, 0.3))
    assert_intact(library_path)
    assert corrections(library_path) == before
    run_to_completion(library_path, *EMBED)
    kills = 0
    for _ in range(2):
        process = photoclust(library_path, *CLUSTER)
        time.sleep(rng.uniform(0.3, 1.0) * cluster_seconds)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        assert_intact(library_path)
        assert corrections(library_path) == before
    assert kills, "every clustering finished before its kill"
    run_to_completion(library_path, *CLUSTER)

    assert_intact(library_path)
    assert corrections(library_path) == before
    library = open_library(library_path)
    try:
        report = run_job(CheckJob(library))
        assert report.ok, report.to_json()
        assert count(library_path, "SELECT count(*) FROM assignments") == 33
    finally:
        library.close()
