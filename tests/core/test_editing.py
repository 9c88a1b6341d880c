import json

import numpy as np
import pytest
from sqlalchemy import select

from _edit_fixtures import (
    add_embeddings,
    add_photos,
    check_invariants,
    cluster_of,
    members,
    snapshot,
)
from photoclust.core.clustering import editing
from photoclust.core.clustering.editing import EditError
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library import open_library, queries
from photoclust.core.library.models import Assignment, CannotLink, Cluster, EditEvent


@pytest.fixture
def clustered(library):
    """12 photos in three clusters of 4: returns (library, photo ids, [cluster ids])."""
    ids = add_photos(library, 12)
    apply_clustering(library, "m", "kmeans", ids, np.repeat([0, 1, 2], 4),
                     suggested_names=["cats", "dogs", "birds"])
    clusters = [cluster_of(library)[ids[i]] for i in (0, 4, 8)]
    return library, ids, clusters


def _events(library):
    with library.session() as s:
        return [(e.kind, e.undone, e.superseded, json.loads(e.payload))
                for e in s.scalars(select(EditEvent).order_by(EditEvent.id))]


def _cluster(library, cid):
    with library.session() as s:
        return s.get(Cluster, cid)


def _assert_undo_redo_exact(library, before, after):
    editing.undo(library)
    assert snapshot(library) == before
    check_invariants(library)
    editing.redo(library)
    assert snapshot(library) == after
    check_invariants(library)


def test_rename_cluster_sets_user_name_and_undoes(clustered):
    library, _, (cats, _, _) = clustered
    before = snapshot(library)
    result = editing.rename_cluster(library, cats, "  My   cat ")
    assert _cluster(library, cats).name == "My cat"
    assert _cluster(library, cats).name_source == "user"
    assert result.cluster_ids == [cats] and result.event_id is not None
    kind, _, _, payload = _events(library)[-1]
    assert kind == "rename" and payload["params"] == {"cluster_id": cats, "name": "My cat"}
    _assert_undo_redo_exact(library, before, snapshot(library))


def test_rename_cluster_rejects_empty_name_and_unknown_cluster(clustered):
    library, _, (cats, _, _) = clustered
    with pytest.raises(EditError, match="empty"):
        editing.rename_cluster(library, cats, "   ")
    with pytest.raises(EditError, match="no cluster with id 999"):
        editing.rename_cluster(library, 999, "x")
    assert _events(library) == []


def test_move_photos_labels_them_and_adds_cannot_link(clustered):
    library, ids, (cats, dogs, _) = clustered
    before = snapshot(library)
    editing.move_photos(library, [ids[0], ids[1]], dogs)
    with library.session() as s:
        assert [(a.cluster_id, a.source) for a in
                s.scalars(select(Assignment).where(Assignment.photo_id.in_(ids[:2])))] == [
            (dogs, "user"), (dogs, "user")]
        links = {(c.photo_id, c.cluster_id) for c in s.scalars(select(CannotLink))}
    assert links == {(ids[0], cats), (ids[1], cats)}
    assert len(members(library, cats)) == 2 and len(members(library, dogs)) == 6
    _assert_undo_redo_exact(library, before, snapshot(library))
    payload = _events(library)[-1][3]
    assert payload["assignments"][0] == [ids[0], [cats, "auto", None], [dogs, "user", 1.0]]


def test_move_back_lifts_the_cannot_link_and_undo_restores_it(clustered):
    library, ids, (cats, dogs, _) = clustered
    editing.move_photos(library, [ids[0]], dogs)
    middle = snapshot(library)
    editing.move_photos(library, [ids[0]], cats)
    state = snapshot(library)
    assert (ids[0], cats) not in state["cannot_links"]
    assert (ids[0], dogs) in state["cannot_links"]
    _assert_undo_redo_exact(library, middle, state)


def test_move_photos_reports_unknown_photo_and_cluster(clustered):
    library, ids, (cats, _, _) = clustered
    with pytest.raises(EditError, match="no photo with id 4242"):
        editing.move_photos(library, [ids[0], 4242], cats)
    with pytest.raises(EditError, match="no cluster"):
        editing.move_photos(library, [ids[0]], 4242)
    with pytest.raises(EditError, match="no photos"):
        editing.move_photos(library, [], cats)


def test_merge_clusters_deactivates_sources_and_undo_revives_them(clustered):
    library, ids, (cats, dogs, birds) = clustered
    before = snapshot(library)
    result = editing.merge_clusters(library, cats, [dogs, birds])
    assert members(library, cats) == set(ids)
    assert not _cluster(library, dogs).active and not _cluster(library, birds).active
    assert set(result.cluster_ids) == {cats, dogs, birds}
    check_invariants(library)
    with library.session() as s:  # merged-in photos count as placed by the user
        user = set(s.scalars(select(Assignment.photo_id).where(Assignment.source == "user")))
    assert user == members(library, cats) - set(ids[:4])
    _assert_undo_redo_exact(library, before, snapshot(library))
    editing.undo(library)
    assert _cluster(library, dogs).active and members(library, dogs) == set(ids[4:8])


def test_merge_clusters_rejects_self_and_inactive(clustered):
    library, _, (cats, dogs, _) = clustered
    with pytest.raises(EditError, match="itself"):
        editing.merge_clusters(library, cats, [cats])
    editing.merge_clusters(library, cats, [dogs])
    with pytest.raises(EditError, match=f"no cluster with id {dogs}"):
        editing.merge_clusters(library, cats, [dogs])


def test_merge_lifts_cannot_links_to_the_target(clustered):
    library, ids, (cats, dogs, _) = clustered
    editing.move_photos(library, [ids[0]], dogs)
    editing.merge_clusters(library, cats, [dogs])
    assert (ids[0], cats) not in snapshot(library)["cannot_links"]
    check_invariants(library)


def test_new_cluster_from_photos_and_undo_hides_it(clustered):
    library, ids, (cats, dogs, _) = clustered
    before = snapshot(library)
    result = editing.new_cluster_from_photos(library, [ids[0], ids[5]], name="Best")
    (new,) = result.created_cluster_ids
    assert members(library, new) == {ids[0], ids[5]}
    assert (_cluster(library, new).name, _cluster(library, new).name_source) == ("Best", "user")
    assert {(ids[0], cats), (ids[5], dogs)} <= snapshot(library)["cannot_links"]
    after = snapshot(library)
    _assert_undo_redo_exact(library, before, after)
    assert _cluster(library, new).active  # redo brought back the same id


def test_new_cluster_without_name_gets_automatic_name(clustered):
    library, ids, _ = clustered
    (new,) = editing.new_cluster_from_photos(library, [ids[0]]).created_cluster_ids
    assert _cluster(library, new).name == f"Cluster {new}"
    assert _cluster(library, new).name_source == "auto"


def test_remove_photos_unassigns_with_cannot_link(clustered):
    library, ids, (cats, _, _) = clustered
    before = snapshot(library)
    editing.remove_photos_from_cluster(library, [ids[2]])
    state = snapshot(library)
    assert ids[2] not in state["assignments"]
    assert state["cannot_links"] == {(ids[2], cats)}
    _assert_undo_redo_exact(library, before, state)


def test_confirm_photos_marks_them_user_in_place(clustered):
    library, ids, (cats, _, _) = clustered
    before = snapshot(library)
    editing.confirm_photos(library, [ids[0], ids[1]])
    state = snapshot(library)
    assert state["assignments"][ids[0]] == (cats, "user")
    assert state["assignments"][ids[2]] == (cats, "auto")
    _assert_undo_redo_exact(library, before, state)


def test_no_op_edit_records_no_event(clustered):
    library, ids, (cats, _, _) = clustered
    editing.confirm_photos(library, [ids[0]])
    result = editing.confirm_photos(library, [ids[0]])
    assert result.event_id is None
    assert len(_events(library)) == 1


def test_undo_and_redo_with_empty_history_return_none(library):
    assert editing.undo(library) is None
    assert editing.redo(library) is None
    assert not editing.can_undo(library) and not editing.can_redo(library)


def test_history_is_linear_new_edit_drops_redo_branch(clustered):
    library, ids, (cats, dogs, birds) = clustered
    editing.rename_cluster(library, cats, "A")
    editing.rename_cluster(library, dogs, "B")
    editing.undo(library)
    editing.undo(library)
    editing.redo(library)  # redoes "A", the oldest undone
    assert _cluster(library, cats).name == "A" and _cluster(library, dogs).name == "dogs"
    editing.rename_cluster(library, birds, "C")
    assert editing.redo(library) is None
    kinds = [(params["params"].get("name"), undone, superseded)
             for _, undone, superseded, params in _events(library)]
    assert kinds == [("A", False, False), ("B", True, True), ("C", False, False)]
    assert editing.undo(library).description == "Renamed 'birds' to 'C'"
    assert editing.undo(library).description == "Renamed 'cats' to 'A'"
    assert editing.undo(library) is None  # "B" was already undone


def test_events_are_committed_at_once(clustered):
    library, ids, (cats, dogs, _) = clustered
    editing.move_photos(library, [ids[0]], dogs)
    other = open_library(library.path)
    try:
        with other.session() as s:
            event = s.scalars(select(EditEvent)).one()
            assert event.kind == "move" and not event.undone
            assert s.get(Assignment, ids[0]).cluster_id == dogs
        editing.undo(library)
        with other.session() as s:
            assert s.scalars(select(EditEvent)).one().undone
    finally:
        other.close()


def test_undo_after_reclustering_leaves_newer_placements_alone(clustered):
    library, ids, (cats, dogs, birds) = clustered
    editing.remove_photos_from_cluster(library, [ids[1]])
    # A new run moves photo 0 (a cat) to birds, after the remove.
    labels = np.repeat([0, 1, 2], 4)
    labels[0] = 2
    apply_clustering(library, "m", "kmeans", ids, labels)
    assert cluster_of(library)[ids[0]] == birds
    editing.undo(library)
    state = cluster_of(library)
    assert state[ids[0]] == birds      # the newer run's placement stays
    assert state[ids[1]] == cats       # the removed photo is back where it was
    check_invariants(library)


def test_event_payload_documents_the_merge(clustered):
    library, ids, (cats, dogs, _) = clustered
    editing.merge_clusters(library, cats, [dogs])
    kind, _, _, payload = _events(library)[-1]
    assert kind == "merge"
    assert payload["params"] == {"target_id": cats, "source_ids": [dogs]}
    assert [row[0] for row in payload["assignments"]] == ids[4:8]
    assert payload["clusters"] == [[dogs, {"name": "dogs", "name_source": "auto", "active": True},
                                    {"name": "dogs", "name_source": "auto", "active": False}]]


def _blobs(rng, centers, per_blob, dim=16, spread=0.05):
    X = np.concatenate([center + spread * rng.standard_normal((per_blob, dim))
                        for center in centers])
    return X.astype(np.float32)


@pytest.fixture
def one_cluster_of_blobs(library):
    """One cluster of 18 photos whose embeddings form 3 tight blobs of 6, with top classes."""
    rng = np.random.default_rng(0)
    centers = np.eye(16)[:3] * 3
    ids = add_photos(library, 18)
    names = ["tabby", "beagle", "robin"]
    top = [json.dumps([[names[i // 6], 0.9]]) for i in range(18)]
    add_embeddings(library, ids, _blobs(rng, centers, 6), top_classes=top)
    apply_clustering(library, "efficientnet_lite0", "kmeans", ids, np.zeros(18, dtype=int),
                     suggested_names=["animals"])
    return library, ids, cluster_of(library)[ids[0]]


def test_split_cluster_into_k_parts_names_them_and_undoes(one_cluster_of_blobs):
    library, ids, animals = one_cluster_of_blobs
    before = snapshot(library)
    result = editing.split_cluster(library, animals, k=3)
    assert len(result.created_cluster_ids) == 2
    parts = [members(library, cid) for cid in [animals, *result.created_cluster_ids]]
    assert sorted(sorted(ids.index(pid) // 6 for pid in part) for part in parts) == [
        [0] * 6, [1] * 6, [2] * 6]
    names = {_cluster(library, cid).name for cid in [animals, *result.created_cluster_ids]}
    assert names == {"tabby", "beagle", "robin"}  # each part named from its own photos
    payload = _events(library)[-1][3]
    assert payload["params"]["k"] == 3
    assert sorted(len(p) for _, p in payload["params"]["parts"]) == [6, 6, 6]
    check_invariants(library)
    _assert_undo_redo_exact(library, before, snapshot(library))


def test_split_cluster_chooses_k_automatically(one_cluster_of_blobs):
    library, _, animals = one_cluster_of_blobs
    result = editing.split_cluster(library, animals)
    assert len(result.created_cluster_ids) == 2


def test_split_cluster_keeps_photos_without_embeddings(one_cluster_of_blobs):
    library, ids, animals = one_cluster_of_blobs
    (extra,) = add_photos(library, 1, prefix="/photos/extra")
    editing.move_photos(library, [extra], animals)
    editing.split_cluster(library, animals, k=2)
    assert extra in members(library, animals)
    with library.session() as s:  # moved photos keep their source
        assert s.get(Assignment, extra).source == "user"


def test_split_cluster_refuses_too_few_photos_or_bad_k(one_cluster_of_blobs):
    library, ids, animals = one_cluster_of_blobs
    with pytest.raises(EditError, match="k must be between 2 and 18"):
        editing.split_cluster(library, animals, k=19)
    (lonely,) = editing.new_cluster_from_photos(library, [ids[0]]).created_cluster_ids
    with pytest.raises(EditError, match="fewer than 2 photos"):
        editing.split_cluster(library, lonely)


def test_undo_new_cluster_after_reclustering_keeps_newer_members_visible(clustered):
    library, ids, (cats, _, _) = clustered
    (made,) = editing.new_cluster_from_photos(library, ids[8:12], name="Grandma") \
        .created_cluster_ids
    newcomer = add_photos(library, 1, prefix="/photos/new")
    apply_clustering(library, "m", "kmeans", ids + newcomer, [0] * 4 + [1] * 4 + [2] * 4 + [2])
    assert cluster_of(library)[newcomer[0]] == made
    editing.undo(library)
    assert cluster_of(library)[newcomer[0]] == made
    assert _cluster(library, made).active
    assert members(library, made) == set(newcomer)
    check_invariants(library)


def test_edit_waits_for_a_concurrent_writer_and_sees_its_commit(clustered):
    """A clustering job writing on another connection makes an edit wait, not fail."""
    import threading

    library, ids, (cats, dogs, _) = clustered
    other = open_library(library.path)
    locked, release = threading.Event(), threading.Event()

    def long_job():
        with other.session() as s:
            s.get(Cluster, dogs).name = "hounds"
            s.flush()  # holds the write lock from here to commit
            locked.set()
            release.wait(5)

    job = threading.Thread(target=long_job)
    job.start()
    try:
        locked.wait(5)
        threading.Timer(0.3, release.set).start()
        editing.move_photos(library, [ids[0]], dogs)
    finally:
        job.join()
        other.close()
    assert _cluster(library, dogs).name == "hounds"
    assert cluster_of(library)[ids[0]] == dogs
    assert "hounds" in _events(library)[-1][3]["description"]


def test_move_description_counts_photos_already_there(clustered):
    library, ids, (cats, dogs, _) = clustered
    result = editing.move_photos(library, [ids[0], ids[4]], dogs)
    assert result.description == "Moved 1 photo to dogs (1 already there)"
    assert snapshot(library)["assignments"][ids[4]] == (dogs, "user")


def test_split_names_each_part_from_its_own_photos_and_undo_restores_the_name(
        one_cluster_of_blobs):
    library, ids, animals = one_cluster_of_blobs
    before = snapshot(library)
    editing.split_cluster(library, animals, k=3)
    assert _cluster(library, animals).name in {"tabby", "beagle", "robin"}
    editing.undo(library)
    assert snapshot(library) == before and _cluster(library, animals).name == "animals"


def test_split_keeps_a_users_name_with_the_part_most_like_what_was_named(one_cluster_of_blobs):
    library, ids, animals = one_cluster_of_blobs
    editing.rename_cluster(library, animals, "Robins")
    # The user confirmed two robins (the third blob): the name means them, the largest part
    # or not.
    editing.confirm_photos(library, [ids[12], ids[13]])
    result = editing.split_cluster(library, animals, k=3)
    assert members(library, animals) == set(ids[12:18])
    assert _cluster(library, animals).name == "Robins"
    assert {_cluster(library, cid).name for cid in result.created_cluster_ids} == {"tabby",
                                                                                   "beagle"}


def test_write_session_holds_the_write_lock_from_its_start(library):
    """``write_session`` begins with BEGIN IMMEDIATE: before it has run a statement, no other
    connection can start writing; a plain session leaves the lock free until it writes."""
    import sqlite3

    from photoclust.core.edits.history import write_session

    def another_writer_gets_in() -> bool:
        con = sqlite3.connect(library.path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return False
        finally:
            con.close()

    with write_session(library):
        assert not another_writer_gets_in()
    with library.session() as s:
        s.connection()
        assert another_writer_gets_in()
    assert another_writer_gets_in()


def test_not_in_cluster_takes_out_the_photos_in_it_and_marks_the_others(library):
    from _edit_fixtures import cluster_of, labelled_library
    from photoclust.core.learning.constraints import derive_constraints

    ids, _y, clusters = labelled_library(library)
    inside, elsewhere = int(ids[0]), int(ids[-1])
    target = clusters[0]
    assert cluster_of(library)[inside] == target and cluster_of(library)[elsewhere] != target
    result = editing.photos_not_in_cluster(library, [inside, elsewhere], target)
    name = next(c.name for c in queries.list_clusters(library) if c.id == target)
    assert result.description == (f"Took 1 photo out of {name} and marked 1 photo as not in "
                                   f"{name}")
    assert set(result.photo_ids) == {inside, elsewhere}
    assert inside not in cluster_of(library) and cluster_of(library)[elsewhere] != target
    assert {(inside, target), (elsewhere, target)} <= derive_constraints(library).cannot_link
    editing.undo(library)
    assert cluster_of(library)[inside] == target
    assert not {(inside, target), (elsewhere, target)} & derive_constraints(library).cannot_link
