"""Simulated user: how many corrections does it take to clean a library?

Protocol (docs/research.md, "Simulation protocol"): start from the automatic clustering; an
oracle that knows the folder labels answers the program's own review queue; one action is one
photo confirmed or moved, or one merge or split accepted or refused; after every batch of
``batch_size`` actions the learner refits; ARI against the folder labels is recorded at
fractions = actions / photos.

The oracle's intent for a folder label L is one cluster, ``target(L)``:
- once the oracle has confirmed or placed a photo of L in a cluster, that cluster (following it
  through accepted merges) is L's cluster for good, like a user who remembers "this is my dogs";
- before that, the cluster with the most photos of L among those where L is the majority label
  and that no other label has claimed;
- if there is none, the oracle's move founds a new cluster, which becomes L's.
The label of a cluster, for merge and split answers, is the label that claimed it, otherwise its
majority label. A photo question is confirmed when the suggested cluster is ``target(L)`` and
moved there otherwise; "merge B into A" is accepted when A and B have the same label; "split
part P out of C" is accepted when P's majority label differs from the label of the rest of C.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import adjusted_rand_score

from photoclust.core.learning.learner import NO_CLUSTER, CorrectionLearner
from photoclust.core.learning.review import (
    MERGE,
    PHOTO,
    SPLIT,
    ReviewPolicy,
    build_review_queue,
    merge_key,
    split_key,
)


@dataclass
class CorrectionState:
    """What the user has done so far, as arrays over the photos."""

    clusters: np.ndarray
    user: np.ndarray
    cannot_link: set = field(default_factory=set)
    refused: set = field(default_factory=set)
    actions: int = 0
    counts: dict = field(default_factory=lambda: {"confirm": 0, "move": 0, "merge_accepted": 0,
                                                  "merge_refused": 0, "split_accepted": 0,
                                                  "split_refused": 0})

    @classmethod
    def start(cls, initial_clusters) -> CorrectionState:
        clusters = np.asarray(initial_clusters, dtype=np.int64).copy()
        return cls(clusters=clusters, user=np.full(clusters.size, NO_CLUSTER, np.int64))

    def new_cluster_id(self) -> int:
        return int(max(self.clusters.max(), self.user.max())) + 1


class FolderOracle:
    """A user who knows every photo's folder label and answers as the module docstring says."""

    def __init__(self, true_labels):
        self.true_labels = np.asarray(true_labels)
        self.anchor: dict = {}

    def cluster_label(self, state: CorrectionState, cluster: int, members=None):
        for label, anchored in self.anchor.items():
            if anchored == cluster:
                return label
        if members is None:
            members = np.flatnonzero(state.clusters == cluster)
        if members.size == 0:
            return None
        values, counts = np.unique(self.true_labels[members], return_counts=True)
        return values[np.argmax(counts)]

    def target(self, state: CorrectionState, label) -> int | None:
        if label in self.anchor:
            return self.anchor[label]
        claimed = set(self.anchor.values())
        best, best_count = None, 0
        for cluster in np.unique(state.clusters):
            cluster = int(cluster)
            if cluster in claimed or cluster == NO_CLUSTER:
                continue
            members = np.flatnonzero(state.clusters == cluster)
            if self.cluster_label(state, cluster, members) != label:
                continue
            count = int(np.sum(self.true_labels[members] == label))
            if count > best_count:
                best, best_count = cluster, count
        return best

    def answer_photo(self, state: CorrectionState, photo: int) -> None:
        label = self.true_labels[photo]
        current = int(state.clusters[photo])
        target = self.target(state, label)
        if target is None:
            target = state.new_cluster_id()
        if target == current:
            state.counts["confirm"] += 1
        else:
            state.cannot_link.add((photo, current))
            state.counts["move"] += 1
        state.clusters[photo] = target
        state.user[photo] = target
        self.anchor[label] = target
        state.actions += 1

    def answer_merge(self, state: CorrectionState, keep: int, other: int) -> None:
        same = (self.cluster_label(state, keep) is not None
                and self.cluster_label(state, keep) == self.cluster_label(state, other))
        if same:
            state.clusters[state.clusters == other] = keep
            state.user[state.user == other] = keep
            state.cannot_link = {(p, c) for p, c in state.cannot_link if c != other}
            for label, anchored in list(self.anchor.items()):
                if anchored == other:
                    self.anchor[label] = keep
            state.counts["merge_accepted"] += 1
        else:
            state.refused.add(merge_key(keep, other))
            state.counts["merge_refused"] += 1
        state.actions += 1

    def answer_split(self, state: CorrectionState, cluster: int, part) -> None:
        part = np.asarray(part, dtype=np.int64)
        rest = np.setdiff1d(np.flatnonzero(state.clusters == cluster), part)
        part_label = self.cluster_label(state, NO_CLUSTER, part) if part.size else None
        rest_label = self.cluster_label(state, cluster, rest)
        if part.size and part_label != rest_label:
            state.clusters[part] = state.new_cluster_id()
            state.counts["split_accepted"] += 1
        else:
            state.refused.add(split_key(cluster))
            state.counts["split_refused"] += 1
        state.actions += 1


@dataclass
class SimulationResult:
    n: int
    curve: list
    actions_to_target: int | None
    target_ari: float
    counts: dict

    def as_dict(self) -> dict:
        return {"curve": self.curve, "actions_to_ari_target": self.actions_to_target,
                "ari_target": self.target_ari, "action_counts": self.counts}


def simulate_corrections(X, true_labels, initial_clusters, fractions=(0.02, 0.05), *,
                         batch_size: int = 10, target_ari: float = 0.9,
                         max_fraction: float | None = None,
                         learner: CorrectionLearner | None = None,
                         policy: ReviewPolicy = ReviewPolicy(),
                         review=build_review_queue, on_batch=None) -> SimulationResult:
    """Run the simulated user on ``X`` and return the ARI curve.

    The curve has a point at fraction 0 (the automatic clustering) and at each of ``fractions``;
    the simulation runs on to ``max_fraction`` (default: the largest fraction), or until
    ``target_ari`` is reached once every fraction is measured, to find how many actions reach
    it; learning happens after every ``batch_size`` actions and at each fraction. ``review``
    builds the queue (``build_review_queue``'s signature; the benchmark swaps in the naive
    strategy). ``on_batch(actions, total_actions)`` is called after each refit (progress).
    """
    X = np.asarray(X, dtype=np.float32)
    true_labels = np.asarray(true_labels)
    n = X.shape[0]
    learner = learner if learner is not None else CorrectionLearner()
    fractions = sorted(float(f) for f in fractions)
    checkpoints = {f: int(round(f * n)) for f in fractions}
    horizon = max(fractions + [max_fraction or 0.0])
    total_actions = int(round(horizon * n))

    state = CorrectionState.start(initial_clusters)
    oracle = FolderOracle(true_labels)
    curve = [{"fraction": 0.0, "actions": 0,
              "ari": float(adjusted_rand_score(true_labels, state.clusters))}]
    curve += [{"fraction": f, "actions": 0, "ari": curve[0]["ari"]}
              for f, at in checkpoints.items() if at == 0]  # too few photos for one action
    reached = 0 if curve[0]["ari"] >= target_ari else None
    pending = sorted(set(checkpoints.values()) | {total_actions})

    learner.fit(X, state.clusters, state.user, state.cannot_link)
    ari = curve[0]["ari"]
    while state.actions < total_actions:
        stop = min(state.actions + batch_size, next(a for a in pending if a > state.actions))
        queue = review(X, learner, state.user, stop - state.actions, state.cannot_link,
                       state.refused, policy)
        if not queue:
            break
        for item in queue:
            if item.kind == PHOTO:
                oracle.answer_photo(state, item.photo)
            elif item.kind == MERGE:
                oracle.answer_merge(state, item.cluster, item.other_cluster)
            elif item.kind == SPLIT:
                oracle.answer_split(state, item.cluster, item.photos)
        learner.fit(X, state.clusters, state.user, state.cannot_link)
        state.clusters = learner.labels_.copy()
        ari = float(adjusted_rand_score(true_labels, state.clusters))
        if reached is None and ari >= target_ari:
            reached = state.actions
        for fraction, at in checkpoints.items():
            if at == state.actions:
                curve.append({"fraction": fraction, "actions": at, "ari": ari})
        if on_batch is not None:
            on_batch(state.actions, total_actions)
        if reached is not None and state.actions >= max(checkpoints.values(), default=0):
            break  # every fraction measured and the target reached: nothing more to learn
    for fraction, at in checkpoints.items():
        if at > state.actions:  # the queue ran dry: nothing left to ask
            curve.append({"fraction": fraction, "actions": state.actions, "ari": ari})
    return SimulationResult(n=n, curve=curve, actions_to_target=reached, target_ari=target_ari,
                            counts=dict(state.counts))


def simulate_library_corrections(library, model: str, dataset_root, fractions=(0.02, 0.05), *,
                                 max_fraction: float = 0.2, batch_size: int = 10,
                                 on_batch=None) -> SimulationResult:
    """The simulated user on a library holding a labelled dataset (``DATASET/<label>/<photo>``),
    starting from its current clusters: what ``photoclust evaluate --simulate-corrections`` runs
    after clustering. Only photos in label folders with an embedding and a cluster take part."""
    from sqlalchemy import select

    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.embedding.store import load_embeddings
    from photoclust.core.evaluation import dataset_root as normalized_root
    from photoclust.core.evaluation import label_of
    from photoclust.core.library.models import Assignment, Cluster, Photo

    root = normalized_root(dataset_root)
    photo_ids, X = load_embeddings(library, model)
    with library.session() as s:
        paths = {pid: path for pid, path in s.execute(select(Photo.id, Photo.path))}
        clusters = {pid: cid for pid, cid in s.execute(
            select(Assignment.photo_id, Assignment.cluster_id)
            .join(Cluster, Cluster.id == Assignment.cluster_id).where(Cluster.active.is_(True)))}
    rows, labels, start = [], [], []
    for i, pid in enumerate(photo_ids.tolist()):
        label = label_of(paths.get(pid, ""), root)
        if label is not None and pid in clusters:
            rows.append(i)
            labels.append(label)
            start.append(clusters[pid])
    if not rows:
        raise ValueError(f"{root}: no clustered photo with an embedding lies in a label folder")
    Z = EmbeddingPreprocessor(random_state=0).fit_transform(X[rows])
    return simulate_corrections(Z, np.array(labels), np.array(start), fractions,
                                batch_size=batch_size, max_fraction=max_fraction,
                                on_batch=on_batch)
