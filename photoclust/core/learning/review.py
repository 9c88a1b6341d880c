"""Choosing the review questions: what the program most needs a person to look at, in order.

Three modules make the review queue, one step each: this one chooses and orders the questions
(arrays in, ``ReviewItem`` out); ``learning/suggestions.py`` runs it on a library and names them
(``review_suggestions``: ``photoclust review``); ``core/learning/review_queue.py`` is the review
queue as the app shows and answers it (``ReviewJob``, ``answer_question``).
``learning/questions.py`` holds the question type they share.

One answer from the user is one action, so the queue asks first what fixes the most photos:
1. merge suggestions backed by evidence: the user moved photos (at least
   ``ReviewPolicy.merge_min_moves``, 2) out of a cluster into another one and confirmed nothing in
   it, so the cluster probably is the other one ("merge"). One move is not evidence: it says
   where one photo belongs, not that two clusters are one (after a single move the first question
   used to be a merge of two clearly different clusters);
2. each cluster's representative (the photo nearest its centre), largest clusters first: one answer
   names a whole cluster, or moves its representative and so reveals a split or merge
   ("representative");
3. clusters that look like two groups, one with confirmed photos and one without ("split");
4. the photos nearest a boundary between two clusters (smallest margin), at most
   ``uncertain_per_boundary`` per pair of clusters before the others ("uncertain").
Each item carries its suggested cluster; confirming or moving the photo is one action.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.learning.learner import NO_CLUSTER, CorrectionLearner
from photoclust.core.learning.questions import MERGE, PHOTO, SPLIT, QuestionKind


@dataclass(frozen=True)
class ReviewItem:
    """One question for the user.

    ``kind`` is ``photo`` (is ``photo`` in ``cluster``? confirm or move), ``merge`` (does
    ``other_cluster`` belong in ``cluster``?) or ``split`` (are ``photos`` a group of their own,
    out of ``cluster``?). ``photo`` and ``photos`` are row indices of the embeddings given.
    """

    kind: QuestionKind
    reason: str
    cluster: int
    photo: int | None = None
    other_cluster: int | None = None
    photos: tuple[int, ...] = field(default=())
    confidence: float | None = None


#: The cosine gap between a cluster's two halves above which a split is asked, per model
#: (docs/research.md, "Learning from corrections"): on Lite2 a lower gap let through splits that
#: were refused more often than accepted (clothing14 0.505 at 0.35, 0.524 at 0.55 and above;
#: imagenette224 level). Lite0 has no entry: its best was 0.35 on clothing14 only (0.451-0.462
#: against 0.447 at 0.5, about the spread of its own runs), too thin to set a constant on.
SPLIT_GAPS = {"efficientnet_lite2": 0.55}
#: Models without an entry get the Lite2 figure: the higher gap asks fewer, surer splits.
DEFAULT_SPLIT_GAP = 0.55


@dataclass(frozen=True)
class ReviewPolicy:
    """Knobs of the queue, measured in docs/research.md, "Learning from corrections"; the split
    gap depends on the model (``review_policy``)."""

    suggest_merges: bool = True
    suggest_splits: bool = True
    split_min_size: int = 20
    split_min_gap: float = DEFAULT_SPLIT_GAP
    uncertain_per_boundary: int = 2
    #: Photos the user must have moved from one cluster into another before merging them is asked.
    merge_min_moves: int = 2


def review_policy(model: str | None) -> ReviewPolicy:
    """The queue's knobs for embeddings of ``model`` (``DEFAULT_SPLIT_GAP`` when not measured)."""
    return ReviewPolicy(split_min_gap=SPLIT_GAPS.get(model or "", DEFAULT_SPLIT_GAP))


def build_review_queue(X, learner: CorrectionLearner, y_user, limit: int,
                       cannot_link=(), refused=frozenset(),
                       policy: ReviewPolicy = ReviewPolicy()) -> list[ReviewItem]:
    """The ``limit`` most useful questions, most useful first.

    ``learner`` is fitted on ``X``; ``y_user`` gives the cluster each photo was placed in by the
    user (``NO_CLUSTER`` if none); ``cannot_link`` holds (photo, cluster) pairs the user removed;
    ``refused`` holds ``(kind, cluster, other)`` keys of merge/split questions already answered no.
    """
    Z = l2_normalize(X)
    labels = learner.labels_
    y_user = np.asarray(y_user, dtype=np.int64)
    labelled = y_user != NO_CLUSTER
    confirmed_clusters = set(np.unique(y_user[labelled]).tolist())
    items: list[ReviewItem] = []

    if policy.suggest_merges:
        items += _evidence_merges(labels, y_user, cannot_link, confirmed_clusters, refused,
                                  policy.merge_min_moves)
    items += _representatives(Z, learner, labels, labelled, confirmed_clusters,
                              {i.other_cluster for i in items})
    if policy.suggest_splits and len(items) < limit:
        items += _splits(Z, labels, labelled, refused, policy)
    if len(items) < limit:
        items += _uncertain(learner, labels, labelled, limit - len(items),
                            policy.uncertain_per_boundary, {i.photo for i in items})
    return items[:limit]


def merge_key(cluster: int, other: int) -> tuple[str, int, int]:
    return (MERGE, int(cluster), int(other))


def split_key(cluster: int) -> tuple[str, int, int]:
    return (SPLIT, int(cluster), NO_CLUSTER)


def _evidence_merges(labels, y_user, cannot_link, confirmed_clusters, refused, min_moves=2):
    moved_to: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for photo, source in cannot_link:
        target = int(y_user[photo])
        if target != NO_CLUSTER and target != source:
            moved_to[int(source)][target] += 1
    present = set(np.unique(labels).tolist())
    items = []
    for source, targets in moved_to.items():
        if source in confirmed_clusters or source not in present:
            continue
        target = max(targets, key=targets.get)
        if targets[target] < min_moves:
            continue
        if target in present and merge_key(target, source) not in refused:
            items.append(ReviewItem(MERGE, "merge", cluster=target, other_cluster=source))
    return items


def _representatives(Z, learner, labels, labelled, confirmed_clusters, skip):
    sizes = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True))}
    items = []
    for j, cluster in enumerate(learner.classes_):
        cluster = int(cluster)
        if cluster in confirmed_clusters or cluster in skip or cluster not in sizes:
            continue
        members = np.flatnonzero((labels == cluster) & ~labelled)
        if members.size == 0:
            continue
        medoid = int(members[np.argmax(Z[members] @ learner.centers_[j])])
        items.append((sizes[cluster], ReviewItem(PHOTO, "representative", cluster=cluster,
                                                 photo=medoid,
                                                 confidence=float(learner.confidence_[medoid]))))
    items.sort(key=lambda t: -t[0])
    return [item for _, item in items]


def _splits(Z, labels, labelled, refused, policy):
    candidates = []
    for cluster in np.unique(labels):
        cluster = int(cluster)
        members = np.flatnonzero(labels == cluster)
        if members.size < 2 * policy.split_min_size or split_key(cluster) in refused:
            continue
        halves, centres = _two_means(Z[members])
        parts = [members[halves == h] for h in (0, 1)]
        unconfirmed = [p for p in parts if not labelled[p].any()]
        if len(unconfirmed) != 1 or unconfirmed[0].size < policy.split_min_size:
            continue  # unchecked cluster (its representative comes first), or nothing to split
        gap = 1.0 - float(centres[0] @ centres[1])
        if gap >= policy.split_min_gap:
            candidates.append((gap, ReviewItem(SPLIT, "split", cluster=cluster,
                                               photos=tuple(int(i) for i in unconfirmed[0]))))
    candidates.sort(key=lambda t: -t[0])
    return [item for _, item in candidates]


def _two_means(Z, n_iter: int = 10):
    """Split unit vectors in two (spherical 2-means from the two most distant members): cheap
    and deterministic, it runs for every cluster after every batch of answers."""
    first = int(np.argmin(Z @ l2_normalize(Z.mean(axis=0, keepdims=True))[0]))
    second = int(np.argmin(Z @ Z[first]))
    centres = Z[[first, second]]
    halves = np.zeros(Z.shape[0], dtype=np.int64)
    for _ in range(n_iter):
        halves = np.argmax(Z @ centres.T, axis=1)
        if np.all(halves == 0) or np.all(halves == 1):
            break
        new = l2_normalize(np.stack([Z[halves == h].sum(axis=0) for h in (0, 1)]))
        if np.allclose(new, centres):
            break
        centres = new
    return halves, centres


def _uncertain(learner, labels, labelled, limit, per_boundary, skip):
    order = np.argsort(learner.margin_, kind="stable")
    used: dict[tuple[int, int], int] = defaultdict(int)
    items = []
    for photo in order:
        photo = int(photo)
        if labelled[photo] or photo in skip:
            continue
        boundary = (int(labels[photo]), int(learner.runner_up_[photo]))
        if used[boundary] >= per_boundary:
            continue
        used[boundary] += 1
        items.append(ReviewItem(PHOTO, "uncertain", cluster=int(labels[photo]), photo=photo,
                                confidence=float(learner.confidence_[photo])))
        if len(items) >= limit:
            return items
    chosen = skip | {item.photo for item in items}
    rest = [int(p) for p in order if not labelled[p] and int(p) not in chosen]
    return items + [ReviewItem(PHOTO, "uncertain", cluster=int(labels[p]), photo=p,
                               confidence=float(learner.confidence_[p]))
                    for p in rest[:limit - len(items)]]
