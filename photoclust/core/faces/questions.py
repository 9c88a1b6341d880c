"""The questions about people whose answers fix them fastest (for a review page, and the
simulated user of ``bench/people.py``), chosen from the library alone:

- ``same_person_pairs``: "Are these the same person?" for the pairs of people whose mean faces
  are nearest (below ``MERGE_BELOW``): yes is ``merge_people``.
- ``spread_people``: "Is this one person?" for the people whose faces lie farthest from their
  mean: no is ``split_person``.
- ``faces_to_ask``: "Who is this?" for the faces in no person (not unsure), then "Is this
  <person>?" for the least sure faces the user did not place: the answer is ``move_faces`` or
  ``faces_not_this_person``.

``people_questions`` puts them in the order to ask, with what a review page or ``photoclust
review`` shows (``PeopleQuestion``); ``answer_people_question`` turns an answer into one edit of
``core/faces/editing.py``. A "no" to "Are these the same person?" is remembered
(``people_not_same``): the pair is not asked again.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from photoclust.core.faces.grouping import descriptors_of
from photoclust.core.library import Library
from photoclust.core.library.models import (
    EditEvent,
    Face,
    FaceCannotLink,
    Person,
    Photo,
    PhotoStatus,
)

#: People whose mean faces are nearer than this are asked about (the grouping joins faces nearer
#: than 0.5; a mean of a person's faces lies nearer the others' than its faces do).
MERGE_BELOW = 0.65
#: People with fewer faces are not asked "Is this one person?".
MIN_FACES_TO_SPLIT = 4


@dataclass(frozen=True)
class PeopleFaces:
    """Every face in a person (not removed, in present photos) by person, with descriptors."""

    person_ids: list[int]
    face_ids: dict[int, list[int]]
    vectors: dict[int, np.ndarray]
    means: np.ndarray  # one row per person_ids entry


def people_faces(library: Library) -> PeopleFaces:
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.descriptor)
                         .join(Photo, Photo.id == Face.photo_id)
                         .join(Person, Person.id == Face.person_id)
                         .where(Face.removed.is_(False), Person.active.is_(True),
                                Photo.status == PhotoStatus.PRESENT)
                         .order_by(Face.id)).all()
    ids: dict[int, list[int]] = defaultdict(list)
    blobs: dict[int, list[bytes]] = defaultdict(list)
    for fid, pid, blob in rows:
        if pid is None:  # the join keeps only faces in a person
            continue
        ids[pid].append(fid)
        blobs[pid].append(blob)
    people = sorted(ids)
    vectors = {p: descriptors_of(blobs[p]) for p in people}
    means = (np.stack([vectors[p].mean(axis=0) for p in people]) if people
             else np.zeros((0, 128), dtype=np.float32))
    return PeopleFaces(people, dict(ids), vectors, means)


def same_person_pairs(library: Library, limit: int = 20, data: PeopleFaces | None = None
                      ) -> list[tuple[int, int, float]]:
    """``(person, other, distance of their mean faces)``, nearest first."""
    data = data or people_faces(library)
    refused = refused_pairs(library)
    pairs: list[tuple[float, int, int]] = []
    for a in range(len(data.person_ids)):
        d = np.linalg.norm(data.means[a + 1:] - data.means[a], axis=1)
        for k in np.flatnonzero(d < MERGE_BELOW).tolist():
            pair = (data.person_ids[a], data.person_ids[a + 1 + k])
            if pair not in refused:
                pairs.append((float(d[k]), *pair))
    return [(a, b, round(dist, 4)) for dist, a, b in sorted(pairs)[:limit]]


def spread_people(library: Library, limit: int = 20, data: PeopleFaces | None = None
                  ) -> list[tuple[int, float]]:
    """``(person, mean distance of its faces to their mean)``, most spread first."""
    data = data or people_faces(library)
    out = []
    for k, pid in enumerate(data.person_ids):
        if len(data.face_ids[pid]) >= MIN_FACES_TO_SPLIT:
            spread = float(np.linalg.norm(data.vectors[pid] - data.means[k], axis=1).mean())
            out.append((pid, round(spread, 4)))
    return sorted(out, key=lambda item: (-item[1], item[0]))[:limit]


def faces_to_ask(library: Library, limit: int = 50) -> list[int]:
    """Face ids: those in no person first (not unsure), then the least sure faces the user did
    not place."""
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.confidence)
                         .join(Photo, Photo.id == Face.photo_id)
                         .where(Face.removed.is_(False), Face.unsure.is_(False),
                                Face.source == "auto", Photo.status == PhotoStatus.PRESENT)
                         ).all()
    ordered = sorted(rows, key=lambda r: (r[1] is not None, r[2] if r[2] is not None else 0.0,
                                          r[0]))
    return [fid for fid, _pid, _conf in ordered[:limit]]


def refused_pairs(library: Library) -> set[tuple[int, int]]:
    """Pairs of people (both orders) the user said are not the same person (a face of one linked
    away from the other by ``people_not_same``): not asked "Are these the same person?" again."""
    with library.session() as s:
        rows = s.execute(select(Face.person_id, FaceCannotLink.person_id)
                         .join(FaceCannotLink, FaceCannotLink.face_id == Face.id)
                         .join(EditEvent, EditEvent.id == FaceCannotLink.event_id)
                         .where(Face.person_id.is_not(None),
                                EditEvent.kind == "not_same_person")).all()
    out: set[tuple[int, int]] = set()
    for a, b in rows:
        if a is not None:
            out.update({(int(a), int(b)), (int(b), int(a))})
    return out


SAME_PERSON, IS_THIS, WHO = "same_person", "is_this", "who"
#: Faces shown per person in a "same person?" question.
FACES_PER_SIDE = 6


@dataclass(frozen=True)
class PeopleQuestion:
    """A question about people, with what to show: ``same_person`` (``person_id`` and
    ``other_person_id``, a few faces of each in ``face_ids``/``other_face_ids``), ``is_this``
    (is ``face_id`` ``person_id``?) or ``who`` (``face_id`` is in no person)."""

    kind: str
    rank: int
    person_id: int | None
    person_name: str = ""
    other_person_id: int | None = None
    other_person_name: str = ""
    face_id: int | None = None
    photo_id: int | None = None
    path: str = ""
    box: tuple[int, int, int, int] | None = None
    confidence: float | None = None
    distance: float | None = None
    face_ids: tuple[int, ...] = ()
    other_face_ids: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        from photoclust.core.faces.read import display_name

        if self.kind == SAME_PERSON:
            assert self.person_id is not None and self.other_person_id is not None
            return (f"Are {display_name(self.person_id, self.person_name)} and "
                    f"{display_name(self.other_person_id, self.other_person_name)} the same "
                    "person?")
        if self.kind == IS_THIS:
            assert self.person_id is not None
            sure = f" ({self.confidence:.0%} sure)" if self.confidence is not None else ""
            return f"Is this {display_name(self.person_id, self.person_name)}?{sure}"
        return "Who is this?"

    def to_json(self) -> dict:
        return {"rank": self.rank, "kind": self.kind, "question": self.text,
                "person_id": self.person_id, "person_name": self.person_name,
                "other_person_id": self.other_person_id,
                "other_person_name": self.other_person_name, "face_id": self.face_id,
                "photo_id": self.photo_id, "path": self.path,
                "box": list(self.box) if self.box is not None else None,
                "confidence": self.confidence, "distance": self.distance,
                "face_ids": list(self.face_ids), "other_face_ids": list(self.other_face_ids)}


def people_questions(library: Library, limit: int = 20) -> list[PeopleQuestion]:
    """The people questions in the order to ask: "Are these the same person?" for the nearest
    pairs not refused (at most a third of ``limit``; each person in one pair), then "Who is
    this?" and "Is this <person>?" for the faces of ``faces_to_ask``."""
    from photoclust.core.faces.read import list_faces

    if limit < 1:
        return []
    data = people_faces(library)
    names: dict[int, str] = {}
    if data.person_ids:
        with library.session() as s:
            names = {int(p): n for p, n in s.execute(select(Person.id, Person.name))}
    out: list[PeopleQuestion] = []
    asked: set[int] = set()
    for a, b, dist in same_person_pairs(library, limit=10 * limit, data=data):
        if len(out) >= max(1, limit // 3):
            break
        if a in asked or b in asked:
            continue
        asked.update((a, b))
        out.append(PeopleQuestion(SAME_PERSON, len(out) + 1, a, names.get(a, ""), b,
                                  names.get(b, ""), distance=dist,
                                  face_ids=tuple(data.face_ids[a][:FACES_PER_SIDE]),
                                  other_face_ids=tuple(data.face_ids[b][:FACES_PER_SIDE])))
    face_ids = faces_to_ask(library, limit=limit - len(out))
    if face_ids:
        rows = {f.id: f for f in list_faces(library) if f.id in set(face_ids)}
        for fid in face_ids:
            f = rows.get(fid)
            if f is None:
                continue
            kind = WHO if f.person_id is None else IS_THIS
            out.append(PeopleQuestion(kind, len(out) + 1, f.person_id, f.person_name or "",
                                      face_id=f.id, photo_id=f.photo_id, path=f.path, box=f.box,
                                      confidence=f.confidence))
    return out


def answer_people_question(library: Library, q: PeopleQuestion, answer: str,
                           person_id: int | None = None):
    """One answer as one edit (``EditResult``; ``None`` for ``skip``). ``yes``: the pair is
    merged (into ``person_id``), the face confirmed in its person (placed by you). ``no``: the
    pair is remembered as two people (``people_not_same``), the face leaves the person for good
    (``faces_not_this_person``). ``elsewhere`` with ``person_id`` (``None``: a new person): the
    face goes there. A "who" question takes ``elsewhere`` (or ``yes``: a new person)."""
    from photoclust.core.faces import editing

    if answer == "skip":
        return None
    if q.kind == SAME_PERSON:
        assert q.person_id is not None and q.other_person_id is not None
        if answer == "yes":
            return editing.merge_people(library, q.person_id, [q.other_person_id])
        if answer == "no":
            return editing.people_not_same(library, q.person_id, q.other_person_id)
        raise editing.EditError("answer yes or no to “are these the same person?”")
    assert q.face_id is not None
    if answer == "elsewhere" or (q.kind == WHO and answer == "yes"):
        return editing.move_faces(library, [q.face_id], person_id)
    if q.kind == IS_THIS and answer == "yes":
        return editing.move_faces(library, [q.face_id], q.person_id)
    if q.kind == IS_THIS and answer == "no":
        return editing.faces_not_this_person(library, [q.face_id], q.person_id)
    if q.kind == WHO and answer == "no":
        raise editing.EditError("say who it is (or remove the face if it is not one)")
    raise ValueError(f"unknown answer {answer!r}")
