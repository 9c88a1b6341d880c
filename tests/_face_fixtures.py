"""People without a detector: face rows with made-up descriptors written straight into the
library (people whose faces lie near a centre of their own, far from the others)."""
from __future__ import annotations

import numpy as np
from sqlalchemy import insert, select, update

from _edit_fixtures import add_photos
from photoclust.core.library.models import Face, FaceCannotLink, Person


def centres(n: int, seed: int = 0) -> np.ndarray:
    """``n`` descriptor centres about 1.4 apart (unit vectors in 128 dimensions)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n, 128))
    return (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)


def near(centre: np.ndarray, n: int, seed: int = 1, spread: float = 0.1) -> np.ndarray:
    """``n`` descriptors within about ``spread`` of ``centre``."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, 128))
    noise = noise / np.linalg.norm(noise, axis=1, keepdims=True) * spread
    return (centre[None, :] + noise).astype(np.float32)


def step_from(centre: np.ndarray, length: float, rng) -> np.ndarray:
    """A step of ``length`` from ``centre`` at right angles to it, in a direction drawn from
    ``rng``: ``centre + step`` is a face ``length`` away."""
    step = rng.standard_normal(128)
    step -= (step @ centre) * centre
    return (step / np.linalg.norm(step) * length).astype(np.float32)


def add_faces(library, descriptors, photo_ids=None, unsure=False, size=100) -> list[int]:
    """One face per descriptor, each in a new photo (or in ``photo_ids``); returns face ids."""
    descriptors = np.asarray(descriptors, dtype=np.float32)
    if photo_ids is None:
        photo_ids = add_photos(library, len(descriptors), prefix="/people/p")
    with library.session() as s:
        start = s.scalar(select(Face.id).order_by(Face.id.desc()).limit(1)) or 0
        s.execute(insert(Face), [
            {"photo_id": int(pid), "left": 10, "top": 20, "width": size, "height": size,
             "descriptor": d.astype("<f4").tobytes(), "detector_score": 1.0, "person_id": None,
             "source": "auto", "confidence": None, "unsure": unsure, "removed": False}
            for pid, d in zip(photo_ids, descriptors)])
        return list(s.scalars(select(Face.id).where(Face.id > start).order_by(Face.id)))


def person_of(library, face_ids) -> list[int | None]:
    with library.session() as s:
        found = dict(tuple(r) for r in s.execute(select(Face.id, Face.person_id)
                                                  .where(Face.id.in_(list(face_ids)))))
    return [found.get(int(f)) for f in face_ids]


def people_state(library) -> dict:
    """Active people with names, faces with person/source/removed, face cannot-links."""
    with library.session() as s:
        people = {p.id: (p.name, p.name_source) for p in
                  s.scalars(select(Person).where(Person.active.is_(True)))}
        faces = {f.id: (f.person_id, f.source, f.removed) for f in s.scalars(select(Face))}
        links = {tuple(r) for r in s.execute(select(FaceCannotLink.face_id,
                                                    FaceCannotLink.person_id))}
    return {"people": people, "faces": faces, "links": links}


def one_between(library):
    """Anna (5 faces) and Bob (4 faces) 0.8 apart, and a face half way between, put with Anna
    by the grouping with half of its near faces elsewhere: (anna, bob, between, a, b)."""
    from photoclust.core.faces.grouping import group_faces

    c = centres(1)[0]
    rng = np.random.default_rng(7)
    step = step_from(c, 0.8, rng)
    anna = add_faces(library, near(c, 5, seed=1, spread=0.05))
    bob = add_faces(library, near(c + step, 4, seed=2, spread=0.05))
    (between,) = add_faces(library, (c + step / 2)[None, :])
    group_faces(library)
    a, b = person_of(library, anna)[0], person_of(library, bob)[0]
    assert a != b
    with library.session() as s:  # as the grouping leaves such a face: in Anna, unsure
        s.execute(update(Face).where(Face.id == between).values(person_id=a, confidence=0.5))
    return anna, bob, between, a, b


def lookalikes(library, add=None):
    """Anna (6 faces) and Bea (4), two tight groups about 0.45 apart: every face of one nearer
    than the grouping's 0.5 to every face of the other, so grouped as one person, but apart at
    the stricter split threshold (0.4). ``add`` writes the faces (default ``add_faces``).
    ``(anna, bea, person)``."""
    from photoclust.core.faces.grouping import group_faces

    c = centres(1, seed=3)[0]
    rng = np.random.default_rng(11)
    step = step_from(c, 0.45, rng)
    add = add or (lambda lib, d, start=0: add_faces(lib, d))
    anna = add(library, near(c, 6, seed=1, spread=0.05))
    bea = add(library, near(c + step, 4, seed=2, spread=0.05), 6)
    group_faces(library)
    (person,) = set(person_of(library, anna + bea))
    return anna, bea, person


def people_with_a_mistake(library, photo_ids):
    """Anna (6 faces) and Bob (6) in the given photos, grouped, then two of Anna's faces put
    with Bob (a grouping mistake); returns (anna faces, bob faces, Anna's person, Bob's)."""
    from photoclust.core.faces.grouping import group_faces

    c = centres(2)
    anna = add_faces(library, near(c[0], 6, seed=1), photo_ids=photo_ids[:6])
    bob = add_faces(library, near(c[1], 6, seed=2), photo_ids=photo_ids[6:12])
    group_faces(library)
    a, b = person_of(library, anna)[0], person_of(library, bob)[0]
    with library.session() as s:
        s.execute(update(Face).where(Face.id.in_(anna[:2])).values(person_id=b))
    return anna, bob, a, b
