"""The learner, the review queue and the simulated user on generated embeddings with known
labels."""
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from photoclust.core.learning.learner import NO_CLUSTER, CorrectionLearner, held_out_moves
from photoclust.core.learning.questions import SPLIT
from photoclust.core.learning.review import (
    DEFAULT_SPLIT_GAP,
    MERGE,
    PHOTO,
    SPLIT_GAPS,
    ReviewPolicy,
    build_review_queue,
    review_policy,
)
from photoclust.research.simulate import (
    CorrectionState,
    FolderOracle,
    simulate_corrections,
)


def blobs(n_classes=4, per_class=60, dim=16, spread=0.35, seed=0):
    """Unit-ish clusters around random directions: labels known, classes clearly apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    X = np.concatenate([c + spread * rng.normal(size=(per_class, dim)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(n_classes), per_class)


def wrong_start(y):
    """The automatic clustering got classes 0 and 1 merged into cluster 10 and class 3 split in
    two (clusters 13 and 14): the two commonest mistakes."""
    clusters = np.where(y <= 1, 10, y + 10)
    threes = np.flatnonzero(y == 3)
    clusters[threes[: len(threes) // 2]] = 14
    return clusters


def test_learner_keeps_labelled_photos_where_the_user_put_them():
    X, y = blobs()
    user = np.full(len(y), NO_CLUSTER)
    # The user put a class-0 photo and a class-2 photo in cluster 12, against the embeddings.
    user[[0, 1]] = 12
    learner = CorrectionLearner().fit(X, y + 10, user)
    assert learner.labels_[0] == 12 and learner.labels_[1] == 12
    assert learner.confidence_[0] == 1.0
    # The other class-0 photos stay with their class.
    assert np.all(learner.labels_[2:60] == 10)


def test_learner_never_puts_a_photo_back_where_the_user_removed_it():
    X, y = blobs()
    learner = CorrectionLearner().fit(X, y + 10, cannot_link=[(5, 10), (70, 11)])
    assert learner.labels_[5] != 10 and learner.labels_[70] != 11
    assert learner.labels_[6] == 10


def test_learner_grows_a_new_cluster_from_one_moved_photo():
    X, y = blobs()
    start = wrong_start(y)
    user = np.full(len(y), NO_CLUSTER)
    user[60] = 99  # one class-1 photo moved out of the merged cluster into a new one
    learner = CorrectionLearner().fit(X, start, user, cannot_link=[(60, 10)])
    # Most follow it: those more like the moved photo than like the merged cluster (one answer
    # supports no more; the next Learns take the rest).
    assert np.mean(learner.labels_[y == 1] == 99) > 0.8
    assert np.mean(learner.labels_[y == 0] == 10) > 0.9
    assert adjusted_rand_score(y, learner.labels_) > adjusted_rand_score(y, start)


def test_held_out_check_wants_more_than_one_answer_behind_a_move():
    """With ``held_out_check`` a move into a cluster needs answers that bear each other out: the
    one moved photo the default check follows carries no photo along; a second one does."""
    X, y = blobs()
    start = wrong_start(y)
    user = np.full(len(y), NO_CLUSTER)
    user[60] = 99
    links = [(60, 10)]
    assert np.mean(CorrectionLearner().fit(X, start, user, links).labels_[y == 1] == 99) > 0.8
    strict = CorrectionLearner(held_out_check=True).fit(X, start, user, links)
    unanswered = user == NO_CLUSTER
    assert np.array_equal(strict.labels_[unanswered], start[unanswered])
    assert strict.kept_[y == 1].sum() > 40
    user[61] = 99  # a second class-1 photo moved there: each, held out, is sent there by the other
    strict = CorrectionLearner(held_out_check=True).fit(X, start, user, links + [(61, 10)])
    assert np.mean(strict.labels_[y == 1] == 99) > 0.8
    assert np.mean(strict.labels_[y == 0] == 10) > 0.9


def test_held_out_moves_counts_the_check_s_moves_of_answers_right_and_wrong():
    """An answer confirmed in cluster 4 that the check, judging it by the others, would send to 5
    counts against moves into 5; two answers moved from 4 to 6 that send each other there count
    for moves into 6; an answer the check leaves where it was counts for nothing."""
    Z = np.array([[1.0, 0.0, 0.0], [0.99, 0.14, 0.0], [0.0, 1.0, 0.0], [0.0, 0.99, 0.14],
                  [0.0, 0.0, 1.0], [0.1, 0.0, 0.99]])
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    answers = np.array([5, 4, 6, 6, 7, 7])
    origins = np.array([4, 4, 4, 4, 7, 7])  # the first moved 4 -> 5, the second confirmed in 4
    right, wrong = held_out_moves(Z, answers, origins, neighbours=1)
    assert wrong == {5: 1}  # the confirmed one, judged by its neighbour in 5
    assert right == {6: 2}
    # With 3 neighbours, one more answer confirmed in 4 among them keeps it there (as Learn would).
    Z2 = np.vstack([Z, [[0.97, 0.0, 0.24]]])
    Z2 /= np.linalg.norm(Z2, axis=1, keepdims=True)
    right, wrong = held_out_moves(Z2, np.append(answers, 4), np.append(origins, 4), 3)
    assert wrong.get(5, 0) == 0
    assert held_out_moves(Z[:1], answers[:1], origins[:1], 3) == ({}, {})


def test_learner_confidence_is_lower_on_the_boundary():
    X, y = blobs(n_classes=2, per_class=40)
    between = (X[y == 0].mean(axis=0) + X[y == 1].mean(axis=0)) / 2
    X = np.vstack([X, between[None]])
    learner = CorrectionLearner().fit(X, np.append(y, 0))
    assert learner.confidence_[-1] < np.median(learner.confidence_[:-1])
    assert learner.margin_[-1] < np.median(learner.margin_[:-1])


def test_learner_classifier_follows_a_two_mode_class_and_keeps_labels_and_cannot_links():
    # Class 0 has two modes on either side of class 1, so class 0's single centre points at
    # class 1: the centres alone cannot tell them apart, the labels' classifier can.
    rng = np.random.default_rng(1)
    axis, other = np.eye(8)[0], np.eye(8)[1]
    modes = (axis + 0.7 * other, -axis + 0.7 * other, other)
    X = np.concatenate([m + 0.2 * rng.normal(size=(size, 8))
                        for m, size in zip(modes, (40, 40, 80))])
    y = np.repeat([0, 0, 1], [40, 40, 80])
    user = np.full(len(y), NO_CLUSTER)
    user[[0, 1, 2, 40, 41, 42]] = 10
    user[[80, 81, 82, 83, 84, 85]] = 11
    user[90] = 10  # against the embeddings: the user's word still wins
    start = np.where(y == 0, 10, 11)
    # What the classifier can do, without the check of each move against the answers.
    centres_only = CorrectionLearner(classifier_weight=0, guard_moves=False).fit(
        X, start, user, [(100, 11)])
    classifier = CorrectionLearner(classifier_weight=1.0, classifier_C=10, random_state=0,
                                   guard_moves=False)
    classifier.fit(X, start, user, [(100, 11)])
    assert classifier.labels_[90] == 10 and classifier.labels_[100] != 11
    assert np.all(classifier.confidence_[user != NO_CLUSTER] == 1.0)
    assert np.all((classifier.confidence_ >= 0) & (classifier.confidence_ <= 1))
    centres_ari = adjusted_rand_score(y, centres_only.labels_)
    assert adjusted_rand_score(y, classifier.labels_) > centres_ari + 0.1


def test_learner_without_any_cluster_says_so():
    with pytest.raises(ValueError, match="nothing to learn"):
        CorrectionLearner().fit(np.eye(3), [NO_CLUSTER] * 3)


def test_review_queue_order_merge_then_representatives_by_size_then_uncertain():
    X, y = blobs()
    start = wrong_start(y)
    user = np.full(len(y), NO_CLUSTER)
    user[[181, 182]] = 13  # the user moved two photos of cluster 14 into 13 ...
    cannot_link = [(181, 14), (182, 14)]
    start[[181, 182]] = 13
    learner = CorrectionLearner().fit(X, start, user, cannot_link)
    queue = build_review_queue(X, learner, user, 10, cannot_link,
                               policy=ReviewPolicy(suggest_splits=False))
    # ... and confirmed nothing in 14: merging 14 into 13 comes first.
    assert (queue[0].kind, queue[0].cluster, queue[0].other_cluster) == (MERGE, 13, 14)
    reps = [item for item in queue if item.reason == "representative"]
    sizes = [np.sum(learner.labels_ == item.cluster) for item in reps]
    assert sizes == sorted(sizes, reverse=True) and {i.cluster for i in reps} == {10, 12}
    uncertain = [item for item in queue if item.reason == "uncertain"]
    margins = [learner.margin_[item.photo] for item in uncertain]
    assert margins == sorted(margins) and len(queue) == 10
    assert not any(item.kind == PHOTO and user[item.photo] != NO_CLUSTER for item in queue)


def test_one_move_is_not_evidence_for_merging_two_clusters():
    """Issue #24: after one move, the first review question asked to merge the cluster the
    photo left into the one it went to, two clearly different clusters. One move says where one
    photo belongs; a second move from the same cluster into the same one is evidence."""
    X, y = blobs()
    start = wrong_start(y)
    user = np.full(len(y), NO_CLUSTER)
    user[181] = 10  # one photo of cluster 14 (class 3) moved into 10 (classes 0 and 1)
    start[181] = 10
    cannot_link = [(181, 14)]
    learner = CorrectionLearner().fit(X, start, user, cannot_link)
    queue = build_review_queue(X, learner, user, 10, cannot_link,
                               policy=ReviewPolicy(suggest_splits=False))
    assert not any(item.kind == MERGE for item in queue)
    assert queue[0].reason == "representative"
    user[182], start[182] = 10, 10
    cannot_link.append((182, 14))
    learner = CorrectionLearner().fit(X, start, user, cannot_link)
    queue = build_review_queue(X, learner, user, 10, cannot_link,
                               policy=ReviewPolicy(suggest_splits=False))
    assert (queue[0].kind, queue[0].cluster, queue[0].other_cluster) == (MERGE, 10, 14)


def test_review_queue_suggests_splitting_a_cluster_holding_two_classes():
    X, y = blobs()
    start = np.where(y <= 1, 10, y + 10)  # classes 0 and 1 in one cluster
    user = np.full(len(y), NO_CLUSTER)
    user[[0, 120, 180]] = [10, 12, 13]  # clusters confirmed, class 1 unconfirmed
    learner = CorrectionLearner().fit(X, start, user)
    queue = build_review_queue(X, learner, user, 5)
    split = next(item for item in queue if item.kind == "split")
    assert split.cluster == 10 and set(split.photos) == set(range(60, 120))


def test_split_gap_is_looked_up_per_model_and_unmeasured_models_fall_back(monkeypatch):
    assert review_policy("efficientnet_lite2").split_min_gap == SPLIT_GAPS["efficientnet_lite2"]
    assert review_policy("a_model_nobody_measured").split_min_gap == DEFAULT_SPLIT_GAP
    assert review_policy(None) == ReviewPolicy()
    # The model's gap decides: above the gap between this cluster's halves, no split is asked.
    X, y = blobs()
    start = np.where(y <= 1, 10, y + 10)
    user = np.full(len(y), NO_CLUSTER)
    user[[0, 120, 180]] = [10, 12, 13]
    learner = CorrectionLearner().fit(X, start, user)
    monkeypatch.setitem(SPLIT_GAPS, "wide_model", 1.99)
    kinds = {m: {item.kind for item in build_review_queue(X, learner, user, 5,
                                                          policy=review_policy(m))}
             for m in ("efficientnet_lite2", "wide_model")}
    assert SPLIT in kinds["efficientnet_lite2"] and SPLIT not in kinds["wide_model"]


def test_oracle_moves_to_the_cluster_holding_its_label_or_founds_one():
    y = np.array([0, 0, 0, 1, 1, 2])
    state = CorrectionState.start([5, 5, 6, 6, 6, 6])
    oracle = FolderOracle(y)
    oracle.answer_photo(state, 0)            # label 0 is the majority of cluster 5: confirm
    assert state.counts["confirm"] == 1 and state.user[0] == 5
    oracle.answer_photo(state, 2)            # label 0's cluster is 5: move there
    assert state.clusters[2] == 5 and (2, 6) in state.cannot_link
    oracle.answer_photo(state, 5)            # label 2 holds no cluster: a new one
    assert state.clusters[5] == 7 and state.counts["move"] == 2
    assert state.actions == 3


def test_oracle_accepts_a_merge_only_within_one_label():
    y = np.array([0, 0, 0, 0, 1, 1])
    state = CorrectionState.start([5, 5, 6, 6, 7, 7])
    oracle = FolderOracle(y)
    oracle.answer_merge(state, 5, 7)
    assert state.counts["merge_refused"] == 1 and (MERGE, 5, 7) in state.refused
    oracle.answer_merge(state, 5, 6)
    assert state.counts["merge_accepted"] == 1 and set(state.clusters[:4]) == {5}
    assert state.actions == 2


def test_simulation_counts_every_action_and_learning_improves_ari():
    X, y = blobs(n_classes=5, per_class=60, spread=0.45)
    start = np.where(y <= 1, 10, y + 10)
    n = len(y)
    # An unreachable target: the simulation runs to max_fraction, every action counted once.
    full = simulate_corrections(X, y, start, (0.02, 0.05), batch_size=5, max_fraction=0.1,
                                target_ari=1.01)
    assert full.actions_to_target is None and sum(full.counts.values()) == round(0.1 * n)
    result = simulate_corrections(X, y, start, (0.02, 0.05), batch_size=5, max_fraction=0.1)
    fractions = [point["fraction"] for point in result.curve]
    assert fractions == [0.0, 0.02, 0.05]
    assert [p["actions"] for p in result.curve] == [0, round(0.02 * n), round(0.05 * n)]
    assert result.curve[0]["ari"] == pytest.approx(adjusted_rand_score(y, start))
    assert result.curve[2]["ari"] > result.curve[0]["ari"] + 0.2
    # It stops once the target is reached and every fraction is measured.
    assert result.actions_to_target is not None
    assert sum(result.counts.values()) == max(result.actions_to_target, round(0.05 * n))


def test_simulation_is_reproducible():
    X, y = blobs(n_classes=3, per_class=40, spread=0.6, seed=3)
    start = wrong_start(np.minimum(y, 3))
    first = simulate_corrections(X, y, start, (0.05,), batch_size=4)
    second = simulate_corrections(X, y, start, (0.05,), batch_size=4)
    assert first.curve == second.curve and first.counts == second.counts


def test_learner_predicts_new_photos_by_nearest_centre():
    X, y = blobs()
    learner = CorrectionLearner().fit(X, y + 10)
    new = X[[0, 70, 130]] + 0.01
    assert learner.predict(new).tolist() == [10, 11, 12]
    proba = learner.predict_proba(new)
    assert proba.shape == (3, 4) and np.allclose(proba.sum(axis=1), 1)
    assert proba.argmax(axis=1).tolist() == [0, 1, 2]


def test_simulation_reports_a_fraction_too_small_for_one_action():
    X, y = blobs(n_classes=2, per_class=10)
    result = simulate_corrections(X, y, np.zeros(20, dtype=int), (0.01, 0.5), batch_size=5)
    assert [(p["fraction"], p["actions"]) for p in result.curve] == [(0.0, 0), (0.01, 0),
                                                                     (0.5, 10)]


def test_simulated_arrivals_keep_old_photos_and_found_the_new_kind():
    from sklearn.datasets import make_blobs

    from photoclust.research.simulate import simulate_arrivals

    centres = np.random.default_rng(7).normal(scale=6.0, size=(5, 32))
    # Kinds, not copies: photos of one kind less alike than the near-duplicate threshold.
    X, y = make_blobs([60] * 5, n_features=32, centers=centres, cluster_std=3.0,
                      random_state=0)
    result = simulate_arrivals(X, y, (0.02, 0.05, 0.1), random_state=1)
    assert (result.n_new, result.n_new_kind) == (30, 15)
    assert result.old_kept_user == 1.0 and result.old_kept_auto == 1.0
    assert result.new_joined >= 0.85 and result.new_kind_founded
    assert [p["fraction"] for p in result.curve_before] == [0.0, 0.02, 0.05]
    assert result.curve_after[-1]["fraction"] == 0.1
    assert result.curve_after[-1]["ari"] >= result.curve_after[0]["ari"] > 0.8
    assert set(result.as_dict()) >= {"old_kept_user", "new_joined", "new_kind_founded"}
