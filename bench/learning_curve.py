"""Learning-curve benchmark: ARI after simulated corrections, ours vs the naive baseline.

For each dataset features file (``bench/cache_features.py`` writes ``/tmp/pc_features/<set>.npz``:
default model's features and folder labels), start from the automatic clustering (PCA 128 + L2,
k from ``choose_k``, K-means) and let the simulated user of ``photoclust.research.simulate``
answer two review queues:

- ours: ``CorrectionLearner`` (seeded, constrained K-means) + ``build_review_queue``;
- naive: name each cluster (its representative), then uncertainty sampling (least max-probability)
  with a logistic regression trained on the labelled photos.

Prints ARI at 0, 2, 5 and 10 % of photos as actions, the actions needed for ARI 0.9 (up to 30 %),
the seconds, and the machine. With ``--arrivals``, instead: the simulated user with 10 % new
photos arriving after 5 % answers, half of them of a label held out until then
(``simulate_arrivals``), and what Organize did with them. Usage: ``python bench/learning_curve.py
[--features DIR] [--starts N] [--max-fraction F] [--arrivals] [SET ...]``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from cached_features import load_cached_sets
from machine_info import describe_machine
from photoclust.core.clustering.algorithms import PhotoKMeans
from photoclust.core.clustering.choose_k import choose_k
from photoclust.core.clustering.duplicates import near_threshold
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, l2_normalize
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.learning.learner import NO_CLUSTER, CorrectionLearner
from photoclust.core.learning.review import PHOTO, ReviewItem
from photoclust.research.simulate import simulate_arrivals, simulate_corrections

FRACTIONS = (0.02, 0.05, 0.1)
HORIZON = 0.3


class NaiveLogisticLearner:
    """The naive baseline: logistic regression on the labelled photos only; photos of clusters
    nobody has labelled yet keep their cluster."""

    def fit(self, X, y_init, y_user=None, cannot_link=()):
        Z = l2_normalize(X)
        y_init = np.asarray(y_init)
        y_user = np.asarray(y_user)
        labelled = y_user != NO_CLUSTER
        labels = np.where(labelled, y_user, y_init)
        classes = np.unique(y_user[labelled])
        n = len(Z)
        self.confidence_ = np.ones(n, dtype=np.float32)
        if classes.size >= 2:
            model = LogisticRegression(C=1.0, max_iter=300).fit(Z[labelled], y_user[labelled])
            proba = model.predict_proba(Z)
            named = np.isin(y_init, classes) | (y_init == NO_CLUSTER)
            predicted = model.classes_[np.argmax(proba, axis=1)]
            labels = np.where(labelled, y_user, np.where(named, predicted, y_init))
            self.confidence_ = np.where(labelled, 1.0, proba.max(axis=1)).astype(np.float32)
        self.labels_ = labels
        self.classes_ = np.unique(labels)
        self.centers_ = l2_normalize(np.stack([Z[labels == c].mean(axis=0)
                                               for c in self.classes_]))
        return self


def naive_queue(X, learner, y_user, limit, cannot_link=(), refused=(), policy=None):
    """Each unnamed cluster's representative first, then the least confident photos."""
    Z = l2_normalize(X)
    labelled = np.asarray(y_user) != NO_CLUSTER
    named = set(np.asarray(y_user)[labelled].tolist())
    items = []
    for j, cluster in enumerate(learner.classes_):
        members = np.flatnonzero((learner.labels_ == cluster) & ~labelled)
        if int(cluster) not in named and members.size:
            medoid = int(members[np.argmax(Z[members] @ learner.centers_[j])])
            items.append(ReviewItem(PHOTO, "representative", int(cluster), medoid))
    chosen = {i.photo for i in items}
    for photo in np.argsort(learner.confidence_, kind="stable"):
        if len(items) >= limit:
            break
        if not labelled[photo] and int(photo) not in chosen:
            items.append(ReviewItem(PHOTO, "uncertain", int(learner.labels_[photo]), int(photo)))
    return items[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", default=["imagenette224", "clothing14", "cifar10_test"])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--max-fraction", type=float, default=HORIZON,
                        help=f"simulate up to this fraction of photos as actions, looking for ARI "
                        f"0.9 (default {HORIZON})")
    parser.add_argument("--starts", type=int, default=1,
                        help="automatic clusterings to start from (K-means seeds 0..N-1); with "
                        "more than one, a mean row follows each strategy (default 1)")
    parser.add_argument("--arrivals", action="store_true",
                        help="new photos arrive halfway (see the module docstring)")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    if args.arrivals:
        arrivals(args)
        return
    print("| set | n | k auto | strategy | start | ARI 0 | 2 % | 5 % | 10 % | actions to ARI 0.9 "
          "| s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, X, y in load_cached_sets(args.features, args.sets):
        Z = EmbeddingPreprocessor(n_components=128, random_state=0).fit_transform(X)
        k = choose_k(Z, random_state=0)
        starts = [PhotoKMeans(n_clusters=k, random_state=seed).fit(Z).labels_
                  for seed in range(args.starts)]
        for strategy in ("ours", "naive"):
            curves = []
            for seed, start in enumerate(starts):
                kwargs = ({"learner": CorrectionLearner()} if strategy == "ours" else
                          {"learner": NaiveLogisticLearner(), "review": naive_queue})
                began = time.perf_counter()
                result = simulate_corrections(Z, y, start, FRACTIONS,
                                              max_fraction=args.max_fraction, **kwargs)
                seconds = time.perf_counter() - began
                curves.append([p["ari"] for p in result.curve])
                aris = " | ".join(f"{a:.3f}" for a in curves[-1])
                reached = result.actions_to_target
                to_target = (f"{reached} ({reached / len(y):.1%})" if reached is not None
                             else f"> {int(args.max_fraction * len(y))}")
                print(f"| {name} | {len(y)} | {k} | {strategy} | {seed} | {aris} | {to_target} | "
                      f"{seconds:.0f} |", flush=True)
            if len(curves) > 1:
                aris = " | ".join(f"{a:.3f}" for a in np.mean(curves, axis=0))
                print(f"| {name} | {len(y)} | {k} | {strategy} | mean | {aris} | | |", flush=True)

def arrivals(args: argparse.Namespace) -> None:
    print("| set | start | held out | new (new kind) | old kept: yours / rest | new joined kind "
          "(old photos) | new kind in own cluster | founded | ARI 0 / 2 % / 5 % | ARI at arrival "
          "/ 10 % | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, X, y in load_cached_sets(args.features, args.sets):
        rows = []
        for seed in range(args.starts):
            began = time.perf_counter()
            r = simulate_arrivals(X, y, FRACTIONS, random_state=seed,
                                  copy_threshold=near_threshold(DEFAULT_MODEL))
            seconds = time.perf_counter() - began
            before = [p["ari"] for p in r.curve_before]
            after = [p["ari"] for p in r.curve_after]
            rows.append([r.old_kept_user, r.old_kept_auto, r.new_joined, r.old_in_kind_cluster,
                         r.new_kind_in_own_cluster, *before, after[0], after[-1]])
            print(f"| {name} | {seed} | {r.new_kind_label} | {r.n_new} ({r.n_new_kind}) | "
                  f"{r.old_kept_user:.0%} / {r.old_kept_auto:.0%} | {r.new_joined:.0%} "
                  f"({r.old_in_kind_cluster:.0%}) | {r.new_kind_in_own_cluster:.0%} | "
                  f"{r.founded_clusters} | {' / '.join(f'{a:.3f}' for a in before)} | "
                  f"{after[0]:.3f} / {after[-1]:.3f} | {seconds:.0f} |", flush=True)
        if len(rows) > 1:
            m = np.mean([row for row in rows if len(row) == len(rows[0])], axis=0)
            print(f"| {name} | mean | | | {m[0]:.0%} / {m[1]:.0%} | {m[2]:.0%} ({m[3]:.0%}) | "
                  f"{m[4]:.0%} | | {' / '.join(f'{a:.3f}' for a in m[5:-2])} | "
                  f"{m[-2]:.3f} / {m[-1]:.3f} | |", flush=True)


if __name__ == "__main__":
    main()
