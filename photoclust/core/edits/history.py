"""The undo history of cluster edits: recording an edit as an event, undo and redo.

An edit is a ``ChangeSet``: for every photo, cluster and cannot-link it touches, the state before
and after. Recording applies the change set forward and stores it in the ``EditEvent`` payload in
the same transaction, so every committed event can be reversed (undo applies it backward) and
replayed (redo applies it forward) without knowing which operation made it.

The history is linear: undo takes the newest event that is not undone; redo takes the oldest undone
event that is not ``superseded``. A new edit, or a clustering run, supersedes the undone events
(they stay in the table, undone, as a record of what the user tried and took back).

A change is applied only where the library still holds the state the event expects (for undo, the
``after`` state; for redo, the ``before`` state). Where a later clustering run changed a photo,
undoing an older edit leaves that photo alone instead of overwriting the newer result.
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import WRITE_LOCK
from photoclust.core.library.models import (
    Assignment,
    Base,
    CannotLink,
    Cluster,
    EditEvent,
    Face,
    FaceCannotLink,
    Person,
    Photo,
)

#: Format version of ``EditEvent.payload``.
PAYLOAD_VERSION = 1

#: Where a photo is: ``(cluster_id, source, confidence)``.
Placement = tuple[int, str, float | None]
#: An assignment state: a ``Placement``, or ``None`` for unassigned.
AssignmentState = Placement | None
#: A cluster state: ``{"name", "name_source", "active"}``, or ``None`` for "did not exist yet".
ClusterState = dict | None
#: A face's state (people): ``(person_id or None, source, removed, confidence)``, or ``None``.
FaceState = tuple[int | None, str, bool, float | None] | None


class EditError(ValueError):
    """An edit cannot be made (unknown cluster or photo, empty name, an undo of an event that is
    not the newest, ...); the message is for the user. Nothing was changed."""


@contextmanager
def write_session(library: Library) -> Iterator[Session]:
    """A session that holds SQLite's write lock from its first statement.

    An edit reads the state and then writes; in WAL mode, a transaction that read before another
    connection committed cannot write any more ("database is locked", at once). Beginning with
    ``BEGIN IMMEDIATE`` takes the lock first, so the edit waits for a running clustering job's
    commit (up to the busy timeout) and then reads the state that job left."""
    with library.session() as s:
        s.connection(execution_options=WRITE_LOCK)
        yield s


@dataclass
class ChangeSet:
    """What one edit changes, each entry as ``(before, after)``."""

    assignments: dict[int, tuple[AssignmentState, AssignmentState]] = field(default_factory=dict)
    clusters: dict[int, tuple[ClusterState, ClusterState]] = field(default_factory=dict)
    cannot_links_added: set[tuple[int, int]] = field(default_factory=set)
    cannot_links_removed: set[tuple[int, int]] = field(default_factory=set)
    # People (photoclust.core.faces.editing): faces, people and "not this person" links.
    faces: dict[int, tuple[FaceState, FaceState]] = field(default_factory=dict)
    people: dict[int, tuple[ClusterState, ClusterState]] = field(default_factory=dict)
    face_links_added: set[tuple[int, int]] = field(default_factory=set)
    face_links_removed: set[tuple[int, int]] = field(default_factory=set)

    #: Rows of other tables (events, photo times: ``core/events/editing.py``), in the order they
    #: are applied forward: ``[table, {key column: value}, before, after]``, each side a dict of
    #: column values or ``None`` for "no such row" (see ``apply_row_changes``).
    rows: list[list] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.assignments or self.clusters or self.cannot_links_added
                    or self.cannot_links_removed or self.faces or self.people
                    or self.face_links_added or self.face_links_removed or self.rows)

    def to_json(self) -> dict:
        return {
            "assignments": [[pid, _state_list(b), _state_list(a)]
                            for pid, (b, a) in sorted(self.assignments.items())],
            "clusters": [[cid, b, a] for cid, (b, a) in sorted(self.clusters.items())],
            "cannot_links_added": sorted([p, c] for p, c in self.cannot_links_added),
            "cannot_links_removed": sorted([p, c] for p, c in self.cannot_links_removed),
            **_people_json(self),
            **({"rows": self.rows} if self.rows else {}),
        }

    @classmethod
    def from_json(cls, payload: dict) -> ChangeSet:
        return cls(
            assignments={int(pid): (_state_tuple(b), _state_tuple(a))
                         for pid, b, a in payload.get("assignments", [])},
            clusters={int(cid): (b, a) for cid, b, a in payload.get("clusters", [])},
            cannot_links_added={(int(p), int(c)) for p, c in payload.get("cannot_links_added", [])},
            cannot_links_removed={(int(p), int(c))
                                  for p, c in payload.get("cannot_links_removed", [])},
            faces={int(fid): (_face_tuple(b), _face_tuple(a))
                   for fid, b, a in payload.get("faces", [])},
            people={int(pid): (b, a) for pid, b, a in payload.get("people", [])},
            face_links_added={(int(f), int(p)) for f, p in payload.get("face_links_added", [])},
            face_links_removed={(int(f), int(p))
                                for f, p in payload.get("face_links_removed", [])},
            rows=[list(row) for row in payload.get("rows", [])],
        )


def _state_list(state: AssignmentState) -> list | None:
    return None if state is None else list(state)


def _state_tuple(state: list | None) -> AssignmentState:
    return None if state is None else (int(state[0]), str(state[1]), state[2])


@dataclass
class EditResult:
    """What an edit, undo or redo changed, so a view can refresh just that."""

    event_id: int | None
    kind: str
    description: str
    photo_ids: list[int] = field(default_factory=list)
    cluster_ids: list[int] = field(default_factory=list)
    created_cluster_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"event_id": self.event_id, "kind": self.kind, "description": self.description,
                "photo_ids": self.photo_ids, "cluster_ids": self.cluster_ids,
                "created_cluster_ids": self.created_cluster_ids}


def current_assignments(s: Session, photo_ids: Iterable[int]) -> dict[int, Placement]:
    """``{photo_id: (cluster_id, source, confidence)}`` for the assigned among ``photo_ids``."""
    out: dict[int, Placement] = {}
    for part in chunks(sorted(set(photo_ids))):
        rows = s.execute(select(Assignment.photo_id, Assignment.cluster_id, Assignment.source,
                                Assignment.confidence).where(Assignment.photo_id.in_(part)))
        for pid, cid, source, conf in rows:
            out[pid] = (cid, source, conf)
    return out


def cluster_state(cluster: Cluster) -> dict:
    return {"name": cluster.name, "name_source": cluster.name_source,
            "active": bool(cluster.active)}


def _same_assignment(current: AssignmentState, expected: AssignmentState) -> bool:
    if current is None or expected is None:
        return current is None and expected is None
    return current[0] == expected[0] and current[1] == expected[1]


def apply_changes(s: Session, changes: ChangeSet, forward: bool,
                  event_id: int | None = None) -> tuple[list[int], list[int]]:
    """Move the library from one side of ``changes`` to the other where it still holds the
    expected side. Returns the photo ids that changed (placement or cannot-links) and the cluster
    ids that changed (a cluster changes when its name, flags or members change)."""
    changed_photos: list[int] = []
    changed_clusters: set[int] = set()

    current = current_assignments(s, changes.assignments)
    to_delete: list[int] = []
    to_insert: list[dict] = []
    to_update: list[dict] = []
    for pid, (before, after) in changes.assignments.items():
        expected, target = (before, after) if forward else (after, before)
        now = current.get(pid)
        if not _same_assignment(now, expected):
            continue
        changed_photos.append(pid)
        for state in (now, target):
            if state is not None:
                changed_clusters.add(state[0])
        if target is None:
            to_delete.append(pid)
        elif now is None:
            to_insert.append({"photo_id": pid, "cluster_id": target[0], "source": target[1],
                              "confidence": target[2]})
        else:
            to_update.append({"photo_id": pid, "cluster_id": target[0], "source": target[1],
                              "confidence": target[2]})
    if to_insert:  # photos deleted since the event cannot be re-assigned
        existing = _existing_photo_ids(s, [row["photo_id"] for row in to_insert])
        to_insert = [row for row in to_insert if row["photo_id"] in existing]

    # Clusters first: a re-activated cluster must be active before photos move into it.
    for cid, (cluster_before, cluster_after) in changes.clusters.items():
        was, will = (cluster_before, cluster_after) if forward else (cluster_after, cluster_before)
        cluster = s.get(Cluster, cid)
        if cluster is None:
            continue
        if _set_where_expected(cluster, cluster_state(cluster), was, will):
            changed_clusters.add(cid)
    s.flush()

    for part in chunks(to_delete):
        s.execute(delete(Assignment).where(Assignment.photo_id.in_(part)))
    if to_update:
        s.execute(update(Assignment), to_update)
    if to_insert:
        s.execute(insert(Assignment), to_insert)
    _keep_nonempty_clusters_active(s, sorted(changed_clusters))

    links_add, links_remove = ((changes.cannot_links_added, changes.cannot_links_removed)
                               if forward else
                               (changes.cannot_links_removed, changes.cannot_links_added))
    changed_photos.extend(pid for pid, _cid in (*links_add, *links_remove))
    for pid, cid in links_remove:
        s.execute(delete(CannotLink).where(CannotLink.photo_id == pid,
                                           CannotLink.cluster_id == cid))
    if links_add:
        existing = _existing_photo_ids(s, [pid for pid, _ in links_add])
        present = _existing_links(s, links_add)
        rows = [{"photo_id": pid, "cluster_id": cid, "event_id": event_id}
                for pid, cid in sorted(links_add) if pid in existing and (pid, cid) not in present]
        if rows:
            s.execute(insert(CannotLink), rows)
    changed_photos.extend(_apply_people_changes(s, changes, forward, event_id))
    changed_photos.extend(apply_row_changes(s, changes.rows, forward))
    return sorted(set(changed_photos)), sorted(changed_clusters)


def apply_row_changes(s: Session, rows: list[list], forward: bool) -> list[int]:
    """Apply ``ChangeSet.rows`` forward (in order) or backward (in reverse order), each row only
    where the table still holds the side expected (a later Organize's change is left alone).
    A side of ``None`` means no row: towards it the row is deleted, from it the row is inserted
    (key and values). Returns the photo ids of the rows changed (rows keyed by ``photo_id`` or
    of the ``photos`` table)."""
    changed: list[int] = []
    for table_name, key, before, after in (rows if forward else reversed(rows)):
        table = Base.metadata.tables[table_name]
        expected, target = (before, after) if forward else (after, before)
        where = [table.c[name] == value for name, value in key.items()]
        columns = sorted({*(expected or {}), *(target or {})})
        current = s.execute(select(*(table.c[c] for c in columns) if columns
                                   else list(table.c)).where(*where)).first()
        if expected is None:
            if current is not None:
                continue
        elif current is None or any(current._mapping[table.c[c]] != v
                                    for c, v in expected.items()):
            continue
        if target is None:
            s.execute(delete(table).where(*where))
        elif current is None:
            s.execute(insert(table).values(**key, **target))
        else:
            s.execute(update(table).where(*where).values(**target))
        photo_id = key.get("photo_id", key.get("id") if table_name == "photos" else None)
        if photo_id is not None:
            changed.append(int(photo_id))
    return changed


def _keep_nonempty_clusters_active(s: Session, cluster_ids: list[int]) -> None:
    """Every cluster holding photos is active. Undoing an edit made before a clustering run may
    hide a cluster the run filled, or return photos to a cluster the run emptied and retired."""
    for part in chunks(cluster_ids):
        still_used = set(s.scalars(select(Assignment.cluster_id).distinct()
                                   .where(Assignment.cluster_id.in_(part))))
        if still_used:
            s.execute(update(Cluster).where(Cluster.id.in_(still_used)).values(active=True))


def _existing_photo_ids(s: Session, photo_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for part in chunks(sorted(set(photo_ids))):
        found.update(s.scalars(select(Photo.id).where(Photo.id.in_(part))))
    return found


def _existing_links(s: Session, links: set[tuple[int, int]]) -> set[tuple[int, int]]:
    found: set[tuple[int, int]] = set()
    for part in chunks(sorted({pid for pid, _ in links})):
        rows = s.execute(select(CannotLink.photo_id, CannotLink.cluster_id)
                         .where(CannotLink.photo_id.in_(part)))
        found.update((pid, cid) for pid, cid in rows)
    return found


def supersede_redo_branch(s: Session) -> None:
    """Make the undone events impossible to redo: the library has moved on without them."""
    s.execute(update(EditEvent).where(EditEvent.undone.is_(True), EditEvent.superseded.is_(False))
              .values(superseded=True))


def record_edit(s: Session, kind: str, description: str, params: dict, changes: ChangeSet,
                created_cluster_ids: Iterable[int] = ()) -> EditResult:
    """Apply ``changes`` and store them as one ``EditEvent`` in the caller's transaction."""
    supersede_redo_branch(s)
    event = EditEvent(kind=kind, payload="{}")
    s.add(event)
    s.flush()
    photos, clusters = apply_changes(s, changes, forward=True, event_id=event.id)
    payload = {"version": PAYLOAD_VERSION, "description": description, "params": params,
               **changes.to_json()}
    event.payload = json.dumps(payload, separators=(",", ":"))
    return EditResult(event.id, kind, description, photos, clusters, sorted(created_cluster_ids))


def record_applied(s: Session, kind: str, description: str, params: dict, changes: ChangeSet,
                   created_cluster_ids: Iterable[int] = ()) -> EditResult:
    """Store ``changes`` that the caller already made in this transaction (a clustering run or
    Learn, diffed with ``library_state``) as one ``EditEvent``."""
    supersede_redo_branch(s)
    payload = {"version": PAYLOAD_VERSION, "description": description, "params": params,
               **changes.to_json()}
    event = EditEvent(kind=kind, payload=json.dumps(payload, separators=(",", ":")))
    s.add(event)
    s.flush()
    clusters = {cid for cid in changes.clusters}
    for before, after in changes.assignments.values():
        clusters.update(state[0] for state in (before, after) if state is not None)
    return EditResult(event.id, kind, description, sorted(changes.assignments), sorted(clusters),
                      sorted(created_cluster_ids))


@dataclass
class LibraryState:
    """Every assignment and every cluster's state, to diff before and after a bulk change."""

    assignments: dict[int, AssignmentState]
    clusters: dict[int, dict]


def library_state(s: Session) -> LibraryState:
    assignments: dict[int, AssignmentState] = {
        pid: (cid, source, conf) for pid, cid, source, conf in s.execute(
        select(Assignment.photo_id, Assignment.cluster_id, Assignment.source,
               Assignment.confidence))}
    clusters = {cid: {"name": name, "name_source": source, "active": bool(active)}
                for cid, name, source, active in s.execute(
                    select(Cluster.id, Cluster.name, Cluster.name_source, Cluster.active))}
    return LibraryState(assignments, clusters)


def state_changes(before: LibraryState, after: LibraryState) -> ChangeSet:
    """The change set that takes the library from ``before`` to ``after`` (a confidence change
    counts: undo restores the numbers shown before)."""
    changes = ChangeSet()
    for pid in before.assignments.keys() | after.assignments.keys():
        old, new = before.assignments.get(pid), after.assignments.get(pid)
        if old == new:
            continue
        if (old is not None and new is not None and old[:2] == new[:2]
                and _close(old[2], new[2])):
            continue
        changes.assignments[pid] = (old, new)
    for cid, new_cluster in after.clusters.items():
        old_cluster = before.clusters.get(cid)
        if old_cluster != new_cluster:
            changes.clusters[cid] = (old_cluster, new_cluster)
    return changes


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) < 1e-6


def cluster_moves(changes: ChangeSet) -> list[dict]:
    """How many photos went from which cluster to which: ``[{"from_cluster_id",
    "to_cluster_id", "photos"}]``, most photos first (``None`` for no cluster)."""
    counts: Counter = Counter()
    for before, after in changes.assignments.values():
        old = None if before is None else before[0]
        new = None if after is None else after[0]
        if old != new:
            counts[(old, new)] += 1
    return [{"from_cluster_id": old, "to_cluster_id": new, "photos": n}
            for (old, new), n in sorted(counts.items(),
                                        key=lambda kv: (-kv[1], kv[0][0] or 0, kv[0][1] or 0))]


class EditConflict(EditError):
    """The edit asked for is not the next one to undo (or redo): the library's history moved on,
    e.g. an edit was made from the command line. The message says which edit is next now."""


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded edit, for a history list: ``undone`` edits can be redone unless
    ``superseded``. ``params`` holds what the edit's kind records (``moves`` for ``learn`` and
    ``recluster``; docs/learning.md)."""

    event_id: int
    kind: str
    description: str
    undone: bool
    superseded: bool
    created_at: datetime
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"event_id": self.event_id, "kind": self.kind, "description": self.description,
                "undone": self.undone, "superseded": self.superseded,
                "created_at": self.created_at.isoformat(), "params": self.params}


def history(library: Library, limit: int | None = 30) -> list[HistoryEntry]:
    """The newest ``limit`` edits (all with ``None``), newest first. The events are the
    library's: the history is there after a restart and holds edits made from the command
    line."""
    with library.session() as s:
        events = s.scalars(select(EditEvent).order_by(EditEvent.id.desc()).limit(limit)).all()
        return [_entry(e) for e in events]


def _entry(event: EditEvent) -> HistoryEntry:
    params = _payload(event).get("params")
    return HistoryEntry(event.id, event.kind, _description(event), bool(event.undone),
                        bool(event.superseded), event.created_at,
                        params if isinstance(params, dict) else {})


def _payload(event: EditEvent) -> dict:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _description(event: EditEvent) -> str:
    return str(_payload(event).get("description") or event.kind)


def next_undo(library: Library) -> HistoryEntry | None:
    """The edit ``undo`` would take back now (``None``: nothing to undo)."""
    return _next_entry(library, undo=True)


def next_redo(library: Library) -> HistoryEntry | None:
    """The edit ``redo`` would re-apply now (``None``: nothing to redo)."""
    return _next_entry(library, undo=False)


def _next_query(undo: bool):
    query = select(EditEvent).where(EditEvent.undone.is_(not undo))
    if undo:
        return query.order_by(EditEvent.id.desc()).limit(1)
    return query.where(EditEvent.superseded.is_(False)).order_by(EditEvent.id).limit(1)


def _next_entry(library: Library, undo: bool) -> HistoryEntry | None:
    with library.session() as s:
        event = s.scalars(_next_query(undo)).first()
        return None if event is None else _entry(event)


def _replay(library: Library, undo: bool, event_id: int | None = None) -> EditResult | None:
    with write_session(library) as s:
        event = s.scalars(_next_query(undo)).first()
        if event_id is not None and (event is None or event.id != int(event_id)):
            verb = "undo" if undo else "redo"
            now = (f"the next edit to {verb} is now “{_description(event)}”"
                   if event is not None else f"there is nothing to {verb} now")
            raise EditConflict(f"That edit can no longer be {verb}ne from here: {now}.")
        if event is None:
            return None
        payload = json.loads(event.payload)
        changes = ChangeSet.from_json(payload)
        photos, clusters = apply_changes(s, changes, forward=not undo, event_id=event.id)
        event.undone = undo
        created = [cid for cid, (before, _after) in changes.clusters.items() if before is None]
        return EditResult(event.id, event.kind, payload.get("description", event.kind),
                          photos, clusters, sorted(created))


def undo(library: Library, event_id: int | None = None) -> EditResult | None:
    """Reverse the newest edit that is not undone; ``None`` when there is nothing to undo.
    With ``event_id``, only that edit, and only if it is still the newest: else ``EditConflict``
    (an ``EditError``; the app shows "Undo <this edit>" and must never undo another one by
    surprise, e.g. an edit made from the command line in between)."""
    return _replay(library, undo=True, event_id=event_id)


def redo(library: Library, event_id: int | None = None) -> EditResult | None:
    """Re-apply the oldest undone edit still on the redo branch; ``None`` when there is none.
    ``event_id`` as for ``undo``."""
    return _replay(library, undo=False, event_id=event_id)


def can_undo(library: Library) -> bool:
    with library.session() as s:
        return s.scalar(select(EditEvent.id).where(EditEvent.undone.is_(False))
                        .limit(1)) is not None


def can_redo(library: Library) -> bool:
    with library.session() as s:
        return s.scalar(select(EditEvent.id).where(EditEvent.undone.is_(True),
                                                   EditEvent.superseded.is_(False))
                        .limit(1)) is not None


# -- People: faces, people and face cannot-links in a change set ----------------------------------
# A face's state is ``(person_id, source, removed, confidence)``; a person's state is
# ``{"name", "name_source", "active"}`` (``None``: did not exist yet), as for clusters. Only the
# payload keys a change set uses are written, so cluster edits keep their payload as it was.


def _face_tuple(state: list | None) -> FaceState:
    if state is None:
        return None
    return (None if state[0] is None else int(state[0]), str(state[1]), bool(state[2]),
            state[3] if len(state) > 3 else None)


def _people_json(changes: ChangeSet) -> dict:
    out: dict = {}
    if changes.faces:
        out["faces"] = [[fid, None if b is None else list(b), None if a is None else list(a)]
                        for fid, (b, a) in sorted(changes.faces.items())]
    if changes.people:
        out["people"] = [[pid, b, a] for pid, (b, a) in sorted(changes.people.items())]
    if changes.face_links_added:
        out["face_links_added"] = sorted([f, p] for f, p in changes.face_links_added)
    if changes.face_links_removed:
        out["face_links_removed"] = sorted([f, p] for f, p in changes.face_links_removed)
    return out


def person_state(person: Person) -> dict:
    return {"name": person.name, "name_source": person.name_source,
            "active": bool(person.active)}


def _set_where_expected(row: object, now_state: dict, was: dict | None,
                        will: dict | None) -> bool:
    """Set each column of ``will`` on ``row`` (a cluster or a person) where the row still holds
    the ``was`` side (``None``: an inactive row); whether anything changed."""
    was = was if was is not None else {"active": False}
    will = will if will is not None else {"active": False}
    changed = False
    for key, value in will.items():
        if now_state.get(key) == was.get(key, now_state.get(key)) and now_state.get(key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def face_state(face: Face) -> FaceState:
    return (face.person_id, face.source, bool(face.removed), face.confidence)


def _apply_people_changes(s: Session, changes: ChangeSet, forward: bool,
                          event_id: int | None) -> list[int]:
    """The people side of ``apply_changes``: the same rule (only where the library still holds
    the expected side). Returns the ids of the photos whose faces changed."""
    if not (changes.faces or changes.people or changes.face_links_added
            or changes.face_links_removed):
        return []
    for pid, (person_before, person_after) in changes.people.items():
        was, will = (person_before, person_after) if forward else (person_after, person_before)
        person = s.get(Person, pid)
        if person is None:
            continue
        _set_where_expected(person, person_state(person), was, will)
    s.flush()
    photos: set[int] = set()
    touched_people: set[int] = set()
    for fid, (face_before, face_after) in changes.faces.items():
        expected, target = (face_before, face_after) if forward else (face_after, face_before)
        face = s.get(Face, fid)
        if face is None or target is None:
            continue
        now = face_state(face)
        if expected is not None and now is not None and now[:3] != expected[:3]:
            continue
        touched_people.update(p for p in (face.person_id, target[0]) if p is not None)
        face.person_id, face.source, face.removed, face.confidence = target
        photos.add(face.photo_id)
    s.flush()
    if touched_people:  # a person holding faces is active (as for clusters)
        s.execute(update(Person).where(Person.id.in_(
            select(Face.person_id).distinct().where(Face.person_id.in_(sorted(touched_people)),
                                                    Face.removed.is_(False))))
            .values(active=True))
    links_add, links_remove = ((changes.face_links_added, changes.face_links_removed)
                               if forward else
                               (changes.face_links_removed, changes.face_links_added))
    for fid, pid in links_remove:
        s.execute(delete(FaceCannotLink).where(FaceCannotLink.face_id == fid,
                                               FaceCannotLink.person_id == pid))
    for fid, pid in sorted(links_add):
        if s.get(Face, fid) is not None and s.get(FaceCannotLink, (fid, pid)) is None:
            s.add(FaceCannotLink(face_id=fid, person_id=pid, event_id=event_id))
    s.flush()
    return sorted(photos)
