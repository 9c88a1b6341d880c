"""The user's corrections to people, each one ``EditEvent`` (undoable with ``photoclust undo``
and the app's Undo, like the cluster edits of ``core/clustering/editing.py``).

Every operation reads the current state, builds a ``ChangeSet`` with the before and after of each
face, person and face cannot-link it touches (``faces``, ``people``, ``face_links_added``,
``face_links_removed`` in the payload), and records it in one transaction. What it teaches the
grouping (``grouping.py``): a face the user placed (``source='user'``) never moves; a face
cannot-link ("not this person") keeps the face away from that person for good; a person the user
named is never merged automatically (the grouping merges no one).

``kind`` and ``params`` (the corrections are the types of ``core/edits/corrections.py``; Learn's
re-sorting is not a correction):

- ``name_person``: ``{"person_id", "name", "merged_into"}``. Naming a person with the name of
  another merges it into that one (``merged_into`` its id, else ``null``).
- ``merge_people``: ``{"target_id", "source_ids"}``. The sources' faces go to the target as
  placed by the user; the sources become inactive. An unnamed target takes a source's name.
- ``move_faces``: ``{"face_ids", "person_id", "created"}``. Faces placed by the user in a person
  (a new one when ``created``); each gets a cannot-link to the person it left.
- ``not_this_person``: ``{"face_ids", "person_id"}``. Faces leave the person (to be placed again
  by the next grouping, anywhere but there) with a cannot-link to it.
- ``split_person``: ``{"person_id", "parts": [[person_id, [face_ids]], ...]}``. Given faces go to
  a new person (placed by the user, cannot-linked to the old one); without them, the person's
  faces are grouped again more strictly and each further group becomes a new person.
- ``remove_faces``: ``{"face_ids"}``. Not a face (or not wanted): the face leaves its person and
  is hidden; it is never found again in that photo.
- ``not_same_person``: ``{"person_id", "other_id"}``. "Are these the same person?" answered no:
  every face of each gets a cannot-link to the other, so they are never asked about again, no
  face of one is put with the other automatically, and ``learn_people`` respects it.
- ``confirm_person``: ``{"person_id", "face_ids"}``. "Are these one person?" answered yes: no
  row changes; while it is not undone the person is not asked again (``questions.py``).
- ``learn_people``: ``{"face_ids", "moved"}``. ``people learn``: the faces the user did not
  place re-sorted after the corrections (``learn_people`` below).

A person left with no face becomes inactive (undo brings it back with its id).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from photoclust.core.edits.corrections import (
    ConfirmPerson,
    Correction,
    MergePeople,
    MoveFaces,
    NamePerson,
    NotSamePerson,
    NotThisPerson,
    RemoveFaces,
    SplitPerson,
    read_corrections,
)
from photoclust.core.edits.history import (
    ChangeSet,
    EditError,
    EditResult,
    face_state,
    person_state,
    record_edit,
    write_session,
)
from photoclust.core.faces.grouping import chinese_whispers, descriptors_of, near_pairs
from photoclust.core.faces.read import display_name
from photoclust.core.library import Library
from photoclust.core.library.models import Face, FaceCannotLink, Person

#: Distance at which a person is grouped again to be split automatically (stricter than 0.5).
SPLIT_THRESHOLD = 0.4
USER_CONFIDENCE = 1.0

__all__ = ["name_person", "merge_people", "move_faces", "faces_not_this_person", "split_person",
           "remove_faces", "learn_people", "people_not_same", "confirm_person", "EditError",
           "EditResult"]


def _person(s: Session, person_id: int) -> Person:
    person = s.get(Person, int(person_id))
    if person is None or not person.active:
        raise EditError(f"no person with id {person_id}")
    return person


def _faces(s: Session, face_ids: Iterable[int]) -> list[Face]:
    ids = sorted({int(f) for f in face_ids})
    if not ids:
        raise EditError("no faces given")
    faces = s.scalars(select(Face).where(Face.id.in_(ids))).all() if len(ids) <= 900 else [
        f for f in (s.get(Face, i) for i in ids) if f is not None]
    found = {f.id for f in faces}
    unknown = [i for i in ids if i not in found]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise EditError(f"no face with id {shown}")
    return sorted(faces, key=lambda f: f.id)


def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise EditError("a person's name cannot be empty")
    if len(cleaned) > 256:
        raise EditError("a person's name can be at most 256 characters long")
    return cleaned


def _new_person(s: Session, name: str, changes: ChangeSet) -> Person:
    """A person row created inactive; the change set activates it (undo deactivates it)."""
    person = Person(name=name, name_source="user" if name else "auto", active=False)
    s.add(person)
    s.flush()
    changes.people[person.id] = (None, {**person_state(person), "active": True})
    return person


def _links(s: Session, face_ids: list[int]) -> set[tuple[int, int]]:
    if not face_ids:
        return set()
    return {(f, p) for f, p in s.execute(select(FaceCannotLink.face_id, FaceCannotLink.person_id)
                                         .where(FaceCannotLink.face_id.in_(face_ids)))}


def _retire_emptied(s: Session, changes: ChangeSet) -> None:
    """People that the change set leaves without faces become inactive."""
    leaving: dict[int, set[int]] = defaultdict(set)
    for fid, (before, after) in changes.faces.items():
        if before is not None and before[0] is not None and (after is None
                                                             or after[0] != before[0]
                                                             or after[2]):
            leaving[before[0]].add(fid)
    for pid, fids in leaving.items():
        remaining = set(s.scalars(select(Face.id).where(Face.person_id == pid,
                                                        Face.removed.is_(False))))
        arriving = {fid for fid, (_b, a) in changes.faces.items()
                    if a is not None and a[0] == pid and not a[2]}
        if not (remaining - fids) and not arriving:
            person = s.get(Person, pid)
            if person is not None and person.active and pid not in changes.people:
                changes.people[pid] = (person_state(person),
                                       {**person_state(person), "active": False})


def _place(s: Session, faces: list[Face], person_id: int, changes: ChangeSet,
           link_old: bool = True) -> None:
    """The user put ``faces`` in ``person_id``."""
    links = _links(s, [f.id for f in faces])
    for face in faces:
        after = (person_id, "user", False, USER_CONFIDENCE)
        before = face_state(face)
        if before != after:
            changes.faces[face.id] = (before, after)
        if link_old and face.person_id is not None and face.person_id != person_id:
            changes.face_links_added.add((face.id, face.person_id))
        if (face.id, person_id) in links:
            changes.face_links_removed.add((face.id, person_id))


def _record(s: Session, kind: str, description: str, params: dict,
            changes: ChangeSet) -> EditResult:
    _retire_emptied(s, changes)
    if changes.is_empty():
        raise EditError("nothing to change")
    result = record_edit(s, kind, description, params, changes)
    from photoclust.core.faces.grouping import refresh_covers

    # The people faces join and the people faces leave: a cover that left is replaced.
    refresh_covers(s, sorted({pid for pid in changes.people}
                             | {state[0] for pair in changes.faces.values() for state in pair
                                if state is not None and state[0] is not None}))
    return result


def _correct(s: Session, correction: Correction, description: str,
             changes: ChangeSet) -> EditResult:
    """Record the user's ``correction`` (its type in ``core/edits/corrections.py``) as one edit."""
    return _record(s, correction.kind, description, correction.to_params(), changes)


def _merge(s: Session, target: Person, sources: list[Person], changes: ChangeSet) -> None:
    for source in sources:
        faces = s.scalars(select(Face).where(Face.person_id == source.id,
                                             Face.removed.is_(False))).all()
        _place(s, list(faces), target.id, changes, link_old=False)
        changes.people[source.id] = (person_state(source),
                                     {**person_state(source), "active": False})
    if target.name_source != "user":
        named = [p for p in sources if p.name_source == "user"]
        if named:
            changes.people[target.id] = (person_state(target),
                                         {**person_state(target), "name": named[0].name,
                                          "name_source": "user"})


def name_person(library: Library, person_id: int, name: str) -> EditResult:
    """Name a person; a name another person has merges this one into it."""
    name = _clean_name(name)
    with write_session(library) as s:
        person = _person(s, person_id)
        twin = s.scalars(select(Person).where(Person.active.is_(True), Person.id != person.id,
                                              Person.name_source == "user")).all()
        twin = [p for p in twin if p.name.casefold() == name.casefold()]
        changes = ChangeSet()
        old = display_name(person.id, person.name)
        if twin:
            target = twin[0]
            _merge(s, target, [person], changes)
            description = f"Named {old} “{target.name}” (merged with {target.name})"
            return _correct(s, NamePerson(person.id, name, target.id), description, changes)
        if person.name == name and person.name_source == "user":
            raise EditError(f"this person is already named “{name}”")
        changes.people[person.id] = (person_state(person),
                                     {**person_state(person), "name": name,
                                      "name_source": "user"})
        return _correct(s, NamePerson(person.id, name), f"Named {old} “{name}”", changes)


def merge_people(library: Library, target_id: int, source_ids: Iterable[int]) -> EditResult:
    """Merge the people ``source_ids`` into ``target_id`` (one person)."""
    with write_session(library) as s:
        target = _person(s, target_id)
        ids = sorted({int(i) for i in source_ids} - {target.id})
        if not ids:
            raise EditError("name at least one other person to merge")
        sources = [_person(s, i) for i in ids]
        changes = ChangeSet()
        _merge(s, target, sources, changes)
        after = changes.people.get(target.id, (None, person_state(target)))[1] or {}
        label = display_name(target.id, after.get("name", target.name))
        what = (display_name(sources[0].id, sources[0].name) if len(sources) == 1
                else f"{len(sources)} people")
        return _correct(s, MergePeople(target.id, tuple(ids)), f"Merged {what} into {label}",
                        changes)


def move_faces(library: Library, face_ids: Iterable[int], person_id: int | None = None,
               name: str = "") -> EditResult:
    """Put faces in ``person_id`` (``None``: a new person, named ``name`` if given)."""
    with write_session(library) as s:
        faces = _faces(s, face_ids)
        changes = ChangeSet()
        created = person_id is None
        if created:
            target = _new_person(s, " ".join(name.split()), changes)
        else:
            target = _person(s, int(person_id))  # type: ignore[arg-type]
        _place(s, faces, target.id, changes)
        label = display_name(target.id, target.name)
        n = len(faces)
        return _correct(s, MoveFaces(tuple(f.id for f in faces), target.id, created),
                        f"Moved {n} face{'s' * (n != 1)} to {label}", changes)


def faces_not_this_person(library: Library, face_ids: Iterable[int],
                          person_id: int | None = None) -> EditResult:
    """"Not this person": the faces leave ``person_id`` (default: the person each is in) and
    never return to it."""
    with write_session(library) as s:
        faces = _faces(s, face_ids)
        if person_id is not None:
            _person(s, person_id)
        changes = ChangeSet()
        links = _links(s, [f.id for f in faces])
        people: set[int] = set()
        for face in faces:
            pid = int(person_id) if person_id is not None else face.person_id
            if pid is None:
                raise EditError(f"face {face.id} is in no person; say which person it is not")
            people.add(pid)
            if face.person_id == pid:
                changes.faces[face.id] = (face_state(face), (None, "auto", False, None))
            if (face.id, pid) not in links:
                changes.face_links_added.add((face.id, pid))
        label = ", ".join(sorted(display_name(p, _person_name(s, p)) for p in people))
        n = len(faces)
        return _correct(s, NotThisPerson(tuple(f.id for f in faces),
                                         None if person_id is None else int(person_id)),
                        f"{n} face{'s' * (n != 1)} not {label}", changes)


def _person_name(s: Session, person_id: int) -> str:
    person = s.get(Person, person_id)
    return "" if person is None else person.name


def remove_faces(library: Library, face_ids: Iterable[int]) -> EditResult:
    """Not a face: hidden and out of its person, never found again in that photo."""
    with write_session(library) as s:
        faces = [f for f in _faces(s, face_ids) if not f.removed]
        if not faces:
            raise EditError("these faces are removed already")
        changes = ChangeSet()
        for face in faces:
            changes.faces[face.id] = (face_state(face), (None, face.source, True, None))
        n = len(faces)
        return _correct(s, RemoveFaces(tuple(f.id for f in faces)),
                        f"Removed {n} face{'s' * (n != 1)}", changes)


def split_person(library: Library, person_id: int, face_ids: Iterable[int] | None = None,
                 threshold: float = SPLIT_THRESHOLD) -> EditResult:
    """Split a person: ``face_ids`` become a new person; without them, the person's faces are
    grouped again at ``threshold`` and each group but the largest becomes a new person."""
    with write_session(library) as s:
        person = _person(s, person_id)
        members = s.scalars(select(Face).where(Face.person_id == person.id,
                                               Face.removed.is_(False))
                            .order_by(Face.id)).all()
        changes = ChangeSet()
        label = display_name(person.id, person.name)
        if face_ids is not None:
            faces = _faces(s, face_ids)
            outside = [f.id for f in faces if f.person_id != person.id]
            if outside:
                raise EditError(f"face {outside[0]} is not in {label}")
            if len(faces) == len(members):
                raise EditError("leave at least one face in the person to split it")
            new = _new_person(s, "", changes)
            _place(s, faces, new.id, changes)
            parts = [(new.id, tuple(f.id for f in faces))]
        else:
            vectors = descriptors_of([f.descriptor for f in members])
            i, j, _ = near_pairs(vectors, None, threshold)
            labels = chinese_whispers(len(members), i, j)
            groups = sorted((np.flatnonzero(labels == lab).tolist() for lab in np.unique(labels)),
                            key=lambda g: (-len(g), g[0]))
            groups = [g for g in groups if len(g) >= 2] or groups[:1]
            if len(groups) < 2:
                raise EditError(f"{label} looks like one person; give the faces to split off")
            parts = []
            for group in groups[1:]:
                new = _new_person(s, "", changes)
                for k in group:
                    face = members[k]
                    before = face_state(face)
                    changes.faces[face.id] = (before, (new.id, face.source, False,
                                                       face.confidence))
                parts.append((new.id, tuple(members[k].id for k in group)))
        return _correct(s, SplitPerson(person.id, tuple(parts)),
                        f"Split {label} in {len(parts) + 1}", changes)


def learn_people(library: Library, threshold: float | None = None) -> EditResult | None:
    """Re-sort the faces the user did not place, after the user's corrections: each such face
    goes to the person most of its near placed faces (at most ``VOTERS``, nearer than the
    grouping's threshold) are in, when more of them are there than in its own person, the
    user did not say it is not that person and that person holds no face of its photo (two
    faces of one photo are two people, as in the grouping). Faces the user placed, unsure and
    removed faces stay; no two people are merged. One undoable edit (``learn_people``);
    ``None`` when nothing moves.
    """
    from photoclust.core.faces.grouping import THRESHOLD, VOTERS

    threshold = THRESHOLD if threshold is None else threshold
    with write_session(library) as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.source, Face.descriptor,
                                Face.photo_id)
                         .join(Person, Person.id == Face.person_id)
                         .where(Face.removed.is_(False), Face.unsure.is_(False),
                                Person.active.is_(True))
                         .order_by(Face.id)).all()
        if not rows:
            return None
        persons = np.array([r[1] for r in rows], dtype=np.int64)
        vectors = descriptors_of([r[3] for r in rows])
        links: dict[int, set[int]] = defaultdict(set)
        for fid, pid in s.execute(select(FaceCannotLink.face_id, FaceCannotLink.person_id)):
            links[fid].add(pid)
        i, j, d = near_pairs(vectors, None, threshold)
        near: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for a, b, dist in zip(i.tolist(), j.tolist(), d.tolist()):
            near[a].append((dist, b))
            near[b].append((dist, a))
        taken = set(zip(persons.tolist(), (int(r[4]) for r in rows)))  # (person, photo) held
        moves: dict[int, tuple[int, float]] = {}
        for row, (fid, _pid, source, _blob, photo) in enumerate(rows):
            if source != "auto" or not near.get(row):
                continue
            voters = sorted(near[row])[:VOTERS]
            votes: dict[int, int] = defaultdict(int)
            for _dist, other in voters:
                votes[int(persons[other])] += 1
            own = int(persons[row])
            best = max((p for p in votes if p not in links.get(fid, ())
                         and (p == own or (p, int(photo)) not in taken)),
                       key=lambda p: (votes[p], p == own), default=own)
            if best != own and votes[best] > votes.get(own, 0):
                moves[fid] = (best, round(votes[best] / len(voters), 4))
                taken.add((best, int(photo)))
        if not moves:
            return None
        changes = ChangeSet()
        for face in s.scalars(select(Face).where(Face.id.in_(list(moves)))):
            person, confidence = moves[face.id]
            changes.faces[face.id] = (face_state(face), (person, "auto", False, confidence))
        n = len(moves)
        return _record(s, "learn_people",
                       f"Re-sorted {n} face{'s' * (n != 1)} you did not place",
                       {"face_ids": sorted(moves), "moved": n}, changes)


def people_not_same(library: Library, person_id: int, other_id: int) -> EditResult:
    """"Are these the same person?" answered no: each face of either person gets a cannot-link
    to the other (the pair is not asked again, and no face of one goes to the other
    automatically). One undoable edit (``not_same_person``)."""
    if int(person_id) == int(other_id):
        raise EditError("a person is always the same person as itself")
    with write_session(library) as s:
        a, b = _person(s, person_id), _person(s, other_id)
        changes = ChangeSet()
        for mine, other in ((a, b), (b, a)):
            face_ids = list(s.scalars(select(Face.id).where(Face.person_id == mine.id,
                                                            Face.removed.is_(False))))
            links = _links(s, face_ids)
            changes.face_links_added.update((fid, other.id) for fid in face_ids
                                            if (fid, other.id) not in links)
        if changes.is_empty():
            raise EditError("already answered: these are not the same person")
        return _correct(s, NotSamePerson(a.id, b.id),
                        f"{display_name(a.id, a.name)} and {display_name(b.id, b.name)} are not "
                        "the same person", changes)


def confirm_person(library: Library, person_id: int) -> EditResult:
    """"Are these one person?" answered yes: one undoable edit (``confirm_person``) that changes
    no row and records the person's faces; while it is not undone the person is not asked
    again."""
    with write_session(library) as s:
        person = _person(s, person_id)
        if any(isinstance(r.correction, ConfirmPerson) and r.correction.person_id == person.id
               and not r.undone for r in read_corrections(s, [ConfirmPerson])):
            raise EditError("already answered: these faces are one person")
        face_ids = tuple(s.scalars(select(Face.id).where(Face.person_id == person.id,
                                                         Face.removed.is_(False))
                                   .order_by(Face.id)))
        correction = ConfirmPerson(person.id, face_ids)
        return record_edit(s, correction.kind,
                           f"{display_name(person.id, person.name)} is one person",
                           correction.to_params(), ChangeSet())
