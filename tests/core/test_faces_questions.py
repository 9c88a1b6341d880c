"""The questions about people: nearest pairs of people, most spread people, faces to ask."""
from __future__ import annotations

import numpy as np

from _face_fixtures import add_faces, centres, near, person_of
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


def test_faces_in_no_person_come_first_then_the_least_sure_never_those_placed(library):
    c = centres(3)
    faces = add_faces(library, np.concatenate([near(c[0], 5, seed=1), c[2:3]]))
    group_faces(library)
    lone = faces[-1]
    move_faces(library, [faces[0]], person_of(library, faces[1:2])[0])  # placed by the user
    asked = questions.faces_to_ask(library)
    assert asked[0] == lone and faces[0] not in asked
    assert set(asked) == set(faces) - {faces[0]}
