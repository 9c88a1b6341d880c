"""``people`` and ``faces`` on the command line: the JSON contract, every correction undone and
redone by ``undo``/``redo``, ``search NAME``, the setting, and (datasets) finding faces."""
from __future__ import annotations

import json
import shutil

import pytest

from _cli_runs import run, run_json
from _face_fixtures import add_faces, centres, near, people_state
from photoclust.core.faces.grouping import group_faces

PERSON_KEYS = {"id", "name", "faces", "photos", "source"}
FACE_KEYS = {"id", "photo_id", "path", "box", "person_id", "person_name", "source", "confidence"}




@pytest.fixture
def lib(library):
    """Two people of 5 and 4 faces, unnamed, and one face alone."""
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    bob = add_faces(library, near(c[1], 4, seed=2))
    lone = add_faces(library, c[2:3])
    group_faces(library)
    return library, str(library.path), anna, bob, lone


def test_people_and_faces_print_the_documented_json(capsys, lib):
    library, path, anna, bob, lone = lib
    people = run_json(capsys, "people", "--library", path)
    assert [set(p) >= PERSON_KEYS for p in people] == [True, True]
    assert sorted(p["faces"] for p in people) == [4, 5]
    assert {p["source"] for p in people} == {"auto"} and {p["name"] for p in people} == {""}
    faces = run_json(capsys, "faces", "--library", path)
    assert len(faces) == 10 and all(set(f) >= FACE_KEYS for f in faces)
    assert faces[0]["box"] == [10, 20, 100, 100]
    big = max(people, key=lambda p: p["faces"])
    of_anna = run_json(capsys, "faces", "--person", str(big["id"]), "--library", path)
    assert sorted(f["id"] for f in of_anna) == anna
    unnamed = run_json(capsys, "faces", "--unnamed", "--library", path)
    assert len(unnamed) == 10  # nobody is named yet
    code, out, _ = run(capsys, "people", "--library", path)
    assert code == 0 and "(unnamed)" in out and "1 face(s) in no person" in out
    code, _, err = run(capsys, "faces", "--person", "999", "--library", path)
    assert code == 2 and "no person with id 999" in err


def test_every_correction_is_undone_and_redone_from_the_command_line(capsys, lib):
    library, path, anna, bob, lone = lib
    people = {p["faces"]: p["id"] for p in run_json(capsys, "people", "--library", path)}
    a, b = people[5], people[4]
    steps = [
        ("people", "name", str(a), "Anna"),
        ("faces", "move", str(bob[0]), "--to", str(a)),
        ("faces", "dismiss", str(anna[1])),
        ("faces", "remove", str(anna[2])),
        ("faces", "move", str(lone[0]), "--to", "new", "--name", "Carl"),
        ("people", "split", str(a), "--faces", str(anna[3])),
        ("people", "merge", str(a), str(b)),
        ("people", "name", str(b), "Bob"),
    ]
    states = [people_state(library)]
    for step in steps:
        if step == ("people", "name", str(b), "Bob"):
            # b was merged away: name the split-off part instead, then give it Anna's name.
            split_off = [p for p in run_json(capsys, "people", "--library", path)
                         if p["name"] == "" and p["faces"] == 1]
            step = ("people", "name", str(split_off[0]["id"]), "anna")
        out = run_json(capsys, *step, "--library", path)
        assert out["event_id"] and out["description"] and "people" in out, step
        states.append(people_state(library))
    assert len({json.dumps(sorted(map(str, s.items()))) for s in states}) == len(states)
    for state in reversed(states[:-1]):
        code, out, err = run(capsys, "undo", "--library", path)
        assert code == 0, err
        assert people_state(library) == state
    for state in states[1:]:
        assert run(capsys, "redo", "--library", path)[0] == 0
        assert people_state(library) == state
    # Naming the split-off part "anna" merged it back into Anna.
    names = [p["name"] for p in run_json(capsys, "people", "--library", path)]
    assert names.count("Anna") == 1 and "Carl" in names


def test_bad_corrections_say_why_and_change_nothing(capsys, lib):
    library, path, anna, bob, lone = lib
    before = people_state(library)
    for argv in (("people", "name", "999", "X"), ("people", "merge", "1"),
                 ("faces", "move", "12345", "--to", "1"), ("faces", "move", str(anna[0]),
                                                           "--to", "somebody"),
                 ("faces", "dismiss", str(lone[0]))):
        code, _, err = run(capsys, *argv, "--library", path)
        assert code == 2 and err.startswith("photoclust: "), argv
    assert people_state(library) == before


def test_search_finds_a_persons_photos_by_name(capsys, lib):
    library, path, anna, bob, lone = lib
    people = {p["faces"]: p["id"] for p in run_json(capsys, "people", "--library", path)}
    run(capsys, "people", "name", str(people[5]), "Anna", "Maria", "--library", path)
    hits = run_json(capsys, "search", "anna maria", "--library", path)
    assert len(hits) == 5 and all("person: Anna Maria" in h["why"] for h in hits)
    by_number = run_json(capsys, "search", f"Person {people[4]}", "--library", path)
    assert len(by_number) == 4
    # Two people together: photos where both are (none here).
    both = run_json(capsys, "search", f"Anna Maria Person {people[4]}", "--library", path)
    assert both == []


def test_the_setting_turns_faces_on_and_off(capsys, library):
    path = str(library.path)
    assert run_json(capsys, "people", "setting", "--library", path) == {"faces": True}
    assert run_json(capsys, "people", "setting", "off", "--library", path) == {"faces": False}
    code, out, _ = run(capsys, "people", "setting", "--library", path)
    assert "does not find faces" in out


@pytest.mark.datasets
def test_find_faces_then_name_and_see_new_photos_join(capsys, library, dataset, tmp_path):
    folder = tmp_path / "photos"
    for name in ("Bill_Gates", "Andy_Roddick"):
        (folder / name).mkdir(parents=True)
        for photo in sorted((dataset("faces_lfw") / name).glob("*.jpg"))[:5]:
            shutil.copy(photo, folder / name / photo.name)
    path = str(library.path)
    assert run(capsys, "index", str(folder), "--library", path)[0] == 0
    found = run_json(capsys, "people", "find", "--library", path)
    assert found["with_faces"] >= 9 and found["grouping"]["new_people"] == 2
    people = run_json(capsys, "people", "--library", path)
    faces = run_json(capsys, "faces", "--person", str(people[0]["id"]), "--library", path)
    who = faces[0]["path"].split("/")[-2]
    run(capsys, "people", "name", str(people[0]["id"]), "Anna", "--library", path)
    for photo in sorted((dataset("faces_lfw") / who).glob("*.jpg"))[5:7]:
        shutil.copy(photo, folder / who / photo.name)
    run(capsys, "index", str(folder), "--library", path)
    again = run_json(capsys, "people", "find", "--library", path)
    assert again["photos"] == 2 and again["grouping"]["joined"] >= 2
    hits = run_json(capsys, "search", "Anna", "--library", path)
    assert len(hits) == len({f["photo_id"] for f in faces}) + 2
    assert all(f"/{who}/" in h["path"] for h in hits)


def test_people_learn_says_when_there_is_nothing_to_resort_and_undoes(capsys, lib):
    library, path, anna, bob, lone = lib
    out = run_json(capsys, "people", "learn", "--library", path)
    assert out["event_id"] is None and out["description"] == "nothing to re-sort"
    from sqlalchemy import update

    from photoclust.core.library.models import Face

    people = {p["faces"]: p["id"] for p in run_json(capsys, "people", "--library", path)}
    with library.session() as s:  # a grouping mistake: one of Anna's faces with Bob
        s.execute(update(Face).where(Face.id == anna[0]).values(person_id=people[4]))
    out = run_json(capsys, "people", "learn", "--library", path)
    assert out["kind"] == "learn_people" and out["event_id"]
    assert run_json(capsys, "faces", "--person", str(people[5]), "--library", path)[0]["id"] \
        == anna[0]
    code, text, _ = run(capsys, "undo", "--library", path)
    assert code == 0 and "Re-sorted 1 face" in text
