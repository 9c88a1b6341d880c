"""The questions about people: nearest pairs of people, most spread people, faces to ask."""
from __future__ import annotations

import numpy as np

from _face_fixtures import add_faces, centres, near, one_between, person_of, step_from
from photoclust.core.faces import questions
from photoclust.core.faces.editing import move_faces
from photoclust.core.faces.grouping import group_faces


def test_a_person_split_in_two_is_the_first_pair_asked_about(library):
    c = centres(3)
    anna = add_faces(library, near(c[0], 6, seed=1))
    add_faces(library, near(c[1], 4, seed=2))
    group_faces(library)
    (a,) = set(person_of(library, anna))
    # The user's own mistake: half of Anna put in a new person.
    move_faces(library, anna[:3], None)
    (twin,) = set(person_of(library, anna[:3]))
    pairs = questions.same_person_pairs(library)
    assert [(x, y) for x, y, _ in pairs] == [(a, twin)]
    assert pairs[0][2] < 0.3


def test_the_most_spread_person_is_asked_about_first(library):
    c = centres(2)
    tight = add_faces(library, near(c[0], 5, seed=1, spread=0.05))
    wide = add_faces(library, near(c[1], 5, seed=2, spread=0.2))
    small = add_faces(library, near(c[1] + 3, 3, seed=3, spread=0.3))  # too few to ask
    group_faces(library)
    spread = questions.spread_people(library)
    assert [p for p, _ in spread] == [person_of(library, wide)[0], person_of(library, tight)[0]]
    assert person_of(library, small)[0] not in [p for p, _ in spread]


def test_faces_in_no_person_come_first_never_those_placed_nor_the_sure(library):
    c = centres(3)
    faces = add_faces(library, np.concatenate([near(c[0], 5, seed=1), c[2:3]]))
    group_faces(library)
    lone = faces[-1]
    move_faces(library, [faces[0]], person_of(library, faces[1:2])[0])  # placed by the user
    # The other four are each nearer than 0.5 to all of their person's faces: sure, not asked
    # (the review used to ask about every face the user did not place, "100 % sure" ones too).
    assert questions.faces_to_ask(library) == [lone]


def test_only_unsure_faces_are_asked_least_sure_first_and_none_when_none_is_left(library,
                                                                                 monkeypatch):
    from photoclust.core.faces.editing import merge_people

    # The near faces' share alone (the silhouette against the mean faces: the next test).
    monkeypatch.setattr(questions, "SILHOUETTE", False)
    anna, bob, between, a, b = one_between(library)
    doubt = questions.faces_with_doubt(library)
    # The face between them first (5 of its 9 near faces in Anna), then Bob's, each of which
    # has the face between among its near faces (3 of 4 in Bob): least sure first.
    assert doubt[0] == (between, round(5 / 9, 4))
    assert {f for f, _ in doubt[1:]} <= set(bob) and \
        all(share == 0.75 for _f, share in doubt[1:])
    asked = questions.people_questions(library)
    is_this = [q for q in asked if q.kind == questions.IS_THIS][0]
    assert is_this.face_id == between and is_this.text == f"Is this Person {a}?"
    assert is_this.confidence == round(5 / 9, 4)  # ranks the question; no "56 % sure"
    assert is_this.expected == round(1 - 5 / 9, 4)
    # Once Anna and Bob are one person (the user said so), the face is sure: counted again,
    # not asked, though the grouping once stored 50 %.
    merge_people(library, a, [b])
    assert questions.faces_to_ask(library) == []
    assert [q for q in questions.people_questions(library) if q.kind != questions.WHO] == []


def test_clearly_different_people_are_not_asked_whether_they_are_one(library):
    """Anna's two halves merged into one person put her mean face between them, next to Bob's
    (the review asked "Are Anna and Bill Clinton the same person?"): face by face Bob is far from
    both halves, so not asked; a person split in two is."""
    from sqlalchemy import update

    from photoclust.core.library.models import Face

    c = centres(2)
    halves = [add_faces(library, near(c[k], 4, seed=k + 1, spread=0.05)) for k in (0, 1)]
    bob = add_faces(library, near((c[0] + c[1]) / 2, 4, seed=5, spread=0.05))
    group_faces(library)
    a = person_of(library, halves[0])[0]
    with library.session() as s:
        s.execute(update(Face).where(Face.id.in_(halves[1])).values(person_id=a))
    data = questions.people_faces(library)
    means = dict(zip(data.person_ids, data.means))
    b = person_of(library, bob)[0]
    assert np.linalg.norm(means[a] - means[b]) < questions.MERGE_BELOW  # the old rule asked
    assert questions.same_person_pairs(library) == []
    # Bob split in two by the user: his halves are asked about, with the faces they would fix.
    move_faces(library, bob[:2], None)
    twin = person_of(library, bob[:2])[0]
    [(x, y, _dist, share, expected)] = questions.same_person_candidates(library)
    assert {x, y} == {b, twin} and share == 1.0 and expected == 2.0


def test_lookalikes_the_grouping_keeps_apart_are_not_asked_whether_they_are_one(library,
                                                                                 monkeypatch):
    # Two sisters: faces of one about 0.42 from the other's (under the grouping's 0.5), but
    # each face's 10 nearest are her own: the shared-neighbour rule keeps no pair of them, so
    # "Are these the same person?" would be answered no: it is not asked. Anna, split in two
    # by the user (halves sharing near faces), still is.
    c = centres(2)
    rng = np.random.default_rng(9)
    step = step_from(c[0], 0.4, rng)
    one = add_faces(library, near(c[0], 12, seed=1, spread=0.1))
    other = add_faces(library, near(c[0] + step, 12, seed=2, spread=0.1))
    anna = add_faces(library, near(c[1], 12, seed=3, spread=0.1))
    group_faces(library)
    (p_one,), (p_other,), (p_anna,) = (set(person_of(library, f)) for f in (one, other, anna))
    assert len({p_one, p_other, p_anna}) == 3
    move_faces(library, anna[:6], None)
    (half,) = set(person_of(library, anna[:6]))
    pairs = {frozenset((a, b)) for a, b, _ in questions.same_person_pairs(library)}
    assert pairs == {frozenset((p_anna, half))}
    monkeypatch.setattr(questions, "LOOKALIKES_APART", None)
    pairs = {frozenset((a, b)) for a, b, _ in questions.same_person_pairs(library)}
    assert pairs == {frozenset((p_anna, half)), frozenset((p_one, p_other))}


def test_a_face_nearer_another_persons_mean_face_is_asked_though_its_near_faces_agree(library):
    """A face whose near faces are all in its person (the grouping was sure) but which lies
    nearer another person's mean face than its own person's (faces_lfw: a face of Walter
    Mondale in John Snow) is asked "Is this …?"; it used to be asked only when some of its
    near faces were elsewhere."""
    from sqlalchemy import update

    from photoclust.core.library.models import Face

    c = centres(1)[0]
    rng = np.random.default_rng(7)
    u, *vs = (rng.standard_normal((5, 128))).astype(np.float32)
    for k, v in enumerate([u, *vs]):  # orthonormal, and orthogonal to c
        v -= (v @ c) * c
        for w in [u, *vs][:k]:
            v -= (v @ w) * w
        v /= np.linalg.norm(v)
    anna = add_faces(library, near(c, 5, seed=1, spread=0.05))
    guide, face = add_faces(library, np.stack([c + 0.3 * u, c + 0.55 * u]))
    bob = add_faces(library, np.stack([c + 0.9 * u + 0.45 * v for v in vs]))
    group_faces(library)
    a = person_of(library, anna)[0]
    with library.session() as s:  # as a grouping sure of each face could have left them
        s.execute(update(Face).where(Face.id.in_(anna + [guide, face]))
                  .values(person_id=a, confidence=1.0))
    move_faces(library, bob, None)  # Bob's faces, far apart, put in one person by the user
    b = person_of(library, bob)[0]
    assert b is not None and b != a and set(person_of(library, bob)) == {b}
    # Its one near face (under 0.5) is in Anna: the near faces say sure.
    assert questions.unsure_shares(*_state(library), [_row(library, face)]) == [1.0]
    doubt = questions.faces_with_doubt(library)
    assert doubt[0][0] == face and doubt[0][1] < 0.5  # nearer Bob's mean face than Anna's
    q = [q for q in questions.people_questions(library) if q.kind == questions.IS_THIS][0]
    assert q.face_id == face and q.person_id == a and q.expected == round(1 - doubt[0][1], 4)
    # "Are these faces of Anna one person?" answered yes covers them: not asked about again
    # (until that answer is undone).
    from photoclust.core.edits import history as edit_history
    from photoclust.core.faces.editing import confirm_person

    confirm_person(library, a)
    assert face not in {f for f, _ in questions.faces_with_doubt(library)}
    edit_history.undo(library)
    assert questions.faces_with_doubt(library)[0][0] == face


def _state(library):
    data = questions.people_faces(library)
    persons = np.concatenate([[p] * len(data.face_ids[p]) for p in data.person_ids])
    return np.concatenate([data.vectors[p] for p in data.person_ids]), persons


def _row(library, face_id):
    data = questions.people_faces(library)
    return [f for p in data.person_ids for f in data.face_ids[p]].index(face_id)
