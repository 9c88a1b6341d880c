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
from photoclust.core.learning.questions import MERGE, PHOTO, SPLIT
from photoclust.core.learning.review import (
    ReviewPolicy,
    build_review_queue,
    merge_key,
    review_policy,
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
    #: The simulated user's final state and the oracle (for benchmarks; not in ``as_dict``).
    state: CorrectionState | None = None
    oracle: FolderOracle | None = None
    #: ``ArrivalResult.as_dict()`` when new photos arrived halfway (``simulate_arrivals``).
    arrivals: dict | None = None

    def as_dict(self) -> dict:
        out = {"curve": self.curve, "actions_to_ari_target": self.actions_to_target,
               "ari_target": self.target_ari, "action_counts": self.counts}
        if self.arrivals is not None:
            out["arrivals"] = self.arrivals
        return out


def fixed_and_broken(truth, before, after) -> tuple[int, int]:
    """Photos that a refit (a Learn) moved into a cluster whose commonest kind in ``truth`` is
    theirs from one whose is not (fixed), and the other way round (broken). ``before`` and
    ``after`` are the cluster of each photo; a cluster's commonest kind is taken in ``before``
    where it was there, else in ``after``."""
    commonest = {int(c): np.bincount(truth[before == c]).argmax() for c in np.unique(before)}
    commonest.update({int(c): np.bincount(truth[after == c]).argmax()
                      for c in np.unique(after) if int(c) not in commonest})
    fixed = broken = 0
    for photo in np.flatnonzero(before != after):
        was = commonest[int(before[photo])] == truth[photo]
        now = commonest[int(after[photo])] == truth[photo]
        fixed += int(now and not was)
        broken += int(was and not now)
    return fixed, broken


def simulate_corrections(X, true_labels, initial_clusters, fractions=(0.02, 0.05), *,
                         batch_size: int = 10, target_ari: float = 0.9,
                         max_fraction: float | None = None,
                         learner: CorrectionLearner | None = None,
                         policy: ReviewPolicy = ReviewPolicy(),
                         review=build_review_queue, on_batch=None,
                         state: CorrectionState | None = None,
                         oracle: FolderOracle | None = None) -> SimulationResult:
    """Run the simulated user on ``X`` and return the ARI curve.

    The curve has a point at fraction 0 (the automatic clustering) and at each of ``fractions``;
    the simulation runs on to ``max_fraction`` (default: the largest fraction), or until
    ``target_ari`` is reached once every fraction is measured, to find how many actions reach
    it; learning happens after every ``batch_size`` actions and at each fraction. ``review``
    builds the queue (``build_review_queue``'s signature; the benchmark swaps in the naive
    strategy). ``on_batch(actions, total_actions)`` is called after each refit (progress).
    ``state`` and ``oracle`` continue an earlier simulation (its answers count towards the
    fractions; ``initial_clusters`` is then ignored).
    """
    X = np.asarray(X, dtype=np.float32)
    true_labels = np.asarray(true_labels)
    n = X.shape[0]
    learner = learner if learner is not None else CorrectionLearner()
    fractions = sorted(float(f) for f in fractions)
    checkpoints = {f: int(round(f * n)) for f in fractions}
    horizon = max(fractions + [max_fraction or 0.0])
    total_actions = int(round(horizon * n))

    state = state if state is not None else CorrectionState.start(initial_clusters)
    oracle = oracle if oracle is not None else FolderOracle(true_labels)
    start_fraction = state.actions / max(n, 1)
    curve = [{"fraction": round(start_fraction, 4), "actions": state.actions,
              "ari": float(adjusted_rand_score(true_labels, state.clusters))}]
    curve += [{"fraction": f, "actions": state.actions, "ari": curve[0]["ari"]}
              for f, at in checkpoints.items() if at <= state.actions]  # nothing left to do
    reached = state.actions if curve[0]["ari"] >= target_ari else None
    checkpoints = {f: at for f, at in checkpoints.items() if at > state.actions}
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
                            counts=dict(state.counts), state=state, oracle=oracle)


@dataclass
class ArrivalResult:
    """The simulated user with new photos arriving halfway (``simulate_arrivals``).

    ``curve_before`` is on the first photos (fractions of them), ``curve_after`` on all photos
    (fractions of all, the answers before the arrival counting). ``old_kept_user`` and
    ``old_kept_auto``: shares of the photos the user placed, and of the others, that Organize
    left where they were. ``new_joined``: share of new photos of known kinds that joined their
    kind's cluster (the cluster the user chose for it, else its majority cluster).
    ``new_kind_founded``: whether most photos of the unseen kind landed in new clusters that the
    kind dominates. ``old_in_kind_cluster``: the same share for the old photos the user did not
    place, at the arrival (what the clustering itself reaches: the bar for ``new_joined``).
    """

    n_old: int
    n_new: int
    n_new_kind: int
    new_kind_label: str
    curve_before: list
    curve_after: list
    old_kept_user: float
    old_kept_auto: float
    new_joined: float
    old_in_kind_cluster: float
    new_kind_in_own_cluster: float
    new_kind_founded: bool
    founded_clusters: int

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items()}


def simulate_arrivals(X, true_labels, fractions=(0.02, 0.05, 0.1), *, arrival_fraction=None,
                      new_share: float = 0.1, random_state: int = 0, batch_size: int = 10,
                      target_ari: float = 0.9, start_labels=None,
                      copy_threshold: float | None = None) -> ArrivalResult:
    """The simulated user; halfway (``arrival_fraction``, default the middle fraction) a share
    ``new_share`` of new photos arrives, half of them of one kind the library has not seen (one
    label held out; the rest of that label never arrives), and Organize places them as the
    library does (``placement.place_new_photos``). Then the user goes on answering.

    ``X`` raw embeddings; ``start_labels(Z)`` clusters the first photos (default: k chosen
    automatically, K-means). ``copy_threshold``: the near-duplicate similarity of ``X``'s model
    (``clustering.duplicates.near_threshold``; default: the duplicates module's default), with
    which Organize tells copies among the new photos apart (``placement.copy_groups``).
    """
    from photoclust.core.clustering.duplicates import near_threshold
    from photoclust.core.clustering.placement import copy_groups, place_new_photos
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor

    X = np.asarray(X, dtype=np.float32)
    true_labels = np.asarray(true_labels)
    n = len(true_labels)
    rng = np.random.default_rng(random_state)
    fractions = sorted(float(f) for f in fractions)
    if arrival_fraction is None:
        arrival_fraction = fractions[len(fractions) // 2]
    kinds = np.unique(true_labels)
    held = kinds[rng.integers(kinds.size)]
    n_arrive = int(round(new_share * n))
    held_rows = np.flatnonzero(true_labels == held)
    new_kind = rng.choice(held_rows, size=min(held_rows.size, n_arrive // 2), replace=False)
    others = np.flatnonzero(true_labels != held)
    known_new = rng.choice(others, size=n_arrive - new_kind.size, replace=False)
    old = np.setdiff1d(others, known_new)
    new = np.concatenate([np.sort(known_new), np.sort(new_kind)])
    order = np.concatenate([old, new])
    y = true_labels[order]
    n_old = old.size

    def preprocess(rows):
        return EmbeddingPreprocessor(n_components=128, random_state=0).fit_transform(X[rows])

    Z_old = preprocess(old)
    if start_labels is None:
        from photoclust.core.clustering.algorithms import PhotoKMeans
        from photoclust.core.clustering.choose_k import choose_k

        def start_labels(Z):
            return PhotoKMeans(n_clusters=choose_k(Z, random_state=random_state),
                               random_state=random_state).fit(Z).labels_
    before = simulate_corrections(Z_old, y[:n_old], start_labels(Z_old),
                                  [f for f in fractions if f <= arrival_fraction],
                                  max_fraction=arrival_fraction, batch_size=batch_size,
                                  target_ari=target_ari)
    state, oracle = before.state, before.oracle
    assert state is not None and oracle is not None
    placed_before = state.clusters.copy()

    Z = preprocess(order)  # Organize refits the preprocessing on every photo, as the job does
    current = np.concatenate([state.clusters, np.full(new.size, NO_CLUSTER)])
    user = np.concatenate([state.user, np.full(new.size, NO_CLUSTER)])
    is_new = np.arange(len(order)) >= n_old
    copies = copy_groups(X[new], near_threshold(None) if copy_threshold is None
                         else copy_threshold)
    placement = place_new_photos(Z, current, user, is_new, random_state, copy_group=copies)
    first_new_id = state.new_cluster_id()
    placed = np.where(placement.cluster >= 0, placement.cluster, first_new_id + placement.group)
    clusters = np.concatenate([placed_before, placed])

    kept = clusters[:n_old] == placed_before
    by_user = state.user >= 0
    known = y[n_old:] != held
    joined = [oracle.target(state, label) == cid
              for label, cid in zip(y[n_old:][known], placed[known])]
    in_kind = [oracle.target(state, label) == cid for label, cid, placed_by_user in
               zip(y[:n_old], placed_before, by_user) if not placed_by_user]
    founded = set(range(first_new_id, first_new_id + placement.n_groups))
    in_own = 0
    for cid in founded:
        members = np.flatnonzero(clusters == cid)
        labels, counts = np.unique(y[members], return_counts=True)
        if labels[np.argmax(counts)] == held:
            in_own += int(np.sum(y[members] == held))
    new_kind_own = in_own / max(new_kind.size, 1)

    grown = CorrectionState(clusters=clusters, user=user, cannot_link=set(state.cannot_link),
                            refused=set(state.refused), actions=state.actions,
                            counts=dict(state.counts))
    grown_oracle = FolderOracle(y)
    grown_oracle.anchor = dict(oracle.anchor)
    after = simulate_corrections(Z, y, clusters, [f for f in fractions if f > arrival_fraction],
                                 max_fraction=max(fractions), batch_size=batch_size,
                                 target_ari=target_ari, state=grown, oracle=grown_oracle)
    return ArrivalResult(
        n_old=int(n_old), n_new=int(new.size), n_new_kind=int(new_kind.size),
        new_kind_label=str(held), curve_before=before.curve, curve_after=after.curve,
        old_kept_user=float(kept[by_user].mean()) if by_user.any() else 1.0,
        old_kept_auto=float(kept[~by_user].mean()) if (~by_user).any() else 1.0,
        new_joined=float(np.mean(joined)) if joined else 1.0,
        old_in_kind_cluster=float(np.mean(in_kind)) if in_kind else 1.0,
        new_kind_in_own_cluster=float(new_kind_own), new_kind_founded=new_kind_own >= 0.5,
        founded_clusters=len(founded))


def simulate_library_corrections(library, model: str, dataset_root, fractions=(0.02, 0.05), *,
                                 max_fraction: float = 0.2, batch_size: int = 10,
                                 on_batch=None, arrivals: bool = False) -> SimulationResult:
    """The simulated user on a library holding a labelled dataset (``DATASET/<label>/<photo>``),
    starting from its current clusters: what ``photoclust evaluate --simulate-corrections`` runs
    after clustering. Only photos in label folders with an embedding and a cluster take part.
    ``arrivals``: also run ``simulate_arrivals`` on the same photos (``result.arrivals``)."""
    from sqlalchemy import select

    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.embedding.store import load_embeddings
    from photoclust.core.library.models import Assignment, Cluster, Photo
    from photoclust.core.organize.evaluation import dataset_root as normalized_root
    from photoclust.core.organize.evaluation import label_of

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
    result = simulate_corrections(Z, np.array(labels), np.array(start), fractions,
                                  batch_size=batch_size, max_fraction=max_fraction,
                                  policy=review_policy(model), on_batch=on_batch)
    if arrivals:
        from photoclust.core.clustering.duplicates import near_threshold

        result.arrivals = simulate_arrivals(X[rows], np.array(labels), fractions,
                                            copy_threshold=near_threshold(model),
                                            batch_size=batch_size).as_dict()
    return result
