"""Learn is one undoable edit with a readable summary; undo by event id; the history survives
reopening the library; an interrupted Learn leaves the library as it was."""
import json

import numpy as np
import pytest

from _edit_fixtures import (
    add_embeddings,
    add_photos,
    check_invariants,
    cluster_of,
    labelled_library,
    snapshot,
)
from photoclust.cli import main
from photoclust.core.clustering import editing
from photoclust.core.clustering.editing import EditError
from photoclust.core.clustering.job import ClusterJob
from photoclust.core.edits import history as edit_history
from photoclust.core.jobs import run_job
from photoclust.core.learning.job import LearnJob
from photoclust.core.library import open_library


def corrected_library(library):
    """Classes 0 and 1 share a cluster; the user founds class 1's cluster with one photo."""
    ids, y, clusters = labelled_library(library)
    editing.new_cluster_from_photos(library, [int(ids[40])], name="Class one")
    return ids, y, clusters


def test_learn_is_one_edit_with_its_moves(library):
    ids, y, clusters = corrected_library(library)
    before = cluster_of(library)
    result = run_job(LearnJob(library))
    after = cluster_of(library)
    moved = [pid for pid in before if before[pid] != after[pid]]
    assert result.event_id is not None and result.n_reassigned == len(moved) > 20
    new_cluster = after[int(ids[40])]
    assert result.moves[0] == {"from_cluster_id": clusters[0], "to_cluster_id": new_cluster,
                               "photos": result.moves[0]["photos"]}
    assert sum(m["photos"] for m in result.moves) == len(moved)
    assert result.description.startswith("Learned from 1 answer: moved ")
    assert "to Class one" in result.description
    entry = edit_history.history(library)[0]
    assert (entry.event_id, entry.kind, entry.description) == (result.event_id, "learn",
                                                               result.description)
    assert entry.params["moves"] == result.moves


def test_undo_learn_after_new_photos_arrived_leaves_them_alone(library):
    ids, y, clusters = corrected_library(library)
    before_learn = snapshot(library)
    learned = run_job(LearnJob(library))
    # New photos of class 1 arrive and Organize places them.
    rng = np.random.default_rng(0)
    class_one = np.mean(np.asarray([library_vector(library, int(p)) for p in ids[30:60]]), axis=0)
    new_ids = add_photos(library, 6, prefix="/photos/new")
    add_embeddings(library, new_ids, class_one + 0.05 * rng.normal(size=(6, len(class_one))))
    run_job(ClusterJob(library))
    placed = {pid: cluster_of(library)[pid] for pid in new_ids}
    assert set(placed.values()) == {cluster_of(library)[int(ids[40])]}

    undone = editing.undo(library)
    assert (undone.event_id, undone.kind) == (learned.event_id, "learn")
    now = snapshot(library)
    assert {pid: now["assignments"][pid] for pid in before_learn["assignments"]} == \
        before_learn["assignments"]
    assert {pid: cluster_of(library)[pid] for pid in new_ids} == placed
    check_invariants(library)
    redone = editing.redo(library)
    assert redone.event_id == learned.event_id


def library_vector(library, photo_id):
    from photoclust.core.embedding.store import load_embeddings

    pids, X = load_embeddings(library, "efficientnet_lite0")
    return X[list(pids).index(photo_id)]


def test_undo_by_event_id_refuses_another_newest_edit(library):
    ids, y, clusters = corrected_library(library)
    learned = run_job(LearnJob(library))
    # An edit made elsewhere (the command line) after the app showed "Undo Learn".
    rename = editing.rename_cluster(library, clusters[0], "Elsewhere")
    before = snapshot(library)
    with pytest.raises(EditError, match="can no longer be undone from here: the next edit to "
                       "undo is now “Renamed"):
        editing.undo(library, event_id=learned.event_id)
    assert snapshot(library) == before
    assert edit_history.next_undo(library).event_id == rename.event_id
    assert editing.undo(library, event_id=rename.event_id).event_id == rename.event_id
    assert editing.undo(library, event_id=learned.event_id).kind == "learn"
    with pytest.raises(EditError, match="can no longer be redone"):
        editing.redo(library, event_id=rename.event_id)
    assert editing.redo(library, event_id=learned.event_id).kind == "learn"


def test_history_is_there_after_reopening(library):
    ids, y, clusters = corrected_library(library)
    run_job(LearnJob(library))
    editing.undo(library)
    entries = [e.to_json() for e in edit_history.history(library)]
    library.close()
    with open_library(library.path) as reopened:
        again = [e.to_json() for e in edit_history.history(reopened)]
        assert edit_history.next_redo(reopened).kind == "learn"
    assert again == entries
    assert [(e["kind"], e["undone"]) for e in entries] == [("learn", True), ("new_cluster", False)]


def test_interrupted_learn_leaves_the_library_as_before(library, monkeypatch):
    ids, y, clusters = corrected_library(library)
    before = snapshot(library)
    events = len(edit_history.history(library))

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    # The crash comes after the new placements were written, before the event is stored.
    monkeypatch.setattr("photoclust.core.clustering.identity.record_applied", crash)
    with pytest.raises(RuntimeError):
        run_job(LearnJob(library))
    assert snapshot(library) == before
    assert len(edit_history.history(library)) == events


def test_learn_and_undo_from_the_cli(library, capsys):
    ids, y, clusters = corrected_library(library)
    path = str(library.path)
    assert main(["learn", "--json", "--library", path]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"event_id", "description", "moves", "reassigned", "labelled"} <= set(result)
    assert all(set(m) == {"from_cluster_id", "to_cluster_id", "photos"} for m in result["moves"])
    assert main(["learn", "--library", path]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["undo", "--library", path]) == 0
    assert "Learned from 1 answer" in capsys.readouterr().out


def test_no_to_a_cluster_a_photo_is_not_in_keeps_learn_from_putting_it_there(library):
    """Review's "No" to "is this photo in Class one?" for a photo elsewhere: it stays where it is,
    and Learn (which moves its siblings to Class one) never puts it there; undo forgets it."""
    ids, y, clusters = corrected_library(library)
    new_cluster = cluster_of(library)[int(ids[40])]
    doubted = int(ids[41])
    where = cluster_of(library)[doubted]
    answered = editing.photos_not_in_cluster(library, [doubted], new_cluster)
    assert answered.kind == "not_in_cluster" and cluster_of(library)[doubted] == where
    assert edit_history.history(library)[0].description == \
        "Marked 1 photo as not in Class one"
    run_job(LearnJob(library))
    after = cluster_of(library)
    siblings = [int(p) for p in ids[30:60] if int(p) != doubted]
    assert sum(after[p] == new_cluster for p in siblings) > len(siblings) // 2
    assert after[doubted] != new_cluster
    check_invariants(library)
    # Marking it again changes nothing and records nothing.
    assert editing.photos_not_in_cluster(library, [doubted], new_cluster).event_id is None
