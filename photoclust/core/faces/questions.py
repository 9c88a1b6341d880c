"""The questions about people whose answers fix them fastest (for a review page, and the
simulated user of ``bench/people.py``), chosen from the library alone. Each question carries
``expected``: how many faces its answer is expected to fix, the chance that the faces it is about
are placed wrong times how many faces the answer places, so that a review can put it among the
photo questions by the same measure (``core/learning/review_queue.py``):

- ``same_person_pairs``: "Are these the same person?" only for pairs of people that might be
  one: their mean faces nearer than ``MERGE_BELOW`` (a cheap first cut) and, face by face, nearer
  on average than ``SAME_BELOW`` (dlib's own distance for "the same person"; the grouping joins
  faces only under its stricter 0.5). The chance of "yes" is the share of their pairs of faces
  nearer than ``SAME_BELOW``; a yes fixes the faces of the smaller one: ``expected`` is the
  product. Yes is ``merge_people``.
- ``spread_people``: "Is this one person?" for the people whose faces lie farthest from their
  mean: no is ``split_person``.
- ``faces_to_ask``: "Who is this?" for the faces in no person (not unsure; ``expected`` 1: the
  face is placed by the answer), then "Is this <person>?" for the faces the user did not place
  that are unsure: fewer than all of their near faces (at most ``VOTERS`` nearer than the
  grouping's threshold) in their person, counted now (an earlier merge may have settled them, a
  move unsettled them) for the faces the grouping was unsure of and those of the people the user
  changed, least sure first; ``expected`` is 1 - that share. A face all of whose near faces
  are in its person is not asked: when none is unsure, there is no such question. The answer
  is ``move_faces`` or ``faces_not_this_person``.

``people_questions`` puts them in the order to ask (most expected fixes first), with what a
review page or ``photoclust review`` shows (``PeopleQuestion``); ``answer_people_question``
turns an answer into one edit of ``core/faces/editing.py``. A "no" to "Are these the same
person?" is remembered (``people_not_same``): the pair is not asked again.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select

from photoclust.core.faces.grouping import THRESHOLD, VOTERS, descriptors_of
from photoclust.core.library import Library
from photoclust.core.library.models import (
    EditEvent,
    Face,
    FaceCannotLink,
    Person,
    Photo,
    PhotoStatus,
)

#: People whose mean faces are nearer than this are looked at face by face (the grouping joins
#: faces nearer than 0.5; a mean of a person's faces lies nearer the others' than its faces do).
MERGE_BELOW = 0.65
#: Two faces nearer than this may be of one person: the distance dlib's face descriptor was made
#: for ("below 0.6: the same person", dlib's face recognition example). Two people are asked
#: "the same person?" only when their faces are, on average, nearer than this.
SAME_BELOW = 0.6
#: Faces of a person compared at most, per side, when two people are weighed (the first ones).
PAIR_FACES = 200
#: Faces whose doubt is counted again for a review at most (each against every face: bounded
#: time in a library of 100,000 faces).
RECOUNT = 2048
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
    """``(person, other, distance of their mean faces)`` for the pairs that might be one person,
    most expected fixes first (``same_person_candidates``)."""
    return [(a, b, dist) for a, b, dist, _share, _expected in
            same_person_candidates(library, limit, data)]


def same_person_candidates(library: Library, limit: int = 20, data: PeopleFaces | None = None
                           ) -> list[tuple[int, int, float, float, float]]:
    """``(person, other, mean-face distance, share of their face pairs nearer than SAME_BELOW,
    expected faces fixed)`` for the pairs not refused whose faces are nearer than
    ``SAME_BELOW`` on average, most expected fixes first (then nearest)."""
    data = data or people_faces(library)
    refused = refused_pairs(library)
    pairs: list[tuple[float, float, int, int, float]] = []
    for a in range(len(data.person_ids)):
        d = np.linalg.norm(data.means[a + 1:] - data.means[a], axis=1)
        for k in np.flatnonzero(d < MERGE_BELOW).tolist():
            pa, pb = data.person_ids[a], data.person_ids[a + 1 + k]
            if (pa, pb) in refused:
                continue
            va, vb = data.vectors[pa][:PAIR_FACES], data.vectors[pb][:PAIR_FACES]
            cross = np.sqrt(np.maximum(
                (va * va).sum(1)[:, None] + (vb * vb).sum(1)[None, :] - 2.0 * va @ vb.T, 0.0))
            if float(cross.mean()) >= SAME_BELOW:
                continue  # clearly two people: not asked
            share = float((cross < SAME_BELOW).mean())
            expected = share * min(len(data.face_ids[pa]), len(data.face_ids[pb]))
            pairs.append((-expected, float(d[k]), pa, pb, share))
    pairs.sort()
    return [(a, b, round(dist, 4), round(share, 4), round(-neg, 4))
            for neg, dist, a, b, share in pairs[:limit]]


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
    """Face ids: those in no person first (not unsure), then the unsure faces the user did not
    place, least sure first (``unsure_faces``)."""
    return [fid for fid, _share in faces_with_doubt(library, limit)]


def faces_with_doubt(library: Library, limit: int = 50) -> list[tuple[int, float | None]]:
    """``(face, share of its near faces in its person)``: the faces in no person (share
    ``None``), then the unsure faces the user did not place, least sure first; at most
    ``limit``."""
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.source, Face.confidence,
                                Face.descriptor)
                         .join(Photo, Photo.id == Face.photo_id)
                         .where(Face.removed.is_(False), Face.unsure.is_(False),
                                Photo.status == PhotoStatus.PRESENT)
                         .order_by(Face.id)).all()
    if limit < 1 or not rows:
        return []
    out: list[tuple[int, float | None]] = []
    out += [(int(r[0]), None) for r in rows if r[1] is None and r[2] == "auto"][:limit]
    if len(out) >= limit:
        return out
    # Counted again against the library as it is: the faces the grouping was not sure of
    # (fewer than all near faces in their person when it placed them), and those of people the
    # user changed since (faces placed in them or sent away from them: their near faces may
    # have moved), least sure first, at most RECOUNT.
    touched = touched_people(library)
    doubtful = sorted((r for r in rows if r[1] is not None and r[2] == "auto"
                       and (r[3] is None or r[3] < 1.0 or r[1] in touched)),
                      key=lambda r: (r[3] if r[3] is not None else 0.0, r[0]))
    doubtful = doubtful[:max(RECOUNT, 2 * limit)]
    if not doubtful:
        return out
    persons = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
    vectors = descriptors_of([r[4] for r in rows])
    row_of = {int(r[0]): k for k, r in enumerate(rows)}
    shares = unsure_shares(vectors, persons, [row_of[int(r[0])] for r in doubtful])
    ranked = sorted((share, int(r[0])) for r, share in zip(doubtful, shares) if share < 1.0)
    return out + [(fid, round(share, 4)) for share, fid in ranked[:limit - len(out)]]


def touched_people(library: Library) -> set[int]:
    """People the user changed: with a face the user placed, or a face sent away from them."""
    with library.session() as s:
        placed = s.scalars(select(Face.person_id).where(Face.source == "user",
                                                        Face.person_id.is_not(None)).distinct())
        away = s.scalars(select(FaceCannotLink.person_id).distinct())
        return {int(p) for p in (*placed, *away) if p is not None}


def unsure_shares(vectors: np.ndarray, persons: np.ndarray, rows: list[int],
                  block: int = 256) -> list[float]:
    """For each row, the share of its near faces (at most ``VOTERS`` other faces nearer than
    the grouping's threshold, nearest first) that are in its person; 0 when none is near."""
    out: list[float] = []
    sq = (vectors * vectors).sum(1)
    for start in range(0, len(rows), block):
        part = np.asarray(rows[start:start + block], dtype=np.int64)
        d = np.sqrt(np.maximum(sq[part][:, None] + sq[None, :] - 2.0 * vectors[part] @ vectors.T,
                               0.0))
        d[np.arange(len(part)), part] = np.inf  # not itself
        for k, row in enumerate(part.tolist()):
            near = np.flatnonzero(d[k] < THRESHOLD)
            near = near[np.argsort(d[k][near], kind="stable")][:VOTERS]
            out.append(float((persons[near] == persons[row]).mean()) if len(near) else 0.0)
    return out


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
    #: How many faces the answer is expected to fix (see the module docstring).
    expected: float = 0.0

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
                "face_ids": list(self.face_ids), "other_face_ids": list(self.other_face_ids),
                "expected_fix": self.expected}


def people_questions(library: Library, limit: int = 20) -> list[PeopleQuestion]:
    """The people questions in the order to ask, most expected fixes first (ties: "the same
    person?" first, then "Who is this?", then "Is this <person>?"): "Are these the same person?"
    for the pairs of ``same_person_candidates`` (each person in one pair), "Who is this?" and
    "Is this <person>?" for the faces of ``faces_with_doubt``; at most ``limit``."""
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
    for a, b, dist, _share, expected in same_person_candidates(library, limit=10 * limit,
                                                                data=data):
        if len(out) >= limit:
            break
        if a in asked or b in asked:
            continue
        asked.update((a, b))
        out.append(PeopleQuestion(SAME_PERSON, 0, a, names.get(a, ""), b,
                                  names.get(b, ""), distance=dist,
                                  face_ids=tuple(data.face_ids[a][:FACES_PER_SIDE]),
                                  other_face_ids=tuple(data.face_ids[b][:FACES_PER_SIDE]),
                                  expected=expected))
    doubt = faces_with_doubt(library, limit=limit)
    if doubt:
        wanted = {fid for fid, _share in doubt}
        rows = {f.id: f for f in list_faces(library) if f.id in wanted}
        for fid, share in doubt:
            f = rows.get(fid)
            if f is None:
                continue
            kind = WHO if f.person_id is None else IS_THIS
            out.append(PeopleQuestion(kind, 0, f.person_id, f.person_name or "",
                                      face_id=f.id, photo_id=f.photo_id, path=f.path, box=f.box,
                                      confidence=f.confidence if share is None else share,
                                      expected=1.0 if share is None else round(1.0 - share, 4)))
    order = {SAME_PERSON: 0, WHO: 1, IS_THIS: 2}
    out.sort(key=lambda q: (-q.expected, order[q.kind]))  # stable: each kind keeps its order
    return [replace(q, rank=k) for k, q in enumerate(out[:limit], 1)]


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
