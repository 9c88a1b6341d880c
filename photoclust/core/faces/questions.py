"""The questions about people whose answers fix them fastest (for a review page, and the
simulated user of ``bench/people.py``), chosen from the library alone:

- ``same_person_pairs``: "Are these the same person?" for the pairs of people whose mean faces
  are nearest (below ``MERGE_BELOW``): yes is ``merge_people``.
- ``spread_people``: "Is this one person?" for the people whose faces lie farthest from their
  mean: no is ``split_person``.
- ``faces_to_ask``: "Who is this?" for the faces in no person (not unsure), then "Is this
  <person>?" for the least sure faces the user did not place: the answer is ``move_faces`` or
  ``faces_not_this_person``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from photoclust.core.faces.grouping import descriptors_of
from photoclust.core.library import Library
from photoclust.core.library.models import Face, Person, Photo, PhotoStatus

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
    pairs: list[tuple[float, int, int]] = []
    for a in range(len(data.person_ids)):
        d = np.linalg.norm(data.means[a + 1:] - data.means[a], axis=1)
        for k in np.flatnonzero(d < MERGE_BELOW).tolist():
            pairs.append((float(d[k]), data.person_ids[a], data.person_ids[a + 1 + k]))
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
