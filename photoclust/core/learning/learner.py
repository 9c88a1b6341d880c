"""Reassign the photos the user has not placed, learning from the ones the user has placed.

The learner is a constrained, seeded K-means on L2-normalised embeddings (cosine geometry): every
current cluster is a centre; a photo the user placed (a label) pulls its cluster's centre with a
large weight and never moves; the other photos go to their nearest centre, except to clusters the
user removed them from (cannot-links); centres and assignments alternate until they settle.
Clusters that nobody labelled stay alive as long as they keep photos, so the automatic clustering
is refined, not replaced, and a single moved photo can found a new cluster that then attracts its
look-alikes. Once every labelled cluster has a few labels, a logistic regression trained on the
labelled photos is blended with the centres' probabilities: one centre per cluster cannot follow
a multi-modal class (clothing), a discriminative model can. Research that picked this over
label spreading over the kNN graph, pseudo-labels and a trained projection head: docs/research.md,
"Learning from corrections".

Learn never makes the user's library worse on a hunch: a photo the learner would move out of its
current cluster moves only when the move is supported by the user's answers, that is when the
learner is confident of the new cluster and the answered photos most like it were placed there
(docs/learning.md, "Only the moves your answers support"). The other photos stay where they are.
A stricter, held-out check (``held_out_check``: only into a cluster where that same check, tried
on the answers themselves, was right more often than wrong) is there but off: it removes nearly
every Learn that lowered ARI on clothing14 but keeps a single answer from carrying its look-alikes
along (docs/learning.md, "A held-out check on the answers").
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.clustering.placement import LABELLED_WEIGHT
from photoclust.core.clustering.preprocess import l2_normalize

__all__ = ["NO_CLUSTER", "CorrectionLearner", "class_columns", "held_out_moves"]


class CorrectionLearner(BaseEstimator):
    """Seeded, constrained K-means that honours the user's corrections.

    Parameters
    ----------
    labelled_weight : float
        How many automatically placed photos one user-placed photo counts for in its cluster's
        centre. Large values let a few labels steer a cluster.
    n_iter : int
        Most assignment/centre rounds.
    temperature : float
        Softmax temperature over cosine similarities for the confidences.
    classifier_weight : float
        Share of the logistic regression in the probability of each labelled cluster (0 turns the
        classifier off); the centres keep the rest.
    classifier_C : float
        Inverse regularisation of the logistic regression (few labels: keep it strong).
    min_labels_per_cluster : float
        The classifier joins once the labelled photos number at least this many per labelled
        cluster (with fewer it is worse than the centres).
    guard_moves : bool
        Move a photo out of its current cluster only where the answers support it (below and
        ``_supported_moves``); False: wherever the learner puts it (before issue #24).
    move_confidence : float
        ... when the learner's probability of the new cluster is at least this much,
    answer_neighbours : int
        ... and when, among this many photos the user placed (the answers) most like it, the
        closest was placed in the new cluster and none in its current one (0: no such check).
    held_out_check : bool
        ... and only into a cluster B where the answers themselves bear the check out: each
        answered photo, put back where it was before the answer (the cluster the user took it
        out of, or the one it was confirmed in) and judged by the other answers as in (3) of
        ``_supported_moves``, was moved into B rightly (the user placed it in B) more often than
        wrongly (``held_out_moves``). Off by default: one answer alone then never carries photos
        into its cluster (docs/learning.md, "A held-out check on the answers").
    random_state : int or None
        Seed of the logistic regression's solver (the rest is deterministic).

    Attributes
    ----------
    classes_ : ndarray of int
        Cluster ids that have photos after fitting.
    centers_ : ndarray (n_classes, n_features)
        Unit-length cluster centres.
    labels_ : ndarray of int
        Cluster id of every training photo (user-placed photos keep theirs).
    confidence_ : ndarray of float
        Probability of ``labels_`` (the softmax over centre similarities, blended with the
        classifier's once it joins); 1 for user-placed.
    kept_ : ndarray of bool
        Photos the learner would have moved out of their cluster but kept there, for lack of
        support from the answers.
    runner_up_ : ndarray of int
        The second most likely cluster of every photo (``NO_CLUSTER`` when there is none).
    margin_ : ndarray of float
        Similarity to the nearest allowed centre's minus the runner-up's (centres only: the
        review queue asks about the boundaries between centres).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]])
    >>> learner = CorrectionLearner().fit(X, [7, 7, 7, 7], y_user=[7, -1, 8, -1])
    >>> learner.labels_.tolist()
    [7, 7, 8, 8]
    """

    def __init__(self, labelled_weight: float = LABELLED_WEIGHT, n_iter: int = 10,
                 temperature: float = 0.05, classifier_weight: float = 0.5,
                 classifier_C: float = 0.3, min_labels_per_cluster: float = 3.0,
                 guard_moves: bool = True, move_confidence: float = 0.5,
                 answer_neighbours: int = 3, held_out_check: bool = False, random_state=None):
        self.labelled_weight = labelled_weight
        self.n_iter = n_iter
        self.temperature = temperature
        self.classifier_weight = classifier_weight
        self.classifier_C = classifier_C
        self.min_labels_per_cluster = min_labels_per_cluster
        self.guard_moves = guard_moves
        self.move_confidence = move_confidence
        self.answer_neighbours = answer_neighbours
        self.held_out_check = held_out_check
        self.random_state = random_state

    def fit(self, X, y, y_user=None, cannot_link=()):
        """Learn centres and reassign the photos the user has not placed.

        scikit-learn's ``fit(X, y)``: ``y`` is where the photos are now, the labels the learner
        starts from and refines; the user's corrections come as fit parameters.

        Parameters
        ----------
        X : array (n_photos, n_features)
            Embeddings; rows are L2-normalised here.
        y : array of int (n_photos,)
            Current cluster of every photo (``NO_CLUSTER`` for none).
        y_user : array of int (n_photos,), optional
            Cluster the user placed each photo in, ``NO_CLUSTER`` where the user did not.
        cannot_link : iterable of (photo_index, cluster_id)
            Photos the user took out of a cluster: they are never put back there.
        """
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        Z = l2_normalize(X)
        n = Z.shape[0]
        y_init = column_or_1d(y).astype(np.int64)
        if y_init.shape[0] != n:
            raise ValueError(f"y has {y_init.shape[0]} labels for {n} photos")
        y_user = (np.full(n, NO_CLUSTER, np.int64) if y_user is None
                  else np.asarray(y_user, dtype=np.int64).reshape(n))
        labelled = y_user != NO_CLUSTER
        labels = np.where(labelled, y_user, y_init)
        classes = np.unique(labels[labels != NO_CLUSTER])
        if classes.size == 0:
            raise ValueError("no photo has a cluster: nothing to learn from")
        forbidden = self._forbidden_mask(classes, cannot_link, n)
        weights = np.where(labelled, float(self.labelled_weight), 1.0).astype(np.float32)

        for _ in range(max(1, int(self.n_iter))):
            centers, alive = self._centres(Z, labels, weights, classes)
            scores = self._scores(Z, centers, alive, forbidden)
            best = np.argmax(scores, axis=1)
            placeable = np.isfinite(scores[np.arange(n), best])
            new_labels = np.where(labelled | ~placeable, labels, classes[best])
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels

        centers, alive = self._centres(Z, labels, weights, classes)
        scores = self._scores(Z, centers, alive, forbidden)
        keep = alive
        self.classes_ = classes[keep]
        self.centers_ = centers[keep]
        self._set_confidences(scores[:, keep], labels, labelled)
        labels, proba = self._classifier_labels(Z, labels, y_user, labelled, scores[:, keep])
        if proba is None:
            proba = _softmax(scores[:, keep], self.temperature)
        self.labels_, self.kept_ = self._supported_moves(Z, y_init, labels, y_user, labelled,
                                                         proba, scores[:, keep], cannot_link)
        column = class_columns(self.classes_, self.labels_)
        own = np.where(column >= 0, proba[np.arange(n), np.maximum(column, 0)], 0.0)
        self.confidence_ = np.where(labelled, 1.0, own).astype(np.float32)
        return self

    def _supported_moves(self, Z, y_init, labels, y_user, labelled, proba, scores,
                         cannot_link=()):
        """``labels`` where the answers support each move out of a photo's current cluster,
        the current cluster elsewhere; and which photos were kept so. A photo in no cluster,
        or in one it may not stay in (a cannot-link, a cluster gone), is placed freely.

        A move from cluster A to B is supported when (1) the learner gives B at least
        ``move_confidence``, (2) the photo is more like B than like A as the answers left them
        (their mean photos, each photo counting once: the answers' weight in the learner's
        centres cannot alone pull a photo across), and (3) when ``answer_neighbours`` > 0, the
        answer most like it was placed in B and none of its ``answer_neighbours`` most similar
        answers in A; (4) when ``held_out_check``, condition (3) tried on the answers themselves
        moved answered photos into B rightly more often than wrongly (``held_out_moves``): one
        answer alone never carries photos into its cluster, and a cluster whose answers' look-alikes
        belong elsewhere receives none."""
        n = Z.shape[0]
        kept = np.zeros(n, dtype=bool)
        if not self.guard_moves:
            return labels, kept
        current = class_columns(self.classes_, y_init)
        may_stay = (current >= 0) & np.isfinite(scores[np.arange(n), np.maximum(current, 0)])
        moved = np.flatnonzero(~labelled & may_stay & (labels != y_init))
        if moved.size == 0:
            return labels, kept
        target = class_columns(self.classes_, labels[moved])
        supported = proba[moved, np.maximum(target, 0)] >= float(self.move_confidence)
        before = np.where(labelled, y_user, y_init)  # the library as the answers left it
        before = np.where(class_columns(self.classes_, before) >= 0, before, NO_CLUSTER)
        centres, _ = self._centres(Z, before, np.ones(n, np.float32), self.classes_)
        near = Z[moved] @ centres.T
        rows = np.arange(moved.size)
        supported &= near[rows, target] > near[rows, current[moved]]
        answered = np.flatnonzero(labelled)
        if int(self.answer_neighbours) > 0:
            supported &= self._answers_agree(Z[moved], labels[moved], y_init[moved],
                                             Z[answered], y_user[answered])
        if self.held_out_check:
            right, wrong = held_out_moves(Z[answered], y_user[answered],
                                          answer_origins(answered, y_user, cannot_link),
                                          int(self.answer_neighbours))
            supported &= np.array([right.get(int(b), 0) > wrong.get(int(b), 0)
                                   for b in labels[moved]], dtype=bool)
        unsupported = moved[~supported]
        kept[unsupported] = True
        labels = labels.copy()
        labels[unsupported] = y_init[unsupported]
        return labels, kept

    def _answers_agree(self, Z_moved, to, here, Z_answered, answers) -> np.ndarray:
        """Whether, among the ``answer_neighbours`` answers most like each photo, the most like
        it was placed in the cluster ``to`` it would move to and none in the cluster ``here``
        it is in (one answer saying "photos like this one stay here" is enough to keep it)."""
        agree = np.zeros(len(to), dtype=bool)
        if len(answers) == 0:
            return agree
        k = min(int(self.answer_neighbours), len(answers))
        similarity = Z_moved @ Z_answered.T
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        placed = np.asarray(answers)[nearest]
        return (placed[:, 0] == to) & ~np.any(placed == np.asarray(here)[:, None], axis=1)

    def _classifier_labels(self, Z, labels, y_user, labelled, scores):
        """Blend a logistic regression on the labelled photos into the labelled clusters'
        probabilities and reassign the photos the user has not placed; cannot-links still hold
        (``scores`` is -inf there). Returns the labels and the blended probabilities (None while
        the classifier is off); ``margin_`` and ``runner_up_`` stay the centres' (the queue asks
        about the boundaries between centres)."""
        user_classes = np.unique(y_user[labelled])
        if (self.classifier_weight <= 0 or user_classes.size < 2
                or labelled.sum() < self.min_labels_per_cluster * user_classes.size):
            return labels, None
        model = LogisticRegression(C=self.classifier_C, max_iter=200,
                                   random_state=self.random_state)
        model.fit(Z[labelled], y_user[labelled])
        column = {int(c): j for j, c in enumerate(self.classes_)}
        shared = [(column[int(c)], j) for j, c in enumerate(model.classes_) if int(c) in column]
        if not shared:
            return labels, None
        ours, theirs = (np.array(t) for t in zip(*shared))
        proba = _softmax(scores, self.temperature)
        mass = proba[:, ours].sum(axis=1, keepdims=True)
        blended = proba.copy()
        blended[:, ours] = ((1.0 - self.classifier_weight) * proba[:, ours]
                            + self.classifier_weight * model.predict_proba(Z)[:, theirs] * mass)
        blended[~np.isfinite(scores)] = 0.0
        blended /= np.maximum(blended.sum(axis=1, keepdims=True), 1e-12)
        placeable = np.isfinite(scores).any(axis=1)
        predicted = self.classes_[np.argmax(blended, axis=1)]
        return np.where(labelled | ~placeable, labels, predicted), blended

    def predict(self, X) -> np.ndarray:
        """Nearest centre's cluster id for new photos (no constraints apply to them)."""
        check_is_fitted(self, "centers_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self.classes_[np.argmax(l2_normalize(X) @ self.centers_.T, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Softmax over centre similarities, columns in ``classes_`` order."""
        check_is_fitted(self, "centers_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return _softmax(l2_normalize(X) @ self.centers_.T, self.temperature)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # y: where the photos are now
        return tags

    @staticmethod
    def _forbidden_mask(classes, cannot_link, n) -> np.ndarray:
        forbidden = np.zeros((n, classes.size), dtype=bool)
        column = {int(c): j for j, c in enumerate(classes)}
        for photo, cluster in cannot_link:
            j = column.get(int(cluster))
            if j is not None and 0 <= int(photo) < n:
                forbidden[int(photo), j] = True
        return forbidden

    @staticmethod
    def _centres(Z, labels, weights, classes):
        index = np.searchsorted(classes, labels)
        member = labels != NO_CLUSTER
        sums = np.zeros((classes.size, Z.shape[1]), dtype=np.float64)
        np.add.at(sums, index[member], Z[member] * weights[member, None])
        counts = np.bincount(index[member], minlength=classes.size)
        alive = counts > 0
        return l2_normalize(sums), alive

    @staticmethod
    def _scores(Z, centers, alive, forbidden):
        scores = Z @ centers.T
        scores[:, ~alive] = -np.inf
        scores[forbidden] = -np.inf
        return scores

    def _set_confidences(self, scores, labels, labelled):
        n = scores.shape[0]
        column = class_columns(self.classes_, labels)
        has_column = column >= 0
        column = np.maximum(column, 0)
        proba = _softmax(scores, self.temperature)
        own = np.where(has_column, proba[np.arange(n), column], 0.0)
        own_score = np.where(has_column, scores[np.arange(n), column], -np.inf)
        others = scores.copy()
        others[np.arange(n)[has_column], column[has_column]] = -np.inf
        if others.shape[1]:
            second = np.argmax(others, axis=1)
            second_score = others[np.arange(n), second]
        else:
            second = np.zeros(n, dtype=np.int64)
            second_score = np.full(n, -np.inf)
        has_second = np.isfinite(second_score)
        self.runner_up_ = np.where(has_second, self.classes_[second] if self.classes_.size
                                   else NO_CLUSTER, NO_CLUSTER)
        margin = np.where(has_second, own_score - second_score, np.inf)
        self.margin_ = np.where(np.isfinite(margin), margin, 1.0).astype(np.float32)
        self.confidence_ = np.where(labelled, 1.0, own).astype(np.float32)


def held_out_moves(Z_answered, answers, origins, neighbours: int, per_pair: bool = False
                   ) -> tuple[dict, dict]:
    """Learn's answer check (condition 3 of ``CorrectionLearner._supported_moves``) tried on the
    answers themselves: each answered photo is put back in ``origins`` (where it was before the
    answer) and judged by the other answers; where the check would move it to a cluster B, the
    move counts as right when the user placed it in B and as wrong otherwise. Returns
    ``(right, wrong)``: counts per cluster B (``per_pair``: per pair of clusters ``(A, B)``,
    A its origin; the benchmarks compare the two).

    ``Z_answered`` holds unit-length rows; ``answers`` the cluster each was placed in."""
    answers = np.asarray(answers, dtype=np.int64)
    origins = np.asarray(origins, dtype=np.int64)
    right: dict[int | tuple[int, int], int] = {}
    wrong: dict[int | tuple[int, int], int] = {}
    if answers.size < 2:
        return right, wrong
    similarity = Z_answered @ Z_answered.T
    np.fill_diagonal(similarity, -np.inf)
    k = max(1, min(int(neighbours), answers.size - 1))
    nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    placed = answers[nearest]
    to = placed[:, 0]
    moves = (to != origins) & ~np.any(placed == origins[:, None], axis=1)
    for row in np.flatnonzero(moves):
        key = (int(origins[row]), int(to[row])) if per_pair else int(to[row])
        book = right if to[row] == answers[row] else wrong
        book[key] = book.get(key, 0) + 1
    return right, wrong


def answer_origins(answered: np.ndarray, y_user: np.ndarray, cannot_link) -> np.ndarray:
    """Where each answered photo was before the answer: the cluster the user took it out of
    (its cannot-link), else the one it was placed in (a confirmation)."""
    taken_out = {int(photo): int(cluster) for photo, cluster in cannot_link}
    return np.array([taken_out.get(int(row), int(y_user[row])) for row in answered],
                    dtype=np.int64)


def class_columns(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The column of each label in the sorted ``classes`` (-1 where the label is not a class)."""
    labels = np.asarray(labels)
    if classes.size == 0:
        return np.full(labels.shape, -1, dtype=np.int64)
    column = np.clip(np.searchsorted(classes, labels), 0, classes.size - 1)
    return np.where(classes[column] == labels, column, -1)


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    finite = np.where(np.isfinite(scores), scores, -1e9)
    shifted = (finite - finite.max(axis=1, keepdims=True)) / max(float(temperature), 1e-6)
    e = np.exp(shifted)
    e[~np.isfinite(scores)] = 0.0
    total = e.sum(axis=1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)
