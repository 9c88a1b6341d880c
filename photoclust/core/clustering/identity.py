"""Cluster identity across clustering runs: new labels are mapped onto the clusters people know.

An algorithm returns anonymous labels 0..k-1; the user sees clusters with ids and names, and has
moved, confirmed and removed photos. ``apply_clustering`` stores a run and matches each new label
group to an existing active cluster by overlap (Hungarian assignment on the overlap matrix, with a
minimum overlap), so that the cluster keeps its id and its user-given name, and photos added since
the last run join the cluster their group maps to. Overlap counts every photo currently assigned,
placed by the algorithm or by the user: a cluster the user built by hand is recognised by the
photos the user put in it.

What the user said always wins: photos with ``source='user'`` stay where the user put them, a
photo never lands in a cluster it has a cannot-link to (it takes its next best label when the
caller gives ``label_scores``, else stays unassigned), and names with ``name_source='user'`` are
never replaced. Clusters left empty become inactive (kept, not deleted). One run is one
transaction; it supersedes the redo branch of the edit history (the state undo would restore is
gone).
"""
from __future__ import annotations

import json
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.orm import Session

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.edits.history import (
    EditResult,
    library_state,
    record_applied,
    state_changes,
    supersede_redo_branch,
    write_session,
)
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import (
    Assignment,
    CannotLink,
    Cluster,
    ClusteringRun,
    Source,
)

#: A new group keeps an old cluster's identity only if they share at least this fraction of the
#: smaller of the two (and at least one photo): a few stray photos do not carry a name over.
MIN_OVERLAP_FRACTION = 0.2


def apply_clustering(library: Library, model: str, method: str,
                     photo_ids: Sequence[int] | np.ndarray, labels: Sequence[int] | np.ndarray,
                     confidences: Sequence[float] | np.ndarray | None = None,
                     suggested_names: Mapping[int, str] | Sequence[str] | None = None,
                     params: dict | None = None, label_scores: np.ndarray | None = None,
                     label_clusters: Mapping[int, int] | None = None,
                     min_overlap_fraction: float = MIN_OVERLAP_FRACTION, *,
                     session: Session | None = None) -> int:
    """Store a clustering of ``photo_ids`` and return the new ``ClusteringRun`` id.

    Parameters
    ----------
    labels : int per photo, 0..k-1; -1 (noise) leaves the photo unassigned.
    confidences : per photo in [0, 1], stored with the assignment.
    suggested_names : name per label (mapping or sequence), used for new clusters and to refresh
        clusters whose name is still automatic; an empty name becomes "Cluster <id>".
    label_scores : ``(n, k)`` array, higher is better (probabilities, or negative distances):
        where a photo's label maps to a cluster it has a cannot-link to, it takes its best other
        label. Without it, such a photo stays unassigned.
    label_clusters : ``{label: cluster id}`` for labels that already stand for an active cluster
        (a classifier trained on the current clusters, assigning new photos): those labels keep
        that cluster as they are; the other labels are matched by overlap.
    session : a write session (``edit_history.write_session``) to store the run in, inside the
        caller's transaction; by default the run is its own transaction.
    """
    photo_ids = np.asarray(photo_ids, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    n = len(photo_ids)
    if len(labels) != n:
        raise ValueError(f"{n} photo ids but {len(labels)} labels")
    if len(np.unique(photo_ids)) != n:
        raise ValueError("photo_ids contains duplicates")
    conf = None if confidences is None else np.asarray(confidences, dtype=np.float64).ravel()
    if conf is not None and len(conf) != n:
        raise ValueError(f"{n} photo ids but {len(conf)} confidences")
    groups = np.unique(labels[labels >= 0])
    if label_scores is not None:
        label_scores = np.asarray(label_scores, dtype=np.float64)
        if label_scores.shape[0] != n or (len(groups) and label_scores.shape[1] <= groups.max()):
            raise ValueError("label_scores must be (n_photos, n_labels) with a column per label")

    args = (model, method, photo_ids, labels, conf, suggested_names, params, label_scores,
            label_clusters, min_overlap_fraction)
    if session is not None:
        return _store(session, *args)
    with write_session(library) as s:
        return _store(s, *args)


def apply_clustering_as_edit(library: Library, kind: str, describe, *args,
                             **kwargs) -> tuple[int, EditResult]:
    """``apply_clustering`` recorded as one undoable edit of ``kind``: the library is diffed
    around the run in the same transaction. ``describe(session, changes)`` returns the event's
    ``(description, params)``. Returns the run id and the edit (``event_id`` None when the run
    changed nothing)."""
    with write_session(library) as s:
        before = library_state(s)
        run_id = apply_clustering(library, *args, session=s, **kwargs)
        s.flush()
        changes = state_changes(before, library_state(s))
        description, params = describe(s, changes)
        if changes.is_empty():
            return run_id, EditResult(None, kind, description)
        created = [cid for cid, (old, _new) in changes.clusters.items() if old is None]
        return run_id, record_applied(s, kind, description, {**params, "run_id": run_id},
                                      changes, created)


def _store(s: Session, model: str, method: str, photo_ids: np.ndarray, labels: np.ndarray,
           conf: np.ndarray | None, suggested_names, params: dict | None,
           label_scores: np.ndarray | None, label_clusters: Mapping[int, int] | None,
           min_overlap_fraction: float) -> int:
    groups = np.unique(labels[labels >= 0])
    run = ClusteringRun(model=model, method=method, k=len(groups),
                        params=json.dumps(params or {}, default=str, sort_keys=True))
    s.add(run)
    s.flush()

    current = {pid: cid for pid, cid in s.execute(
        select(Assignment.photo_id, Assignment.cluster_id)
        .join(Cluster, Cluster.id == Assignment.cluster_id).where(Cluster.active.is_(True)))}
    user_placed = set(s.scalars(select(Assignment.photo_id)
                                .where(Assignment.source == Source.USER)))
    fixed = _checked_label_clusters(s, label_clusters)
    free = np.array([g for g in groups if int(g) not in fixed], dtype=np.int64)
    taken = set(fixed.values())
    group_cluster = _match_groups(
        photo_ids, labels, free,
        {pid: cid for pid, cid in current.items() if cid not in taken}, min_overlap_fraction)
    group_cluster.update(fixed)

    label_cluster = {int(g): group_cluster.get(int(g)) for g in groups}
    final_labels = _resolve_cannot_links(s, photo_ids, labels, label_cluster, user_placed,
                                         label_scores)
    clusters = _clusters_for_labels(s, run.id, final_labels, user_placed, photo_ids,
                                    label_cluster, suggested_names)

    auto_ids = [pid for pid in photo_ids.tolist() if pid not in user_placed]
    for part in chunks(auto_ids):
        s.execute(delete(Assignment).where(Assignment.photo_id.in_(part)))
    rows = []
    for i, pid in enumerate(photo_ids.tolist()):
        label = int(final_labels[i])
        if pid in user_placed or label < 0:
            continue
        rows.append({"photo_id": pid, "cluster_id": clusters[label], "source": Source.AUTO,
                     "confidence": _stored(None if conf is None else conf[i]),
                     "run_id": run.id})
    if rows:
        s.execute(insert(Assignment), rows)

    nonempty = select(Assignment.cluster_id).distinct()
    s.execute(update(Cluster).where(and_(Cluster.active.is_(True),
                                         Cluster.id.not_in(nonempty)))
              .values(active=False))
    supersede_redo_branch(s)
    return run.id


def _stored(confidence) -> float | None:
    """``None`` for no confidence (``NaN``: no honest number)."""
    return None if confidence is None or not np.isfinite(confidence) else float(confidence)


def _checked_label_clusters(s, label_clusters: Mapping[int, int] | None) -> dict[int, int]:
    fixed = {int(label): int(cid) for label, cid in (label_clusters or {}).items()}
    if len(set(fixed.values())) != len(fixed):
        raise ValueError("label_clusters maps two labels to the same cluster")
    for cid in fixed.values():
        cluster = s.get(Cluster, cid)
        if cluster is None or not cluster.active:
            raise ValueError(f"label_clusters names cluster {cid}, which is not an active cluster")
    return fixed


def _match_groups(photo_ids: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                  current: dict[int, int], min_overlap_fraction: float
                  ) -> dict[int, int]:
    """``{label: existing cluster id}`` maximising the total overlap (Hungarian)."""
    old_ids = sorted(set(current.values()))
    if not len(groups) or not old_ids:
        return {}
    old_index = {cid: j for j, cid in enumerate(old_ids)}
    old_of_photo = np.array([old_index[current[pid]] if pid in current else NO_CLUSTER
                             for pid in photo_ids.tolist()], dtype=np.int64)
    labelled = labels >= 0
    group_of_photo = np.full(len(labels), NO_CLUSTER, dtype=np.int64)
    group_of_photo[labelled] = np.searchsorted(groups, labels[labelled])
    both = labelled & (old_of_photo >= 0)
    overlap = np.zeros((len(groups), len(old_ids)), dtype=np.int64)
    np.add.at(overlap, (group_of_photo[both], old_of_photo[both]), 1)
    group_sizes = np.bincount(group_of_photo[labelled], minlength=len(groups))
    old_sizes = np.bincount([old_index[cid] for cid in current.values()],
                            minlength=len(old_ids))
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    matches = {}
    for i, j in zip(rows, cols):
        needed = max(1.0, min_overlap_fraction * min(group_sizes[i], old_sizes[j]))
        if overlap[i, j] >= needed:
            matches[int(groups[i])] = old_ids[j]
    return matches


def _resolve_cannot_links(s, photo_ids: np.ndarray, labels: np.ndarray,
                          label_cluster: dict[int, int | None], user_placed: set[int],
                          label_scores: np.ndarray | None) -> np.ndarray:
    """Labels with every cannot-link honoured: the next best allowed label, or NO_CLUSTER."""
    final = labels.copy()
    links: dict[int, set[int]] = {}
    for pid, cid in s.execute(select(CannotLink.photo_id, CannotLink.cluster_id)):
        links.setdefault(pid, set()).add(cid)
    if not links:
        return final
    for i, pid in enumerate(photo_ids.tolist()):
        forbidden = links.get(pid)
        label = int(labels[i])
        if not forbidden or label < 0 or label_cluster.get(label) not in forbidden:
            continue
        if pid in user_placed:
            continue
        final[i] = NO_CLUSTER
        if label_scores is None:
            continue
        for candidate in np.argsort(-label_scores[i], kind="stable").tolist():
            if candidate in label_cluster and candidate != label \
                    and label_cluster[candidate] not in forbidden:
                final[i] = candidate
                break
    return final


def _name_for(suggested_names, label: int) -> str:
    if suggested_names is None:
        return ""
    if isinstance(suggested_names, Mapping):
        return str(suggested_names.get(label) or "").strip()
    return str(suggested_names[label]).strip() if label < len(suggested_names) else ""


def _clusters_for_labels(s, run_id: int, final_labels: np.ndarray, user_placed: set[int],
                         photo_ids: np.ndarray,
                         label_cluster: dict[int, int | None], suggested_names) -> dict[int, int]:
    """``{label: cluster id}`` for every label that still has photos, creating clusters for the
    unmatched ones and refreshing automatic names of the matched ones."""
    used = {int(label) for pid, label in zip(photo_ids.tolist(), final_labels.tolist())
            if label >= 0 and pid not in user_placed}
    clusters: dict[int, int] = {}
    for label in sorted(used):
        name = _name_for(suggested_names, label)
        cid = label_cluster.get(label)
        if cid is not None:
            cluster = s.get(Cluster, cid)
            if cluster.name_source != Source.USER and name:
                cluster.name = name
        else:
            cluster = Cluster(name=name, name_source=Source.AUTO, active=True,
                              created_run_id=run_id)
            s.add(cluster)
            s.flush()
            if not name:
                cluster.name = f"Cluster {cluster.id}"
        clusters[label] = cluster.id
    s.flush()
    return clusters


def place_photos(library: Library, model: str, photo_ids: Sequence[int] | np.ndarray,
                 clusters: Sequence[int] | np.ndarray, groups: Sequence[int] | np.ndarray,
                 confidences: Sequence[float] | np.ndarray | None = None,
                 group_names: Mapping[int, str] | None = None,
                 params: dict | None = None) -> tuple[int, list[int], list[int]]:
    """Store new photos' placement as one run (method ``place``) without touching anyone else.

    ``clusters[i]``: the existing cluster photo ``i`` joins, or -1 when it founds new cluster
    ``groups[i]`` (0..), named ``group_names[g]``. Only photos still in no cluster, and not taken
    out of that cluster by the user, are placed; a photo whose cluster became inactive meanwhile
    stays unassigned (the next run places it). Their assignments carry the run's id, which tells
    these placements apart. Returns the run id, the new clusters' ids and the placed photo ids.
    """
    ids = np.asarray(photo_ids, dtype=np.int64).ravel()
    joins = np.asarray(clusters, dtype=np.int64).ravel()
    founds = np.asarray(groups, dtype=np.int64).ravel()
    conf = None if confidences is None else np.asarray(confidences, dtype=np.float64).ravel()
    with write_session(library) as s:
        assigned: set[int] = set()
        links: dict[int, set[int]] = {}
        for part in chunks(ids.tolist()):
            assigned.update(s.scalars(select(Assignment.photo_id)
                                      .where(Assignment.photo_id.in_(part))))
            for pid, cid in s.execute(select(CannotLink.photo_id, CannotLink.cluster_id)
                                      .where(CannotLink.photo_id.in_(part))):
                links.setdefault(pid, set()).add(cid)
        active = set(s.scalars(select(Cluster.id).where(Cluster.active.is_(True))))
        founded = np.unique(founds[(joins < 0) & (founds >= 0)])
        run = ClusteringRun(model=model, method="place", k=len(active) + len(founded),
                            params=json.dumps(params or {}, default=str, sort_keys=True))
        s.add(run)
        s.flush()
        new_cluster: dict[int, int] = {}
        for g in founded.tolist():
            name = str((group_names or {}).get(g) or "").strip()
            cluster = Cluster(name=name, name_source=Source.AUTO, active=True,
                              created_run_id=run.id)
            s.add(cluster)
            s.flush()
            if not name:
                cluster.name = f"Cluster {cluster.id}"
            new_cluster[g] = cluster.id
        rows = []
        for i, pid in enumerate(ids.tolist()):
            target = int(joins[i]) if joins[i] >= 0 else new_cluster.get(int(founds[i]))
            if pid in assigned or target is None or target in links.get(pid, ()):
                continue
            if target not in active and target not in new_cluster.values():
                continue
            rows.append({"photo_id": pid, "cluster_id": target, "source": Source.AUTO,
                         "confidence": _stored(None if conf is None else conf[i]),
                         "run_id": run.id})
        if rows:
            s.execute(insert(Assignment), rows)
        used = {row["cluster_id"] for row in rows}
        for cid in new_cluster.values():
            if cid not in used:  # all its photos were placed meanwhile: no empty cluster
                s.execute(update(Cluster).where(Cluster.id == cid).values(active=False))
        return run.id, sorted(c for c in new_cluster.values() if c in used), \
            [row["photo_id"] for row in rows]
