"""Does Learn ever make the library worse? ARI just before and just after every Learn.

The simulated user of ``photoclust.research.simulate`` (the one ``photoclust evaluate
--simulate-corrections`` runs) answers the review queue in batches of 10; after each batch Learn
refits. For every Learn this records the ARI of the library as the answers left it (before) and
as Learn left it (after), and counts the Learns that lowered it, with the learner's move guard
(``CorrectionLearner``'s default: a photo moves only when the answers support it) and without it
(``guard_moves=False``, the learner before issue #24), and with the guard's held-out check on
(``held_out_check=True``, off by default). A photo a Learn moves is "fixed" when
it goes from a cluster whose commonest kind is not its own to one whose is, "broken" the other
way round. Also the issue's case: a library of 300
photos of 9 kinds that the clustering got nearly right, and its first 10 answers.

    python bench/learn_never_worse.py [--features DIR] [--starts N] [--max-fraction F]
                                       [--checks on held-out off]
                                       [--subsets-only] [SET ...]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from cached_features import load_cached_sets
from machine_info import describe_machine
from photoclust.core.clustering.algorithms import PhotoKMeans
from photoclust.core.clustering.choose_k import choose_k
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.learning.learner import CorrectionLearner
from photoclust.research.simulate import fixed_and_broken, simulate_corrections

FRACTIONS = (0.02, 0.05, 0.1)


class RecordingLearner(CorrectionLearner):
    """The learner, recording ARI before and after each fit against ``truth``."""

    def __init__(self, truth=None, log=None, **params):
        super().__init__(**params)
        self.truth = truth
        self.log = log

    def fit(self, X, y_init, y_user=None, cannot_link=()):
        super().fit(X, y_init, y_user, cannot_link)
        if self.log is not None:
            before = np.asarray(y_init)
            self.log.append((adjusted_rand_score(self.truth, before),
                             adjusted_rand_score(self.truth, self.labels_),
                             *fixed_and_broken(self.truth, before, self.labels_)))
        return self

    def get_params(self, deep=True):
        return {k: v for k, v in super().get_params(deep).items() if k not in ("truth", "log")}


#: The checks compared: the learner's default (issue #24's third pass), with its held-out check
#: (``held_out_check=True``, off by default), and without any (before issue #24).
CHECKS = {"on": {}, "held-out": {"held_out_check": True}, "off": {"guard_moves": False}}


def run(Z, y, start, check: str, max_fraction: float, learner_class=None):
    """The simulated user's answers and Learns from ``start``: the result, each Learn's
    ``(ARI before, after, fixed, broken)``, and the drops of the Learns that lowered ARI.
    ``learner_class``: a ``RecordingLearner`` (the default) or a variant of it."""
    log: list = []
    params = CHECKS[check]
    learner = (learner_class or RecordingLearner)(truth=y, log=log, **params)
    result = simulate_corrections(Z, y, start, FRACTIONS, max_fraction=max_fraction,
                                  learner=learner)
    learns = log[1:]  # the first fit is before any answer: the review queue's, not a Learn
    worse = [after - before for before, after, _, _ in learns if after < before - 1e-9]
    return result, learns, worse


def nine_kinds(X, y, seed: int):
    """300 photos of 9 kinds (the issue's library), 33 or 34 of each."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(np.unique(y), size=min(9, np.unique(y).size), replace=False)
    rows = np.concatenate([rng.choice(np.flatnonzero(y == kind), size=34 if i < 3 else 33,
                                      replace=False) for i, kind in enumerate(kinds)])
    return X[rows], y[rows]


def variant_cases(starts: int, names: list[str], features: Path = Path("/tmp/pc_features"),
                  whole: bool = True, subset: str = "9 kinds"):
    """The libraries the Learn benches try: each cached set whole (unless not ``whole``) and as
    300 photos of 9 kinds (labelled ``{set} {subset}``), from ``starts`` K-means starts each:
    ``(label, Z, y, start, seed)``."""
    for name, X_all, y_all in load_cached_sets(features, names):
        cases = [(name, X_all, y_all, s) for s in range(starts)] if whole else []
        cases += [(f"{name} {subset}", *nine_kinds(X_all, y_all, s), s) for s in range(starts)]
        for label, X, y, seed in cases:
            Z = EmbeddingPreprocessor(n_components=128, random_state=0).fit_transform(X)
            k = 9 if subset in label else choose_k(Z, random_state=0)
            yield label, Z, y, PhotoKMeans(n_clusters=k, random_state=seed).fit(Z).labels_, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", default=["imagenette224", "clothing14"])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--max-fraction", type=float, default=0.1)
    parser.add_argument("--subsets-only", action="store_true",
                        help="only the 300-photo libraries of 9 kinds (e.g. for cifar10_test)")
    parser.add_argument("--checks", nargs="*", default=list(CHECKS), choices=list(CHECKS))
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    print("| set | photos | check | start | Learns | Learns that lowered ARI | worst drop | "
          "ARI gained by Learns | photos fixed / broken | Learns that broke more than they fixed | "
          "ARI 0 / 2 % / 5 % / 10 % | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, Z, y, start, seed in variant_cases(args.starts, args.sets, args.features,
                                                  whole=not args.subsets_only,
                                                  subset="300 of 9 kinds"):
        for check in args.checks:
            began = time.perf_counter()
            result, learns, worse = run(Z, y, start, check, args.max_fraction)
            curve = " / ".join(f"{p['ari']:.3f}" for p in result.curve)
            drop = f"{min(worse):+.4f}" if worse else "-"
            fixed = sum(step[2] for step in learns)
            broken = sum(step[3] for step in learns)
            gained = sum(after - before for before, after, _, _ in learns)
            net_broken = sum(1 for step in learns if step[3] > step[2])
            print(f"| {label} | {len(y)} | {check} | {seed} | "
                  f"{len(learns)} | {len(worse)} | {drop} | {gained:+.4f} | "
                  f"{fixed} / {broken} | {net_broken} | {curve} | "
                  f"{time.perf_counter() - began:.0f} |", flush=True)


if __name__ == "__main__":
    main()
