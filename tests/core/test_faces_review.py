"""The people questions of the review queue ("Are these the same person?", "Is this Anna?",
"Who is this?") and their answers: each one undoable edit; a "no" to "the same person?" is
remembered (not asked again, no face of one goes to the other) until undone."""
from __future__ import annotations

import numpy as np

from _face_fixtures import add_faces, centres, near, one_between, people_state, person_of
from photoclust.core.edits import history as edit_history
from photoclust.core.faces import questions
from photoclust.core.faces.editing import learn_people, move_faces, name_person
from photoclust.core.faces.grouping import group_faces
from photoclust.core.learning import review_queue


def _split_anna(library):
    """Anna (6 faces) split by the user in two people, Bob beside: (anna, twin, faces)."""
    c = centres(3)
    anna = add_faces(library, near(c[0], 6, seed=1))
    add_faces(library, near(c[1], 4, seed=2))
    group_faces(library)
    (a,) = set(person_of(library, anna))
    name_person(library, a, "Anna")
    move_faces(library, anna[:3], None)
    (twin,) = set(person_of(library, anna[:3]))
    return a, twin, anna


def test_same_person_question_comes_first_with_faces_of_both(library):
    a, twin, anna = _split_anna(library)
    asked = questions.people_questions(library, limit=9)
    first = asked[0]
    assert first.kind == questions.SAME_PERSON and first.rank == 1
    assert (first.person_id, first.other_person_id) == (a, twin)
    assert first.text == f"Are Anna and Person {twin} the same person?"
    assert set(first.face_ids) == set(anna[3:]) and set(first.other_face_ids) == set(anna[:3])
    assert first.to_json()["kind"] == "same_person"


def test_no_to_same_person_is_remembered_and_undoable(library):
    a, twin, anna = _split_anna(library)
    q = questions.people_questions(library)[0]
    before = people_state(library)
    result = review_queue.answer_question(library, q, review_queue.NO)
    assert result is not None and result.kind == "not_same_person"
    assert "Anna and Person" in result.description
    after = people_state(library)
    # Every face of each is linked away from the other (the moved ones were already); nobody
    # moved.
    assert after["links"] >= {(f, twin) for f in anna[3:]} | {(f, a) for f in anna[:3]}
    assert after["links"] - before["links"] == {(f, twin) for f in anna[3:]}
    assert after["faces"] == before["faces"]
    assert all(q.kind != questions.SAME_PERSON for q in questions.people_questions(library))
    assert questions.same_person_pairs(library) == []
    # Learn never puts a face of one with the other.
    learn_people(library)
    assert set(person_of(library, anna[:3])) == {twin}
    # Undo: the pair is asked again.
    assert edit_history.undo(library) is not None
    assert people_state(library)["links"] == before["links"]
    assert questions.people_questions(library)[0].kind == questions.SAME_PERSON
    assert edit_history.redo(library) is not None
    assert questions.same_person_pairs(library) == []


def test_yes_to_same_person_merges(library):
    a, twin, anna = _split_anna(library)
    q = questions.people_questions(library)[0]
    result = review_queue.answer_question(library, q, review_queue.YES)
    assert result is not None and result.kind == "merge_people"
    assert set(person_of(library, anna)) == {a}


def test_is_this_person_yes_places_the_face_and_no_sends_it_away(library):
    anna, bob, between, _a, _b = one_between(library)  # only the unsure faces are asked
    faces = [*anna, *bob, between]
    asked = [q for q in questions.people_questions(library, limit=20)
             if q.kind == questions.IS_THIS]
    assert len(asked) >= 2 and all(q.face_id in faces and q.path for q in asked)
    first, second = asked[0], asked[1]
    assert first.text.startswith(f"Is this Person {first.person_id}?")
    review_queue.answer_question(library, first, review_queue.YES)
    assert people_state(library)["faces"][first.face_id][:2] == (first.person_id, "user")
    result = review_queue.answer_question(library, second, review_queue.NO)
    assert result is not None and result.kind == "not_this_person"
    state = people_state(library)
    assert (second.face_id, second.person_id) in state["links"]
    assert state["faces"][second.face_id][0] != second.person_id
    # The placed face is not asked again.
    assert first.face_id not in {q.face_id for q in questions.people_questions(library)}


def test_who_is_this_puts_a_lone_face_where_the_user_says(library):
    c = centres(3)
    faces = add_faces(library, np.concatenate([near(c[0], 4, seed=1), c[2:3]]))
    group_faces(library)
    lone = faces[-1]
    (who,) = [q for q in questions.people_questions(library) if q.face_id == lone]
    assert who.kind == questions.WHO and who.person_id is None and who.text == "Who is this?"
    anna = person_of(library, faces[:1])[0]
    review_queue.answer_question(library, who, review_queue.ELSEWHERE, anna)
    assert person_of(library, [lone]) == [anna]
    assert review_queue.answer_question(library, who, review_queue.SKIP) is None


def test_a_library_without_faces_has_no_people_questions(library):
    assert questions.people_questions(library) == []


def test_the_review_job_carries_the_people_questions(library):
    from _edit_fixtures import labelled_library
    from photoclust.core.jobs import run_job

    ids, _y, _clusters = labelled_library(library)
    c = centres(3)
    anna = add_faces(library, near(c[0], 6, seed=1), photo_ids=[int(i) for i in ids[:6]])
    group_faces(library)
    move_faces(library, anna[:3], None)
    queue = run_job(review_queue.ReviewJob(library, limit=6))
    assert queue.questions and len(queue.views) == len(queue.questions)
    assert queue.people[0].kind == questions.SAME_PERSON
    assert set(queue.people[0].other_face_ids) == set(anna[:3])
    review_queue.answer_question(library, queue.people[0], review_queue.YES)
    assert len(set(person_of(library, anna))) == 1


def test_people_questions_are_asked_among_the_photo_questions_by_what_they_fix(library):
    """Each answer's expected fixes (faces or photos) orders the queue: a "same person?" that
    would place three faces comes before photo questions that would fix less, not after every
    photo question (question 33 of 65 in a real window)."""
    from _edit_fixtures import labelled_library
    from photoclust.core.jobs import run_job

    ids, _y, _clusters = labelled_library(library)
    c = centres(3)
    anna = add_faces(library, near(c[0], 6, seed=1), photo_ids=[int(i) for i in ids[:6]])
    group_faces(library)
    move_faces(library, anna[:3], None)
    queue = run_job(review_queue.ReviewJob(library, limit=20))
    same = queue.people[0]
    assert same.kind == questions.SAME_PERSON and same.expected == 3.0
    items = queue.items
    fixes = [q.expected if isinstance(q, questions.PeopleQuestion)
             else review_queue.expected_fix(q, queue.view(row)) for row, q in enumerate(items)]
    row = next(k for k, q in enumerate(items) if q is same)
    assert row < len(queue.questions)  # before some photo question
    assert all(f >= 3.0 for f in fixes[:row]) and any(f < 3.0 for f in fixes[row + 1:])
    assert queue.view(row).left == same.face_ids  # each question keeps its view
    photos = [q for q in items if not isinstance(q, questions.PeopleQuestion)]
    assert photos == queue.questions  # the photo questions keep their own order
    queue.remove(same)
    assert same not in queue.items and len(queue.items) == len(items) - 1
