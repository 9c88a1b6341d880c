"""``photoclust evaluate``, ``cluster`` and ``duplicates`` through the command line.

The evaluate tests run the real default model on ~24 tiny images drawn by the test."""
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import make_blobs
from sqlalchemy import update

from _clustering_fixtures import add_embedded_photos
from photoclust.cli import main
from photoclust.core.library.models import Photo


@pytest.mark.slow
def test_evaluate_cli_json_and_report(labelled_folder, tmp_path, capsys):
    report = tmp_path / "report"
    library_file = tmp_path / "eval.sqlite"
    status = main(["evaluate", str(labelled_folder), "--k", "4", "--library", str(library_file),
                   "--report", str(report), "--json"])
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert {"n", "k_true", "k", "acc", "nmi", "ari"} <= set(out)
    assert (out["n"], out["k_true"], out["k"]) == (24, 4, 4)
    assert out["acc"] >= 0.9 and out["ari"] >= 0.75  # drawn shapes are easy for the CNN
    assert sum(row["size"] for row in out["clusters"]) == 24
    assert (report / "clusters.csv").read_text().startswith("cluster,size,majority_label,purity")
    assert "| cluster | size | majority label | purity |" in (report / "clusters.md").read_text()
    for picture in ("tsne.png", "samples.png"):
        with Image.open(report / picture) as im:
            assert im.width > 500 and im.height > 100

    # Re-using the library: nothing is embedded again, auto k, same photos scored.
    status = main(["evaluate", str(labelled_folder), "--library", str(library_file), "--json"])
    again = json.loads(capsys.readouterr().out)
    assert status == 0 and again["n"] == 24 and again["k_auto"] is True
    assert 2 <= again["k"] <= 8


@pytest.mark.slow
def test_evaluate_accepts_a_relative_dataset_path_with_dot_dot(labelled_folder, tmp_path,
                                                                monkeypatch, capsys):
    """``photoclust evaluate ../datasets/X`` (a relative path with ``..``) scores the photos: the
    dataset root is normalised the way the scanner stores photo paths."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    relative = Path("..") / Path(os.path.relpath(labelled_folder, tmp_path))
    status = main(["evaluate", str(relative), "--k", "4", "--library",
                   str(tmp_path / "eval.sqlite"), "--json"])
    assert status == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["n"] == 24


def test_cluster_cli_json(library, capsys):
    X, y = make_blobs([30, 20, 20], n_features=32, cluster_std=1.5, random_state=0)
    add_embedded_photos(library, X.astype(np.float32), y)
    path = str(library.path)
    library.close()
    assert main(["cluster", "--library", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"run_id", "k", "method", "model", "n", "clusters"} <= set(out)
    assert (out["k"], out["method"], out["n"]) == (3, "kmeans", 70)
    assert sorted(c["size"] for c in out["clusters"]) == [20, 20, 30]
    assert main(["cluster", "--library", path, "--k", "2", "--method", "agglomerative",
                 "--fresh"]) == 0
    assert "70 photos clustered with k=2" in capsys.readouterr().out
    assert main(["cluster", "--library", path, "--method", "hdbscan", "--k", "3"]) == 1
    assert "finds the number of clusters itself" in capsys.readouterr().err


def test_duplicates_cli(library, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 32)).astype(np.float32)
    X[1] = X[0] + 0.01 * rng.normal(size=32)
    ids = add_embedded_photos(library, X, [0, 0, 1, 2, 3])
    t0 = datetime(2024, 1, 1, 9, 0, 0)
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == int(ids[3])).values(taken_at=t0))
        s.execute(update(Photo).where(Photo.id == int(ids[4])).values(
            taken_at=t0 + timedelta(seconds=2)))
    path = str(library.path)
    library.close()
    assert main(["duplicates", "--library", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_groups"] == 1
    assert [p["id"] for p in out["groups"][0]["photos"]] == [int(ids[0]), int(ids[1])]
    assert out["groups"][0]["kind"] == "near"
    assert main(["duplicates", "--library", path]) == 0
    assert "/photos/p0.jpg" in capsys.readouterr().out
