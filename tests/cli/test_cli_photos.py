"""``photoclust photos``: one row per present photo with its cluster, source and confidence."""

import numpy as np
from sqlalchemy import update

from _cli_runs import run_json
from _edit_fixtures import add_embeddings, add_photos
from photoclust.cli import main
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library.models import Photo


def make_library(library):
    ids = add_photos(library, 6)
    add_embeddings(library, ids, np.eye(6, 8, dtype=np.float32))
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids[:5], [0, 0, 0, 1, 1],
                     confidences=[0.9, 0.8, 0.7, 0.6, 0.5], suggested_names=["cats", "dogs"])
    return ids


def test_photos_lists_every_present_photo_with_cluster_source_and_confidence(library, capsys):
    ids = make_library(library)
    editing.confirm_photos(library, [ids[1]])
    with library.session() as s:  # a missing file is not listed
        s.execute(update(Photo).where(Photo.id == ids[4]).values(status="missing"))
    rows = run_json(capsys, "photos", "--library", str(library.path))
    assert [r["id"] for r in rows] == [ids[0], ids[1], ids[2], ids[3], ids[5]]
    assert all(set(r) == {"id", "path", "cluster_id", "cluster_name", "source", "confidence",
                          "taken", "taken_source", "lat", "lon", "place"} for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id[ids[0]]["cluster_name"] == "cats" and by_id[ids[0]]["source"] == "auto"
    assert by_id[ids[0]]["confidence"] == 0.9
    assert by_id[ids[1]]["source"] == "user" and by_id[ids[1]]["confidence"] == 1.0
    assert by_id[ids[3]]["cluster_name"] == "dogs"
    old_keys = ("id", "path", "cluster_id", "cluster_name", "source", "confidence")
    assert {k: by_id[ids[5]][k] for k in old_keys} == {
        "id": ids[5], "path": by_id[ids[5]]["path"], "cluster_id": None, "cluster_name": None,
        "source": "auto", "confidence": None}


def test_photos_of_one_cluster_and_unassigned(library, capsys):
    ids = make_library(library)
    cats = run_json(capsys, "photos", "--library", str(library.path))[0]["cluster_id"]
    rows = run_json(capsys, "photos", "--cluster", str(cats), "--library", str(library.path))
    assert [r["id"] for r in rows] == ids[:3]
    rows = run_json(capsys, "photos", "--unassigned", "--library", str(library.path))
    assert [r["id"] for r in rows] == [ids[5]]


def test_photos_text_and_bad_requests(library, capsys):
    make_library(library)
    assert main(["photos", "--library", str(library.path)]) == 0
    out = capsys.readouterr().out
    assert "cats" in out and "no cluster" in out and "90% sure" in out
    assert main(["photos", "--cluster", "999", "--library", str(library.path)]) == 2
    assert "no cluster with id 999" in capsys.readouterr().err
