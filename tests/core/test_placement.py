"""Placing new photos (``core.clustering.placement``) on synthetic embeddings: a new kind that
sits beside an old cluster founds its own, new photos of known kinds join theirs however many
arrive, and the tails of known clusters found nothing."""
import numpy as np

from photoclust.core.clustering import placement
from photoclust.core.clustering.preprocess import l2_normalize

DIM = 32


def kind(rng, centre, n, spread):
    return l2_normalize(centre + spread * rng.normal(size=(n, DIM)))


def directions(rng, n):
    return l2_normalize(rng.normal(size=(n, DIM))) * 4.0


def test_a_new_kind_beside_an_old_cluster_founds_its_own_cluster():
    rng = np.random.default_rng(0)
    c = directions(rng, 3)
    beside = c[0] + 2.5 * l2_normalize(rng.normal(size=(1, DIM)))[0]  # a new kind near kind 0
    old = np.vstack([kind(rng, c[j], 120, 0.5) for j in range(3)])
    labels = np.repeat([10, 11, 12], 120)
    known_new = np.vstack([kind(rng, c[j], 8, 0.5) for j in range(3)])
    new_kind = kind(rng, beside, 30, 0.3)
    result = placement.place(old, labels, np.vstack([known_new, new_kind]))
    # Few of the new kind lie farther from kind 0's centre than its members do: the distance
    # alone would spread them over kind 0; keeping among themselves is what tells them apart.
    assert result.far < 10 and result.among_own >= 27
    assert result.n_groups == 1
    assert (result.group[24:] == 0).mean() >= 0.9
    assert result.cluster[:24].tolist() == np.repeat([10, 11, 12], 8).tolist()


def test_a_large_batch_of_known_kinds_founds_nothing():
    rng = np.random.default_rng(1)
    c = directions(rng, 4)
    old = np.vstack([kind(rng, c[j], 100, 0.5) for j in range(4)])
    labels = np.repeat([1, 2, 3, 4], 100)
    new = np.vstack([kind(rng, c[j], 60, 0.5) for j in range(4)])  # 60 % more photos at once
    result = placement.place(old, labels, new)
    assert result.n_groups == 0 and result.far > 0  # the tails are far, yet found nothing
    assert result.cluster.tolist() == np.repeat([1, 2, 3, 4], 60).tolist()


def test_more_new_photos_of_a_kind_than_old_ones_still_join_it():
    rng = np.random.default_rng(2)
    c = directions(rng, 2)
    old = np.vstack([kind(rng, c[0], 30, 0.5), kind(rng, c[1], 100, 0.5)])
    labels = np.repeat([5, 6], [30, 100])
    new = kind(rng, c[0], 200, 0.5)  # a folder of 200 more of kind 5 (30 known)
    result = placement.place(old, labels, new)
    assert result.n_groups == 0 and (result.cluster == 5).all()


def test_new_neighbours_counts_new_photos_against_the_regions_share():
    rng = np.random.default_rng(3)
    c = directions(rng, 2)
    old = np.vstack([kind(rng, c[0], 50, 0.5), kind(rng, c[1], 50, 0.5)])
    labels = np.repeat([0, 1], 50)
    new = np.vstack([kind(rng, c[0], 10, 0.5), kind(rng, -c[0], 10, 0.2)])  # 10 known, 10 apart
    nearest = np.argmax(new @ placement.cluster_centres(old, labels)[1].T, axis=1)
    novelty = placement.new_neighbours(old, labels, new, np.array([0, 1]), nearest)
    assert (novelty.trials == placement.NEIGHBOURS).all()
    assert (novelty.count[10:] >= 9).all()  # the ten apart have only each other
    assert novelty.flags()[10:].all() and novelty.flags()[:10].sum() <= 1
    assert novelty.group_is_new(np.arange(10, 20)) and not novelty.group_is_new(np.arange(10))


def test_copies_among_the_new_photos_are_grouped_by_the_near_duplicate_threshold():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(2, DIM))
    burst = base[0] + 0.05 * rng.normal(size=(4, DIM))  # four frames of one moment
    pair = base[1] + 0.05 * rng.normal(size=(2, DIM))
    others = rng.normal(size=(3, DIM))
    groups = placement.copy_groups(np.vstack([burst, pair, others]), threshold=0.95)
    assert len(set(groups[:4])) == 1 and len(set(groups[4:6])) == 1
    assert groups[0] != groups[4] and (groups[:6] >= 0).all() and (groups[6:] == -1).all()
    assert (placement.copy_groups(others, threshold=0.95) == -1).all()


def test_a_burst_of_one_moment_founds_nothing_but_a_new_kind_does():
    """Twelve frames of one moment are each other's nearest photos; counted as copies they are
    one photo's worth of evidence and join the cluster they resemble. Twelve different photos of
    a new kind beside an old cluster found their own."""
    rng = np.random.default_rng(0)
    c = directions(rng, 3)
    beside = c[0] + 2.5 * l2_normalize(rng.normal(size=(1, DIM)))[0]
    old = np.vstack([kind(rng, c[j], 120, 0.5) for j in range(3)])
    labels = np.repeat([10, 11, 12], 120)
    known_new = np.vstack([kind(rng, c[j], 8, 0.5) for j in range(3)])
    moment = kind(rng, c[1], 1, 0.5)[0]
    burst = l2_normalize(moment + 0.02 * rng.normal(size=(12, DIM)))
    new = np.vstack([known_new, burst])
    copies = placement.copy_groups(new, threshold=0.95)
    assert len(set(copies[24:])) == 1 and copies[24] >= 0
    with_copies = placement.place(old, labels, new, copy_group=copies)
    assert with_copies.n_groups == 0 and (with_copies.cluster[24:] == 11).all()
    # Without telling copies apart, the burst would have founded a cluster of its own.
    assert placement.place(old, labels, new).n_groups == 1
    new_kind = kind(rng, beside, 12, 0.3)
    mixed = np.vstack([known_new, new_kind])
    result = placement.place(old, labels, mixed,
                             copy_group=placement.copy_groups(mixed, threshold=0.95))
    assert result.n_groups == 1 and (result.group[24:] == 0).mean() >= 0.9


def test_thousands_of_copies_of_one_photo_are_one_group_and_found_nothing():
    rng = np.random.default_rng(5)
    c = directions(rng, 2)
    old = np.vstack([kind(rng, c[j], 100, 0.5) for j in range(2)])
    labels = np.repeat([1, 2], 100)
    copies = np.repeat(kind(rng, c[0], 1, 0.5), 3000, axis=0)  # one screenshot, 3,000 times
    copies += 0.001 * rng.normal(size=copies.shape)
    groups = placement.copy_groups(copies, threshold=0.95)
    assert (groups >= 0).all() and len(set(groups.tolist())) == 1
    result = placement.place(old, labels, l2_normalize(copies), copy_group=groups)
    assert result.n_groups == 0 and (result.cluster == 1).all()
