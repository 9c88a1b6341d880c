"""What the user's corrections say, read back from the library.

- A photo the user moved to or confirmed in a cluster (``Assignment.source == 'user'``) is a label:
  it stays there, and it steers that cluster.
- A photo the user moved out of or removed from a cluster (a ``CannotLink`` row) never goes back.
- A merge says the merged clusters are one (``together``); a split says its parts are not
  (``apart``, and the parts are never suggested for merging again); a merge the user undid, or a
  review suggestion the user answered no (``refuse_suggestion``), is not suggested again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select

from photoclust.core.clustering import NO_CLUSTER
from photoclust.core.learning.review import MERGE, SPLIT
from photoclust.core.library import Library
from photoclust.core.library.models import (
    Assignment,
    CannotLink,
    Cluster,
    EditEvent,
    Setting,
)

#: Settings key holding the review suggestions the user answered no, as a JSON list of
#: ``[kind, cluster_id, other_cluster_id]``.
REFUSED_SETTING = "learning.refused_suggestions"


@dataclass
class Constraints:
    """Everything the learner and the review queue must honour, keyed by photo and cluster ids.

    ``refused`` holds keys as ``photoclust.core.learning.review.merge_key`` / ``split_key`` make.
    """

    labels: dict[int, int] = field(default_factory=dict)
    cannot_link: set[tuple[int, int]] = field(default_factory=set)
    together: list[frozenset[int]] = field(default_factory=list)
    apart: list[tuple[frozenset[int], ...]] = field(default_factory=list)
    refused: set[tuple[str, int, int]] = field(default_factory=set)


def derive_constraints(library: Library) -> Constraints:
    """Read labels, cannot-links, merges, splits and refusals from ``library``."""
    constraints = Constraints()
    with library.session() as s:
        constraints.labels = {
            int(pid): int(cid) for pid, cid in s.execute(
                select(Assignment.photo_id, Assignment.cluster_id)
                .join(Cluster, Cluster.id == Assignment.cluster_id)
                .where(Assignment.source == "user", Cluster.active.is_(True)))}
        constraints.cannot_link = {(int(p), int(c)) for p, c in s.execute(
            select(CannotLink.photo_id, CannotLink.cluster_id))}
        events = s.execute(select(EditEvent.kind, EditEvent.payload, EditEvent.undone)
                           .where(EditEvent.kind.in_(("merge", "split")))
                           .order_by(EditEvent.id)).all()
        refused_setting = s.get(Setting, REFUSED_SETTING)
        refused_json = refused_setting.value if refused_setting is not None else "[]"
    for kind, payload_text, undone in events:
        params = _params(payload_text)
        if kind == "merge":
            _read_merge(constraints, params, payload_text, undone)
        elif kind == "split" and not undone:
            _read_split(constraints, params)
    for entry in _json_list(refused_json):
        if isinstance(entry, list) and len(entry) == 3 and entry[0] in (MERGE, SPLIT):
            constraints.refused.add((str(entry[0]), int(entry[1]), int(entry[2])))
    return constraints


def refuse_suggestion(library: Library, kind: str, cluster_id: int,
                      other_cluster_id: int = NO_CLUSTER) -> None:
    """Remember that the user answered no to a merge or split suggestion (one action)."""
    if kind not in (MERGE, SPLIT):
        raise ValueError(f"only merge and split suggestions can be refused, not {kind!r}")
    with library.session() as s:
        row = s.get(Setting, REFUSED_SETTING)
        entries = _json_list(row.value) if row is not None else []
        entry = [kind, int(cluster_id), int(other_cluster_id)]
        if entry not in entries:
            entries.append(entry)
        if row is None:
            s.add(Setting(key=REFUSED_SETTING, value=json.dumps(entries)))
        else:
            row.value = json.dumps(entries)


def _read_merge(constraints: Constraints, params: dict, payload_text: str, undone: bool) -> None:
    target = params.get("target_id")
    sources = params.get("source_ids") or []
    if not isinstance(target, int) or not all(isinstance(c, int) for c in sources):
        return
    if undone:
        constraints.refused.update((MERGE, target, source) for source in sources)
        return
    moved = {int(row[0]) for row in _json_dict(payload_text).get("assignments", [])
             if isinstance(row, list) and row and isinstance(row[0], int)}
    if moved:
        constraints.together.append(frozenset(moved))


def _read_split(constraints: Constraints, params: dict) -> None:
    parts = []
    for part in params.get("parts") or []:
        if (isinstance(part, list) and len(part) == 2 and isinstance(part[0], int)
                and isinstance(part[1], list)):
            parts.append((part[0], frozenset(int(p) for p in part[1] if isinstance(p, int))))
    if len(parts) < 2:
        return
    constraints.apart.append(tuple(photos for _cid, photos in parts))
    for a, _ in parts:
        for b, _ in parts:
            if a != b:
                constraints.refused.add((MERGE, a, b))


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _json_list(text: str) -> list:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def _params(payload_text: str) -> dict:
    params = _json_dict(payload_text).get("params")
    return params if isinstance(params, dict) else {}
