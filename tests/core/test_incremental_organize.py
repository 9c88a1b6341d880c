"""Organize on a library that has clusters: new photos are placed, nobody moves; re-clustering
everything is explicit (``fresh``) and one undoable edit. Real library files, embeddings inserted
directly."""
import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sqlalchemy import select

from _clustering_fixtures import add_embedded_photos
from _edit_fixtures import check_invariants, snapshot
from photoclust.cli import main
from photoclust.core.clustering import editing
from photoclust.core.clustering.job import ClusterJob
from photoclust.core.edits import history as edit_history
from photoclust.core.jobs import Cancelled, JobContext, run_job
from photoclust.core.library.models import Assignment, ClusteringRun, EditEvent

CENTRES = 5


def blobs(sizes, seed=3):
    # Kinds, not copies: two photos of one kind are less alike than the near-duplicate threshold
    # (Organize counts copies among new photos as one, placement.copy_groups).
    X, y = make_blobs(sizes, n_features=48, centers=np.random.default_rng(7).normal(
        scale=6.0, size=(CENTRES, 48)), cluster_std=3.0, random_state=seed)
    return X.astype(np.float32), y


def placements(library):
    with library.session() as s:
        return {pid: (cid, src) for pid, cid, src in s.execute(
            select(Assignment.photo_id, Assignment.cluster_id, Assignment.source))}


@pytest.fixture
def four_kinds(library):
    """Kinds 0-3 clustered; kind 4 is kept for later (a kind the library has not seen)."""
    X, y = blobs([40, 40, 40, 40, 0])
    ids = add_embedded_photos(library, X, y)
    first = run_job(ClusterJob(library))
    assert first.mode == "first" and len(first.clusters) == 4
    return ids, y


def add_new(library, sizes, start=1000, seed=11):
    X, y = blobs(sizes, seed=seed)
    return add_embedded_photos(library, X, y, start=start), y


def test_new_photos_join_their_kind_and_a_new_kind_founds_its_own_cluster(library, four_kinds):
    ids, y = four_kinds
    before = placements(library)
    new_ids, new_y = add_new(library, [5, 5, 5, 5, 12])
    result = run_job(ClusterJob(library))
    after = placements(library)
    assert result.mode == "place" and result.new_photos == 32 and result.placed == 32
    assert {pid: after[pid] for pid in before} == before  # nobody moved
    kind_cluster = {int(k): before[int(ids[y == k][0])][0] for k in range(4)}
    for pid, kind in zip(new_ids.tolist(), new_y.tolist()):
        if kind < 4:
            assert after[pid] == (kind_cluster[kind], "auto")
    new_kind = {after[pid][0] for pid, kind in zip(new_ids.tolist(), new_y.tolist()) if kind == 4}
    assert len(new_kind) == 1 and new_kind.isdisjoint(kind_cluster.values())
    assert result.founded_cluster_ids == sorted(new_kind)
    with library.session() as s:  # the placements are told apart by their run
        runs = set(s.scalars(select(Assignment.run_id)
                             .where(Assignment.photo_id.in_(new_ids.tolist()))))
        assert [s.get(ClusteringRun, r).method for r in runs] == ["place"]
        confidences = s.scalars(select(Assignment.confidence)
                                .where(Assignment.photo_id.in_(new_ids.tolist()))).all()
    assert all(c is not None and 0.0 <= c <= 1.0 for c in confidences)
    check_invariants(library)


def test_a_few_new_photos_of_known_kinds_found_nothing(library, four_kinds):
    new_ids, _ = add_new(library, [3, 3, 3, 3, 0])
    result = run_job(ClusterJob(library))
    assert result.founded_cluster_ids == [] and result.placed == 12
    assert len(result.clusters) == 4


def test_a_burst_of_one_moment_joins_its_kind_instead_of_founding(library, four_kinds):
    """Twelve near-identical frames (copies by the Duplicates page's threshold) of a photo of
    kind 1 are one photo's worth of evidence: Organize puts them with kind 1."""
    ids, y = four_kinds
    kind_one = placements(library)[int(ids[y == 1][0])][0]
    X, _ = blobs([0, 1, 0, 0, 0], seed=5)
    rng = np.random.default_rng(1)
    frames = X[0] + 0.05 * rng.normal(size=(12, X.shape[1])).astype(np.float32)
    burst = add_embedded_photos(library, frames, np.ones(12, dtype=int), start=2000)
    result = run_job(ClusterJob(library))
    assert result.founded_cluster_ids == [] and result.placed == 12
    assert {placements(library)[int(pid)][0] for pid in burst} == {kind_one}


def test_placement_never_moves_user_placed_or_removed_photos(library, four_kinds):
    ids, y = four_kinds
    clusters = {k: placements(library)[int(ids[y == k][0])][0] for k in range(4)}
    # The user puts a kind-0 photo into kind 1's cluster and takes a kind-2 photo out.
    editing.move_photos(library, [int(ids[y == 0][1])], clusters[1])
    editing.remove_photos_from_cluster(library, [int(ids[y == 2][1])])
    before = placements(library)
    add_new(library, [4, 4, 4, 4, 0])
    run_job(ClusterJob(library))
    after = placements(library)
    assert {pid: after.get(pid) for pid in before} == before
    assert int(ids[y == 2][1]) not in after  # the removed photo stays out
    check_invariants(library)


def test_placement_follows_the_learner_once_the_user_corrected(library):
    """Kinds 0 and 1 start in one cluster; the user founds kind 1's cluster with three photos.
    New kind-1 photos go where the user's corrections point, not to the mixed cluster."""
    from photoclust.core.clustering.identity import apply_clustering

    X, y = blobs([40, 40, 40, 0, 0])
    ids = add_embedded_photos(library, X, y)
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, np.where(y <= 1, 0, 1))
    editing.new_cluster_from_photos(library, ids[y == 1][:3].tolist(), name="Kind one")
    kind_one = placements(library)[int(ids[y == 1][0])][0]
    new_ids, new_y = add_new(library, [0, 8, 0, 0, 0])
    run_job(ClusterJob(library))
    after = placements(library)
    assert [after[pid][0] for pid in new_ids.tolist()] == [kind_one] * 8


def test_fresh_reclusters_everything_as_one_undoable_edit(library, four_kinds):
    ids, y = four_kinds
    first_cluster = placements(library)[int(ids[0])][0]
    editing.rename_cluster(library, first_cluster, "Mine")
    editing.confirm_photos(library, [int(ids[0])])
    before = snapshot(library)
    result = run_job(ClusterJob(library, k=2, fresh=True))
    assert result.mode == "fresh" and result.event_id is not None
    after = snapshot(library)
    assert len(after["clusters"]) == 2 and after != before
    assert after["assignments"][int(ids[0])] == (first_cluster, "user")
    assert after["clusters"][first_cluster] == ("Mine", "user")
    entry = edit_history.history(library)[0]
    assert (entry.event_id, entry.kind) == (result.event_id, "recluster")
    assert entry.description.startswith("Re-clustered everything")
    undone = editing.undo(library)
    assert undone.event_id == result.event_id
    assert snapshot(library) == before
    editing.redo(library)
    assert snapshot(library) == after
    check_invariants(library)


def test_cancelled_placement_stores_nothing(library, four_kinds):
    add_new(library, [3, 3, 3, 3, 6])
    before = snapshot(library)
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        run_job(ClusterJob(library), ctx)
    assert snapshot(library) == before


def test_cluster_cli_places_then_fresh_then_undo(library, four_kinds, capsys):
    path = str(library.path)
    add_new(library, [2, 2, 2, 2, 0])
    assert main(["cluster", "--library", path, "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "8 new photo(s): 8 joined existing clusters" in out and "--fresh" in out
    before = snapshot(library)
    assert main(["cluster", "--fresh", "--k", "2", "--json", "--library", path]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "fresh" and len(result["clusters"]) == 2
    assert main(["undo", "--library", path]) == 0
    assert "Re-clustered everything" in capsys.readouterr().out
    assert snapshot(library) == before
    with library.session() as s:
        assert s.scalar(select(EditEvent.kind).order_by(EditEvent.id.desc())) == "recluster"
