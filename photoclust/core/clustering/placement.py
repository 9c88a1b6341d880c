"""Placing new photos in a library that already has clusters, without moving anyone else.

Each new photo goes to the cluster whose centre is nearest (the centres weighted as the learner
weighs them once the user has corrected: a placed photo counts ``LABELLED_WEIGHT`` times), unless
it lies farther from that centre than the cluster's own members do (beyond the
``RADIUS_QUANTILE`` of their distances): then it is an outlier. Outliers are clustered among
themselves (K-means, k chosen automatically); groups whose centres lie within a typical cluster's
radius of each other are one group (automatic k over-splits a small set); a group founds a new
cluster when it is big enough (``MIN_NEW_CLUSTER``) and its typical (median) member lies within
that radius of its centre, so a new kind of photo gets its own cluster instead of being spread
over old ones. Outliers in no such group join their nearest cluster after all. Measured in
docs/learning.md ("Organize adds photos").

Everything here works on preprocessed, unit-length embeddings; the job stores the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoclust.core.clustering.preprocess import l2_normalize

#: A new photo is an outlier when its distance to the chosen centre exceeds this quantile of the
#: distances of the cluster's own members to it.
RADIUS_QUANTILE = 0.95
#: A cluster needs this many members for its own radius; smaller ones use the library's.
MIN_MEMBERS_FOR_RADIUS = 10
#: New photos compared with every centre at once.
CHUNK = 16_384
#: A new cluster is founded by at least this many outliers that belong together.
MIN_NEW_CLUSTER = 5
#: How many automatically placed photos one user-placed photo counts for in its cluster's centre
#: (the learner's default too: ``learning.learner.CorrectionLearner.labelled_weight``).
LABELLED_WEIGHT = 20.0


@dataclass
class Placement:
    """Per new photo: ``cluster`` (an existing cluster id, or -1 when it founds one) and
    ``group`` (the new cluster it founds, 0..n_groups-1, or -1)."""

    cluster: np.ndarray
    group: np.ndarray
    outliers: int

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if self.group.size and self.group.max() >= 0 else 0


def cluster_centres(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, centres)``: unit-length mean direction of each cluster's members."""
    labels = np.asarray(labels, dtype=np.int64)
    classes = np.unique(labels[labels >= 0])
    member = labels >= 0
    column = np.searchsorted(classes, labels[member])
    sums = np.zeros((classes.size, Z.shape[1]), dtype=np.float64)
    np.add.at(sums, column, Z[member])
    return classes, l2_normalize(sums)


def cluster_radii(Z: np.ndarray, labels: np.ndarray, classes: np.ndarray,
                  centres: np.ndarray) -> np.ndarray:
    """Each cluster's ``RADIUS_QUANTILE`` member distance (cosine) to its centre (the library's
    pooled one for clusters with fewer than ``MIN_MEMBERS_FOR_RADIUS`` members)."""
    labels = np.asarray(labels, dtype=np.int64)
    member = np.flatnonzero(np.isin(labels, classes))
    column = np.searchsorted(classes, labels[member])
    distance = 1.0 - np.einsum("ij,ij->i", Z[member], centres[column])
    pooled = float(np.quantile(distance, RADIUS_QUANTILE)) if distance.size else 1.0
    radii = np.full(classes.size, pooled)
    for j in range(classes.size):
        own = distance[column == j]
        if own.size >= MIN_MEMBERS_FOR_RADIUS:
            radii[j] = float(np.quantile(own, RADIUS_QUANTILE))
    return radii


def place(Z_old: np.ndarray, labels_old: np.ndarray, Z_new: np.ndarray,
          centres: tuple[np.ndarray, np.ndarray] | None = None,
          random_state: int = 0, ctx=None) -> Placement:
    """Where the new photos go (see the module docstring).

    ``labels_old``: the cluster id of each old photo (-1: none). ``centres``: ``(classes,
    centres)`` to place by (the learner's); by default the old clusters' mean directions.
    """
    from photoclust.core.clustering.job import cluster_embeddings

    Z_old, Z_new = l2_normalize(Z_old), l2_normalize(Z_new)
    labels_old = np.asarray(labels_old, dtype=np.int64)
    classes, C = centres if centres is not None else cluster_centres(Z_old, labels_old)
    n = len(Z_new)
    if n == 0 or classes.size == 0:
        return Placement(np.full(n, -1, np.int64), np.full(n, -1, np.int64), 0)
    radii = cluster_radii(Z_old, labels_old, classes, C)
    nearest = np.empty(n, dtype=np.int64)
    distance = np.empty(n, dtype=np.float64)
    for start in range(0, n, CHUNK):  # bounded memory for many new photos and clusters
        sims = Z_new[start:start + CHUNK] @ C.T
        nearest[start:start + CHUNK] = np.argmax(sims, axis=1)
        distance[start:start + CHUNK] = 1.0 - sims.max(axis=1)
    outlier = distance > radii[nearest]
    cluster = classes[nearest].astype(np.int64)
    group = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(outlier)
    if rows.size >= MIN_NEW_CLUSTER:
        found, _conf, _scores = cluster_embeddings(Z_new[rows], "auto", "kmeans", random_state,
                                                   ctx)
        typical_radius = float(np.median(radii))
        found = _merge_close_groups(Z_new[rows], found, typical_radius)
        n_groups = 0
        for g in np.unique(found):
            members = rows[found == g]
            if members.size < MIN_NEW_CLUSTER:
                continue
            centre = l2_normalize(Z_new[members].sum(axis=0, keepdims=True))[0]
            own = 1.0 - Z_new[members] @ centre
            if np.median(own) <= typical_radius:
                group[members] = n_groups
                cluster[members] = -1
                n_groups += 1
    return Placement(cluster, group, int(rows.size))


def _merge_close_groups(Z: np.ndarray, group: np.ndarray, radius: float) -> np.ndarray:
    """Merge founded groups whose centres are closer than a typical cluster's radius: automatic
    k over-splits a small set of outliers, and one new kind should found one cluster."""
    group = group.copy()
    while True:
        ids = np.unique(group[group >= 0])
        if ids.size < 2:
            break
        centres = l2_normalize(np.stack([Z[group == g].sum(axis=0) for g in ids]))
        distance = 1.0 - centres @ centres.T
        np.fill_diagonal(distance, np.inf)
        a, b = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[a, b] > radius:
            break
        group[group == ids[b]] = ids[a]
    _, group[group >= 0] = np.unique(group[group >= 0], return_inverse=True)
    return group


def correction_centres(Z: np.ndarray, labels: np.ndarray,
                       user: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, centres)`` as the learner weighs them: a photo the user placed counts
    ``LABELLED_WEIGHT`` times in its cluster's direction (``learning.learner``, whose centres these
    are after its fit on the current clusters)."""
    labels = np.asarray(labels, dtype=np.int64)
    classes = np.unique(labels[labels >= 0])
    member = labels >= 0
    column = np.searchsorted(classes, labels[member])
    weights = np.where(np.asarray(user)[member] >= 0, LABELLED_WEIGHT, 1.0)
    sums = np.zeros((classes.size, Z.shape[1]), dtype=np.float64)
    np.add.at(sums, column, Z[member] * weights[:, None])
    return classes, l2_normalize(sums)


def place_new_photos(Z: np.ndarray, current: np.ndarray, user: np.ndarray, new: np.ndarray,
                     random_state: int = 0, ctx=None) -> Placement:
    """Place the photos ``new`` marks among the others (``current``: their cluster id, -1 for
    none), by the centres the user's corrections steer (``user``: the cluster the user put each
    photo in, -1 where not; ``correction_centres``), else the clusters' own: what Organize does."""
    Z = l2_normalize(Z)
    current = np.asarray(current, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    old = current >= 0
    centres = correction_centres(Z[old], current[old], user[old]) if np.any(user[old] >= 0) \
        else None
    if ctx is not None:
        ctx.raise_if_cancelled()
    return place(Z[old], current[old], Z[new], centres, random_state, ctx)
