"""Clustering quality as the research measures it, and ``evaluate`` of a labelled photo folder.

``cluster_accuracy`` matches clusters to labels one-to-one with the Hungarian algorithm (unmatched
clusters count as wrong), as in the SCAN and DEC papers; NMI and ARI come from scikit-learn.
A labelled folder is ``DATASET/<label>/<photo>``; ``EvaluateJob`` indexes it into a library
(the given one or a temporary one), embeds it, clusters it, and compares clusters with labels.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts table (true classes x predicted clusters) and the class and cluster values."""
    classes, t = np.unique(np.asarray(labels_true), return_inverse=True)
    clusters, p = np.unique(np.asarray(labels_pred), return_inverse=True)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table, classes, clusters


def cluster_accuracy(labels_true, labels_pred) -> float:
    """Fraction of photos whose cluster is matched to their label by the best one-to-one matching."""
    if len(labels_true) == 0:
        return 0.0
    table, _, _ = contingency(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / table.sum())


def clustering_scores(labels_true, labels_pred) -> dict[str, float]:
    """ACC, NMI and ARI of a clustering against ground-truth labels."""
    return {
        "acc": cluster_accuracy(labels_true, labels_pred),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
    }


def cluster_table(labels_true, labels_pred, label_names=None) -> list[dict]:
    """Per cluster: size, majority label and purity (share of the majority label), largest first."""
    table, classes, clusters = contingency(labels_true, labels_pred)
    rows = []
    for j, cluster in enumerate(clusters):
        column = table[:, j]
        major = int(column.argmax())
        name = classes[major]
        if label_names is not None:
            name = label_names[int(name)]
        rows.append({"cluster": int(cluster), "size": int(column.sum()),
                     "majority_label": str(name),
                     "purity": float(column[major] / max(column.sum(), 1))})
    return sorted(rows, key=lambda r: -r["size"])
