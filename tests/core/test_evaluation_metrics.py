"""Clustering metrics against scikit-learn and hand-computed values."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from photoclust.core.organize.evaluation import cluster_accuracy, cluster_table, clustering_scores


def test_accuracy_is_invariant_to_cluster_numbering():
    assert cluster_accuracy([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1]) == 1.0


def test_accuracy_matches_one_to_one():
    # Two labels merged in one cluster: only one of them can be matched.
    assert cluster_accuracy([0, 0, 1, 1], [5, 5, 5, 5]) == 0.5
    # More clusters than labels: the extra cluster counts as wrong.
    assert cluster_accuracy([0, 0, 0, 1], [0, 0, 1, 2]) == 0.75


def test_accuracy_brute_force_small():
    from itertools import permutations

    true = [0, 0, 1, 1, 1, 2, 2, 0]
    pred = [1, 1, 1, 0, 0, 2, 0, 2]
    best = max(sum(p[q] == t for t, q in zip(true, pred)) for p in permutations(range(3)))
    assert cluster_accuracy(true, pred) == best / len(true)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), min_size=2, max_size=60))
def test_scores_agree_with_sklearn(pairs):
    true, pred = map(np.array, zip(*pairs))
    scores = clustering_scores(true, pred)
    assert np.isclose(scores["nmi"], normalized_mutual_info_score(true, pred))
    assert np.isclose(scores["ari"], adjusted_rand_score(true, pred))
    assert 0.0 <= scores["acc"] <= 1.0
    # The matching can always keep the largest single cell of the contingency table.
    largest_cell = max(np.sum((true == t) & (pred == p)) for t, p in pairs)
    assert scores["acc"] >= largest_cell / len(true) - 1e-12


def test_cluster_table_reports_size_majority_and_purity():
    rows = cluster_table([0, 0, 1, 1, 1], [7, 7, 7, 3, 3], label_names=["cat", "dog"])
    assert rows == [
        {"cluster": 7, "size": 3, "majority_label": "cat", "purity": 2 / 3},
        {"cluster": 3, "size": 2, "majority_label": "dog", "purity": 1.0},
    ]
