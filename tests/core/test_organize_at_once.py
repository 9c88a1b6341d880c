"""Issue #25: two Organize runs at once. The second one computed placements for new photos that
the first one placed meanwhile: it places nothing and says so, instead of "0 joined, 0 founded"
for photos it claimed as its own."""
from __future__ import annotations

import json

import numpy as np
from sklearn.datasets import make_blobs

from _clustering_fixtures import add_embedded_photos
from photoclust.cli import main
from photoclust.core.clustering import job as job_module
from photoclust.core.clustering.job import ClusterJob
from photoclust.core.jobs import run_job


def _library_with_new_photos(library) -> None:
    centres = np.random.default_rng(7).normal(scale=6.0, size=(4, 48))
    X, y = make_blobs([30, 30, 30, 30], n_features=48, centers=centres, cluster_std=3.0,
                      random_state=3)
    add_embedded_photos(library, X.astype(np.float32), y)
    assert run_job(ClusterJob(library, k=4)).mode == "first"
    X, y = make_blobs([3, 3, 3, 3], n_features=48, centers=centres, cluster_std=3.0,
                      random_state=11)
    add_embedded_photos(library, X.astype(np.float32), y, start=1000)


def _other_organize_places_first(monkeypatch, library) -> None:
    """The other Organize places the new photos while this one is computing its placement."""
    real = job_module.place_photos
    state = {"inside": False}

    def place_after_the_other(*args, **kwargs):
        if not state["inside"]:
            state["inside"] = True
            other = run_job(ClusterJob(library))
            assert other.placed == 12 and other.placed_elsewhere == 0
        return real(*args, **kwargs)

    monkeypatch.setattr(job_module, "place_photos", place_after_the_other)


def test_the_second_organize_says_the_photos_were_placed_meanwhile(library, monkeypatch):
    _library_with_new_photos(library)
    _other_organize_places_first(monkeypatch, library)
    result = run_job(ClusterJob(library))
    assert (result.mode, result.new_photos, result.placed, result.placed_elsewhere) == \
        ("place", 12, 0, 12)
    assert result.to_json()["placed_elsewhere"] == 12


def test_the_cli_does_not_claim_zero_joined_for_photos_placed_elsewhere(library, monkeypatch,
                                                                        capsys):
    _library_with_new_photos(library)
    _other_organize_places_first(monkeypatch, library)
    assert main(["cluster", "--library", str(library.path)]) == 0
    out = capsys.readouterr().out
    assert "The 12 new photo(s) were placed meanwhile by another Organize running at the same " \
        "time" in out
    assert "0 joined" not in out


def test_json_counts_photos_placed_elsewhere_as_zero_when_alone(library, capsys):
    _library_with_new_photos(library)
    assert main(["cluster", "--json", "--library", str(library.path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["placed"], result["placed_elsewhere"]) == (12, 0)


def test_two_indexes_at_once_add_each_photo_once_without_an_error(library, tmp_path,
                                                                   monkeypatch):
    """The second index found the photos new, the first one added them meanwhile: the second
    takes their rows (it used to stop on "UNIQUE constraint failed: photos.path")."""
    from sqlalchemy import func, select

    from helpers import write_photos
    from photoclust.core.library import scan as scan_module
    from photoclust.core.library.models import Photo

    folder = write_photos(tmp_path / "photos", 5)
    real = scan_module.ScanJob._write_batch
    state = {"inside": False}

    def the_other_index_writes_first(self, *args, **kwargs):
        if not state["inside"]:
            state["inside"] = True
            assert run_job(scan_module.ScanJob(library, [folder])).added == 5
        return real(self, *args, **kwargs)

    monkeypatch.setattr(scan_module.ScanJob, "_write_batch", the_other_index_writes_first)
    result = run_job(scan_module.ScanJob(library, [folder]))
    assert (result.added, result.unchanged, result.skipped) == (0, 5, [])
    with library.session() as s:
        assert s.scalar(select(func.count(Photo.id))) == 5
