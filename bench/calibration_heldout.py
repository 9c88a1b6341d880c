"""Is "x % sure" right x % of the time on collections the confidence model never saw?

Builds many photo collections from the cached features of the labelled sets
(``bench/cache_features.py``): for each set, random subsets of 4-10 of its kinds (each kind
keeping 30-100 % of its photos, CIFAR-10 at most 300 per kind), and mixtures of kinds from two
sets. Each is organized as the product does (PCA 128 + L2, K-means, ``cluster_embeddings``) with
the true number of kinds and with the automatic k, and answered by the simulated user
(``research/simulate.py``, Learn after every 10 answers) up to 2 % and 5 % of its photos. A photo
is right when its kind is its cluster's majority kind (after answers: the kind the simulated
user gave the cluster). ``--cache DIR`` keeps the collections and their answered states (the
features are made anew from them), so a rerun takes a minute instead of several.

Leave one set out: the confidence model (``calibration.fit_confidence_model``, before any answer)
and the shift after answers (``calibration.fit_answer_shift``, on the same collections' states
after answers, the photos nobody answered) are fitted on the single-set collections of two sets
and measured on every collection of the third, before any answer and after 2 % and 5 % answers
(the photos nobody answered). Mixtures are measured with both fitted on every single-set
collection. ``--train-seeds`` adds collections built with other seeds to every fit (never to
the tests). Prints the expected calibration error (10 equal bins) per collection, a summary per
held-out set (how many collections within the goal; a collection where no photo has a number,
as in a library of two clusters, is counted apart), a reliability table (pooled per held-out
set); for comparison a map of the margin alone fitted the same way ("margin only"), the margin
map shipped before (fitted on all of imagenette224 and clothing14: not held out there), the
numbers after answers without the shift ("no shift", as shipped before), and the "floor": the
ECE a perfectly calibrated number would still show on that many photos (right drawn with the
shown probability, mean of 20 draws). ``--fit`` prints the coefficients to ship (fitted on every
single-set collection) and the shift fitted for the shipped model. ``--speed N`` times the
confidences of N photos.
``--siblings`` measures, before any answer, features that see sibling clusters (two clusters
likely to be halves of one kind: ``SIBLING_RULES``): the margin against the nearest centre that
is not a sibling, the library's agreement with a neighbour in a sibling counted as agreeing, or
both, in place of the shipped ones; the model refitted leave one set out the same way
(docs/learning.md: measured, not adopted).

"Accuracy known" is the ECE before any answer with the model's intercept shifted so that the
collection's mean number equals its true share right (what any estimate of a collection's
accuracy could reach at best, the slope left as it is).

    python bench/calibration_heldout.py [--features DIR] [--cache DIR] [--per-set 6] [--seed 0]
        [--train-seeds 1 ...] [--fit] [--speed 100000] [--siblings]
"""
from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np

from cached_features import load_cached_sets
from machine_info import describe_machine
from photoclust.core.clustering.calibration import (
    FEATURES,
    NEIGHBOURS,
    NO_SHIFT,
    SHIPPED_MODEL,
    AnswerShift,
    ConfidenceCalibrator,
    ConfidenceModel,
    LibraryStructure,
    answered_share,
    calibrated_confidences,
    centre_margins,
    confidence_features,
    fit_answer_shift,
    fit_confidence_model,
    nearest_clustered,
)
from photoclust.core.clustering.job import cluster_embeddings
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, unit_rows
from photoclust.research.simulate import simulate_corrections

BINS = 10
SETS = ["imagenette224", "clothing14", "cifar10_test"]
#: The margin-only map shipped before (efficientnet_lite2), for comparison.
PREVIOUS_MAP = (6.82, -0.69)
#: The simulated user's answers, as shares of the collection's photos.
FRACTIONS = (0.02, 0.05)


def majority_right(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    right = np.zeros(len(labels), dtype=bool)
    for cluster in np.unique(labels):
        members = labels == cluster
        values, counts = np.unique(truth[members], return_counts=True)
        right[members] = truth[members] == values[np.argmax(counts)]
    return right


def ece(conf: np.ndarray, right: np.ndarray) -> float:
    """Expected calibration error over the photos with a number; ``NaN`` when none has one."""
    ok = np.isfinite(conf)
    if not ok.any():
        return float("nan")
    conf, right = conf[ok], right[ok]
    bins = np.minimum((conf * BINS).astype(int), BINS - 1)
    total = 0.0
    for b in range(BINS):
        inside = bins == b
        if inside.any():
            total += inside.sum() * abs(conf[inside].mean() - right[inside].mean())
    return total / max(len(conf), 1)


def reliability(conf: np.ndarray, right: np.ndarray) -> list[str]:
    ok = np.isfinite(conf)
    conf, right = conf[ok], right[ok]
    bins = np.minimum((conf * BINS).astype(int), BINS - 1)
    rows = []
    for b in range(BINS):
        inside = bins == b
        if inside.any():
            shown, hit = conf[inside].mean(), right[inside].mean()
            bar = "#" * int(round(hit * 20))
            rows.append(f"  {b / BINS:.1f}-{(b + 1) / BINS:.1f} | {inside.sum():6d} | "
                        f"{shown:.2f} | {hit:.2f} | {bar}")
    return rows


def build_collections(sets: dict, per_set: int, rng: np.random.Generator) -> list[dict]:
    specs = [("single", [name]) for name in sets for _ in range(per_set)]
    if len(sets) >= 2:
        specs += [("mix", sorted(rng.choice(list(sets), 2, replace=False).tolist()))
                  for _ in range(per_set)]
    collections = []
    for kind, names in specs:
        parts, truth = [], []
        n_kinds = int(rng.integers(4, 11))
        for j, name in enumerate(names):
            X, y = sets[name]
            kinds = np.unique(y)
            count = min(n_kinds, kinds.size) if kind == "single" else int(rng.integers(2, 6))
            for c in rng.choice(kinds, count, replace=False):
                rows = np.flatnonzero(y == c)
                cap = 300 if name == "cifar10_test" else rows.size
                take = max(20, int(rng.uniform(0.3, 1.0) * min(rows.size, cap)))
                parts.append(X[rng.choice(rows, take, replace=False)])
                truth.append(np.full(take, j * 1000 + int(c)))
        Z = EmbeddingPreprocessor(128, random_state=0).fit_transform(np.concatenate(parts))
        y = np.concatenate(truth)
        seed = int(rng.integers(1000))
        for k_mode in ("true", "auto"):
            k = len(np.unique(y)) if k_mode == "true" else "auto"
            labels = np.asarray(cluster_embeddings(Z, k, "kmeans", seed)[0])
            collections.append({"kind": kind, "sets": names, "k_mode": k_mode, "Z": Z, "y": y,
                                "labels": labels, "seed": seed,
                                "features": confidence_features(Z, labels),
                                "right": majority_right(labels, y)})
    return collections


def score(model: ConfidenceModel, features: np.ndarray) -> np.ndarray:
    ok = np.isfinite(features).all(axis=1)
    return np.where(ok, model.score(np.nan_to_num(features)), np.nan)


def simulate_states(c: dict, fractions=FRACTIONS) -> None:
    """The simulated user's states after each fraction of answers: ``c["states"]``, a list of
    ``(fraction, clusters, user, right)`` (right: by the kind the user gave each cluster)."""
    state, oracle, c["states"] = None, None, []
    for fraction in fractions:
        result = simulate_corrections(c["Z"], c["y"], c["labels"], (fraction,),
                                      max_fraction=fraction, state=state, oracle=oracle)
        state, oracle = result.state, result.oracle
        assert state is not None and oracle is not None
        right = np.array([oracle.cluster_label(state, int(cl)) == t
                          for cl, t in zip(state.clusters, c["y"])])
        c["states"].append((fraction, state.clusters.copy(), state.user.copy(), right))


def state_scores(c: dict, model: ConfidenceModel) -> list[tuple]:
    """For each state after answers, what ``fit_answer_shift`` needs: the model's scores of the
    photos nobody answered, the share answered, whether each is right."""
    out = []
    if "structures" not in c:
        c["structures"] = [LibraryStructure(c["Z"], clusters) for _, clusters, _, _ in c["states"]]
    for structure, (_, clusters, user, right) in zip(c["structures"], c["states"]):
        auto = user < 0
        out.append((score(model, structure.features())[auto], answered_share(clusters, user),
                    right[auto]))
    return out


def fit_shift(train: list[dict], model: ConfidenceModel) -> AnswerShift:
    parts = [s for c in train for s in state_scores(c, model)]
    return fit_answer_shift(*(list(v) for v in zip(*parts)))


def after_answers(c: dict, model: ConfidenceModel, shift: AnswerShift) -> list[float]:
    """ECE on the photos nobody answered after each fraction of answers, with ``shift`` and then
    without it (the model as fitted before any answer, as shipped before)."""
    with_shift, without = [], []
    for _, clusters, user, right in c["states"]:
        auto = user < 0
        for out, s in ((with_shift, shift), (without, NO_SHIFT)):
            conf = calibrated_confidences(c["Z"], clusters, user, confidence_model=model, shift=s)
            out.append(ece(conf[auto], right[auto]))
            if s is shift:
                c.setdefault("after_conf", []).append((conf[auto], right[auto]))
    return with_shift + without


def build_or_load(sets: dict, per_set: int, seed: int, cache: Path | None,
                  answers: bool) -> list[dict]:
    """The collections of ``build_collections`` with their simulated states, from ``cache``
    when it holds them (a pickle per seed and size: building and simulating takes minutes)."""
    path = None if cache is None else cache / f"collections_s{seed}_p{per_set}.pkl"
    if path is not None and path.exists():
        with open(path, "rb") as f:
            collections = pickle.load(f)
        for c in collections:  # the clusters and answers are kept; the features made anew
            c["features"] = confidence_features(c["Z"], c["labels"])
        if not answers or all("states" in c for c in collections):
            return collections
    else:
        collections = build_collections(sets, per_set, np.random.default_rng(seed))
    if answers:
        for c in collections:
            simulate_states(c)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(collections, f)
    return collections


def shown_mean(conf: np.ndarray) -> str:
    """The mean number shown, or "none" where no photo has one."""
    ok = np.isfinite(conf)
    return f"{conf[ok].mean():.3f}" if ok.any() else "none"


def accuracy_known(conf: np.ndarray, right: np.ndarray) -> float:
    """ECE once the log-odds are shifted so that the mean number is the share right."""
    from scipy.optimize import brentq

    ok = np.isfinite(conf)
    if not ok.any():
        return float("nan")
    logit = np.log(np.clip(conf[ok], 1e-9, 1 - 1e-9) / np.clip(1 - conf[ok], 1e-9, 1))
    target = float(np.clip(right[ok].mean(), 1e-3, 1 - 1e-3))
    shift = brentq(lambda b: 1 / (1 + np.exp(-(logit + b))).mean() - target, -60, 60)
    return ece(1 / (1 + np.exp(-(logit + shift))), right[ok])


def _neighbour_flow(Z: np.ndarray, col: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts: photos of cluster ``a`` with a nearest photo in cluster ``b``."""
    nn = nearest_clustered(Z, col, np.arange(col.size))
    flow = np.zeros((k, k))
    valid = nn >= 0
    np.add.at(flow, (np.repeat(col, NEIGHBOURS)[valid.ravel()], col[nn[valid]]), 1)
    return flow


def _mutual(score: np.ndarray) -> np.ndarray:
    """Pairs ``(a, b)`` where each is the other's best by ``score`` (its diagonal ignored)."""
    score = score.astype(np.float64).copy()
    np.fill_diagonal(score, -np.inf)
    best = np.argmax(score, axis=1)
    pairs = np.zeros(score.shape, dtype=bool)
    for a, b in enumerate(best):
        if best[b] == a and np.isfinite(score[a, b]):
            pairs[a, b] = pairs[b, a] = True
    return pairs


#: Which clusters count as siblings (halves of one kind), each without a constant:
#: ``centres``: mutual nearest centres; ``neighbours``: the two clusters each send most of their
#: photos' nearest photos to (a dense boundary), mutually; ``truth``: the same majority kind
#: (known only here: the most any sibling rule could give).
SIBLING_RULES = ("centres", "neighbours", "truth")


def sibling_pairs(c: dict, rule: str) -> np.ndarray:
    labels = c["labels"]
    classes = np.unique(labels)
    col = np.searchsorted(classes, labels)
    k = classes.size
    Z = unit_rows(np.asarray(c["Z"], dtype=np.float32)).astype(np.float64)
    if rule == "centres":
        sums = np.stack([Z[col == j].sum(axis=0) for j in range(k)])
        centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        return _mutual(centres @ centres.T)
    if rule == "neighbours":
        flow = _neighbour_flow(Z, col, k)
        pairs = _mutual(flow)
        return pairs & (flow > 0) & (flow.T > 0)
    majority = []
    for j in range(k):
        kinds, counts = np.unique(c["y"][col == j], return_counts=True)
        majority.append(kinds[np.argmax(counts)])
    pairs = np.equal.outer(majority, majority)
    np.fill_diagonal(pairs, False)
    return pairs


def sibling_features(c: dict, pairs: np.ndarray, which: str) -> np.ndarray:
    """The shipped features with the margin (``which`` "margin" or "both") taken against the
    nearest centre that is not a sibling, and the library's agreement ("agreement" or "both")
    counting a nearest photo in a sibling cluster as agreeing."""
    features = c["features"].copy()
    ok = np.isfinite(features).all(axis=1)
    labels = c["labels"]
    classes = np.unique(labels)
    col = np.searchsorted(classes, labels)
    Z = unit_rows(np.asarray(c["Z"], dtype=np.float32)).astype(np.float64)
    if which in ("margin", "both"):
        sums = np.stack([Z[col == j].sum(axis=0) for j in range(classes.size)])
        norms2 = (sums ** 2).sum(axis=1)
        raw = Z @ sums.T
        rows = np.arange(col.size)
        own_dot = raw[rows, col]
        own = (own_dot - 1.0) / np.sqrt(np.maximum(norms2[col] - 2.0 * own_dot + 1.0, 1e-24))
        others = raw / np.sqrt(norms2)[None, :]
        others[rows, col] = -np.inf
        others[pairs[col]] = -np.inf
        features[ok, 0] = (own - others.max(axis=1))[ok]
    if which in ("agreement", "both"):
        nn = nearest_clustered(Z, col, np.arange(col.size))
        valid = nn >= 0
        near = col[np.maximum(nn, 0)]
        agree = ((near == col[:, None]) | pairs[col[:, None], near]) & valid
        features[ok, 1] = float((agree.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)).mean())
    return features


def siblings(collections: list[dict], fitted_on: list[dict], sets: dict) -> None:
    """Before any answer, leave one set out as the main table: the shipped features, then each
    ``SIBLING_RULES`` rule with the sibling margin, the sibling agreement and both."""
    singles = [c for c in collections if c["kind"] == "single"]
    print("\nsiblings: sibling pairs found (same majority kind / not / same kind missed)")
    for rule in SIBLING_RULES[:-1]:
        found = [0, 0, 0]
        for c in collections:
            pairs = sibling_pairs(c, rule)
            truth = sibling_pairs(c, "truth")
            found[0] += int((pairs & truth).sum() // 2)
            found[1] += int((pairs & ~truth).sum() // 2)
            found[2] += int((~pairs & truth).sum() // 2)
        print(f"  {rule}: {found[0]} / {found[1]} / {found[2]}")
    print("siblings, before any answer: mean / worst ECE [within 0.05]")
    print("| features | " + " | ".join(list(sets) + ["mixtures"]) + " | single-set within 0.05 |")
    print("|---|" + "---|" * (len(sets) + 2))
    variants = [("shipped", None, None)] + [(f"{rule}, {which}", rule, which)
                                            for rule in SIBLING_RULES
                                            for which in ("margin", "agreement", "both")]
    for name, rule, which in variants:
        every = {id(c): c for c in collections + fitted_on}
        for c in every.values():
            c["sibling_features"] = (c["features"] if rule is None else
                                     sibling_features(c, sibling_pairs(c, rule), str(which)))
        cells, within = [], 0
        for held in list(sets) + ["mixtures"]:
            if held == "mixtures":
                train, tests = fitted_on, [c for c in collections if c["kind"] == "mix"]
            else:
                train = [c for c in fitted_on if held not in c["sets"]]
                tests = [c for c in singles if c["sets"] == [held]]
            model = fit_confidence_model([c["sibling_features"] for c in train],
                                         [c["right"] for c in train])
            errors = np.array([ece(ConfidenceCalibrator().predict(
                score(model, c["sibling_features"])), c["right"]) for c in tests])
            count = int((errors <= 0.05).sum())
            within += count if held != "mixtures" else 0
            cells.append(f"{np.nanmean(errors):.3f} / {np.nanmax(errors):.3f} [{count}]")
        print(f"| {name} | " + " | ".join(cells) + f" | {within} of {len(singles)} |", flush=True)


def speed(n: int, k: int = 100) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(k, 128))
    labels = rng.integers(0, k, n)
    Z = (centres[labels] + 1.5 * rng.normal(size=(n, 128))).astype(np.float32)
    user = np.where(rng.uniform(size=n) < 0.01, labels, -1)
    started = time.monotonic()
    conf = calibrated_confidences(Z, labels, user)
    print(f"confidences of {n} photos in {k} clusters (1 % answered): "
          f"{time.monotonic() - started:.1f} s, {np.isfinite(conf).sum()} numbers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--per-set", type=int, default=6,
                        help="collections per set (and mixtures), each clustered twice")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-seeds", type=int, nargs="*", default=[],
                        help="more collections (built with these seeds) to fit on, never tested")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the built collections and simulated answers in this folder")
    parser.add_argument("--no-answers", action="store_true", help="skip the simulated user")
    parser.add_argument("--fit", action="store_true",
                        help="print the model and shift fitted on every single-set collection")
    parser.add_argument("--speed", type=int, default=0, metavar="N",
                        help="also time the confidences of N synthetic photos")
    parser.add_argument("--siblings", action="store_true",
                        help="also measure features that see sibling clusters (before answers)")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    started = time.monotonic()
    sets = {name: (X, y) for name, X, y in load_cached_sets(args.features, SETS)}
    if not sets:
        if args.speed:
            speed(args.speed)
        return
    answers = not args.no_answers
    collections = build_or_load(sets, args.per_set, args.seed, args.cache, answers)
    extra = [c for seed in args.train_seeds
             for c in build_or_load(sets, args.per_set, seed, args.cache, answers)]
    print(f"{len(collections) + len(extra)} collections built, organized and answered in "
          f"{time.monotonic() - started:.0f} s")
    singles = [c for c in collections if c["kind"] == "single"]
    fitted_on = singles + [c for c in extra if c["kind"] == "single"]
    everything = fit_confidence_model([c["features"] for c in fitted_on],
                                      [c["right"] for c in fitted_on])
    everything_shift = fit_shift(fitted_on, everything) if answers else NO_SHIFT
    if args.fit:
        print(f"model fitted on all {len(fitted_on)} single-set collections "
              f"({', '.join(FEATURES)}):"
              f"\n  coef={tuple(round(v, 3) for v in everything.coef)} "
              f"intercept={everything.intercept:.3f}"
              f"\n  shift after answers (constant, score): "
              f"coef={tuple(round(v, 3) for v in everything_shift.coef)}")
        if answers:
            shipped = fit_shift(fitted_on, SHIPPED_MODEL)
            print(f"  shift for the shipped model on them: "
                  f"coef={tuple(round(v, 3) for v in shipped.coef)}")
    print("| held out | collection | k | photos | right | shown | ECE before | margin only | "
          "previous map | floor | accuracy known | after 2 % | after 5 % | "
          "after 2 %, no shift | after 5 %, no shift |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    draws = np.random.default_rng(0)
    for held in list(sets) + ["mixtures"]:
        if held == "mixtures":
            train = fitted_on
            tests = [c for c in collections if c["kind"] == "mix"]
        else:
            train = [c for c in fitted_on if held not in c["sets"]]
            tests = [c for c in singles if c["sets"] == [held]]
        if not train:
            continue
        model = fit_confidence_model([c["features"] for c in train], [c["right"] for c in train])
        margin_model = fit_confidence_model([c["features"][:, :1] for c in train],
                                            [c["right"] for c in train])
        shift = fit_shift(train, model) if answers else NO_SHIFT
        rows = []
        for c in tests:
            conf = ConfidenceCalibrator().predict(score(model, c["features"]))
            before = ece(conf, c["right"])
            previous = ece(ConfidenceCalibrator(PREVIOUS_MAP).predict(
                centre_margins(c["Z"], c["labels"])), c["right"])
            margin_only = ece(ConfidenceCalibrator().predict(
                score(margin_model, c["features"][:, :1])), c["right"])
            floor = float(np.mean([ece(conf, draws.uniform(size=conf.size) < conf)
                                   for _ in range(20)])) if np.isfinite(conf).any() else np.nan
            known = accuracy_known(conf, c["right"])
            c.pop("after_conf", None)
            after = after_answers(c, model, shift) if answers else [np.nan] * 4
            c["before_conf"] = conf
            rows.append((before, margin_only, previous, floor, known, *after))
            k = len(np.unique(c["labels"]))
            cells = " | ".join(f"{v:.3f}" for v in rows[-1])
            print(f"| {held} | {'+'.join(c['sets'])} {len(np.unique(c['y']))} kinds | "
                  f"{k} ({c['k_mode']}) | {len(c['y'])} | {c['right'].mean():.3f} | "
                  f"{shown_mean(conf)} | {cells} |", flush=True)
        summary[held] = (tests, np.array(rows))
    print("\nsummary: mean / worst ECE over the held-out collections [how many within the goal: "
          "before <= 0.05, after 5 % <= 0.03; after 2 %: <= 0.05]")
    print("| held out | collections | before | margin only | previous map | floor | "
          "accuracy known | after 2 % | after 5 % | after 2 %, no shift | after 5 %, no shift |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    goals = {0: 0.05, 5: 0.05, 6: 0.03, 7: 0.05, 8: 0.03}
    for held, (tests, rows) in summary.items():
        cells = " | ".join(
            f"{np.nanmean(rows[:, j]):.3f} / {np.nanmax(rows[:, j]):.3f}"
            + (f" [{int((rows[:, j] <= goals[j]).sum())}]" if j in goals else "")
            for j in range(rows.shape[1]))
        silent = int(np.isnan(rows[:, 0]).sum())
        print(f"| {held} | {len(tests)}{f' ({silent} without a number)' if silent else ''} | "
              f"{cells} |")
    for held, (tests, _) in summary.items():
        before = np.concatenate([c["before_conf"] for c in tests])
        right = np.concatenate([c["right"] for c in tests])
        print(f"\nreliability, {held}, before any answer (bin | photos | shown | right):")
        print("\n".join(reliability(before, right)))
        if answers:
            conf = np.concatenate([c["after_conf"][-1][0] for c in tests])
            right = np.concatenate([c["after_conf"][-1][1] for c in tests])
            print(f"reliability, {held}, after 5 % answers:")
            print("\n".join(reliability(conf, right)))
    if args.siblings:
        siblings(collections, fitted_on, sets)
    if args.speed:
        speed(args.speed)
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
