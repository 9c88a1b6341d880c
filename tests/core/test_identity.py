import numpy as np
import pytest
from sqlalchemy import select

from _edit_fixtures import add_photos, check_invariants, cluster_of, members
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library.models import Assignment, Cluster, ClusteringRun, EditEvent


def _cluster(library, cid):
    with library.session() as s:
        return s.get(Cluster, cid)


def _three_groups(library, n_per=4):
    ids = add_photos(library, 3 * n_per)
    labels = np.repeat([0, 1, 2], n_per)
    run = apply_clustering(library, "m", "kmeans", ids, labels,
                           suggested_names={0: "cats", 1: "dogs", 2: ""})
    by_label = {lab: cluster_of(library)[ids[lab * n_per]] for lab in range(3)}
    return ids, labels, run, by_label


def test_apply_clustering_first_run_creates_named_clusters(library):
    ids, labels, run, by_label = _three_groups(library)
    with library.session() as s:
        stored = s.get(ClusteringRun, run)
        assert (stored.model, stored.method, stored.k) == ("m", "kmeans", 3)
        assert {a.run_id for a in s.scalars(select(Assignment))} == {run}
    assert _cluster(library, by_label[0]).name == "cats"
    assert _cluster(library, by_label[1]).name == "dogs"
    assert _cluster(library, by_label[2]).name == f"Cluster {by_label[2]}"
    assert members(library, by_label[1]) == set(ids[4:8])
    check_invariants(library)


def test_apply_clustering_keeps_ids_when_labels_are_permuted(library):
    ids, labels, _, by_label = _three_groups(library)
    permuted = np.array([2, 0, 1])[labels]
    apply_clustering(library, "m", "kmeans", ids, permuted)
    assert members(library, by_label[0]) == set(ids[0:4])
    assert members(library, by_label[1]) == set(ids[4:8])
    assert members(library, by_label[2]) == set(ids[8:12])
    with library.session() as s:
        assert s.scalar(select(Cluster.id).order_by(Cluster.id.desc()).limit(1)) == max(
            by_label.values())


def test_apply_clustering_keeps_user_names_and_refreshes_automatic_ones(library):
    ids, labels, _, by_label = _three_groups(library)
    editing.rename_cluster(library, by_label[0], "My cat")
    apply_clustering(library, "m", "kmeans", ids, labels,
                     suggested_names=["felines", "puppies", "birds"])
    assert _cluster(library, by_label[0]).name == "My cat"
    assert _cluster(library, by_label[0]).name_source == "user"
    assert _cluster(library, by_label[1]).name == "puppies"
    assert _cluster(library, by_label[2]).name == "birds"


def test_apply_clustering_leaves_user_placed_photos_where_the_user_put_them(library):
    ids, labels, _, by_label = _three_groups(library)
    editing.move_photos(library, [ids[0]], by_label[2])
    apply_clustering(library, "m", "kmeans", ids, labels)  # algorithm still says group 0
    assert cluster_of(library)[ids[0]] == by_label[2]
    with library.session() as s:
        assert s.get(Assignment, ids[0]).source == "user"
    check_invariants(library)


def test_apply_clustering_honours_cannot_links_without_scores(library):
    ids, labels, _, by_label = _three_groups(library)
    editing.remove_photos_from_cluster(library, [ids[1]])
    apply_clustering(library, "m", "kmeans", ids, labels)
    assert ids[1] not in cluster_of(library)
    assert members(library, by_label[0]) == {ids[0], ids[2], ids[3]}
    check_invariants(library)


def test_apply_clustering_sends_cannot_linked_photo_to_next_best_label(library):
    ids, labels, _, by_label = _three_groups(library)
    editing.remove_photos_from_cluster(library, [ids[1]])
    scores = np.zeros((len(ids), 3))
    scores[np.arange(len(ids)), labels] = 1.0
    scores[1] = [0.7, 0.1, 0.2]  # after group 0, group 2 fits best
    apply_clustering(library, "m", "kmeans", ids, labels, label_scores=scores)
    assert cluster_of(library)[ids[1]] == by_label[2]
    check_invariants(library)


def test_apply_clustering_new_photos_join_existing_clusters(library):
    ids, labels, _, by_label = _three_groups(library)
    new = add_photos(library, 2, prefix="/photos/new")
    apply_clustering(library, "m", "kmeans", ids + new, np.concatenate([labels, [1, 2]]))
    assert cluster_of(library)[new[0]] == by_label[1]
    assert cluster_of(library)[new[1]] == by_label[2]


def test_apply_clustering_deactivates_emptied_clusters_and_keeps_them(library):
    ids, labels, _, by_label = _three_groups(library)
    merged = np.where(labels == 2, 1, labels)  # groups 1 and 2 become one
    apply_clustering(library, "m", "kmeans", ids, merged)
    survivors = {cluster_of(library)[pid] for pid in ids}
    assert len(survivors) == 2
    emptied = (set(by_label.values()) - survivors).pop()
    assert _cluster(library, emptied) is not None and not _cluster(library, emptied).active
    check_invariants(library)


def test_apply_clustering_recognises_a_cluster_the_user_built(library):
    ids, labels, _, by_label = _three_groups(library)
    made = editing.new_cluster_from_photos(library, ids[0:4], name="Grandma").created_cluster_ids
    apply_clustering(library, "m", "kmeans", ids, labels)
    assert members(library, made[0]) == set(ids[0:4])
    assert not _cluster(library, by_label[0]).active


def test_apply_clustering_small_overlap_does_not_carry_identity(library):
    ids = add_photos(library, 20)
    apply_clustering(library, "m", "kmeans", ids, [0] * 10 + [1] * 10)
    first, second = cluster_of(library)[ids[0]], cluster_of(library)[ids[10]]
    new = add_photos(library, 9, prefix="/photos/new")
    # Group 0 takes both old clusters' photos but one; group 1 is that one plus 9 new photos:
    # 1 photo in common with the second cluster (< 20% of 10) does not make it that cluster.
    apply_clustering(library, "m", "kmeans", ids + new, [0] * 19 + [1] * 10,
                     min_overlap_fraction=0.2)
    assert cluster_of(library)[ids[0]] == first
    assert cluster_of(library)[new[0]] not in (first, second)
    assert not _cluster(library, second).active


def test_apply_clustering_noise_label_leaves_photo_unassigned(library):
    ids, labels, _, _ = _three_groups(library)
    labels = labels.copy()
    labels[5] = -1
    apply_clustering(library, "hdbscan", "hdbscan", ids, labels)
    assert ids[5] not in cluster_of(library)


def test_apply_clustering_stores_confidences(library):
    ids = add_photos(library, 3)
    apply_clustering(library, "m", "kmeans", ids, [0, 0, 1], confidences=[0.9, 0.5, 0.1])
    with library.session() as s:
        assert [s.get(Assignment, pid).confidence for pid in ids] == pytest.approx([0.9, 0.5,
                                                                                    0.1])


def test_apply_clustering_rejects_mismatched_input(library):
    ids = add_photos(library, 3)
    with pytest.raises(ValueError, match="labels"):
        apply_clustering(library, "m", "kmeans", ids, [0, 1])
    with pytest.raises(ValueError, match="duplicates"):
        apply_clustering(library, "m", "kmeans", [ids[0], ids[0]], [0, 1])
    with library.session() as s:
        assert s.scalar(select(ClusteringRun.id)) is None


def test_apply_clustering_supersedes_the_redo_branch(library):
    ids, labels, _, by_label = _three_groups(library)
    editing.rename_cluster(library, by_label[0], "x")
    editing.undo(library)
    assert editing.can_redo(library)
    apply_clustering(library, "m", "kmeans", ids, labels)
    assert not editing.can_redo(library)
    assert editing.redo(library) is None
    with library.session() as s:
        event = s.scalars(select(EditEvent)).one()
        assert event.undone and event.superseded


def test_apply_clustering_label_clusters_fix_labels_to_known_clusters(library):
    ids, labels, _, by_label = _three_groups(library)
    new = add_photos(library, 2, prefix="/photos/new")
    # A classifier puts every cat with the dogs and the two new photos in class 0 ("cats"):
    # by overlap, label 0 shares no photo with "cats" and would become a new cluster.
    predicted = np.concatenate([np.where(labels == 0, 1, labels), [0, 0]])
    apply_clustering(library, "m", "learn", ids + new, predicted,
                     label_clusters={0: by_label[0], 1: by_label[1], 2: by_label[2]})
    assert members(library, by_label[0]) == set(new)
    assert members(library, by_label[1]) == set(ids[0:8])
    with pytest.raises(ValueError, match="not an active cluster"):
        apply_clustering(library, "m", "learn", ids, labels, label_clusters={0: 999})
    with pytest.raises(ValueError, match="same cluster"):
        apply_clustering(library, "m", "learn", ids, labels,
                         label_clusters={0: by_label[0], 1: by_label[0]})


def test_apply_clustering_label_clusters_mix_with_overlap_matching(library):
    ids, labels, _, by_label = _three_groups(library)
    new = add_photos(library, 3, prefix="/photos/new")
    # Label 5 is fixed to "birds"; labels 0 and 1 (swapped) are matched by overlap; label 3 is new.
    predicted = np.concatenate([np.where(labels == 0, 1, np.where(labels == 1, 0, 5)), [3] * 3])
    apply_clustering(library, "m", "kmeans", ids + new, predicted,
                     label_clusters={5: by_label[2]})
    assert members(library, by_label[0]) == set(ids[0:4])
    assert members(library, by_label[1]) == set(ids[4:8])
    assert members(library, by_label[2]) == set(ids[8:12])
    assert cluster_of(library)[new[0]] not in by_label.values()



def test_reclustering_does_not_split_a_merge_apart(library):
    """After the user merged two clusters, a clustering that finds the two groups again keeps
    the merged photos together in the target."""
    ids = add_photos(library, 8)
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    apply_clustering(library, "m", "kmeans", ids, labels)
    first, second = cluster_of(library)[ids[0]], cluster_of(library)[ids[4]]
    editing.merge_clusters(library, first, [second])
    apply_clustering(library, "m", "kmeans", ids, labels)
    assert members(library, first) == set(ids)
    check_invariants(library)
