"""Every kind of correction is one typed shape in the edit history (core/corrections.py): written
by editing, read back by constraints, each one undoable; refusals kept by schema 1 in a settings
key are moved into the history when the library is upgraded."""
from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import text

from _export_fixtures import add_cluster
from photoclust.core import editing
from photoclust.core.corrections import (
    CORRECTIONS,
    Confirm,
    Merge,
    Move,
    NewCluster,
    NotInCluster,
    RefuseSuggestion,
    Remove,
    Rename,
    Split,
    read_corrections,
)
from photoclust.core.edit_history import history, next_undo
from photoclust.core.learning.constraints import derive_constraints
from photoclust.core.library import migrations, open_library


def test_every_kind_round_trips_through_the_params_it_is_stored_as():
    examples = [Rename(3, "Beach"), Move((1, 2), 3), Merge(3, (4, 5)),
                Split(3, 2, "m", ((3, (1, 2)), (9, (4,)))), NewCluster(9, (1,), "New"),
                Remove((1,)), Confirm((1, 2)), NotInCluster((1,), 3),
                RefuseSuggestion("merge", 3, 4), RefuseSuggestion("split", 3)]
    assert {type(c).kind for c in examples} == set(CORRECTIONS)
    for correction in examples:
        params = json.loads(json.dumps(correction.to_params()))
        assert type(correction).from_params(params) == correction
    assert Move((1, 2), 3).to_params() == {"photo_ids": [1, 2], "to_cluster_id": 3}


@pytest.mark.parametrize("params", [{}, {"photo_ids": "1", "to_cluster_id": 3},
                                    {"photo_ids": [1, None], "to_cluster_id": 3},
                                    {"photo_ids": [1], "to_cluster_id": True},
                                    {"photo_ids": [1.5], "to_cluster_id": 3}])
def test_params_of_another_shape_are_skipped_not_a_crash(params):
    assert Move.from_params(params) is None


def test_a_new_kind_is_a_subclass_and_two_kinds_cannot_share_a_name():
    from dataclasses import dataclass
    from typing import ClassVar

    from photoclust.core.corrections import Correction

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
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_info SET version = 1")
    con.execute("PRAGMA user_version = 0")  # as photoclust 1 wrote it
    con.execute("INSERT INTO settings (key, value) VALUES (?, ?)",
                (migrations.LEGACY_REFUSED_SETTING,
                 json.dumps([["merge", beach, forest], ["split", forest, -1],
                             ["merge", beach, forest], ["bogus", 1], "x"])))
    con.commit()
    con.close()

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
