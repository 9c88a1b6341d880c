"""One confidence for every photo: the probability that it is in the right cluster.

Every place that shows or sorts by "how sure" (the stored ``Assignment.confidence``, the review
list, the preview, "least sure first", ``photos --json``) uses the number made here, so one photo
reads the same everywhere.

The number comes from the library's own structure, in the clustering's preprocessed space, so
that it holds on collections it was never fitted on (``confidence_features``):

- the photo's *centre margin*: cosine similarity to its cluster's centre (itself left out, so a
  photo does not vouch for itself) minus the similarity to the nearest other centre;
- the library's *neighbour agreement*: the mean share of a photo's ``NEIGHBOURS`` nearest photos
  that are in its cluster: how well this collection's clusters follow its photos' nearest
  photos, which is what tells a collection of clean clusters from one of blurred kinds (the
  margin alone cannot: on one collection a wide margin is right 89 % of the time, on another
  100 %);
- the number of clusters and the cluster's size relative to the mean size (both as logs).

A photo's own neighbour agreement and its cluster's were tried as well and did not help on
held-out collections (docs/learning.md), so the neighbour search runs on a sample only.

A logistic model over these (``SHIPPED_MODEL``: a few coefficients, fitted by
``bench/calibration_heldout.py`` across many collections built from the labelled sets, checked
on collections of sets it did not see; docs/learning.md) gives a score, the log-odds of being
right before any answer. Once the user has placed or confirmed photos, the score moves with the
share of photos answered (``SHIPPED_SHIFT``, fitted offline on the states the simulated user
leaves after answers: the photos nobody answered are then righter than their structure says,
because Learn has used the answers), and a Platt map
``p = sigmoid(a * score + b)`` is refitted on those answers: for each, the cluster the program
would put it in (the nearest centre, the photo left out) and whether that is where the user put
it. The slope stays 1 (a two-parameter fit extrapolated badly, docs/learning.md). The answers are
not a fair sample of the photos nobody answered: the review queue asks the photos the learner is
least sure of, which are wrong more often than their score says, while Learn makes the rest
righter than before. So the intercept ``b`` has a strong Gaussian prior (``PRIOR_STRENGTH``) at 0:
a few hundred answers weigh as much as it, and what mostly moves the number after answers is the
structure recomputed on the learned clusters and the shift (a weak prior pulled the number the
wrong way on held-out collections: docs/learning.md).

There is no honest number (``NaN`` here, ``None`` in the library) for a photo in no cluster, in a
cluster of its own, or when the library has fewer than ``MIN_CLUSTERS`` clusters (one: no other
cluster to be confused with; two: two clusters that split by where the photos come from look as
clean as two clean kinds).
Photos the user placed are right by definition: 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photoclust.core.clustering.preprocess import l2_normalize, sums_by_column, unit_rows

#: Names of the columns ``confidence_features`` returns, in order.
FEATURES = ("margin", "library_agreement", "log_clusters", "log_relative_size")


@dataclass(frozen=True)
class ConfidenceModel:
    """Log-odds of being right before any answer: ``intercept + features @ coef``."""

    coef: tuple[float, ...]
    intercept: float

    def score(self, features: np.ndarray) -> np.ndarray:
        return features @ np.asarray(self.coef, dtype=np.float64) + self.intercept


#: Fitted by ``bench/calibration_heldout.py --fit`` (its default 36 single-set collections of
#: imagenette224, clothing14 and cifar10_test: efficientnet_lite2 features, true and automatic
#: k, every collection weighted alike). docs/learning.md gives the figures on held-out
#: collections.
SHIPPED_MODEL = ConfidenceModel(coef=(5.014, 7.953, 0.53, -0.66), intercept=-7.785)

@dataclass(frozen=True)
class AnswerShift:
    """After answers, the log-odds ``score`` move by ``t * (coef[0] + coef[1] * score)``, with
    ``t = min(share of clustered photos the user placed / full_share, 1)``: 0 before any answer
    (the model's score as it is), 1 from ``full_share`` of the photos answered on.

    Fitted offline on the states the simulated user leaves after 2 % and 5 % answers (the photos
    nobody answered: docs/learning.md). It says how far, on collections like the training ones,
    the photos nobody answered are righter or less right than the structure says once Learn
    has used the answers, which the answers themselves cannot say (the review queue asks the
    hard photos, not a fair sample of the rest)."""

    coef: tuple[float, float]
    full_share: float = 0.05

    def terms(self, scores: np.ndarray, share: float) -> np.ndarray:
        """The ``(n, 2)`` terms the coefficients multiply: ``t`` and ``t * score``."""
        scores = np.asarray(scores, dtype=np.float64)
        t = min(max(float(share), 0.0) / self.full_share, 1.0)
        return t * np.column_stack([np.ones_like(scores), scores])

    def apply(self, scores, share: float) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        if share <= 0 or scores.size == 0:
            return scores
        return scores + self.terms(scores, share) @ np.asarray(self.coef)


#: No shift: the model's score whatever the answers (what shipped before).
NO_SHIFT = AnswerShift(coef=(0.0, 0.0))

#: Fitted for ``SHIPPED_MODEL`` by ``bench/calibration_heldout.py --fit --train-seeds 1`` ("shift
#: for the shipped model": its 72 single-set collections of seeds 0 and 1 after the simulated
#: user's 2 % and 5 % answers, the photos nobody answered, every state weighted alike): once 5 %
#: are answered, the log-odds of a photo nobody answered rise by about 0.5 (they are righter
#: than the structure says once Learn has used the answers). Fitted on either seed's collections
#: alone, each with the model fitted on them, the constant is the same (0.50, 0.49) and the slope
#: is not (0.11, -0.23).
#: docs/learning.md gives the held-out figures.
SHIPPED_SHIFT = AnswerShift(coef=(0.521, 0.138))

#: A library of fewer clusters gets no number. With two clusters every structural sign says
#: "clean" when the library splits by where the photos come from rather than by kind (two
#: held-out mixtures of clothing and CIFAR photos split in 2 clusters, one per set: shown 0.98,
#: right 0.27-0.36; docs/learning.md), and nothing in the structure tells that from two clean
#: kinds. (The model was fitted on libraries of 4-10 clusters; 3 is kept, unmeasured.)
MIN_CLUSTERS = 3

#: Nearest photos whose clusters make a photo's agreement.
NEIGHBOURS = 10
#: The library's agreement is the mean over at most this many photos (a fixed random sample:
#: the mean of a share, which a sample keeps; its standard error is below 0.01). The collections
#: the model was fitted on hold at most 2,000 photos, so there it is every photo.
AGREEMENT_SAMPLE = 2_000
#: Their nearest photos are searched among at most this many clustered photos (a fixed random
#: sample of bigger libraries), so the cost stays bounded: 2,000 x 20,000 similarities.
MAX_REFERENCE = 20_000
#: Similarities computed at once in the neighbour search (64 MB of float32).
NEIGHBOUR_BLOCK = 1 << 24
#: Precision (1 / variance) of the Gaussian prior on the answers' intercept, at 0: about 400
#: answers weigh as much as the prior. The review queue's answers are the photos the learner is
#: least sure of, wrong more often than their score says; with precision 10 they pulled the
#: unanswered photos' numbers down while those were righter than shown (mean ECE after 5 %
#: answers on held-out collections 0.047-0.114 against 0.038-0.095 with 100: docs/learning.md).
PRIOR_STRENGTH = 100.0

#: Photos whose similarities to every centre are computed at once (bounds memory on big
#: libraries: 16,384 photos x 1,000 clusters is 128 MB).
CHUNK = 16_384


class _Centres:
    """Every cluster's sum of unit vectors, so that a photo's own centre can be taken without
    it."""

    def __init__(self, Z: np.ndarray, labels: np.ndarray):
        self.classes = np.unique(labels[labels >= 0])
        self.column = np.full(labels.shape, -1, dtype=np.int64)
        member = labels >= 0
        self.column[member] = np.searchsorted(self.classes, labels[member])
        rows = np.flatnonzero(member)  # summed a group at a time: no float64 copy of them all
        self.sums = sums_by_column(Z, rows, self.column[member], self.classes.size)
        self.counts = np.bincount(self.column[member], minlength=self.classes.size)
        self.norms2 = (self.sums ** 2).sum(axis=1)

    def similarities(self, Z: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity of photos ``rows`` to every centre, their own cluster's centre taken
        without them (``NaN`` there for a photo alone in its cluster)."""
        raw = Z[rows].astype(np.float64) @ self.sums.T
        sims = raw / np.sqrt(np.maximum(self.norms2, 1e-24))[None, :]
        own = self.column[rows]
        member = np.flatnonzero(own >= 0)
        j = own[member]
        loo_dot = raw[member, j] - 1.0
        loo_norm2 = self.norms2[j] - 2.0 * raw[member, j] + 1.0
        sims[member, j] = np.where(self.counts[j] <= 1, np.nan,
                                   loo_dot / np.sqrt(np.maximum(loo_norm2, 1e-24)))
        return sims


def _chunks(rows: np.ndarray, size: int | None = None):
    size = size or CHUNK
    for start in range(0, rows.size, size):
        yield rows[start:start + size]


def _target_columns(centres: _Centres, targets: np.ndarray) -> np.ndarray:
    """Column of each target cluster among ``centres.classes``, -1 for none or an unknown one."""
    classes = centres.classes
    col = np.searchsorted(classes, targets)
    known = (targets >= 0) & (col < classes.size)
    known[known] &= classes[col[known]] == targets[known]
    return np.where(known, col, -1)


def centre_margins(Z: np.ndarray, labels, targets=None,
                   centres: _Centres | None = None) -> np.ndarray:
    """Margin of each photo for cluster ``targets[i]`` (default: its own label): similarity to
    that centre minus the best other one. ``NaN`` where there is no honest margin (see the module
    docstring). ``centres``: those of ``Z`` and ``labels`` when already summed."""
    Z = unit_rows(Z)
    labels = np.asarray(labels, dtype=np.int64)
    targets = labels if targets is None else np.asarray(targets, dtype=np.int64)
    centres = centres if centres is not None else _Centres(Z, labels)
    margins = np.full(len(labels), np.nan)
    if centres.classes.size < 2:
        return margins
    t_col = _target_columns(centres, targets)
    for rows in _chunks(np.flatnonzero(t_col >= 0)):
        sims = centres.similarities(Z, rows)
        pick = np.arange(rows.size), t_col[rows]
        target_sim = sims[pick]
        sims[pick] = -np.inf
        margins[rows] = target_sim - np.max(np.where(np.isnan(sims), -np.inf, sims), axis=1)
    margins[~np.isfinite(margins)] = np.nan
    return margins


def nearest_clustered(Z: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                      k: int = NEIGHBOURS, random_state: int = 0) -> np.ndarray:
    """Indices of the ``k`` nearest clustered photos (``labels >= 0``) of each photo in ``rows``,
    itself excluded, searched among at most ``MAX_REFERENCE`` of them (a fixed random sample),
    in blocks of ``NEIGHBOUR_BLOCK`` similarities. ``-1`` pads where there are fewer."""
    reference = np.flatnonzero(labels >= 0)
    if reference.size > MAX_REFERENCE:
        rng = np.random.default_rng(random_state)
        reference = np.sort(rng.choice(reference, MAX_REFERENCE, replace=False))
    out = np.full((rows.size, k), -1, dtype=np.int64)
    if reference.size == 0 or rows.size == 0:
        return out
    position = np.full(len(labels), -1, dtype=np.int64)
    position[reference] = np.arange(reference.size)
    R = np.ascontiguousarray(Z[reference], dtype=np.float32)
    take = min(k, reference.size - 1)
    if take <= 0:
        return out
    step = max(1, NEIGHBOUR_BLOCK // reference.size)
    for start in range(0, rows.size, step):
        block = rows[start:start + step]
        sims = np.asarray(Z[block], dtype=np.float32) @ R.T
        own = position[block]
        inside = np.flatnonzero(own >= 0)
        sims[inside, own[inside]] = -np.inf
        best = np.argpartition(sims, sims.shape[1] - take, axis=1)[:, -take:]
        out[start:start + block.size, :take] = reference[best]
    return out


class LibraryStructure:
    """What the features need from one library, computed once: the cluster centres and the
    library's neighbour agreement (the same for the answers and for the numbers)."""

    def __init__(self, Z: np.ndarray, labels, random_state: int = 0):
        self.Z = unit_rows(np.asarray(Z, dtype=np.float32))
        self.labels = np.asarray(labels, dtype=np.int64)
        self.centres = _Centres(self.Z, self.labels)
        self.library_agreement = np.nan
        if self.centres.classes.size >= 2:
            self.library_agreement = library_agreement(self.Z, self.labels, random_state)

    def features(self, targets=None) -> np.ndarray:
        """The ``FEATURES`` of each photo for cluster ``targets[i]`` (default: its own label),
        an ``(n, len(FEATURES))`` array; rows of ``NaN`` where there is no honest number."""
        labels = self.labels
        targets = labels if targets is None else np.asarray(targets, dtype=np.int64)
        out = np.full((len(labels), len(FEATURES)), np.nan)
        centres = self.centres
        k = centres.classes.size
        if k < MIN_CLUSTERS:
            return out
        margins = centre_margins(self.Z, labels, targets, centres)
        wanted = np.flatnonzero(np.isfinite(margins))
        col = _target_columns(centres, targets)[wanted]
        out[wanted] = np.column_stack([
            margins[wanted],
            np.full(wanted.size, self.library_agreement),
            np.full(wanted.size, np.log(k)),
            np.log(centres.counts[col] * k / max(int(centres.counts.sum()), 1)),
        ])
        return out


def library_agreement(Z: np.ndarray, labels, random_state: int = 0) -> float:
    """The mean share of a clustered photo's ``NEIGHBOURS`` nearest clustered photos that are in
    its cluster, over at most ``AGREEMENT_SAMPLE`` photos (a fixed random sample);
    ``NaN`` without clustered photos."""
    labels = np.asarray(labels, dtype=np.int64)
    clustered = np.flatnonzero(labels >= 0)
    if clustered.size < 2:
        return float("nan")
    rows = clustered
    if rows.size > AGREEMENT_SAMPLE:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(rows, AGREEMENT_SAMPLE, replace=False))
    nn = nearest_clustered(unit_rows(Z), labels, rows, random_state=random_state)
    valid = nn >= 0
    same = (labels[np.maximum(nn, 0)] == labels[rows, None]) & valid
    return float((same.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)).mean())


def confidence_features(Z: np.ndarray, labels, targets=None, random_state: int = 0) -> np.ndarray:
    """The ``FEATURES`` of each photo for cluster ``targets[i]`` (default: its own label), an
    ``(n, len(FEATURES))`` array; rows of ``NaN`` where there is no honest number."""
    return LibraryStructure(Z, labels, random_state).features(targets)


def nearest_centre_targets(Z: np.ndarray, labels, rows: np.ndarray) -> np.ndarray:
    """The cluster each photo in ``rows`` is nearest to (its own centre taken without it); -1
    where there is none."""
    Z = l2_normalize(Z)
    labels = np.asarray(labels, dtype=np.int64)
    centres = _Centres(Z, labels)
    targets = np.full(rows.size, -1, dtype=np.int64)
    if centres.classes.size < 2:
        return targets
    done = 0
    for part in _chunks(rows):
        s = centres.similarities(Z, part)
        s = np.where(np.isnan(s), -np.inf, s)
        targets[done:done + part.size] = centres.classes[np.argmax(s, axis=1)]
        done += part.size
    return targets


def answered_share(labels, user) -> float:
    """The share of the clustered photos that the user placed or confirmed."""
    labels = np.asarray(labels, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    return float(((user >= 0) & (labels >= 0)).sum() / max(int((labels >= 0).sum()), 1))


def answer_scores(Z: np.ndarray, labels, user, model: ConfidenceModel | None = None,
                  structure: LibraryStructure | None = None,
                  shift: AnswerShift | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The user's answers as calibration data: for each photo the user placed, the score of the
    cluster the program would give it (nearest centre, itself left out; shifted by ``shift``,
    default ``SHIPPED_SHIFT``, as the photos nobody answered are) and whether that is the
    user's cluster. ``labels`` are the current clusters (user-placed photos in theirs)."""
    model = model or SHIPPED_MODEL
    shift = shift or SHIPPED_SHIFT
    labels = np.asarray(labels, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    answered = np.flatnonzero(user >= 0)
    if answered.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    structure = structure or LibraryStructure(Z, labels)
    targets = np.full(len(labels), -1, dtype=np.int64)
    targets[answered] = nearest_centre_targets(structure.Z, labels, answered)
    features = structure.features(targets)[answered]
    ok = np.isfinite(features).all(axis=1)
    scores = shift.apply(model.score(features[ok]), answered_share(labels, user))
    return scores, (targets[answered] == user[answered])[ok]


def answer_margins(Z: np.ndarray, labels, user) -> tuple[np.ndarray, np.ndarray]:
    """Like ``answer_scores``, with the centre margin as the score."""
    labels = np.asarray(labels, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    answered = np.flatnonzero(user >= 0)
    if answered.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    targets = np.full(len(labels), -1, dtype=np.int64)
    targets[answered] = nearest_centre_targets(Z, labels, answered)
    margins = centre_margins(Z, labels, targets)[answered]
    ok = np.isfinite(margins)
    return margins[ok], (targets[answered] == user[answered])[ok]


class ConfidenceCalibrator:
    """Score -> probability of being in the right cluster (a Platt map ``a * score + b``).

    ``fit(scores, correct)`` refits the intercept ``b`` on answers (maximum a posteriori, with a
    Gaussian prior of precision ``prior_strength`` at the ``prior`` map's); the slope stays the
    prior's. Without answers (or unfitted) the prior map is used as it is.

    Examples
    --------
    >>> cal = ConfidenceCalibrator(prior=(10.0, 0.0))
    >>> [round(float(p), 2) for p in cal.predict([0.0, 0.3])]
    [0.5, 0.95]
    """

    def __init__(self, prior: tuple[float, float] = (1.0, 0.0),
                 prior_strength: float = PRIOR_STRENGTH):
        self.prior = prior
        self.prior_strength = prior_strength

    def fit(self, scores, correct) -> ConfidenceCalibrator:
        from scipy.optimize import minimize_scalar

        scores = np.asarray(scores, dtype=np.float64).ravel()
        correct = np.asarray(correct, dtype=bool).ravel()
        a, b0 = (float(v) for v in self.prior)
        self.coef_ = (a, b0)
        self.n_answers_ = int(scores.size)
        if scores.size == 0:
            return self

        def loss(b: float) -> float:
            z = a * scores + b
            # -log sigmoid(z) for right answers, -log(1 - sigmoid(z)) for wrong ones.
            nll = np.logaddexp(0.0, np.where(correct, -z, z)).sum()
            return float(nll + 0.5 * self.prior_strength * (b - b0) ** 2)

        b = minimize_scalar(loss, bounds=(b0 - 20.0, b0 + 20.0), method="bounded").x
        self.coef_ = (a, float(b))
        return self

    def predict(self, scores) -> np.ndarray:
        """Probabilities, ``NaN`` where the score is ``NaN``."""
        a, b = getattr(self, "coef_", self.prior)
        scores = np.asarray(scores, dtype=np.float64)
        return np.where(np.isnan(scores), np.nan, _sigmoid(a * np.nan_to_num(scores) + b))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def fit_confidence_model(features: list[np.ndarray], right: list[np.ndarray],
                         regularization: float = 1.0) -> ConfidenceModel:
    """The logistic model fitted on several collections (``features[c]``: ``confidence_features``
    of collection ``c``'s photos, ``right[c]``: whether each is in the right cluster), every
    collection weighted alike; rows with ``NaN`` are left out. ``regularization``: the inverse
    strength of an L2 penalty on the standardized coefficients."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, ws = [], [], []
    for X, r in zip(features, right):
        X = np.asarray(X, dtype=np.float64)
        ok = np.isfinite(X).all(axis=1)
        if ok.any():
            xs.append(X[ok])
            ys.append(np.asarray(r, dtype=bool)[ok])
            ws.append(np.full(ok.sum(), 1.0 / ok.sum()))
    if not xs:
        raise ValueError("no photo with features to fit on")
    X, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    w *= len(w) / w.sum()
    if y.all() or not y.any():
        return ConfidenceModel(coef=(0.0,) * X.shape[1], intercept=float(
            np.log((y.sum() + 0.5) / ((~y).sum() + 0.5))))
    fitted = LogisticRegression(C=regularization, max_iter=2000).fit(
        (X - mean) / scale, y, sample_weight=w)
    coef = fitted.coef_[0] / scale
    return ConfidenceModel(coef=tuple(float(c) for c in coef),
                           intercept=float(fitted.intercept_[0] - coef @ mean))


def fit_answer_shift(scores: list[np.ndarray], shares: list[float], right: list[np.ndarray],
                     regularization: float = 0.1, full_share: float = 0.05) -> AnswerShift:
    """The ``AnswerShift`` fitted on states after answers: for state ``s``, ``scores[s]`` the
    confidence model's score of each photo nobody answered, ``right[s]`` whether it is in the
    right cluster, ``shares[s]`` the share of photos answered. Every state weighs alike; rows
    with ``NaN`` scores are left out, and states without answers.
    ``regularization``: the strength of an L2 penalty on the coefficients (against a total
    weight of one per state)."""
    from scipy.optimize import minimize

    shape = AnswerShift(coef=(0.0, 0.0), full_share=full_share)
    base, terms, ys, ws = [], [], [], []
    for s, share, r in zip(scores, shares, right):
        s = np.asarray(s, dtype=np.float64)
        ok = np.isfinite(s)
        if ok.any() and share > 0:
            base.append(s[ok])
            terms.append(shape.terms(s[ok], share))
            ys.append(np.asarray(r, dtype=bool)[ok])
            ws.append(np.full(ok.sum(), 1.0 / ok.sum()))
    if not base:
        return shape
    b, T, y, w = (np.concatenate(v) for v in (base, terms, ys, ws))

    def loss(c: np.ndarray) -> tuple[float, np.ndarray]:
        z = b + T @ c
        nll = (w * np.logaddexp(0.0, np.where(y, -z, z))).sum()
        grad = T.T @ (w * (_sigmoid(z) - y))
        return float(nll + 0.5 * regularization * (c @ c)), grad + regularization * c

    coef = minimize(loss, np.zeros(T.shape[1]), jac=True, method="L-BFGS-B").x
    return AnswerShift(coef=(float(coef[0]), float(coef[1])), full_share=full_share)


def calibrated_confidences(Z: np.ndarray, labels, user=None, model: str | None = None,
                           targets=None,
                           confidence_model: ConfidenceModel | None = None,
                           rows: np.ndarray | None = None,
                           shift: AnswerShift | None = None) -> np.ndarray:
    """The confidence of every photo in cluster ``targets[i]`` (default: its own label): the
    shipped model's score (``SHIPPED_MODEL``, or ``confidence_model``), shifted by the share of
    photos answered (``SHIPPED_SHIFT``, or ``shift``), through a Platt map refitted on the
    user's answers (``user[i]``: the cluster the user put photo ``i`` in, -1 where the user did
    not). Photos the user placed get 1; ``NaN`` where there is no honest number. ``model`` (the
    embedding model) is accepted for callers; the structure features do not depend on it.
    ``rows``: only those photos' confidences, in that order (the same numbers; placing 10,000
    photos in a million scores 10,000)."""
    del model
    confidence_model = confidence_model or SHIPPED_MODEL
    shift = shift or SHIPPED_SHIFT
    labels = np.asarray(labels, dtype=np.int64)
    user = np.full(len(labels), -1, np.int64) if user is None else np.asarray(user, np.int64)
    structure = LibraryStructure(Z, labels)
    share = answered_share(labels, user)
    calibrator = ConfidenceCalibrator().fit(
        *answer_scores(Z, labels, user, confidence_model, structure, shift))
    targets = labels if targets is None else np.asarray(targets, dtype=np.int64)
    if rows is not None:  # the others' target -1: no margin computed for them
        rows = np.asarray(rows, dtype=np.int64)
        wanted = np.full(len(labels), -1, dtype=np.int64)
        wanted[rows] = targets[rows]
        features = structure.features(wanted)[rows]
        targets, user = targets[rows], user[rows]
    else:
        features = structure.features(targets)
    scores = np.where(np.isfinite(features).all(axis=1),
                      confidence_model.score(np.nan_to_num(features)), np.nan)
    conf = calibrator.predict(shift.apply(scores, share))
    placed_by_user = (user >= 0) & (user == targets)
    return np.where(placed_by_user, 1.0, conf)
