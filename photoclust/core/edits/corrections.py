"""Every kind of correction the user makes, as one typed shape: what the user asked, stored as the
``params`` of the edit that made it (``EditEvent.kind`` names the type).

There is one store: the edit history. ``core/clustering/editing.py`` writes a correction as an
undoable edit (``record_edit`` with ``correction.kind`` and ``correction.to_params()``), and
``core/learning/constraints.py`` reads them back with ``read_corrections`` as these dataclasses,
each with whether it was undone. The rows an edit changes (assignments with ``source='user'``,
``cannot_links``) are the applied state of the same edits, kept as tables so that the learner
reads a million labels in one query; undo changes them back with the event.

A new kind of correction is a new subclass here, with its ``kind`` and its fields (``int``,
``str``, ``bool``, ``int | None`` or ``tuple`` of them): it registers itself in ``CORRECTIONS``;
its writer goes in the editing module of what it corrects (``core/clustering/editing.py`` for
clusters,
``core/faces/editing.py`` for people, ``core/events/editing.py`` for events: one function that
builds the change set and records the correction), and what it means for learning where that
learning reads it (``core/learning/constraints.py`` for clusters; the face grouping reads the
faces the user placed and their cannot-links from the rows the edit changed). Nothing else
changes: no table, no settings key. The people and event corrections below were added that way.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from photoclust.core.library.models import EditEvent

#: ``EditEvent.kind`` -> the correction type stored under it (filled by subclassing).
CORRECTIONS: dict[str, type[Correction]] = {}

C = TypeVar("C", bound="Correction")


@dataclass(frozen=True)
class Correction:
    """What the user asked for in one edit. Subclasses set ``kind`` (the ``EditEvent.kind``) and
    declare their fields; ``to_params``/``from_params`` turn them into the event's JSON and back
    (tuples as lists)."""

    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            if cls.kind in CORRECTIONS:
                raise TypeError(f"two correction types with kind {cls.kind!r}")
            CORRECTIONS[cls.kind] = cls

    def to_params(self) -> dict:
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_params(cls: type[C], params: dict) -> C | None:
        """The correction these params record, or ``None`` when they do not have its shape (an
        event written by another version: skipped, never a crash)."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in params:
                if f.default is not dataclasses.MISSING:
                    continue
                return None
            value = _from_json(params[f.name])
            if value is _BAD:
                return None
            values[f.name] = value
        try:
            return cls(**values)
        except (TypeError, ValueError):
            return None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if not _well_typed(getattr(self, f.name), str(f.type)):
                raise ValueError(f"{type(self).__name__}.{f.name}: unexpected "
                                 f"{getattr(self, f.name)!r}")


_BAD = object()


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        items = [_from_json(v) for v in value]
        return _BAD if any(v is _BAD for v in items) else tuple(items)
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return value
    return _BAD


def _well_typed(value: Any, annotation: str) -> bool:
    """A light check of a field against its annotation (as a string: ``from __future__``)."""
    if annotation == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation == "str":
        return isinstance(value, str)
    if annotation == "bool":
        return isinstance(value, bool)
    if annotation.endswith(" | None"):
        return value is None or _well_typed(value, annotation[:-len(" | None")])
    if annotation.startswith("tuple[") and annotation.endswith(", ...]"):
        inner = annotation[len("tuple["):-len(", ...]")]
        return isinstance(value, tuple) and all(_well_typed(v, inner) for v in value)
    if annotation.startswith("tuple["):  # a fixed pair, e.g. tuple[int, tuple[int, ...]]
        inner = annotation[len("tuple["):-1]
        parts = _split_top(inner)
        return isinstance(value, tuple) and len(value) == len(parts) and \
            all(_well_typed(v, p) for v, p in zip(value, parts))
    return True


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


# -- the kinds of correction ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rename(Correction):
    """The user named a cluster (re-clustering never overwrites the name)."""

    kind: ClassVar[str] = "rename"
    cluster_id: int
    name: str


@dataclass(frozen=True)
class Move(Correction):
    """These photos are in that cluster (labels), and not in the one they left (cannot-links)."""

    kind: ClassVar[str] = "move"
    photo_ids: tuple[int, ...]
    to_cluster_id: int


@dataclass(frozen=True)
class Merge(Correction):
    """The sources' photos belong in the target. Undone: do not suggest this merge again."""

    kind: ClassVar[str] = "merge"
    target_id: int
    source_ids: tuple[int, ...]


@dataclass(frozen=True)
class Split(Correction):
    """The parts (``(cluster_id, photo_ids)``) are not one cluster: never suggested for merging
    again."""

    kind: ClassVar[str] = "split"
    cluster_id: int
    k: int
    model: str
    parts: tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True)
class NewCluster(Correction):
    """These photos are a cluster of their own (like ``Move`` into a new cluster)."""

    kind: ClassVar[str] = "new_cluster"
    cluster_id: int
    photo_ids: tuple[int, ...]
    name: str


@dataclass(frozen=True)
class Remove(Correction):
    """These photos are not in the cluster they were in (cannot-links)."""

    kind: ClassVar[str] = "remove"
    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class Confirm(Correction):
    """These photos are where they are (labels)."""

    kind: ClassVar[str] = "confirm"
    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class NotInCluster(Correction):
    """These photos are not in that cluster (cannot-links), wherever they are."""

    kind: ClassVar[str] = "not_in_cluster"
    photo_ids: tuple[int, ...]
    cluster_id: int


@dataclass(frozen=True)
class RefuseSuggestion(Correction):
    """The user answered no to a review suggestion: merge ``other_cluster_id`` into
    ``cluster_id`` (``suggestion="merge"``) or split ``cluster_id`` (``"split"``, no other
    cluster). It changes no row; while it is not undone the suggestion is not made again."""

    kind: ClassVar[str] = "refuse_suggestion"
    suggestion: str
    cluster_id: int
    other_cluster_id: int | None = None


# -- people (written by core/faces/editing.py) ---------------------------------------------------

@dataclass(frozen=True)
class NamePerson(Correction):
    """The user named a person; a name another person has merges this one into it
    (``merged_into``). A named person is never merged automatically."""

    kind: ClassVar[str] = "name_person"
    person_id: int
    name: str
    merged_into: int | None = None


@dataclass(frozen=True)
class MergePeople(Correction):
    """The sources' faces are the target's (placed by the user)."""

    kind: ClassVar[str] = "merge_people"
    target_id: int
    source_ids: tuple[int, ...]


@dataclass(frozen=True)
class MoveFaces(Correction):
    """These faces are that person (a new one when ``created``), and not the one they left
    (face cannot-links)."""

    kind: ClassVar[str] = "move_faces"
    face_ids: tuple[int, ...]
    person_id: int
    created: bool = False


@dataclass(frozen=True)
class NotThisPerson(Correction):
    """These faces are not that person: they never return to it."""

    kind: ClassVar[str] = "not_this_person"
    face_ids: tuple[int, ...]
    person_id: int | None = None


@dataclass(frozen=True)
class SplitPerson(Correction):
    """The parts (``(person_id, face_ids)``) are not the person they were split from."""

    kind: ClassVar[str] = "split_person"
    person_id: int
    parts: tuple[tuple[int, tuple[int, ...]], ...]


@dataclass(frozen=True)
class RemoveFaces(Correction):
    """Not a face (or not wanted): never found again in its photo."""

    kind: ClassVar[str] = "remove_faces"
    face_ids: tuple[int, ...]


@dataclass(frozen=True)
class NotSamePerson(Correction):
    """"Are these the same person?" answered no: never put together, never asked again."""

    kind: ClassVar[str] = "not_same_person"
    person_id: int
    other_id: int


@dataclass(frozen=True)
class ConfirmPerson(Correction):
    """"Are these one person?" answered yes: the person's faces (``face_ids``, those it had then)
    are one person. It changes no row; while it is not undone the person is not asked again."""

    kind: ClassVar[str] = "confirm_person"
    person_id: int
    face_ids: tuple[int, ...]


# -- events (written by core/events/editing.py) --------------------------------------------------

@dataclass(frozen=True)
class RenameEvent(Correction):
    """The user named an event (regrouping never overwrites the name)."""

    kind: ClassVar[str] = "event_rename"
    event_id: int
    name: str


@dataclass(frozen=True)
class MergeEvents(Correction):
    """The sources' photos are the target event's."""

    kind: ClassVar[str] = "event_merge"
    target_id: int
    source_ids: tuple[int, ...]


@dataclass(frozen=True)
class SplitEvent(Correction):
    """The event's photos taken at or after ``at`` (ISO 8601, local time) are another event."""

    kind: ClassVar[str] = "event_split"
    event_id: int
    at: str
    new_event_id: int


@dataclass(frozen=True)
class MoveToEvent(Correction):
    """These photos belong to that event."""

    kind: ClassVar[str] = "event_move"
    photo_ids: tuple[int, ...]
    event_id: int


@dataclass(frozen=True)
class ShiftTimes(Correction):
    """These photos' camera clock was off by ``seconds`` (the files are never rewritten)."""

    kind: ClassVar[str] = "time_shift"
    photo_ids: tuple[int, ...]
    seconds: int


# -- reading them back ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordedCorrection:
    """A correction as the history holds it: its edit, and whether the user took it back."""

    event_id: int
    correction: Correction
    undone: bool


def read_corrections(s: Session,
                     types: Iterable[type[Correction]] | None = None) -> list[RecordedCorrection]:
    """The corrections of the history (of ``types``; all kinds when ``None``), oldest first,
    undone ones included (flagged). Events of other kinds (clustering runs, Learn) and events
    whose params do not have their type's shape are left out."""
    wanted = {t.kind: t for t in types} if types is not None else dict(CORRECTIONS)
    # Only the params travel (SQLite's JSON functions): a move of thousands of photos stores
    # their before and after rows in the same payload, which nobody needs here.
    params_json = case((func.json_valid(EditEvent.payload),
                        func.json_extract(EditEvent.payload, "$.params")), else_=None)
    out = []
    for event_id, kind, params_text, undone in s.execute(
            select(EditEvent.id, EditEvent.kind, params_json, EditEvent.undone)
            .where(EditEvent.kind.in_(sorted(wanted))).order_by(EditEvent.id)):
        params = _params(params_text)
        correction = wanted[kind].from_params(params) if params is not None else None
        if correction is not None:
            out.append(RecordedCorrection(int(event_id), correction, bool(undone)))
    return out


def _params(params_text: str | None) -> dict | None:
    try:
        params = json.loads(params_text) if params_text is not None else None
    except (TypeError, ValueError):
        return None
    return params if isinstance(params, dict) else None
