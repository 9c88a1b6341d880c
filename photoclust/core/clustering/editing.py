"""Cluster edits made by the user: each one an ``EditEvent`` committed at once, undoable and
redoable.

Every operation runs in its own transaction: it reads the current state, builds a ``ChangeSet``
(before and after of each photo, cluster and cannot-link it touches), applies it and stores it in
the event, so that a crash never loses a committed correction and undo never guesses.
``undo(library)`` and ``redo(library)`` walk a linear history (``photoclust.core.edits.history``).
Every operation returns an ``EditResult`` (changed photo and cluster ids) for views to refresh.

Event payload (JSON in ``EditEvent.payload``), the same shape for every kind::

    {"version": 1,
     "description": "Moved 3 photos to Beach",
     "params": {...kind-specific, below...},
     "assignments": [[photo_id, before, after], ...],   # before/after: [cluster_id, source,
                                                       # confidence] or null (unassigned)
     "clusters": [[cluster_id, before, after], ...],    # {"name", "name_source", "active"};
                                                       # before null: created by this event
     "cannot_links_added": [[photo_id, cluster_id], ...],
     "cannot_links_removed": [[photo_id, cluster_id], ...]}

``params`` per ``kind`` (what the user asked; the lists above say what it did):

- ``rename``: ``{"cluster_id", "name"}``.
- ``move``: ``{"photo_ids", "to_cluster_id"}``. Moved photos get ``source='user'`` (labels); each
  gets a cannot-link to the cluster it left; a cannot-link to the target is removed.
- ``merge``: ``{"target_id", "source_ids"}``. All photos of the sources go to the target with
  ``source='user'`` (so re-clustering keeps the merge); the sources become inactive (ids kept):
  these photos belong together. A name the user gave wins over a suggested one: an
  automatically named target takes the first user-named source's name (``merge_keeps`` says
  which name a merge keeps, before it is done).
- ``split``: ``{"cluster_id", "k", "model", "parts": [[cluster_id, [photo_ids]], ...]}``. The
  largest part keeps the cluster; photos keep their source: the parts do not belong together.
- ``new_cluster``: ``{"cluster_id", "photo_ids", "name"}``. Like ``move`` into a new cluster.
- ``remove``: ``{"photo_ids"}``. Photos become unassigned with a cannot-link to their cluster.
- ``confirm``: ``{"photo_ids"}``. Photos stay, with ``source='user'`` (labels).
- ``not_in_cluster``: ``{"photo_ids", "cluster_id"}``. The user said these photos do not belong in
  the cluster (review's "No" to a suggestion): each gets a cannot-link to it; a photo that is in
  it is taken out (unassigned), the others stay where they are.
- ``refuse_suggestion``: ``{"suggestion", "cluster_id", "other_cluster_id"}``. The user answered
  no to a review suggestion (merge ``other_cluster_id`` into ``cluster_id``, or split
  ``cluster_id``: ``other_cluster_id`` null). Changes no row; undoing it lets the suggestion come
  back.

Each ``params`` is a typed ``Correction`` of ``photoclust.core.edits.corrections`` (one dataclass
per kind; ``record_correction`` writes it, ``read_corrections`` reads it back).

``undone`` events were taken back by the user; ``superseded`` ones can no longer be redone.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from photoclust.core.clustering import NO_CLUSTER, unique_name
from photoclust.core.edits.corrections import (
    Confirm,
    Correction,
    Merge,
    Move,
    NewCluster,
    NotInCluster,
    RefuseSuggestion,
    Remove,
    Rename,
    Split,
    read_corrections,
)
from photoclust.core.edits.history import (
    ChangeSet,
    EditError,
    EditResult,
    can_redo,
    can_undo,
    chunks,
    cluster_state,
    current_assignments,
    record_edit,
    redo,
    undo,
    write_session,
)
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, CannotLink, Cluster, Photo, Source

__all__ = [
    "EditError", "EditResult", "rename_cluster", "move_photos", "merge_clusters", "split_cluster",
    "new_cluster_from_photos", "remove_photos_from_cluster", "confirm_photos",
    "photos_not_in_cluster", "refuse_suggestion", "undo", "redo",
    "can_undo", "can_redo",
]

#: Automatic split: the number of parts tried is 2..MAX_AUTO_SPLIT.
MAX_AUTO_SPLIT = 8
#: Dimensions the embeddings are reduced to (PCA) before a split: fast, and what clustering does.
SPLIT_DIMS = 64
#: Photos (a random sample of larger clusters) the number of parts is chosen on.
SILHOUETTE_SAMPLE = 1000
#: Confidence given to a photo the user placed or confirmed.
USER_CONFIDENCE = 1.0


# -- reading and checking -----------------------------------------------------------------------

def _active_cluster(s: Session, cluster_id: int) -> Cluster:
    cluster = s.get(Cluster, int(cluster_id))
    if cluster is None or not cluster.active:
        raise EditError(f"no cluster with id {cluster_id}")
    return cluster


def _checked_photo_ids(s: Session, photo_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(pid) for pid in photo_ids})
    if not ids:
        raise EditError("no photos given")
    found: set[int] = set()
    for part in chunks(ids):
        found.update(s.scalars(select(Photo.id).where(Photo.id.in_(part))))
    unknown = [pid for pid in ids if pid not in found]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise EditError(f"no photo with id {shown}")
    return ids


def _members(s: Session, cluster_id: int) -> dict[int, tuple[int, str, float | None]]:
    rows = s.execute(select(Assignment.photo_id, Assignment.source, Assignment.confidence)
                     .where(Assignment.cluster_id == cluster_id))
    return {pid: (cluster_id, source, conf) for pid, source, conf in rows}


def _links_of(s: Session, photo_ids: list[int]) -> set[tuple[int, int]]:
    links: set[tuple[int, int]] = set()
    for part in chunks(photo_ids):
        rows = s.execute(select(CannotLink.photo_id, CannotLink.cluster_id)
                         .where(CannotLink.photo_id.in_(part)))
        links.update((pid, cid) for pid, cid in rows)
    return links


def _new_cluster(s: Session, name: str, name_source: str, changes: ChangeSet) -> Cluster:
    """A cluster row created inactive; the change set activates it (so undo can deactivate it)."""
    cluster = Cluster(name=name, name_source=name_source, active=False)
    s.add(cluster)
    s.flush()
    if not name:
        cluster.name = f"Cluster {cluster.id}"
    changes.clusters[cluster.id] = (None, {**cluster_state(cluster), "active": True})
    return cluster


def _place_by_user(s: Session, photo_ids: list[int], cluster_id: int, changes: ChangeSet) -> None:
    """The user put these photos in ``cluster_id``: labels, and a cannot-link to where they were."""
    links = _links_of(s, photo_ids)
    current = current_assignments(s, photo_ids)
    for pid in photo_ids:
        before = current.get(pid)
        after = (cluster_id, Source.USER, USER_CONFIDENCE)
        if before != after:
            changes.assignments[pid] = (before, after)
        if before is not None and before[0] != cluster_id and (pid, before[0]) not in links:
            changes.cannot_links_added.add((pid, before[0]))
        if (pid, cluster_id) in links:
            changes.cannot_links_removed.add((pid, cluster_id))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _record(s: Session, kind: str, description: str, params: dict,
            changes: ChangeSet, created: Sequence[int] = ()) -> EditResult:
    if changes.is_empty():
        return EditResult(None, kind, description)
    return record_edit(s, kind, description, params, changes, created)


def record_correction(s: Session, correction: Correction, description: str,
                      changes: ChangeSet, created: Sequence[int] = ()) -> EditResult:
    """Store ``correction`` (its kind and params, ``core/edits/corrections.py``) as one undoable
    edit that applies ``changes``; nothing is recorded when the change set is empty."""
    return _record(s, correction.kind, description, correction.to_params(), changes, created)


# -- operations -----------------------------------------------------------------------------------

def rename_cluster(library: Library, cluster_id: int, name: str) -> EditResult:
    """Give a cluster the user's name; re-clustering never overwrites it."""
    name = " ".join(str(name).split())
    if not name:
        raise EditError("a cluster name cannot be empty")
    if len(name) > 256:
        raise EditError("a cluster name can have at most 256 characters")
    with write_session(library) as s:
        cluster = _active_cluster(s, cluster_id)
        before = cluster_state(cluster)
        after = {**before, "name": name, "name_source": Source.USER}
        changes = ChangeSet()
        if after != before:
            changes.clusters[cluster.id] = (before, after)
        return record_correction(s, Rename(cluster.id, name),
                                 f"Renamed {before['name']!r} to {name!r}", changes)


def move_photos(library: Library, photo_ids: Iterable[int], to_cluster_id: int) -> EditResult:
    """Move photos to a cluster: they become labelled (``source='user'``) and can no longer be put
    back automatically into the cluster they left."""
    with write_session(library) as s:
        ids = _checked_photo_ids(s, photo_ids)
        target = _active_cluster(s, to_cluster_id)
        changes = ChangeSet()
        _place_by_user(s, ids, target.id, changes)
        moved = sum(1 for before, _after in changes.assignments.values()
                    if before is None or before[0] != target.id)
        description = f"Moved {_plural(moved, 'photo')} to {target.name}"
        if moved < len(ids):
            description += f" ({len(ids) - moved} already there)"
        return record_correction(s, Move(tuple(ids), target.id), description, changes)


def merge_clusters(library: Library, target_id: int, source_ids: Iterable[int]) -> EditResult:
    """Put all photos of ``source_ids`` into ``target_id``; the sources become inactive (their
    ids stay, so undo brings them back as they were). The merged-in photos count as placed by the
    user, so that a later re-clustering does not split the merge apart again."""
    source_ids = list(dict.fromkeys(int(cid) for cid in source_ids))
    if not source_ids:
        raise EditError("name at least one cluster to merge into the target")
    if int(target_id) in source_ids:
        raise EditError(f"cannot merge cluster {target_id} into itself")
    with write_session(library) as s:
        target = _active_cluster(s, target_id)
        sources = [_active_cluster(s, cid) for cid in source_ids]
        changes = ChangeSet()
        moved: list[int] = []
        for source in sources:
            for pid, before in _members(s, source.id).items():
                changes.assignments[pid] = (before, (target.id, Source.USER, before[2]))
                moved.append(pid)
            state = cluster_state(source)
            changes.clusters[source.id] = (state, {**state, "active": False})
        # The user put these photos together on purpose: lift their cannot-links to the target.
        changes.cannot_links_removed = {(pid, cid) for pid, cid in _links_of(s, sorted(moved))
                                        if cid == target.id}
        names = ", ".join(source.name for source in sources)
        description = f"Merged {names} into {target.name}"
        kept = _kept_name(target, sources)
        if kept is not target:  # a name the user gave wins over a suggested one
            state = cluster_state(target)
            changes.clusters[target.id] = (state, {**state, "name": kept.name,
                                                   "name_source": Source.USER})
            description += f", keeping the name {kept.name}"
        return record_correction(s, Merge(target.id, tuple(c.id for c in sources)),
                                 description, changes)


def _kept_name(target: Cluster, sources: Sequence[Cluster]) -> Cluster:
    """The cluster whose name a merge keeps: the target's when the user gave it or nobody named
    any of them, else the first source named by the user."""
    if target.name_source == Source.USER:
        return target
    return next((c for c in sources if c.name_source == Source.USER), target)


def merge_keeps(library: Library, target_id: int, source_ids: Iterable[int]) -> tuple[int, str]:
    """What ``merge_clusters(library, target_id, source_ids)`` would keep: the cluster's id and
    the name it will have (for a confirmation before merging)."""
    with library.session() as s:
        target = _active_cluster(s, target_id)
        sources = [_active_cluster(s, cid) for cid in source_ids if int(cid) != target.id]
        return target.id, _kept_name(target, sources).name


def split_cluster(library: Library, cluster_id: int, k: int | None = None,
                  model: str | None = None) -> EditResult:
    """Split a cluster by K-means on its photos' embeddings into ``k`` parts (``None``: chosen
    automatically). Each part is named from its own photos' top classes (``naming``), except
    that a name the user gave stays with the part most like what was named (the one holding most
    photos the user placed there, then the one nearest the whole cluster); that part keeps the
    cluster (the largest one does when the name was automatic), the others become new clusters.
    Photos without an embedding stay in the cluster."""
    from photoclust.core.embedding.store import library_model, load_embeddings

    with library.session() as s:
        cluster = _active_cluster(s, cluster_id)
        members = _members(s, cluster.id)
    model = model or library_model(library)
    all_ids, X = load_embeddings(library, model)
    in_cluster = np.isin(all_ids, np.fromiter(members, dtype=np.int64, count=len(members)))
    ids, X = all_ids[in_cluster], X[in_cluster]
    if len(ids) < 2:
        raise EditError(f"cluster {cluster_id} has fewer than 2 photos with {model} embeddings: "
                        "nothing to split")
    if k is not None and not 2 <= int(k) <= len(ids):
        raise EditError(f"k must be between 2 and {len(ids)} for cluster {cluster_id}")
    labels = _split_labels(X, None if k is None else int(k))
    part_names = _part_names(library, model, ids, labels)

    with write_session(library) as s:
        cluster = _active_cluster(s, cluster_id)
        current = current_assignments(s, ids.tolist())
        user_named = cluster.name_source == Source.USER
        order = _split_order(X, labels, ids, current, user_named)
        taken = set(s.scalars(select(Cluster.name).where(Cluster.active.is_(True),
                                                          Cluster.id != cluster.id)))
        changes = ChangeSet()
        parts: list[list] = []
        created: list[int] = []
        for rank, label in enumerate(order):
            part_ids = ids[labels == label].tolist()
            name = unique_name(part_names.get(label) or "", taken)
            if rank == 0:
                # The part that keeps the cluster keeps a name the user gave; an automatic name
                # is refreshed from the part's own photos.
                state = cluster_state(cluster)
                if not user_named and name and name != state["name"]:
                    changes.clusters[cluster.id] = (state, {**state, "name": name})
                taken.add(name if not user_named and name else cluster.name)
                parts.append([cluster.id, part_ids])
                continue
            name = name or unique_name(f"{cluster.name} ({rank + 1})", taken)
            taken.add(name)
            part = _new_cluster(s, name, Source.AUTO, changes)
            created.append(part.id)
            parts.append([part.id, part_ids])
            for pid in part_ids:
                before = current.get(pid)
                if before is not None and before[0] == cluster.id:
                    changes.assignments[pid] = (before, (part.id, before[1], before[2]))
        return record_correction(
            s, Split(cluster.id, len(order), model,
                     tuple((int(cid), tuple(int(p) for p in pids)) for cid, pids in parts)),
            f"Split {cluster.name} into {len(order)} clusters", changes, created)


def _split_order(X: np.ndarray, labels: np.ndarray, ids: np.ndarray, current: dict,
                 user_named: bool) -> list[int]:
    """The parts' labels, the one that keeps the cluster (its id, and a name the user gave)
    first: for a cluster the user named, the part most like what was named (most photos the user
    placed there, then the centre nearest the whole cluster's); else the largest. The others
    follow, largest first."""
    from photoclust.core.clustering.preprocess import l2_normalize

    values = sorted(set(labels.tolist()), key=lambda lab: (-int(np.sum(labels == lab)), lab))
    if not user_named:
        return values
    Z = l2_normalize(X)
    whole = l2_normalize(Z.sum(axis=0, keepdims=True))[0]
    user = np.array([current.get(int(pid), (0, Source.AUTO))[1] == Source.USER for pid in ids])

    def likeness(label):
        part = labels == label
        centre = l2_normalize(Z[part].sum(axis=0, keepdims=True))[0]
        return (int(user[part].sum()), float(centre @ whole))

    keeper = max(values, key=likeness)
    return [keeper] + [v for v in values if v != keeper]


def new_cluster_from_photos(library: Library, photo_ids: Iterable[int],
                            name: str | None = None) -> EditResult:
    """A new cluster holding these photos, placed there by the user (like ``move_photos``)."""
    clean = " ".join(str(name).split()) if name is not None else ""
    with write_session(library) as s:
        ids = _checked_photo_ids(s, photo_ids)
        changes = ChangeSet()
        cluster = _new_cluster(s, clean, Source.USER if clean else Source.AUTO, changes)
        _place_by_user(s, ids, cluster.id, changes)
        return record_correction(
            s, NewCluster(cluster.id, tuple(ids), cluster.name),
            f"New cluster {cluster.name} from {_plural(len(ids), 'photo')}", changes,
            [cluster.id])


def remove_photos_from_cluster(library: Library, photo_ids: Iterable[int]) -> EditResult:
    """Take photos out of their cluster: unassigned, and never put back there automatically."""
    with write_session(library) as s:
        ids = _checked_photo_ids(s, photo_ids)
        current = current_assignments(s, ids)
        links = _links_of(s, ids)
        changes = ChangeSet()
        for pid, before in current.items():
            changes.assignments[pid] = (before, None)
            if (pid, before[0]) not in links:
                changes.cannot_links_added.add((pid, before[0]))
        return record_correction(
            s, Remove(tuple(ids)),
            f"Removed {_plural(len(current), 'photo')} from "
            f"{'its cluster' if len(current) == 1 else 'their clusters'}", changes)


def photos_not_in_cluster(library: Library, photo_ids: Iterable[int],
                          cluster_id: int) -> EditResult:
    """The user says these photos do not belong in ``cluster_id``: they are never put there
    automatically (a cannot-link, which Learn, Organize and the review queue honour). A photo
    that is in that cluster is taken out of it; the others stay where they are."""
    with write_session(library) as s:
        ids = _checked_photo_ids(s, photo_ids)
        cluster = _active_cluster(s, cluster_id)
        current = current_assignments(s, ids)
        links = _links_of(s, ids)
        changes = ChangeSet()
        for pid in ids:
            before = current.get(pid)
            if before is not None and before[0] == cluster.id:
                changes.assignments[pid] = (before, None)
            if (pid, cluster.id) not in links:
                changes.cannot_links_added.add((pid, cluster.id))
        taken_out = len(changes.assignments)
        marked = len({pid for pid, _cid in changes.cannot_links_added} - set(changes.assignments))
        parts = []
        if taken_out:
            parts.append(f"took {_plural(taken_out, 'photo')} out of {cluster.name}")
        if marked:
            parts.append(f"marked {_plural(marked, 'photo')} as not in {cluster.name}")
        description = " and ".join(parts)
        return record_correction(s, NotInCluster(tuple(ids), cluster.id),
                                 description[:1].upper() + description[1:], changes)


def confirm_photos(library: Library, photo_ids: Iterable[int]) -> EditResult:
    """The user agrees with where these photos are: they become labels (``source='user'``)."""
    with write_session(library) as s:
        ids = _checked_photo_ids(s, photo_ids)
        changes = ChangeSet()
        for pid, before in current_assignments(s, ids).items():
            after = (before[0], Source.USER, USER_CONFIDENCE)
            if after != before:
                changes.assignments[pid] = (before, after)
        return record_correction(
            s, Confirm(tuple(ids)),
            f"Confirmed {_plural(len(changes.assignments), 'photo')}", changes)


# -- splitting ------------------------------------------------------------------------------------

def _split_labels(X: np.ndarray, k: int | None) -> np.ndarray:
    """K-means labels on the embeddings preprocessed as for clustering (L2, PCA to
    ``SPLIT_DIMS``, L2); ``k=None`` picks the number of parts."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor

    # One thread: a split is small work the user waits for, and OpenMP/BLAS threads competing
    # with a running background job (embedding, clustering) made it up to 40x slower here.
    with threadpool_limits(1):
        Z = EmbeddingPreprocessor(n_components=SPLIT_DIMS, random_state=0).fit_transform(X)
        if k is None:
            k = _choose_split_k(Z)
        return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(Z)


def _choose_split_k(Z: np.ndarray) -> int:
    """Best silhouette over 2..min(MAX_AUTO_SPLIT, n-1) parts.

    Inside one cluster the question is "a few parts or not", where silhouette holds (it fails on
    k for a whole library). Measured on clusters made of 2, 3 or 4 dataset classes
    (imagenette224, clothing14 cached features): silhouette found the true number in 6 of 8
    cases and was one off in 2; the kNN-graph chooser of ``choose_k`` (made for whole libraries)
    in 2 of 8, over-splitting the rest into 4-7 parts."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(Z) > SILHOUETTE_SAMPLE:
        Z = Z[np.random.default_rng(0).choice(len(Z), SILHOUETTE_SAMPLE, replace=False)]
    n = len(Z)
    if n < 4:
        return 2
    best_k, best_score = 2, -np.inf
    for k in range(2, min(MAX_AUTO_SPLIT, n - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=2, random_state=0).fit_predict(Z)
        if len(set(labels.tolist())) < 2:
            continue
        score = silhouette_score(Z, labels)
        if score > best_score:
            best_k, best_score = k, score
    return best_k


def _part_names(library: Library, model: str, ids: np.ndarray, labels: np.ndarray) -> dict:
    """Suggested names of the parts from their photos' top ImageNet classes ({} if none)."""
    from photoclust.core.clustering.naming import suggest_names
    from photoclust.core.embedding.store import load_top_classes

    top = load_top_classes(library, model, ids.tolist())
    return suggest_names(labels.tolist(), ids.tolist(), top)


# -- answers to review suggestions -----------------------------------------------------------------

#: What a review suggestion can be refused as (``photoclust.core.learning.questions``).
REFUSABLE = ("merge", "split")


def refuse_suggestion(library: Library, kind: str, cluster_id: int,
                      other_cluster_id: int | None = NO_CLUSTER) -> EditResult:
    """The user answered no to merging ``other_cluster_id`` into ``cluster_id`` (``kind``
    ``merge``) or to splitting ``cluster_id`` (``split``): an undoable edit that changes no
    photo; the suggestion is not made again unless it is undone. Answering no twice records one
    edit (the second returns an ``EditResult`` without an event)."""
    if kind not in REFUSABLE:
        raise EditError(f"only merge and split suggestions can be refused, not {kind!r}")
    other = None if other_cluster_id is None or int(other_cluster_id) == NO_CLUSTER \
        else int(other_cluster_id)
    if kind == "merge" and other is None:
        raise EditError("a merge suggestion names two clusters")
    with write_session(library) as s:
        cluster = _known_cluster(s, cluster_id)
        if kind == "merge":
            merged = _known_cluster(s, other)
            description = f"Not merging {merged.name} into {cluster.name}"
        else:
            description = f"Not splitting {cluster.name}"
        correction = RefuseSuggestion(kind, cluster.id, other if kind == "merge" else None)
        if any(r.correction == correction and not r.undone
               for r in read_corrections(s, [RefuseSuggestion])):
            return EditResult(None, correction.kind, description)
        return record_edit(s, correction.kind, description, correction.to_params(), ChangeSet())


def _known_cluster(s: Session, cluster_id: int | None) -> Cluster:
    """A cluster row, active or not (a suggestion may name a cluster merged away since)."""
    cluster = s.get(Cluster, int(cluster_id)) if cluster_id is not None else None
    if cluster is None:
        raise EditError(f"no cluster with id {cluster_id}")
    return cluster
