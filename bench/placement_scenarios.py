"""What Organize founds when new photos are NOT a new kind (``core/clustering/placement.py``).

``bench/learning_curve.py --arrivals`` measures a new kind arriving; this measures the two
arrivals where founding a cluster is wrong or debatable, on the cached features of
``bench/cache_features.py`` (automatic k, K-means on the old photos, no answers):

- ``batch``: 30 % of the photos, drawn at random from every kind, arrive at once (a big import of
  more of the same). Goal: no cluster founded.
- ``event``: the 60 photos of one known kind nearest one of its photos (a tight set: one shoot,
  one outfit) arrive with 5 % random others. Nothing in the features tells such a set from a
  new kind that sits beside an old one (docs/learning.md), so this reports how often it founds
  its own cluster rather than asserting a goal.
- ``takeover``: a small library (30 photos of each of 2 kinds) receives every photo of the other
  kinds and 20 more of its own: new photos outnumber old ones, so the "among its own" test has
  no power and the new kinds must found clusters by being far. Reports the share of the new
  kinds' photos in founded clusters and the ARI of the new photos' placement.

Usage: ``python bench/placement_scenarios.py [--features DIR] [--starts N] [SET ...]``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from cached_features import load_cached_sets
from machine_info import describe_machine
from photoclust.core.clustering import placement
from photoclust.core.clustering.algorithms import PhotoKMeans
from photoclust.core.clustering.choose_k import choose_k
from photoclust.core.clustering.duplicates import near_threshold
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, l2_normalize
from photoclust.core.embedding.backbones import DEFAULT_MODEL

EVENT_SIZE = 60


def arrivals(labels: np.ndarray, X: np.ndarray, scenario: str,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(old rows, new rows, rows of the tight set or of the new kinds)`` for the scenario."""
    n = len(labels)
    if scenario == "takeover":
        kinds = rng.permutation(np.unique(labels))
        old = np.concatenate([rng.choice(np.flatnonzero(labels == k), 30, replace=False)
                              for k in kinds[:2]])
        unseen = np.flatnonzero(np.isin(labels, kinds[2:]))
        more = rng.choice(np.setdiff1d(np.flatnonzero(np.isin(labels, kinds[:2])), old), 20,
                          replace=False)
        return old, np.concatenate([unseen, more]), unseen
    if scenario == "batch":
        new = rng.choice(n, int(0.3 * n), replace=False)
        return np.setdiff1d(np.arange(n), new), new, new[:0]
    kind = rng.choice(np.unique(labels))
    rows = np.flatnonzero(labels == kind)
    seed_row = rng.choice(rows)
    sims = l2_normalize(X[rows]) @ l2_normalize(X[seed_row:seed_row + 1])[0]
    event = rows[np.argsort(-sims)[:EVENT_SIZE]]
    others = rng.choice(np.setdiff1d(np.arange(n), event), int(0.05 * n), replace=False)
    new = np.concatenate([event, others])
    return np.setdiff1d(np.arange(n), new), new, event


def run(X: np.ndarray, labels: np.ndarray, scenario: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    old, new, event = arrivals(labels, X, scenario, rng)
    Z = EmbeddingPreprocessor(n_components=min(128, old.size - 1), random_state=0).fit_transform(
        X[np.concatenate([old, new])])
    Z_old, Z_new = Z[:old.size], Z[old.size:]
    start = time.perf_counter()
    clusters = PhotoKMeans(n_clusters=choose_k(Z_old, random_state=seed),
                           random_state=seed).fit(Z_old).labels_
    copies = placement.copy_groups(X[new], near_threshold(DEFAULT_MODEL))
    result = placement.place(Z_old, clusters, Z_new, random_state=seed, copy_group=copies)
    in_event = np.isin(new, event)
    placed = np.where(result.cluster >= 0, result.cluster, 1_000_000 + result.group)
    return {"new": new.size, "founded": result.n_groups,
            "ari": float(adjusted_rand_score(labels[new], placed)),
            "in_founded": float((result.group >= 0).mean()),
            "event_in_founded": float((result.group[in_event] >= 0).mean())
            if in_event.any() else None,
            "far": result.far, "own": result.among_own, "s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", default=["imagenette224", "clothing14", "cifar10_test"])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    print("| set | scenario | start | new photos | far / among their own | clusters founded "
          "| new photos in them | tight set / new kinds in them | ARI of the new photos "
          "| s (cluster + place) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, X, labels in load_cached_sets(args.features, args.sets):
        for scenario in ("batch", "event", "takeover"):
            for seed in range(args.starts):
                r = run(X, labels, scenario, seed)
                event = "" if r["event_in_founded"] is None else f"{r['event_in_founded']:.0%}"
                print(f"| {name} | {scenario} | {seed} | {r['new']} | {r['far']} / {r['own']} "
                      f"| {r['founded']} | {r['in_founded']:.0%} | {event} | {r['ari']:.3f} "
                      f"| {r['s']:.0f} |",
                      flush=True)


if __name__ == "__main__":
    main()
