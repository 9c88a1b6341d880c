"""The user's event corrections, each one undoable ``EditEvent`` (``core/edits/history.py``).

Kinds and their ``params`` (each kind a type of ``core/edits/corrections.py``):

- ``event_rename``: ``{"event_id", "name"}``; the name is kept (``name_source`` user).
- ``event_merge``: ``{"target_id", "source_ids"}``; the sources' photos go to the target (placed
  by the user), the sources become inactive (ids kept for undo).
- ``event_split``: ``{"event_id", "at", "new_event_id"}``; the photos taken at or after ``at``
  go to a new event.
- ``event_move``: ``{"photo_ids", "event_id"}``; the photos go to the event (placed by the user).
- ``time_shift``: ``{"photo_ids", "seconds"}``; the photos' times move by ``seconds`` (a camera
  clock that was wrong): ``photo_when_where.time_shift_s``, never the files.

Each edit's rows are in the payload's ``rows`` (``ChangeSet.rows``). Organize never moves a photo
out of its event, so every correction stays; automatic names follow the photos they name.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from photoclust.core.edits.corrections import (
    Correction,
    MergeEvents,
    MoveToEvent,
    RenameEvent,
    ShiftTimes,
    SplitEvent,
)
from photoclust.core.edits.history import (
    ChangeSet,
    EditError,
    EditResult,
    record_edit,
    write_session,
)
from photoclust.core.events.grouping import event_name, place_label
from photoclust.core.events.job import load_moments, rename_auto_events
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import (
    EditEvent,
    Event,
    EventPhoto,
    Photo,
    PhotoWhenWhere,
    Source,
)

#: Largest time shift accepted: a camera clock wrong by up to a century.
MAX_SHIFT_S = 100 * 366 * 86400


def _event(s: Session, event_id: int) -> Event:
    event = s.get(Event, int(event_id))
    if event is None or not event.active:
        raise EditError(f"There is no event {event_id}.")
    return event


def _memberships(s: Session, photo_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    out: dict[int, tuple[int, str]] = {}
    for part in chunks(sorted(set(photo_ids))):
        for pid, eid, source in s.execute(select(EventPhoto.photo_id, EventPhoto.event_id,
                                                 EventPhoto.source)
                                          .where(EventPhoto.photo_id.in_(part))):
            out[pid] = (eid, source)
    return out


def _members(s: Session, event_id: int) -> list[int]:
    return list(s.scalars(select(EventPhoto.photo_id).where(EventPhoto.event_id == event_id)))


def _checked_photos(s: Session, photo_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(p) for p in photo_ids})
    if not ids:
        raise EditError("No photos given.")
    found: set[int] = set()
    for part in chunks(ids):
        found.update(s.scalars(select(Photo.id).where(Photo.id.in_(part))))
    missing = [p for p in ids if p not in found]
    if missing:
        raise EditError(f"No photo with id {missing[0]}.")
    return ids


def _to_event(changes: ChangeSet, current: dict[int, tuple[int, str]], photo_ids: list[int],
              event_id: int) -> None:
    for pid in photo_ids:
        before = current.get(pid)
        changes.rows.append(["event_photos", {"photo_id": pid},
                             None if before is None else {"event_id": before[0],
                                                          "source": before[1]},
                             {"event_id": event_id, "source": Source.USER}])


def _finish(s: Session, correction: Correction, description: str, changes: ChangeSet,
            events: set[int]) -> EditResult:
    """Record the user's ``correction`` (its type in ``core/edits/corrections.py``) as one edit."""
    result = record_edit(s, correction.kind, description, correction.to_params(), changes)
    renamed = rename_auto_events(s, events)
    if renamed:  # automatic names that follow the edit are part of it: undo restores them
        event = s.get(EditEvent, result.event_id)
        assert event is not None
        payload = json.loads(event.payload)
        payload.setdefault("rows", []).extend(
            ["events", {"id": eid}, {"name": old}, {"name": new}] for eid, old, new in renamed)
        event.payload = json.dumps(payload, separators=(",", ":"))
    return result


def rename_event(library: Library, event_id: int, name: str) -> EditResult:
    name = " ".join(name.split())
    if not name:
        raise EditError("An event needs a name.")
    with write_session(library) as s:
        event = _event(s, event_id)
        changes = ChangeSet(rows=[["events", {"id": event.id},
                                   {"name": event.name, "name_source": event.name_source},
                                   {"name": name[:256], "name_source": Source.USER}]])
        return _finish(s, RenameEvent(event.id, name), f"Renamed event “{event.name}” to “{name}”",
                       changes, set())


def merge_events(library: Library, target_id: int, source_ids: Iterable[int]) -> EditResult:
    sources = sorted({int(e) for e in source_ids} - {int(target_id)})
    if not sources:
        raise EditError("Merging needs another event than the target.")
    with write_session(library) as s:
        target = _event(s, target_id)
        changes = ChangeSet()
        for source_id in sources:
            _event(s, source_id)
            members = _members(s, source_id)
            _to_event(changes, _memberships(s, members), members, target.id)
        for source_id in sources:
            changes.rows.append(["events", {"id": source_id}, {"active": True},
                                 {"active": False}])
        return _finish(s, MergeEvents(target.id, tuple(sources)),
                       f"Merged {len(sources)} event(s) into “{target.name}”", changes, {target.id})


def split_event(library: Library, event_id: int, at: datetime) -> EditResult:
    """Photos of the event taken at or after ``at`` (local time) go to a new event."""
    with write_session(library) as s:
        event = _event(s, event_id)
        moments = load_moments(s, _members(s, event.id))
        later = [p for p in moments if p.taken >= at]
        if not later or len(later) == len(moments):
            raise EditError(f"Nothing to split: no photos of “{event.name}” on both sides of "
                            f"{at:%Y-%m-%d %H:%M}.")
        # The new event's row is made inactive and the edit activates it, so undo hides it
        # (never deletes it): its id is never given to another event, and redo finds it.
        new_id = int(s.scalar(select(func.max(Event.id))) or 0) + 1
        place = place_label([p.city for p in later], [p.country for p in later],
                            [p.region for p in later])
        s.execute(insert(Event).values(
            id=new_id, name=event_name(place, later[0].taken, later[-1].taken),
            name_source=Source.AUTO, active=False))
        changes = ChangeSet(rows=[["events", {"id": new_id}, {"active": False},
                                   {"active": True}]])
        ids = [p.photo_id for p in later]
        _to_event(changes, _memberships(s, ids), ids, new_id)
        return _finish(s, SplitEvent(event.id, at.isoformat(), new_id),
                       f"Split “{event.name}” at {at:%Y-%m-%d %H:%M}", changes, {event.id})


def move_photos_to_event(library: Library, photo_ids: Iterable[int],
                         event_id: int) -> EditResult:
    with write_session(library) as s:
        event = _event(s, event_id)
        ids = _checked_photos(s, photo_ids)
        current = _memberships(s, ids)
        ids = [p for p in ids if current.get(p, (None,))[0] != event.id]
        changes = ChangeSet()
        _to_event(changes, current, ids, event.id)
        touched = {event.id, *(current[p][0] for p in ids if p in current)}
        return _finish(s, MoveToEvent(tuple(ids), event.id),
                       f"Moved {len(ids)} photo(s) to “{event.name}”", changes, touched)


def shift_times(library: Library, photo_ids: Iterable[int], seconds: int) -> EditResult:
    """Move the photos' times by ``seconds`` (a camera whose clock was wrong); the files are
    never rewritten."""
    seconds = int(seconds)
    if seconds == 0:
        raise EditError("A shift of zero changes nothing.")
    if abs(seconds) > MAX_SHIFT_S:
        raise EditError("A shift of more than a hundred years is not a clock error.")
    with write_session(library) as s:
        ids = _checked_photos(s, photo_ids)
        shifts: dict[int, int] = {}
        for part in chunks(ids):
            shifts.update(s.execute(select(PhotoWhenWhere.photo_id, PhotoWhenWhere.time_shift_s)
                                    .where(PhotoWhenWhere.photo_id.in_(part))).all())
        missing = [{"photo_id": p, "time_shift_s": 0} for p in ids if p not in shifts]
        if missing:
            s.execute(insert(PhotoWhenWhere), missing)
        changes = ChangeSet(rows=[
            ["photo_when_where", {"photo_id": p}, {"time_shift_s": shifts.get(p) or 0},
             {"time_shift_s": (shifts.get(p) or 0) + seconds}] for p in ids])
        events = {eid for eid, _ in _memberships(s, ids).values()}
        sign = "+" if seconds > 0 else "-"
        return _finish(s, ShiftTimes(tuple(ids), seconds),
                       f"Shifted the time of {len(ids)} photo(s) by {sign}{_duration(seconds)}",
                       changes, events)


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts.append(f"{hours:02d}:{minutes:02d}:{secs:02d}")
    return " ".join(parts)
