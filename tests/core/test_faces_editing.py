"""Corrections to people: each one an undoable edit of the library's history (the same
``undo``/``redo`` as cluster edits), and each kept by the next grouping."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from _face_fixtures import add_faces, centres, near, people_state, person_of
from photoclust.core.edits import history as edit_history
from photoclust.core.faces import read
from photoclust.core.faces.editing import (
    EditError,
    faces_not_this_person,
    learn_people,
    merge_people,
    move_faces,
    name_person,
    remove_faces,
    split_person,
)
from photoclust.core.faces.grouping import group_faces
from photoclust.core.library.models import EditEvent, Face


@pytest.fixture
def two_people(library):
    """Anna (5 faces) and Bob (4 faces), grouped automatically, unnamed."""
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    bob = add_faces(library, near(c[1], 4, seed=2))
    group_faces(library)
    return library, anna, bob, person_of(library, anna)[0], person_of(library, bob)[0]


@pytest.fixture
def six_and_six(library):
    """Anna and Bob, 6 faces each, grouped automatically, unnamed:
    ``(library, centres, anna's faces, bob's, anna, bob)``."""
    c = centres(2)
    anna = add_faces(library, near(c[0], 6, seed=1))
    bob = add_faces(library, near(c[1], 6, seed=2))
    group_faces(library)
    return library, c, anna, bob, person_of(library, anna)[0], person_of(library, bob)[0]


def undo_redo_round_trip(library, before, after):
    """Undo brings back ``before``, redo ``after``."""
    assert edit_history.undo(library) is not None
    assert people_state(library) == before
    assert edit_history.redo(library) is not None
    assert people_state(library) == after


def test_name_a_person_is_undoable(two_people):
    library, anna, _bob, a, _b = two_people
    before = people_state(library)
    result = name_person(library, a, "  Anna   Smith ")
    assert result.kind == "name_person"
    after = people_state(library)
    assert after["people"][a] == ("Anna Smith", "user")
    assert read.person_names(library, "an") == ["Anna Smith"]
    undo_redo_round_trip(library, before, after)
    with pytest.raises(EditError):
        name_person(library, a, "   ")


def test_naming_two_people_with_one_name_merges_them(two_people):
    library, anna, bob, a, b = two_people
    name_person(library, a, "Anna")
    before = people_state(library)
    result = name_person(library, b, "anna")
    assert json.loads(_payload(library, result.event_id))["params"]["merged_into"] == a
    assert set(person_of(library, anna + bob)) == {a}
    (person,) = read.list_people(library)
    assert (person.id, person.name, person.faces) == (a, "Anna", 9)
    undo_redo_round_trip(library, before, people_state(library))


def _payload(library, event_id):
    with library.session() as s:
        return s.scalar(select(EditEvent.payload).where(EditEvent.id == event_id))


def test_merge_people_keeps_the_named_name_and_survives_grouping(two_people):
    library, anna, bob, a, b = two_people
    name_person(library, b, "Bob")
    before = people_state(library)
    merge_people(library, a, [b])
    after = people_state(library)
    assert after["people"] == {a: ("Bob", "user")}
    assert all(after["faces"][f][:2] == (a, "user") for f in bob)
    group_faces(library)
    assert people_state(library) == after
    undo_redo_round_trip(library, before, after)


def test_move_faces_to_another_person_or_a_new_one(two_people):
    library, anna, bob, a, b = two_people
    before = people_state(library)
    move_faces(library, anna[:2], b)
    after = people_state(library)
    assert person_of(library, anna[:2]) == [b, b]
    assert {(anna[0], a), (anna[1], a)} <= after["links"]  # they left Anna for good
    # The next grouping keeps what the user placed.
    more = add_faces(library, near(centres(3)[0], 2, seed=9))
    group_faces(library)
    assert person_of(library, anna[:2]) == [b, b]
    assert set(person_of(library, more)) == {a}
    edit_history.undo(library)  # nothing to undo from the grouping: it is not an edit
    assert person_of(library, anna[:2]) == [a, a]
    assert people_state(library)["links"] == before["links"]

    result = move_faces(library, [bob[0]], None, name="Carl")
    (carl,) = read.find_people(library, "carl")
    assert carl.faces == 1 and result.kind == "move_faces"
    edit_history.undo(library)
    assert read.find_people(library, "carl") == []


def test_not_this_person_takes_faces_out_for_good(two_people):
    library, anna, _bob, a, _b = two_people
    before = people_state(library)
    faces_not_this_person(library, [anna[0]])
    after = people_state(library)
    assert after["faces"][anna[0]][0] is None and (anna[0], a) in after["links"]
    group_faces(library)
    group_faces(library)
    assert person_of(library, [anna[0]]) != [a]
    # Undo (with the grouping's placement in between) restores the link's absence.
    edit_history.undo(library)
    assert (anna[0], a) not in people_state(library)["links"]
    assert before["links"] == people_state(library)["links"]


def test_split_a_person_by_faces_and_automatically(library):
    c = centres(2)
    # Two lookalikes grouped as one (their faces within 0.5 of each other, but apart at 0.4).
    mid = (c[0] + c[1]) / 2
    close = (c[1] - c[0]) / max(1e-6, float((c[1] - c[0]) @ (c[1] - c[0])) ** 0.5) * 0.22
    first = add_faces(library, near(mid - close, 4, seed=1, spread=0.05))
    second = add_faces(library, near(mid + close, 3, seed=2, spread=0.05))
    faces = first + second
    move_faces(library, faces, None, name="Twins")
    (twins,) = read.find_people(library, "Twins")
    before = people_state(library)
    split_person(library, twins.id)
    after = people_state(library)
    assert set(person_of(library, first)) == {twins.id}
    (other,) = set(person_of(library, second))
    assert other != twins.id
    undo_redo_round_trip(library, before, after)
    edit_history.undo(library)

    split_person(library, twins.id, face_ids=second[:1])
    assert person_of(library, second[:1])[0] not in (None, twins.id)
    with pytest.raises(EditError):
        split_person(library, twins.id, face_ids=[999])


def test_remove_a_false_face_hides_it_and_empties_a_person(two_people):
    library, _anna, bob, _a, b = two_people
    before = people_state(library)
    remove_faces(library, bob)
    after = people_state(library)
    assert b not in after["people"]  # emptied: inactive
    assert all(after["faces"][f] == (None, "auto", True) for f in bob)
    assert not read.list_faces(library, person_id=b)
    group_faces(library)
    assert people_state(library) == after  # removed faces are never grouped again
    undo_redo_round_trip(library, before, after)


def test_edits_refuse_unknown_ids_and_change_nothing(two_people):
    library, anna, _bob, a, _b = two_people
    before = people_state(library)
    with pytest.raises(EditError, match="no person"):
        name_person(library, 999, "X")
    with pytest.raises(EditError, match="no face"):
        move_faces(library, [anna[0], 12345], a)
    with pytest.raises(EditError):
        merge_people(library, a, [a])
    assert people_state(library) == before


def test_learn_people_resorts_the_faces_nobody_placed_and_is_undoable(six_and_six):
    library, _c, anna, bob, a, b = six_and_six
    # An earlier mistake of the grouping, simulated: two of Anna's faces ended up with Bob.
    with library.session() as s:
        s.execute(update(Face).where(Face.id.in_(anna[:2])).values(person_id=b))
    # One of Bob's faces was placed by the user with Anna: it stays there.
    move_faces(library, [bob[0]], a)
    before = people_state(library)
    result = learn_people(library)
    assert result is not None and result.kind == "learn_people"
    assert person_of(library, anna) == [a] * 6
    assert person_of(library, [bob[0]]) == [a]  # placed by the user: not re-sorted
    after = people_state(library)
    undo_redo_round_trip(library, before, after)
    assert learn_people(library) is None  # nothing left to move


def test_learn_people_never_puts_two_faces_of_one_photo_in_one_person(six_and_six):
    from _edit_fixtures import add_photos

    library, c, anna, _bob, a, b = six_and_six
    # A photo of two faces like Anna's (twins), both put with Bob by an earlier mistake.
    (photo,) = add_photos(library, 1, prefix="/people/twins")
    twins = add_faces(library, near(c[0], 2, seed=3), photo_ids=[photo, photo])
    with library.session() as s:
        s.execute(update(Face).where(Face.id.in_(twins)).values(person_id=b, source="auto"))
    assert learn_people(library) is not None
    assert sorted(person_of(library, twins), key=lambda p: p != a) == [a, b]
    # The same for one already with Anna: the other stays where it is.
    with library.session() as s:
        s.execute(update(Face).where(Face.id == twins[1]).values(person_id=a))
        s.execute(update(Face).where(Face.id == twins[0]).values(person_id=b))
    assert learn_people(library) is None
    assert person_of(library, twins) == [b, a]


def test_a_person_whose_cover_face_leaves_gets_another_cover(two_people):
    """Seen in a real window: after "Are these one person?" answered no, the person split from
    kept as its cover a face that had gone to the new person."""
    library, anna, _bob, a, _b = two_people
    cover = read.get_person(library, a).cover_face_id
    assert cover in anna
    split_person(library, a, [cover])
    remaining = read.get_person(library, a)
    assert remaining.cover_face_id in anna and remaining.cover_face_id != cover
