
import numpy as np
import pytest

from _cli_runs import run, run_json
from _edit_fixtures import add_embeddings, add_photos, cluster_of, members, snapshot
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library import open_library


@pytest.fixture
def lib_path(library):
    """A library file with 9 photos in clusters "cats" (4), "dogs" (3), "birds" (2); embeddings
    form two blobs inside "cats" so that it can be split."""
    ids = add_photos(library, 9)
    rng = np.random.default_rng(0)
    X = np.zeros((9, 8), dtype=np.float32)
    X[:2, 0] = 1
    X[2:4, 1] = 1
    X[4:, 2] = 1
    add_embeddings(library, ids, X + 0.01 * rng.standard_normal(X.shape))
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, [0] * 4 + [1] * 3 + [2] * 2,
                     suggested_names=["cats", "dogs", "birds"])
    return library.path




def _ids_by_name(capsys, lib_path):
    return {c["name"]: c["id"] for c in run_json(capsys, "clusters", "--library", str(lib_path))}


def test_cli_clusters_json_lists_id_name_size(capsys, lib_path):
    listed = run_json(capsys, "clusters", "--library", str(lib_path))
    assert [(c["name"], c["size"]) for c in listed] == [("cats", 4), ("dogs", 3), ("birds", 2)]
    assert all(isinstance(c["id"], int) for c in listed)
    code, out, _ = run(capsys, "clusters", "--library", str(lib_path))
    assert code == 0 and "cats" in out and "PHOTOS" in out


def test_cli_rename_then_undo_and_redo(capsys, lib_path):
    cats = _ids_by_name(capsys, lib_path)["cats"]
    code, out, _ = run(capsys, "rename", str(cats), "Our", "cat", "--library", str(lib_path))
    assert code == 0 and "Our cat" in out
    assert "Our cat" in _ids_by_name(capsys, lib_path)
    undone = run_json(capsys, "undo", "--library", str(lib_path))
    assert undone["kind"] == "rename" and undone["cluster_ids"] == [cats]
    assert "cats" in _ids_by_name(capsys, lib_path)
    code, out, _ = run(capsys, "redo", "--library", str(lib_path))
    assert code == 0 and out.startswith("Redo: Renamed")
    assert "Our cat" in _ids_by_name(capsys, lib_path)


def test_cli_move_by_path_and_unknown_path(capsys, lib_path):
    ids = _ids_by_name(capsys, lib_path)
    result = run_json(capsys, "move", "/photos/p00000.jpg", "/photos/p00001.jpg",
                      "--to", str(ids["birds"]), "--library", str(lib_path))
    assert result["kind"] == "move" and len(result["photo_ids"]) == 2
    sizes = {c["name"]: c["size"] for c in run_json(capsys, "clusters", "--library",
                                                    str(lib_path))}
    assert sizes == {"cats": 2, "dogs": 3, "birds": 4}
    code, _, err = run(capsys, "move", "/photos/p00002.jpg", "/nowhere/x.jpg", "--to",
                       str(ids["birds"]), "--library", str(lib_path))
    assert code == 2 and "not in the library: /nowhere/x.jpg" in err
    code, _, err = run(capsys, "move", "/photos/p00002.jpg", "--to", "999",
                       "--library", str(lib_path))
    assert code == 2 and "no cluster with id 999" in err


def test_cli_merge_split_and_errors(capsys, lib_path):
    ids = _ids_by_name(capsys, lib_path)
    merged = run_json(capsys, "merge", str(ids["dogs"]), str(ids["birds"]),
                      "--library", str(lib_path))
    assert {c["id"]: c["active"] for c in merged["clusters"]} == {ids["dogs"]: True,
                                                                 ids["birds"]: False}
    code, _, err = run(capsys, "merge", str(ids["dogs"]), str(ids["birds"]),
                       "--library", str(lib_path))
    assert code == 2 and f"no cluster with id {ids['birds']}" in err
    code, _, err = run(capsys, "merge", str(ids["dogs"]), "--library", str(lib_path))
    assert code == 2 and "at least two" in err

    split = run_json(capsys, "split", str(ids["cats"]), "--k", "2", "--library", str(lib_path))
    assert len(split["created_cluster_ids"]) == 1
    library = open_library(lib_path)
    try:
        part = split["created_cluster_ids"][0]
        assert len(members(library, ids["cats"])) == 2 and len(members(library, part)) == 2
    finally:
        library.close()
    code, _, err = run(capsys, "split", str(ids["cats"]), "--k", "1", "--library", str(lib_path))
    assert code == 2 and "--k must be at least 2" in err


def test_cli_undo_restores_state_and_reports_empty_history(capsys, lib_path):
    library = open_library(lib_path)
    try:
        before = snapshot(library)
        ids = _ids_by_name(capsys, lib_path)
        run_json(capsys, "merge", str(ids["cats"]), str(ids["dogs"]), "--library", str(lib_path))
        run_json(capsys, "undo", "--library", str(lib_path))
        assert snapshot(library) == before
        code, out, _ = run(capsys, "undo", "--library", str(lib_path))
        assert code == 0 and out.strip() == "Nothing to undo."
        assert set(cluster_of(library).values()) == set(ids.values())
    finally:
        library.close()
