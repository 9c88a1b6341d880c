"""Placing new photos in a library that already has clusters, without moving anyone else.

Each new photo goes to the cluster whose centre is nearest (the centres weighted as the learner
weighs them once the user has corrected: a placed photo counts ``LABELLED_WEIGHT`` times), unless
it looks like a new kind of photo. Two signs say so:

- *far*: it lies farther from the nearest centre than the cluster's own members do (beyond the
  ``RADIUS_QUANTILE`` of their distances);
- *among its own*: more of its ``NEIGHBOURS`` nearest photos (old and new) are new photos than its
  region explains (the share of new photos among the photos nearest the same centre), by a
  one-sided binomial test at ``NOVELTY_ALPHA``. A new kind has no old look-alikes, so its photos'
  neighbours are each other even when it sits close to an old cluster (skirts beside dresses);
  new photos of a known kind mix with the old ones at the rate they arrived in, however many
  arrive at once. Copies among the new photos (``copy_groups``: the near-duplicate threshold of
  ``clustering.duplicates``, e.g. the frames of one burst) are not counted as each other's
  neighbours: one moment shot twenty times is not a new kind.

These candidates are clustered among themselves (K-means, k chosen automatically); groups whose
centres lie within a typical cluster's radius of each other are one group (automatic k over-splits
a small set); a group founds a new cluster when it is big enough (``MIN_NEW_CLUSTER``), its
typical (median) member lies within that radius of its centre, and, pooled, most of its photos'
nearest photos are new ones, more than their regions explain (``NewNeighbours.group_is_new``:
the far tails of known clusters found nothing). Then a founding photo stays in its new cluster
when that is nearer than its old one, and any other new photo joins a founded cluster that is
nearer and within the founding photos' reach, so the new kind's photos that showed neither sign
still join their kind. Measured in docs/learning.md ("Organize adds photos").

Everything here works on preprocessed, unit-length embeddings; the job stores the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoclust.core.clustering.preprocess import l2_normalize, sums_by_column, unit_rows

#: A new photo is an outlier when its distance to the chosen centre exceeds this quantile of the
#: distances of the cluster's own members to it.
RADIUS_QUANTILE = 0.95
#: A cluster needs this many members for its own radius; smaller ones use the library's.
MIN_MEMBERS_FOR_RADIUS = 10
#: New photos compared with every centre at once.
CHUNK = 16_384
#: A new cluster is founded by at least this many outliers that belong together.
MIN_NEW_CLUSTER = 5
#: Nearest photos looked at for the "among its own" sign, and the significance of the test.
NEIGHBOURS = 15
NOVELTY_ALPHA = 0.01
#: Copies a new photo is linked to (``copy_groups``), and how many nearest photos are looked
#: at, at most, to find ``NEIGHBOURS`` that are not its copies.
COPY_LINKS = 32
MOST_LOOKED = 4 * NEIGHBOURS
#: At most this many old photos (a fixed random sample) are searched for neighbours: the test
#: compares shares, which a sample keeps, and the cost stays bounded in large libraries.
NEIGHBOUR_SAMPLE = 50_000
#: Similarities computed at once in the neighbour search (rows x photos), bounding memory.
NEIGHBOUR_BLOCK = 1 << 24
#: How many automatically placed photos one user-placed photo counts for in its cluster's centre
#: (the learner's default too: ``learning.learner.CorrectionLearner.labelled_weight``).
LABELLED_WEIGHT = 20.0


@dataclass
class Placement:
    """Per new photo: ``cluster`` (an existing cluster id, or -1 when it joins a founded one) and
    ``group`` (the new cluster it joins, 0..n_groups-1, or -1)."""

    cluster: np.ndarray
    group: np.ndarray
    #: New photos that looked like a new kind (either sign), and how many showed each sign.
    outliers: int
    far: int = 0
    among_own: int = 0

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1 if self.group.size and self.group.max() >= 0 else 0


def _sums_by_column(Z: np.ndarray, rows: np.ndarray, column: np.ndarray, k: int,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """``k x dim`` float64 sums of the rows ``rows`` of ``Z`` (times ``weights``) by ``column``
    (``preprocess.sums_by_column``: ten times faster than ``np.add.at``, no float64 copy of
    every row)."""
    return sums_by_column(Z, rows, column, k, weights)


def _top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest values of each row, in no order. torch's top-k is
    about five times faster than ``np.argpartition`` (profiled: 18 s of placing 10,000 photos
    among 100,000); the same choice but for ties."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; numpy does the same
        return np.argpartition(-sims, k - 1, axis=1)[:, :k]
    values = torch.from_numpy(np.ascontiguousarray(sims, dtype=np.float32))
    return torch.topk(values, k, dim=1, sorted=False).indices.numpy()


def cluster_centres(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, centres)``: unit-length mean direction of each cluster's members."""
    labels = np.asarray(labels, dtype=np.int64)
    classes = np.unique(labels[labels >= 0])
    member = np.flatnonzero(labels >= 0)
    column = np.searchsorted(classes, labels[member])
    return classes, l2_normalize(_sums_by_column(Z, member, column, classes.size))


def cluster_radii(Z: np.ndarray, labels: np.ndarray, classes: np.ndarray,
                  centres: np.ndarray) -> np.ndarray:
    """Each cluster's ``RADIUS_QUANTILE`` member distance (cosine) to its centre (the library's
    pooled one for clusters with fewer than ``MIN_MEMBERS_FOR_RADIUS`` members)."""
    labels = np.asarray(labels, dtype=np.int64)
    member = np.flatnonzero(np.isin(labels, classes))
    column = np.searchsorted(classes, labels[member])
    distance = np.empty(member.size)
    for start in range(0, member.size, CHUNK):  # no copy of every member and its centre
        rows, cols = member[start:start + CHUNK], column[start:start + CHUNK]
        distance[start:start + CHUNK] = 1.0 - np.einsum("ij,ij->i", Z[rows], centres[cols])
    pooled = float(np.quantile(distance, RADIUS_QUANTILE)) if distance.size else 1.0
    radii = np.full(classes.size, pooled)
    for j in range(classes.size):
        own = distance[column == j]
        if own.size >= MIN_MEMBERS_FOR_RADIUS:
            radii[j] = float(np.quantile(own, RADIUS_QUANTILE))
    return radii


def place(Z_old: np.ndarray, labels_old: np.ndarray, Z_new: np.ndarray,
          centres: tuple[np.ndarray, np.ndarray] | None = None,
          random_state: int = 0, ctx=None, copy_group: np.ndarray | None = None) -> Placement:
    """Where the new photos go (see the module docstring).

    ``labels_old``: the cluster id of each old photo (-1: none). ``centres``: ``(classes,
    centres)`` to place by (the learner's); by default the old clusters' mean directions.
    ``copy_group``: per new photo, its group of copies among the new photos (``copy_groups``;
    -1: none): copies are not counted as each other's neighbours.
    """
    from photoclust.core.clustering.algorithms import cluster_embeddings

    Z_old, Z_new = unit_rows(Z_old), unit_rows(Z_new)
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
    far = distance > radii[nearest]
    novelty = new_neighbours(Z_old, labels_old, Z_new, classes, nearest, random_state, ctx,
                             copy_group)
    own = novelty.flags()
    candidate = far | own
    cluster = classes[nearest].astype(np.int64)
    group = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(candidate)
    if rows.size >= MIN_NEW_CLUSTER:
        found, _conf, _scores = cluster_embeddings(Z_new[rows], "auto", "kmeans", random_state,
                                                   ctx)
        typical_radius = float(np.median(radii))
        found = _merge_close_groups(Z_new[rows], found, typical_radius)
        founded: list[np.ndarray] = []
        reach: list[float] = []
        for g in np.unique(found):
            members = rows[found == g]
            if members.size < MIN_NEW_CLUSTER:
                continue
            centre = l2_normalize(Z_new[members].sum(axis=0, keepdims=True))[0]
            spread = 1.0 - Z_new[members] @ centre
            if np.median(spread) <= typical_radius and novelty.group_is_new(members):
                group[members] = len(founded)
                founded.append(centre)
                reach.append(float(np.quantile(spread, RADIUS_QUANTILE)))
        if founded:
            # A founding photo stays when its new cluster is nearer than its old one (an old
            # kind's photo grouped with it by chance goes back); any other new photo joins a
            # founded cluster that is nearer and within the founding photos' reach, so the new
            # kind's photos that showed neither sign join their kind.
            F, reach_of = np.stack(founded), np.asarray(reach)
            for start in range(0, n, CHUNK):
                block = slice(start, start + CHUNK)
                to_new = Z_new[block] @ F.T
                best = np.argmax(to_new, axis=1)
                best_sim = to_new.max(axis=1)
                nearer = best_sim > 1.0 - distance[block]
                founding = group[block]
                stays = (founding >= 0) & (to_new[np.arange(len(best)), np.maximum(founding, 0)]
                                           > 1.0 - distance[block])
                joins = (founding < 0) & nearer & (1.0 - best_sim <= reach_of[best])
                group[block] = np.where(stays, founding, np.where(joins, best, -1))
            # A founded cluster left with too few photos is not founded after all.
            sizes = np.bincount(group[group >= 0], minlength=len(founded))
            kept = sizes >= MIN_NEW_CLUSTER
            renumbered = np.cumsum(kept) - 1
            index = np.maximum(group, 0)
            group = np.where((group >= 0) & kept[index], renumbered[index], -1)
            cluster[group >= 0] = -1
    return Placement(cluster, group, int(rows.size), int(far.sum()), int(own.sum()))


@dataclass
class NewNeighbours:
    """Per new photo: how many of its nearest photos (``trials``: ``NEIGHBOURS``, less its
    copies among them) are new (``count``), and the chance that a neighbour is new if the new
    photos are more of what its region holds (``rate``)."""

    count: np.ndarray
    rate: np.ndarray
    trials: np.ndarray

    def flags(self) -> np.ndarray:
        """The photos with more new neighbours than their region explains (one-sided binomial
        test at ``NOVELTY_ALPHA``): the "among its own" sign."""
        from scipy.stats import binom

        chance = binom.sf(self.count - 1, self.trials, np.clip(self.rate, 1e-9, 1.0))
        return (self.trials > 0) & (chance < NOVELTY_ALPHA)

    def group_is_new(self, members: np.ndarray) -> bool:
        """Do these photos, together, keep among themselves: are most of their nearest photos new
        ones, and more than their regions explain (the test pooled over the group)? Far photos
        that are only the tails of known clusters (their neighbours are old photos) found
        nothing; a new kind, even a small one, does."""
        from scipy.stats import binom

        trials, found = int(self.trials[members].sum()), int(self.count[members].sum())
        if trials == 0 or 2 * found <= trials:  # most of their nearest photos must be new ones
            return False
        rate = float(np.clip(self.rate[members].mean(), 1e-9, 1.0))
        return bool(binom.sf(found - 1, trials, rate) < NOVELTY_ALPHA)


def copy_groups(X_new: np.ndarray, threshold: float) -> np.ndarray:
    """Groups of copies among new photos: raw embeddings at least ``threshold`` alike (the
    near-duplicate threshold of ``clustering.duplicates``: a resized or edited copy, the frames
    of one burst) are linked, a group is a connected component; -1 for a photo with no copy.
    Each photo keeps links to its ``COPY_LINKS`` most alike copies, so that memory stays bounded
    when thousands of photos are copies of one another (they still form one group)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(X_new)
    group = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return group
    X = l2_normalize(np.asarray(X_new, dtype=np.float32)).astype(np.float32)
    links = min(COPY_LINKS, n - 1)
    step = max(1, NEIGHBOUR_BLOCK // n)
    sources, targets = [], []
    for start in range(0, n, step):
        stop = min(n, start + step)
        sims = X[start:stop] @ X.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # itself
        top = _top_k(sims, links)
        is_copy = np.take_along_axis(sims, top, 1) >= threshold
        rows = np.broadcast_to(np.arange(start, stop)[:, None], top.shape)
        sources.append(rows[is_copy])
        targets.append(top[is_copy])
    r, c = np.concatenate(sources), np.concatenate(targets)
    if r.size == 0:
        return group
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(n, n))
    _n, component = connected_components(graph, directed=False)
    linked = np.zeros(n, dtype=bool)
    linked[r] = linked[c] = True
    group[linked] = component[linked]
    return group


def new_neighbours(Z_old: np.ndarray, labels_old: np.ndarray, Z_new: np.ndarray,
                   classes: np.ndarray, nearest: np.ndarray, random_state: int = 0,
                   ctx=None, copy_group: np.ndarray | None = None) -> NewNeighbours:
    """Count the new photos among each new photo's ``NEIGHBOURS`` nearest photos (old and new),
    its copies (the same ``copy_group``) left out: one moment shot twenty times is one photo's
    worth of evidence, not a new kind.

    The region of a new photo is the cluster whose centre is nearest (column ``nearest`` of
    ``classes``): the old photos in that cluster and the new photos nearest its centre. Were the
    new photos more of what the region holds, each neighbour would be new with probability
    ``new_in_region / (photos_in_region - 1)``.
    """
    n, n_old = len(Z_new), len(Z_old)
    labels_old = np.asarray(labels_old, dtype=np.int64)
    old_rows = np.flatnonzero(np.isin(labels_old, classes))
    if old_rows.size > NEIGHBOUR_SAMPLE:
        rng = np.random.default_rng(random_state)
        old_rows = np.sort(rng.choice(old_rows, NEIGHBOUR_SAMPLE, replace=False))
    count = np.zeros(n, dtype=np.int64)
    trials = np.zeros(n, dtype=np.int64)
    if n < MIN_NEW_CLUSTER or n_old == 0 or old_rows.size + n < 2:
        return NewNeighbours(count, np.ones(n), trials)
    group = (np.full(n, -1, dtype=np.int64) if copy_group is None
             else np.asarray(copy_group, dtype=np.int64))
    copies = np.bincount(group[group >= 0]) if (group >= 0).any() else np.zeros(0, np.int64)
    most_copies = int(copies.max()) - 1 if copies.size else 0
    looked = min(NEIGHBOURS + most_copies, MOST_LOOKED, old_rows.size + n - 1)
    pool = np.vstack([Z_old[old_rows], Z_new]).astype(np.float32)
    n_pool_old = old_rows.size
    pool_group = np.concatenate([np.full(n_pool_old, -2, dtype=np.int64), group])
    step = max(1, NEIGHBOUR_BLOCK // len(pool))
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = np.arange(stop - start)
        sims = Z_new[start:stop].astype(np.float32) @ pool.T
        sims[rows, n_pool_old + np.arange(start, stop)] = -np.inf  # itself
        top = _top_k(sims, looked)
        if most_copies:
            order = np.argsort(-np.take_along_axis(sims, top, 1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, 1)
            mine = group[start:stop, None]
            kept = ~((mine >= 0) & (pool_group[top] == mine))  # not a copy of this photo
            kept &= np.cumsum(kept, axis=1) <= NEIGHBOURS
        else:
            kept = np.ones(top.shape, dtype=bool)
        count[start:stop] = ((top >= n_pool_old) & kept).sum(axis=1)
        trials[start:stop] = kept.sum(axis=1)
        if ctx is not None:
            ctx.raise_if_cancelled()
    old_in_region = np.bincount(np.searchsorted(classes, labels_old[old_rows]),
                                minlength=classes.size)
    new_in_region = np.bincount(nearest, minlength=classes.size)
    others = old_in_region[nearest] + new_in_region[nearest] - 1
    rate = (new_in_region[nearest] - 1) / np.maximum(others, 1)
    return NewNeighbours(count, rate, trials)


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
    member = np.flatnonzero(labels >= 0)
    column = np.searchsorted(classes, labels[member])
    weights = np.where(np.asarray(user)[member] >= 0, LABELLED_WEIGHT, 1.0)
    return classes, l2_normalize(_sums_by_column(Z, member, column, classes.size, weights))


def place_new_photos(Z: np.ndarray, current: np.ndarray, user: np.ndarray, new: np.ndarray,
                     random_state: int = 0, ctx=None,
                     copy_group: np.ndarray | None = None) -> Placement:
    """Place the photos ``new`` marks among the others (``current``: their cluster id, -1 for
    none), by the centres the user's corrections steer (``user``: the cluster the user put each
    photo in, -1 where not; ``correction_centres``), else the clusters' own: what Organize does."""
    Z = unit_rows(Z)
    current = np.asarray(current, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    old = current >= 0
    centres = correction_centres(Z[old], current[old], user[old]) if np.any(user[old] >= 0) \
        else None
    if ctx is not None:
        ctx.raise_if_cancelled()
    return place(Z[old], current[old], Z[new], centres, random_state, ctx, copy_group)
