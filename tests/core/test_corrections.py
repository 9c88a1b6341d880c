"""Every kind of correction is one typed shape in the edit history (core/edits/corrections.py):
written by editing, read back by constraints, each one undoable; refusals kept by schema 1 in a
settings key are moved into the history when the library is upgraded."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from _edit_fixtures import as_version_1
from _export_fixtures import add_cluster
from photoclust.core.clustering import editing
from photoclust.core.edits.corrections import (
    CORRECTIONS,
    Confirm,
    ConfirmPerson,
    Merge,
    MergeEvents,
    MergePeople,
    Move,
    MoveFaces,
    MoveToEvent,
    NamePerson,
    NewCluster,
    NotInCluster,
    NotSamePerson,
    NotThisPerson,
    RefuseSuggestion,
    Remove,
    RemoveFaces,
    Rename,
    RenameEvent,
    ShiftTimes,
    Split,
    SplitEvent,
    SplitPerson,
    read_corrections,
)
from photoclust.core.edits.history import history, next_undo
from photoclust.core.learning.constraints import derive_constraints
from photoclust.core.library import migrations, open_library


def test_every_kind_round_trips_through_the_params_it_is_stored_as():
    examples = [Rename(3, "Beach"), Move((1, 2), 3), Merge(3, (4, 5)),
                Split(3, 2, "m", ((3, (1, 2)), (9, (4,)))), NewCluster(9, (1,), "New"),
                Remove((1,)), Confirm((1, 2)), NotInCluster((1,), 3),
                RefuseSuggestion("merge", 3, 4), RefuseSuggestion("split", 3),
                NamePerson(1, "Anna"), NamePerson(1, "Anna", 2), MergePeople(1, (2, 3)),
                MoveFaces((4, 5), 1), MoveFaces((4,), 9, True), NotThisPerson((4,), 1),
                NotThisPerson((4,)), SplitPerson(1, ((9, (4, 5)),)), RemoveFaces((4,)),
                NotSamePerson(1, 2), ConfirmPerson(1, (2, 3)), RenameEvent(1, "Lisbon"),
                MergeEvents(1, (2,)),
                SplitEvent(1, "2023-07-17T00:00:00", 3), MoveToEvent((1, 2), 3),
                ShiftTimes((1,), -3600)]
    assert {type(c).kind for c in examples} == set(CORRECTIONS)
    for correction in examples:
        params = json.loads(json.dumps(correction.to_params()))
        assert type(correction).from_params(params) == correction
    assert Move((1, 2), 3).to_params() == {"photo_ids": [1, 2], "to_cluster_id": 3}
    # A flag is a bool, never an int, and an id never a bool.
    assert MoveFaces.from_params({"face_ids": [4], "person_id": 1, "created": 1}) is None
    assert MoveFaces.from_params({"face_ids": [4], "person_id": True}) is None


@pytest.mark.parametrize("params", [{}, {"photo_ids": "1", "to_cluster_id": 3},
                                    {"photo_ids": [1, None], "to_cluster_id": 3},
                                    {"photo_ids": [1], "to_cluster_id": True},
                                    {"photo_ids": [1.5], "to_cluster_id": 3}])
def test_params_of_another_shape_are_skipped_not_a_crash(params):
    assert Move.from_params(params) is None


def test_a_new_kind_is_a_subclass_and_two_kinds_cannot_share_a_name():
    from dataclasses import dataclass
    from typing import ClassVar

    from photoclust.core.edits.corrections import Correction

    with pytest.raises(TypeError, match="two correction types"):
        @dataclass(frozen=True)
        class Again(Correction):
            kind: ClassVar[str] = "move"


def test_edits_are_read_back_as_their_types_with_undone_flagged(library, tmp_path):
    from _export_fixtures import add_photo, assign

    beach, forest = add_cluster(library, "Beach"), add_cluster(library, "Forest")
    photo = add_photo(library, tmp_path / "a.jpg")
    assign(library, photo, beach)
    editing.move_photos(library, [photo], forest)
    editing.rename_cluster(library, forest, "Woods")
    editing.undo(library)
    with library.session() as s:
        recorded = read_corrections(s)
    assert [(r.correction, r.undone) for r in recorded] == [
        (Move((photo,), forest), False), (Rename(forest, "Woods"), True)]
    assert derive_constraints(library).of_type(Rename) == []


def test_a_refusal_is_an_undoable_edit(library):
    beach, forest = add_cluster(library, "Beach"), add_cluster(library, "Forest")
    result = editing.refuse_suggestion(library, "merge", beach, forest)
    assert result.kind == "refuse_suggestion" and result.event_id is not None
    assert result.description == "Not merging Forest into Beach"
    assert ("merge", beach, forest) in derive_constraints(library).refused
    again = editing.refuse_suggestion(library, "merge", beach, forest)
    assert again.event_id is None and len(history(library)) == 1  # one answer, one edit
    assert next_undo(library).event_id == result.event_id
    assert editing.undo(library).event_id == result.event_id
    assert derive_constraints(library).refused == set()
    editing.redo(library)
    assert derive_constraints(library).refused == {("merge", beach, forest)}
    editing.refuse_suggestion(library, "split", forest)
    assert ("split", forest, -1) in derive_constraints(library).refused
    with pytest.raises(editing.EditError, match="no cluster with id 999"):
        editing.refuse_suggestion(library, "merge", beach, 999)
    with pytest.raises(editing.EditError, match="only merge and split"):
        editing.refuse_suggestion(library, "photo", beach, forest)


def test_refusals_of_a_schema_1_library_become_edits_when_it_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    library = open_library(path)
    beach, forest = add_cluster(library, "Beach"), add_cluster(library, "Forest")
    library.close()
    as_version_1(path, statements=[(
        "INSERT INTO settings (key, value) VALUES (?, ?)",
        (migrations.LEGACY_REFUSED_SETTING,
         json.dumps([["merge", beach, forest], ["split", forest, -1], ["merge", beach, forest],
                     ["bogus", 1], "x"])))])

    library = open_library(path)
    try:
        assert derive_constraints(library).refused == {("merge", beach, forest),
                                                       ("split", forest, -1)}
        assert [e.description for e in history(library)] == ["Not splitting Forest",
                                                              "Not merging Forest into Beach"]
        with library.session() as s:
            assert s.execute(text(
                "SELECT count(*) FROM settings WHERE key = :k"),
                {"k": migrations.LEGACY_REFUSED_SETTING}).scalar() == 0
        editing.undo(library)  # the newest refusal, now an edit like any other
        assert derive_constraints(library).refused == {("merge", beach, forest)}
    finally:
        library.close()
    assert (tmp_path / "old.sqlite.v1.bak").exists()


def test_an_event_whose_payload_is_damaged_is_skipped_not_a_crash(library):
    from photoclust.core.library.models import EditEvent

    beach, forest = add_cluster(library, "Beach"), add_cluster(library, "Forest")
    with library.session() as s:
        s.add(EditEvent(kind="refuse_suggestion", payload="{not json"))
        s.add(EditEvent(kind="refuse_suggestion", payload='{"params": "merge"}'))
        s.add(EditEvent(kind="refuse_suggestion", payload='{"params": {"suggestion": 3}}'))
    editing.refuse_suggestion(library, "merge", beach, forest)
    with library.session() as s:
        assert [r.correction for r in read_corrections(s)] == [
            RefuseSuggestion("merge", beach, forest)]


def test_people_corrections_are_read_back_as_their_types(library):
    """The people edits of core/faces/editing.py store the types of core/edits/corrections.py: what
    the history holds is what the user asked, in the shape the docs give."""
    from _face_fixtures import add_faces, centres, near, person_of
    from photoclust.core.faces import editing as people
    from photoclust.core.faces.grouping import group_faces

    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    bob = add_faces(library, near(c[1], 4, seed=2))
    carl = add_faces(library, near(c[2], 4, seed=3))
    group_faces(library)
    a, b, k = (person_of(library, faces)[0] for faces in (anna, bob, carl))
    people.name_person(library, a, "Anna")
    people.move_faces(library, bob[:1], a)
    people.faces_not_this_person(library, anna[:1], a)
    people.people_not_same(library, a, b)
    people.merge_people(library, b, [k])
    people.remove_faces(library, bob[1:2])
    split = people.split_person(library, b, bob[2:3])
    with library.session() as s:
        got = [r.correction for r in read_corrections(s)]
    new_person = next(c.parts[0][0] for c in got if isinstance(c, SplitPerson))
    assert got == [NamePerson(a, "Anna"), MoveFaces((bob[0],), a),
                   NotThisPerson((anna[0],), a), NotSamePerson(a, b), MergePeople(b, (k,)),
                   RemoveFaces((bob[1],)), SplitPerson(b, ((new_person, (bob[2],)),))]
    assert split.kind == "split_person"
    # The stored JSON is the documented params (docs/people.md, core/faces/editing.py).
    with library.session() as s:
        params = json.loads(s.execute(text(
            "SELECT payload FROM edit_events WHERE kind='move_faces'")).scalar())["params"]
    assert params == {"face_ids": [bob[0]], "person_id": a, "created": False}

