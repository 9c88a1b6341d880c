"""``photoclust review``, ``learn`` and ``dismiss`` on a real library file."""
import json

import numpy as np
import pytest

from _edit_fixtures import cluster_of, labelled_library
from _face_fixtures import people_with_a_mistake
from photoclust.cli import main
from photoclust.core.clustering import editing


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


def test_review_json_lists_photos_with_suggested_clusters(library, capsys):
    ids, y, clusters = labelled_library(library)
    editing.confirm_photos(library, [int(ids[0])])
    code, out = run(capsys, "review", "--limit", "5", "--json", "--library", str(library.path))
    assert code == 0
    review = json.loads(out.out)
    assert len(review["items"]) + len(review["suggestions"]) == 5
    item = review["items"][0]
    assert set(item) >= {"photo_id", "path", "suggested_cluster_id", "suggested_cluster_name",
                         "confidence", "reason"}
    assert item["suggested_cluster_id"] in clusters.values()
    assert int(ids[0]) not in {i["photo_id"] for i in review["items"]}


def test_learn_then_dismiss(library, capsys):
    ids, y, clusters = labelled_library(library)
    editing.new_cluster_from_photos(library, [int(ids[40])])
    code, out = run(capsys, "learn", "--json", "--library", str(library.path))
    assert code == 0 and json.loads(out.out)["labelled"] == 1
    new_id = cluster_of(library)[int(ids[40])]
    assert np.mean([cluster_of(library)[int(p)] == new_id for p in ids[30:60]]) > 0.9
    code, out = run(capsys, "dismiss", "merge", str(clusters[0]), str(new_id),
                    "--library", str(library.path))
    assert code == 0 and "photoclust undo" in out.out
    code, out = run(capsys, "dismiss", "merge", str(clusters[0]), "--library", str(library.path))
    assert code == 2 and "two cluster ids" in out.err


def test_review_on_an_empty_library_explains(library, capsys):
    code, out = run(capsys, "review", "--library", str(library.path))
    assert code == 1 and "photoclust cluster" in out.err


@pytest.mark.slow
def test_evaluate_simulate_corrections_adds_the_curve(tmp_path, capsys):
    from helpers import make_labeled_folder

    root = tmp_path / "dataset"
    make_labeled_folder(root, per_class=6, size=(96, 72))
    # k 3 for 4 drawn classes: two classes share a cluster, which corrections must fix.
    code, out = run(capsys, "evaluate", str(root), "--k", "3",
                    "--simulate-corrections", "0.25,0.1", "--json")
    assert code == 0
    result = json.loads(out.out)
    assert [p["fraction"] for p in result["curve"]] == [0.0, 0.1, 0.25]
    assert [p["actions"] for p in result["curve"]] == [0, 2, 6]
    assert result["curve"][0]["ari"] == pytest.approx(result["ari"], abs=1e-3)
    assert result["curve"][-1]["ari"] > result["curve"][0]["ari"]
    assert result["ari_target"] == 0.9 and "actions_to_ari_target" in result
    assert "arrivals" not in result


def test_evaluate_rejects_bad_fractions(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", str(tmp_path), "--simulate-corrections", "5%"])
    assert "fractions" in capsys.readouterr().err


def test_evaluate_with_arrivals_reports_what_organize_did(tmp_path, capsys):
    from helpers import make_labeled_folder

    root = tmp_path / "dataset"
    make_labeled_folder(root, per_class=10, size=(96, 72))
    code, out = run(capsys, "evaluate", str(root), "--simulate-corrections", "0.1,0.2",
                    "--with-arrivals")
    assert code == 0
    assert "new photos halfway: 4 (2 of a new kind); old photos kept: 100% of yours" in out.out


def test_dismiss_photo_keeps_it_out_of_a_cluster_and_is_undoable(library, capsys):
    ids, y, clusters = labelled_library(library)
    editing.new_cluster_from_photos(library, [int(ids[40])], name="Class one")
    one = cluster_of(library)[int(ids[40])]
    doubted = int(ids[41])
    with library.session() as s:
        from photoclust.core.library.models import Photo

        path = s.get(Photo, doubted).path
    where = cluster_of(library)[doubted]
    code, out = run(capsys, "dismiss", "photo", str(one), path, "--json",
                    "--library", str(library.path))
    assert code == 0
    answer = json.loads(out.out)
    assert answer["kind"] == "not_in_cluster" and answer["dismissed"] == "photo"
    assert answer["event_id"] is not None and cluster_of(library)[doubted] == where
    code, out = run(capsys, "learn", "--library", str(library.path))
    assert code == 0 and cluster_of(library)[doubted] != one
    code, out = run(capsys, "dismiss", "photo", str(one), "/no/such.jpg",
                    "--library", str(library.path))
    assert code == 2 and "not in the library: /no/such.jpg" in out.err
    code, out = run(capsys, "dismiss", "photo", str(one), "--library", str(library.path))
    assert code == 2 and "at least one photo path" in out.err
    code, out = run(capsys, "dismiss", "merge", str(one), "x", "--library", str(library.path))
    assert code == 2 and "not a cluster id" in out.err


def test_dismiss_merge_is_an_edit_that_undo_takes_back(library, capsys):
    from photoclust.core.learning.constraints import derive_constraints

    ids, y, clusters = labelled_library(library)
    a, b = clusters[0], clusters[1]
    code, out = run(capsys, "dismiss", "merge", str(a), str(b), "--json",
                    "--library", str(library.path))
    answer = json.loads(out.out)
    assert code == 0 and answer["kind"] == "refuse_suggestion" and answer["event_id"]
    assert (answer["dismissed"], answer["cluster_id"], answer["other_cluster_id"]) == \
        ("merge", a, b)
    assert ("merge", a, b) in derive_constraints(library).refused
    code, out = run(capsys, "dismiss", "merge", str(a), str(b), "--json",
                    "--library", str(library.path))
    assert code == 0 and json.loads(out.out)["event_id"] is None  # already dismissed
    code, out = run(capsys, "undo", "--json", "--library", str(library.path))
    assert code == 0 and json.loads(out.out)["event_id"] == answer["event_id"]
    assert ("merge", a, b) not in derive_constraints(library).refused
    code, out = run(capsys, "dismiss", "merge", str(a), "999", "--library", str(library.path))
    assert code != 0 and "no such cluster: 999" in out.err


def test_learn_also_resorts_the_faces_nobody_placed_as_a_second_edit(library, capsys):
    from _face_fixtures import person_of

    ids, y, clusters = labelled_library(library)
    anna, bob, a, b = people_with_a_mistake(library, [int(i) for i in ids[:12]])
    editing.new_cluster_from_photos(library, [int(ids[40])])
    code, out = run(capsys, "learn", "--json", "--library", str(library.path))
    assert code == 0
    result = json.loads(out.out)
    assert result["labelled"] == 1 and result["event_id"]
    assert result["people"]["kind"] == "learn_people"
    assert result["people"]["event_id"] > result["event_id"]
    assert person_of(library, anna) == [a] * 6
    # The two edits are undone one at a time, the faces' first.
    code, out = run(capsys, "undo", "--library", str(library.path))
    assert code == 0 and "Re-sorted 2 faces" in out.out
    assert person_of(library, anna[:2]) == [b, b]
    # Nothing left to re-sort after a second learn: the text names only the photos' edit.
    code, out = run(capsys, "redo", "--library", str(library.path))
    code, out = run(capsys, "learn", "--library", str(library.path))
    assert code == 0 and "People:" not in out.out


def test_learn_text_names_the_people_edit(library, capsys):
    ids, y, clusters = labelled_library(library)
    people_with_a_mistake(library, [int(i) for i in ids[:12]])
    code, out = run(capsys, "learn", "--library", str(library.path))
    assert code == 0 and "People: Re-sorted 2 faces you did not place" in out.out


def test_learn_without_clusters_resorts_the_faces_and_says_so(library, capsys):
    from _edit_fixtures import add_photos
    from _face_fixtures import person_of

    anna, _bob, a, _b = people_with_a_mistake(library, add_photos(library, 12))
    code, out = run(capsys, "learn", "--library", str(library.path))
    assert code == 0, out.err
    assert "Photos: not re-sorted (the library has no clusters yet" in out.out
    assert "People: Re-sorted 2 faces you did not place" in out.out
    assert person_of(library, anna) == [a] * 6
    code, out = run(capsys, "learn", "--json", "--library", str(library.path))
    result = json.loads(out.out)
    assert result["people"] is None and "no clusters yet" in result["photos_skipped"]


def test_review_asks_people_questions_and_a_no_is_remembered(library, capsys):
    from _face_fixtures import person_of
    from photoclust.core.faces.editing import move_faces

    ids, y, clusters = labelled_library(library)
    anna, bob, a, b = people_with_a_mistake(library, [int(i) for i in ids[:12]])
    move_faces(library, anna[:2], a)
    move_faces(library, bob[:3], None)  # Bob split in two by the user
    (twin,) = set(person_of(library, bob[:3]))
    path = str(library.path)
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert code == 0
    people = json.loads(out.out)["people"]
    assert people[0]["kind"] == "same_person"
    assert {people[0]["person_id"], people[0]["other_person_id"]} == {b, twin}
    assert set(people[0]) >= {"rank", "question", "face_ids", "other_face_ids", "face_id",
                              "path", "box", "confidence"}
    code, out = run(capsys, "review", "--limit", "6", "--library", path)
    assert "Are Person" in out.out and f"people not-same {b} {twin}" in out.out
    code, out = run(capsys, "people", "not-same", str(b), str(twin), "--library", path)
    assert code == 0 and "are not the same person" in out.out
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert all(q["kind"] != "same_person" for q in json.loads(out.out)["people"])
    code, out = run(capsys, "people", "not-same", str(b), str(twin), "--library", path)
    assert code == 2 and "already answered" in out.err
    code, out = run(capsys, "undo", "--library", path)
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert json.loads(out.out)["people"][0]["kind"] == "same_person"


def test_review_asks_whether_a_person_is_one_and_both_answers_work(library, capsys):
    from _face_fixtures import lookalikes, person_of

    labelled_library(library)
    anna, bea, person = lookalikes(library)
    path = str(library.path)
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert code == 0
    (q,) = [q for q in json.loads(out.out)["people"] if q["kind"] == "one_person"]
    assert q["person_id"] == person and q["question"].endswith("one person?")
    assert set(q["face_ids"]) == set(anna) and set(q["split_face_ids"]) == set(bea)
    assert q["part_sizes"] == [6, 4] and q["expected_fix"] > 0
    assert set(q) >= {"rank", "other_face_ids", "other_person_id", "face_id", "confidence"}
    code, out = run(capsys, "review", "--limit", "6", "--library", path)
    faces = " ".join(str(f) for f in q["split_face_ids"])
    assert f"people one {person}" in out.out and f"people split {person} --faces {faces}" \
        in out.out
    # Yes: remembered, not asked again; a second yes says it was answered.
    code, out = run(capsys, "people", "one", str(person), "--library", path)
    assert code == 0 and "is one person" in out.out
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert all(q["kind"] != "one_person" for q in json.loads(out.out)["people"])
    code, out = run(capsys, "people", "one", str(person), "--library", path)
    assert code == 2 and "already answered" in out.err
    # Undone: asked again; no (the printed split) makes the second part a person of its own.
    code, out = run(capsys, "undo", "--library", path)
    code, out = run(capsys, "review", "--limit", "6", "--json", "--library", path)
    assert any(q["kind"] == "one_person" for q in json.loads(out.out)["people"])
    code, out = run(capsys, "people", "split", str(person), "--faces", *faces.split(),
                    "--library", path)
    assert code == 0
    assert set(person_of(library, anna)) == {person} and person not in person_of(library, bea)
