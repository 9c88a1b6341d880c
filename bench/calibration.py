"""Calibration benchmark: is "x % sure" right x % of the time?

For each cached dataset (``bench/cache_features.py``), start from the automatic clustering
(PCA 128 + L2, k from ``choose_k``, K-means seeds 0..N-1) and measure the expected calibration
error (ECE, 10 equal-width bins) of the confidence photoclust shows
(``photoclust.core.clustering.calibration``):

- before any answer: the shipped per-model map (``SHIPPED_MAPS``); also the map fitted on the
  other sets only (leave one set out: how a collection we never saw fares), and the map fitted here
  on all sets weighted alike, printed as the constants to ship;
- after the simulated user (``photoclust.research.simulate``) answered 5 % of the photos and
  Learn ran: the map refitted on those answers, on the photos nobody answered.

A photo is "right" when its cluster's label (the label the simulated user gave the cluster, else
its majority label) is the photo's folder label. Prints a reliability table (confidence bin,
photos, mean confidence, share right) per set and moment.

Usage: ``python bench/calibration.py [--features DIR] [--starts N] [--answers F] [SET ...]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from cached_features import load_cached_sets
from machine_info import describe_machine
from photoclust.core.clustering.algorithms import PhotoKMeans
from photoclust.core.clustering.calibration import (
    ConfidenceCalibrator,
    calibrated_confidences,
    centre_margins,
    shipped_map,
)
from photoclust.core.clustering.choose_k import choose_k
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.research.simulate import simulate_corrections

BINS = 10


def majority_right(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    right = np.zeros(len(labels), dtype=bool)
    for cluster in np.unique(labels):
        members = labels == cluster
        values, counts = np.unique(truth[members], return_counts=True)
        right[members] = truth[members] == values[np.argmax(counts)]
    return right


def ece(conf: np.ndarray, right: np.ndarray) -> float:
    ok = np.isfinite(conf)
    conf, right = conf[ok], right[ok]
    bins = np.minimum((conf * BINS).astype(int), BINS - 1)
    total = 0.0
    for b in range(BINS):
        inside = bins == b
        if inside.any():
            total += inside.sum() * abs(conf[inside].mean() - right[inside].mean())
    return total / max(len(conf), 1)


def reliability(conf: np.ndarray, right: np.ndarray) -> str:
    ok = np.isfinite(conf)
    conf, right = conf[ok], right[ok]
    bins = np.minimum((conf * BINS).astype(int), BINS - 1)
    rows = []
    for b in range(BINS):
        inside = bins == b
        if inside.any():
            rows.append(f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}: {inside.sum()} photos, "
                        f"shown {conf[inside].mean():.2f}, right {right[inside].mean():.2f}")
    return "; ".join(rows)


def platt(margins_by_set: dict[str, list[np.ndarray]], right_by_set: dict[str, list[np.ndarray]],
          sets: list[str]) -> tuple[float, float]:
    """The map fitted on ``sets``, each set weighted alike."""
    x, y, w = [], [], []
    for name in sets:
        m = np.concatenate(margins_by_set[name])
        r = np.concatenate(right_by_set[name])
        ok = np.isfinite(m)
        x.append(m[ok])
        y.append(r[ok])
        w.append(np.full(ok.sum(), 1.0 / ok.sum()))
    model = LogisticRegression(C=1e4, max_iter=1000).fit(
        np.concatenate(x)[:, None], np.concatenate(y), sample_weight=np.concatenate(w))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", default=["imagenette224", "clothing14", "cifar10_test"])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--answers", type=float, default=0.05,
                        help="share of photos the simulated user answers (default 0.05; 0: "
                        "only the map before answers)")
    parser.add_argument("--answers-on", dest="answers_sets", nargs="*", default=None,
                        metavar="SET", help="simulate answers on these sets only (default all)")
    parser.add_argument("--model", default="efficientnet_lite2",
                        help="the model the cached features come from (its shipped map)")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    prior = shipped_map(args.model)
    print(f"shipped map for {args.model}: a={prior[0]:.2f} b={prior[1]:.2f}")
    margins: dict[str, list[np.ndarray]] = {}
    rights: dict[str, list[np.ndarray]] = {}
    after: dict[str, list[float]] = {}
    for name, X, y in load_cached_sets(args.features, args.sets):
        Z = EmbeddingPreprocessor(n_components=128, random_state=0).fit_transform(X)
        k = choose_k(Z, random_state=0)
        margins[name], rights[name], after[name] = [], [], []
        for seed in range(args.starts):
            labels = PhotoKMeans(n_clusters=k, random_state=seed).fit(Z).labels_
            margins[name].append(centre_margins(Z, labels))
            rights[name].append(majority_right(labels, y))
            if args.answers <= 0 or (args.answers_sets and name not in args.answers_sets):
                continue
            result = simulate_corrections(Z, y, labels, (args.answers,),
                                          max_fraction=args.answers)
            state, oracle = result.state, result.oracle
            conf = calibrated_confidences(Z, state.clusters, state.user, args.model)
            auto = state.user < 0
            right = np.array([oracle.cluster_label(state, int(c)) == t
                              for c, t in zip(state.clusters, y)])
            after[name].append(ece(conf[auto], right[auto]))
            if seed == 0:
                print(f"{name} after {args.answers:.0%} answers, reliability: "
                      f"{reliability(conf[auto], right[auto])}")
        print(f"{name}: n {len(y)}, k {k}", flush=True)
    names = list(margins)
    fitted = platt(margins, rights, names)
    print(f"map fitted on {', '.join(names)} (sets weighted alike): a={fitted[0]:.2f} "
          f"b={fitted[1]:.2f}")
    print("| set | ECE before (shipped) | ECE before (map from the other sets) | "
          f"ECE after {args.answers:.0%} answers |")
    print("|---|---|---|---|")
    for name in names:
        m, r = np.concatenate(margins[name]), np.concatenate(rights[name])
        shipped = ConfidenceCalibrator(prior=prior).predict(m)
        others = [n for n in names if n != name]
        loo = "-"
        if others:
            held_out = ConfidenceCalibrator(prior=platt(margins, rights, others))
            loo = f"{ece(held_out.predict(m), r):.3f}"
        answered = f"{np.mean(after[name]):.3f}" if after[name] else "-"
        print(f"| {name} | {ece(shipped, r):.3f} | {loo} | {answered} |")
        print(f"  reliability before (shipped): {reliability(shipped, r)}")


if __name__ == "__main__":
    main()
