"""Grouping faces into people (descriptors written directly, no detector): Chinese whispers on
new faces, incremental joins, unsure faces kept apart, people never merged automatically."""
from __future__ import annotations

import numpy as np
import pytest

from _face_fixtures import add_faces, centres, near, person_of
from photoclust.core.faces import read
from photoclust.core.faces.editing import faces_not_this_person, move_faces, name_person
from photoclust.core.faces.grouping import chinese_whispers, group_faces, near_pairs


def test_chinese_whispers_finds_the_components_of_a_clear_graph():
    # Two triangles and a lone node.
    i = np.array([0, 1, 0, 3, 4, 3])
    j = np.array([1, 2, 2, 4, 5, 5])
    labels = chinese_whispers(7, i, j)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert len({labels[0], labels[3], labels[6]}) == 3


def test_near_pairs_gives_each_pair_once_and_only_those_nearer_than_the_threshold():
    a = np.array([[0, 0], [0.3, 0], [2, 0]], dtype=np.float32)
    i, j, d = near_pairs(a, None, 0.5)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 1)]
    assert np.allclose(d, [0.3])


def test_new_faces_become_people_and_a_face_alone_waits(library):
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    bob = add_faces(library, near(c[1], 4, seed=2))
    lone = add_faces(library, c[2:3])
    result = group_faces(library)
    assert (result.new_people, result.in_new_people, result.alone) == (2, 9, 1)
    assert len(set(person_of(library, anna))) == 1 and len(set(person_of(library, bob))) == 1
    assert person_of(library, anna)[0] != person_of(library, bob)[0]
    assert person_of(library, lone) == [None]
    people = read.list_people(library)
    assert sorted(p.faces for p in people) == [4, 5]
    # Every person has one of its own faces as cover.
    for p in people:
        assert p.cover_face_id in {f.id for f in read.list_faces(library, person_id=p.id)}


def test_new_faces_join_the_person_they_match_and_unmatched_ones_found_a_new_person(library):
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    group_faces(library)
    (anna_id,) = set(person_of(library, anna))
    more_anna = add_faces(library, near(c[0], 3, seed=5))
    carl = add_faces(library, near(c[2], 2, seed=6))
    result = group_faces(library)
    assert result.joined == 3 and result.new_people == 1
    assert set(person_of(library, more_anna)) == {anna_id}
    (carl_id,) = set(person_of(library, carl))
    assert carl_id != anna_id


def test_unsure_faces_are_never_grouped(library):
    c = centres(1)
    add_faces(library, near(c[0], 4, seed=1))
    blurry = add_faces(library, near(c[0], 3, seed=2), unsure=True)
    group_faces(library)
    assert person_of(library, blurry) == [None, None, None]
    assert {f.id for f in read.list_faces(library, unnamed=True) if f.unsure} == set(blurry)


def test_named_people_are_never_merged_even_when_their_faces_are_alike(library):
    c = centres(1)
    first = add_faces(library, near(c[0], 3, seed=1))
    group_faces(library)
    (anna,) = set(person_of(library, first))
    name_person(library, anna, "Anna")
    # The user put a lookalike (a sibling) in a person of her own and named her.
    second = add_faces(library, near(c[0], 3, seed=2))
    anne = move_faces(library, second, None, name="Anne").to_json()
    (anne_id,) = set(person_of(library, second))
    assert anne["kind"] == "move_faces" and anne_id != anna
    new = add_faces(library, near(c[0], 4, seed=3))
    group_faces(library)
    assert {p.name for p in read.list_people(library)} == {"Anna", "Anne"}
    assert set(person_of(library, new)) <= {anna, anne_id}
    assert set(person_of(library, first)) == {anna}
    assert set(person_of(library, second)) == {anne_id}


def test_a_face_the_user_said_is_not_a_person_never_returns_to_it(library):
    c = centres(1)
    faces = add_faces(library, near(c[0], 5, seed=1))
    group_faces(library)
    (pid,) = set(person_of(library, faces))
    faces_not_this_person(library, [faces[0]])
    for _ in range(2):
        group_faces(library)
        assert person_of(library, [faces[0]]) != [pid]


@pytest.mark.parametrize("with_dlib", [True, False])
def test_weighted_chinese_whispers_follows_the_near_faces_not_the_many(monkeypatch, with_dlib):
    import sys

    from photoclust.core.faces.grouping import edge_weights

    if not with_dlib:
        monkeypatch.setitem(sys.modules, "dlib", None)  # the label propagation written here
    # A = {0, 1, 2} and B = {3, 4, 5, 6} are tight; face 7 is very near two faces of A and just
    # under the threshold from three of B.
    pairs = [(0, 1, .1), (0, 2, .1), (1, 2, .1), (3, 4, .1), (3, 5, .1), (3, 6, .1), (4, 5, .1),
             (4, 6, .1), (5, 6, .1), (7, 0, .05), (7, 1, .05), (7, 3, .48), (7, 4, .48),
             (7, 5, .48)]
    i, j, d = (np.array(c) for c in zip(*pairs))
    plain = chinese_whispers(8, i, j)
    weighted = chinese_whispers(8, i, j, weights=edge_weights(d))
    assert len(set(weighted[:3])) == 1 and len(set(weighted[3:7])) == 1
    assert weighted[0] != weighted[3] and weighted[7] == weighted[0]
    if not with_dlib:  # deterministic here: the three far votes outnumber the two near ones
        assert plain[7] == plain[3]
