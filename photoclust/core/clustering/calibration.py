"""One confidence for every photo: the probability that it is in the right cluster.

Every place that shows or sorts by "how sure" (the stored ``Assignment.confidence``, the review
list, the preview, "least sure first", ``photos --json``) uses the number made here, so one photo
reads the same everywhere.

The raw score is the photo's *centre margin*: its cosine similarity to the centre of its own
cluster (left out of that centre, so a photo does not vouch for itself) minus its similarity to
the nearest other centre, in the clustering's preprocessed space. A logistic (Platt) map turns it
into a probability:

- before the user has answered anything, the map shipped for the model (``SHIPPED_MAPS``, measured
  by ``bench/calibration.py`` on the labelled sets, all sets weighted alike; docs/learning.md);
- once the user has placed or confirmed photos, the map's intercept is refitted on those answers:
  for each, the cluster the program would put it in (the nearest centre, the photo left out) and
  whether that is where the user put it. The review queue picks photos by their margin, not by
  whether they are right, so the answers estimate P(right | margin) without bias; but it picks
  mostly small margins, which pin down how right this collection's clusters are (the intercept)
  and not how fast sureness grows with the margin (the slope, which a two-parameter fit
  extrapolated badly: docs/learning.md). The slope stays the model's; the intercept has a
  Gaussian prior (``PRIOR_STRENGTH``) at the shipped one, so a handful of answers nudges it and a
  few dozen take over.

There is no honest number (``NaN`` here, ``None`` in the library) for a photo in no cluster, in a
cluster of its own, or when the library has a single cluster (no other cluster to be confused with).
Photos the user placed are right by definition: 1.
"""
from __future__ import annotations

import numpy as np

from photoclust.core.clustering.preprocess import l2_normalize

#: Platt map ``p = 1 / (1 + exp(-(a * margin + b)))`` per model, from the centre margin to the
#: probability of being in the right cluster, before any answer. Measured by bench/calibration.py
#: (automatic k, K-means, every labelled set weighted alike); see docs/learning.md.
SHIPPED_MAPS: dict[str, tuple[float, float]] = {
    "efficientnet_lite2": (6.82, -0.69),
}
#: Used for a model without a measured map (the default model's).
FALLBACK_MODEL = "efficientnet_lite2"
#: Precision (1 / variance) of the Gaussian prior on the intercept at the shipped one.
PRIOR_STRENGTH = 1.0


def shipped_map(model: str | None) -> tuple[float, float]:
    return SHIPPED_MAPS.get(model or FALLBACK_MODEL, SHIPPED_MAPS[FALLBACK_MODEL])


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
        self.sums = np.zeros((self.classes.size, Z.shape[1]), dtype=np.float64)
        np.add.at(self.sums, self.column[member], Z[member])
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


def _chunks(rows: np.ndarray):
    for start in range(0, rows.size, CHUNK):
        yield rows[start:start + CHUNK]


def centre_margins(Z: np.ndarray, labels, targets=None) -> np.ndarray:
    """Margin of each photo for cluster ``targets[i]`` (default: its own label): similarity to
    that centre minus the best other one. ``NaN`` where there is no honest margin (see the module
    docstring)."""
    Z = l2_normalize(Z)
    labels = np.asarray(labels, dtype=np.int64)
    targets = labels if targets is None else np.asarray(targets, dtype=np.int64)
    centres = _Centres(Z, labels)
    classes = centres.classes
    margins = np.full(len(labels), np.nan)
    if classes.size < 2:
        return margins
    t_col = np.searchsorted(classes, targets)
    known = (targets >= 0) & (t_col < classes.size)
    known[known] &= classes[t_col[known]] == targets[known]
    for rows in _chunks(np.flatnonzero(known)):
        sims = centres.similarities(Z, rows)
        pick = np.arange(rows.size), t_col[rows]
        target_sim = sims[pick]
        sims[pick] = -np.inf
        margins[rows] = target_sim - np.max(np.where(np.isnan(sims), -np.inf, sims), axis=1)
    margins[~np.isfinite(margins)] = np.nan
    return margins


def answer_margins(Z: np.ndarray, labels, user) -> tuple[np.ndarray, np.ndarray]:
    """The user's answers as calibration data: for each photo the user placed, the margin of the
    cluster the program would give it (nearest centre, itself left out) and whether that is the
    user's cluster. ``labels`` are the current clusters (user-placed photos in theirs)."""
    Z = l2_normalize(Z)
    labels = np.asarray(labels, dtype=np.int64)
    user = np.asarray(user, dtype=np.int64)
    centres = _Centres(Z, labels)
    answered = np.flatnonzero(user >= 0)
    if centres.classes.size < 2 or answered.size == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    margins, correct = [], []
    for rows in _chunks(answered):
        s = centres.similarities(Z, rows)
        s = np.where(np.isnan(s), -np.inf, s)
        order = np.argsort(-s, axis=1)[:, :2]
        first = s[np.arange(rows.size), order[:, 0]]
        second = s[np.arange(rows.size), order[:, 1]]
        ok = np.isfinite(first) & np.isfinite(second)
        margins.append((first - second)[ok])
        correct.append((centres.classes[order[:, 0]] == user[rows])[ok])
    return np.concatenate(margins), np.concatenate(correct)


class ConfidenceCalibrator:
    """Margin -> probability of being in the right cluster (a Platt map ``a * margin + b``).

    ``fit(margins, correct)`` refits the intercept ``b`` on answers (maximum a posteriori, with a
    Gaussian prior of precision ``prior_strength`` at the ``prior`` map's); the slope stays the
    prior's. Without answers (or unfitted) the prior map is used as it is.

    Examples
    --------
    >>> cal = ConfidenceCalibrator(prior=(10.0, 0.0))
    >>> [round(float(p), 2) for p in cal.predict([0.0, 0.3])]
    [0.5, 0.95]
    """

    def __init__(self, prior: tuple[float, float] = SHIPPED_MAPS[FALLBACK_MODEL],
                 prior_strength: float = PRIOR_STRENGTH):
        self.prior = prior
        self.prior_strength = prior_strength

    def fit(self, margins, correct) -> ConfidenceCalibrator:
        from scipy.optimize import minimize_scalar

        margins = np.asarray(margins, dtype=np.float64).ravel()
        correct = np.asarray(correct, dtype=bool).ravel()
        a, b0 = (float(v) for v in self.prior)
        self.coef_ = (a, b0)
        self.n_answers_ = int(margins.size)
        if margins.size == 0:
            return self

        def loss(b: float) -> float:
            z = a * margins + b
            # -log sigmoid(z) for right answers, -log(1 - sigmoid(z)) for wrong ones.
            nll = np.logaddexp(0.0, np.where(correct, -z, z)).sum()
            return float(nll + 0.5 * self.prior_strength * (b - b0) ** 2)

        b = minimize_scalar(loss, bounds=(b0 - 20.0, b0 + 20.0), method="bounded").x
        self.coef_ = (a, float(b))
        return self

    def predict(self, margins) -> np.ndarray:
        """Probabilities, ``NaN`` where the margin is ``NaN``."""
        a, b = getattr(self, "coef_", self.prior)
        margins = np.asarray(margins, dtype=np.float64)
        return np.where(np.isnan(margins), np.nan, _sigmoid(a * np.nan_to_num(margins) + b))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def calibrated_confidences(Z: np.ndarray, labels, user=None, model: str | None = None,
                           targets=None) -> np.ndarray:
    """The confidence of every photo in cluster ``targets[i]`` (default: its own label): the
    shipped map of ``model`` refitted on the user's answers (``user[i]``: the cluster the user put
    photo ``i`` in, -1 where the user did not). Photos the user placed get 1; ``NaN`` where there
    is no honest number."""
    labels = np.asarray(labels, dtype=np.int64)
    user = np.full(len(labels), -1, np.int64) if user is None else np.asarray(user, np.int64)
    calibrator = ConfidenceCalibrator(prior=shipped_map(model)).fit(
        *answer_margins(Z, labels, user))
    targets = labels if targets is None else np.asarray(targets, dtype=np.int64)
    conf = calibrator.predict(centre_margins(Z, labels, targets))
    placed_by_user = (user >= 0) & (user == targets)
    return np.where(placed_by_user, 1.0, conf)

