"""The review page asks the people questions among the photo questions (most expected fixes
first): "Is this Anna?" with the face large (cut from its photo) beside Anna's typical faces,
"Are these the same person?" with faces of both, "Who is this?"; Y/N/B/S answer them, each
answer one undoable edit of the library's history (as ``photoclust review``'s commands)."""
from __future__ import annotations

import hashlib

import pytest
from _pages import message_of, open_page, open_page_with_history
from PySide6.QtCore import Qt
from sqlalchemy import insert, select

from _face_fixtures import add_faces, centres, lookalikes, near, people_state, person_of
from helpers import write_jpeg
from photoclust.core.edits import history as edit_history
from photoclust.core.faces.editing import move_faces, name_person
from photoclust.core.faces.grouping import group_faces
from photoclust.core.faces.questions import IS_THIS, ONE_PERSON, SAME_PERSON, WHO
from photoclust.core.library.models import Face, Photo
from photoclust.gui.pages.cluster_picker import NEW_PERSON_LABEL, PersonPicker
from photoclust.gui.pages.review import QUESTION_FACE, QUESTION_THUMB, ReviewPage
from photoclust.gui.pages.review_faces import PhotoIdRole

BOX = (150, 100, 100, 100)  # where each photo's face (a red square) is


def face_photos(library, folder, n: int, start: int = 0) -> list[int]:
    """``n`` real photos (400 x 300, blue) with a red square where their face is."""
    from PIL import Image, ImageDraw

    rows = []
    for i in range(start, start + n):
        image = Image.new("RGB", (400, 300), (0, 0, 200 - i))
        left, top, w, h = BOX
        ImageDraw.Draw(image).rectangle((left, top, left + w - 1, top + h - 1), fill=(250, 0, 0))
        path = write_jpeg(folder / f"face{i:03d}.jpg", image=image)
        rows.append({"path": str(path), "content_hash": hashlib.sha256(path.read_bytes())
                     .hexdigest(), "file_size": 1, "mtime_ns": 1, "width": 400, "height": 300,
                     "status": "present"})
    with library.session() as s:
        before = s.scalar(select(Photo.id).order_by(Photo.id.desc()).limit(1)) or 0
        s.execute(insert(Photo), rows)
        return list(s.scalars(select(Photo.id).where(Photo.id > before).order_by(Photo.id)))


def faces_in_photos(library, folder, descriptors, start: int = 0) -> list[int]:
    photos = face_photos(library, folder, len(descriptors), start)
    faces = add_faces(library, descriptors, photo_ids=photos, size=BOX[2])
    with library.session() as s:
        for fid in faces:
            face = s.get(Face, fid)
            face.left, face.top = BOX[0], BOX[1]
    return faces


@pytest.fixture
def anna(library, tmp_path):
    """Anna (6 faces, named) whom the user split in two people, and Bob (4 faces): every face in
    a real photo. ``(library, anna id, twin id, bob id, faces)``."""
    c = centres(3)
    faces = {"anna": faces_in_photos(library, tmp_path, near(c[0], 6, seed=1)),
             "bob": faces_in_photos(library, tmp_path, near(c[1], 4, seed=2), start=6)}
    group_faces(library)
    (a,) = set(person_of(library, faces["anna"]))
    name_person(library, a, "Anna")
    move_faces(library, faces["anna"][:3], None)
    (twin,) = set(person_of(library, faces["anna"][:3]))
    (bob,) = set(person_of(library, faces["bob"]))
    return library, a, twin, bob, faces


@pytest.fixture
def alone(library, tmp_path):
    """A face in no person beside a person of 4 faces, every face in a real photo: its id."""
    c = centres(2)
    faces_in_photos(library, tmp_path, near(c[0], 4, seed=1))
    [alone] = faces_in_photos(library, tmp_path, near(c[1], 1, seed=2), start=4)
    group_faces(library)
    if person_of(library, [alone])[0] is not None:  # the grouping made it a person of its own
        with library.session() as s:
            s.get(Face, alone).person_id = None
    return alone


def open_review(qtbot, library):
    return open_page_with_history(qtbot, ReviewPage, library, "queueReady", timeout=60000,
                                  idle=False)


def show(page, kind, **fields):
    """Show the first question of the queue of ``kind`` (and these ``fields``, as
    ``person_id=a``)."""
    page.current = next(i for i, q in enumerate(page.queue.items)
                        if getattr(q, "kind", "") == kind
                        and all(getattr(q, k) == v for k, v in fields.items()))
    page._show()
    return page.current_question()


def answer_with(qtbot, page, key, widget=None):
    """Press ``key`` on the page (or on ``widget``, as the picker's filter) and wait until the
    edit it makes is done."""
    with qtbot.waitSignal(page.state.edited, timeout=10000):
        qtbot.keyClick(page if widget is None else widget, key)
    qtbot.waitUntil(lambda: page.state.edits_in_flight == 0, timeout=10000)


def refresh(qtbot, page):
    """Ask the queue again and wait for it."""
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.refresh()


def assert_not_asked_again(qtbot, page, kind):
    """Asked again, the queue has no question of ``kind``."""
    refresh(qtbot, page)
    assert all(getattr(q, "kind", "") != kind for q in page.queue.items)


def undo_and_show_again(qtbot, page, history, kind):
    """Undo the answer, ask the queue again and show its question of ``kind`` again."""
    undo(qtbot, page, history)
    refresh(qtbot, page)
    return show(page, kind)


def undo(qtbot, page, history):
    """Undo the last edit and wait until the library says it is undone."""
    with qtbot.waitSignal(page.state.edited, timeout=10000):
        history.undo()


def decoration(side, row=0):
    model = side.model
    return model.data(model.index(row), Qt.ItemDataRole.DecorationRole)


def test_the_people_questions_are_asked_among_the_photo_questions(qtbot, gui_library, tmp_path):
    """By what each answer is expected to fix: "Are these the same person?" for a person split
    in two (5 faces would be placed) comes before the photo questions that would fix less, not
    after every photo question."""
    from photoclust.core.learning.review_queue import expected_fix

    library = gui_library.library
    c = centres(2)
    anna = faces_in_photos(library, tmp_path, near(c[0], 10, seed=1))
    faces_in_photos(library, tmp_path, near(c[1], 4, seed=2), start=10)
    group_faces(library)
    move_faces(library, anna[:5], None)  # Anna split in two by the user
    _state, page, _history = open_review(qtbot, library)
    photo_questions, people = len(page.queue.questions), len(page.queue.people)
    assert photo_questions and people
    assert page.progress_label.text() == f"Question 1 of {photo_questions + people:,}"
    items = page.queue.items
    row = next(k for k, q in enumerate(items) if getattr(q, "kind", "") == SAME_PERSON)
    assert items[row].expected == 5.0 and row < photo_questions
    later = [expected_fix(q, page.queue.view(k)) for k, q in enumerate(items)
             if k > row and q in page.queue.questions]
    assert later and min(later) < 5.0  # a photo question that fixes less comes after it
    page.current = row
    page._show()
    assert page.content.currentWidget() is page.face_sides
    assert page.question_label.text().startswith("Are Person")
    page.go(1)
    assert page.current_question() is items[row + 1]


def test_is_this_anna_shows_the_face_large_and_yes_places_it_undoably(qtbot, anna):
    library, a, _twin, _bob, faces = anna
    state, page, history = open_review(qtbot, library)
    q = show(page, IS_THIS, person_id=a)
    assert page.stack.currentWidget() is page.question
    assert page.content.currentWidget() is page.face_sides
    assert page.question_label.text().startswith("Is this Anna?")
    # The face large on the left, Anna's other faces beside it.
    assert page.face_left.model.face_ids() == [q.face_id]
    assert page.face_left.strip.iconSize().width() == QUESTION_FACE
    assert page.face_left.caption.text() == "This face"
    typical = page.face_right.model.face_ids()
    assert typical and q.face_id not in typical and set(typical) <= set(faces["anna"][3:])
    assert page.face_right.caption.text() == "Faces of “Anna” · 2 faces"
    assert page.face_right.strip.iconSize().width() == QUESTION_THUMB
    # Cut from the photo: the red square fills the middle, the blue photo is the margin.
    qtbot.waitUntil(lambda: decoration(page.face_left).width() == QUESTION_FACE and
                    decoration(page.face_left).pixelColor(QUESTION_FACE // 2,
                                                          QUESTION_FACE // 2).red() > 200,
                    timeout=10000)
    assert decoration(page.face_left).pixelColor(2, 2).blue() > 150
    qtbot.waitUntil(lambda: decoration(page.face_right).pixelColor(
        QUESTION_THUMB // 2, QUESTION_THUMB // 2).red() > 200, timeout=10000)
    # A double-click on the face opens its photo.
    seen = []
    state.pageRequested.connect(lambda name, kwargs: seen.append((name, kwargs)))
    page.face_left.strip.doubleClicked.emit(page.face_left.model.index(0))
    assert seen and seen[0][0] == "viewer" and seen[0][1]["photo_id"] == \
        page.face_left.model.index(0).data(PhotoIdRole)
    assert page.buttons["No, it belongs in…"].text() == "No, it is…  (B)"
    before, n = people_state(library), len(page.queue.items)
    answer_with(qtbot, page, Qt.Key.Key_Y)
    assert people_state(library)["faces"][q.face_id] == (a, "user", False)  # placed by you
    assert q not in page.queue.items and len(page.queue.items) == n - 1
    assert "1 answered" in page.progress_label.text()
    assert edit_history.next_undo(library).kind == "move_faces"
    qtbot.waitUntil(lambda: history.next_undo is not None and
                    history.next_undo.kind == "move_faces", timeout=10000)
    undo(qtbot, page, history)
    qtbot.waitUntil(lambda: people_state(library) == before, timeout=10000)


def test_no_to_is_this_anna_takes_the_face_away_for_good(qtbot, anna):
    library, a, _twin, _bob, _faces = anna
    _state, page, _history = open_review(qtbot, library)
    q = show(page, IS_THIS, person_id=a)
    answer_with(qtbot, page, Qt.Key.Key_N)
    state = people_state(library)
    assert state["faces"][q.face_id][0] != a and (q.face_id, a) in state["links"]
    assert edit_history.next_undo(library).kind == "not_this_person"


def test_no_it_is_picks_the_person_by_typing(qtbot, anna):
    library, a, _twin, bob, _faces = anna
    _state, page, _history = open_review(qtbot, library)
    q = show(page, IS_THIS, person_id=a)
    qtbot.keyClick(page, Qt.Key.Key_B)
    picker = page.picker
    assert isinstance(picker, PersonPicker) and picker.isVisible()
    assert a not in picker.ids() and bob in picker.ids() and picker.ids()[-1] is None
    assert picker.proxy.index(picker.proxy.rowCount() - 1, 0).data() == NEW_PERSON_LABEL
    qtbot.keyClicks(picker.filter, f"Person {bob}")
    assert picker.ids() == [bob, None]  # the match first; a new person of that name stays last
    answer_with(qtbot, page, Qt.Key.Key_Return, picker.filter)
    assert people_state(library)["faces"][q.face_id] == (bob, "user", False)


def test_same_person_shows_faces_of_both_and_no_is_remembered_yes_merges(qtbot, anna):
    library, a, twin, _bob, faces = anna
    _state, page, history = open_review(qtbot, library)
    q = show(page, SAME_PERSON)
    assert (q.person_id, q.other_person_id) == (a, twin)
    assert page.question_label.text().startswith(f"Are Anna and Person {twin} the same person?")
    assert set(page.face_left.model.face_ids()) == set(faces["anna"][3:])
    assert set(page.face_right.model.face_ids()) == set(faces["anna"][:3])
    assert page.face_left.caption.text() == "“Anna” · 3 faces"
    assert page.face_right.caption.text() == f"“Person {twin}” · 3 faces"
    for side in (page.face_left, page.face_right):
        assert side.strip.iconSize().width() == QUESTION_THUMB
    assert page.yes_action.isEnabled() and page.no_action.isEnabled()
    assert not page.elsewhere_action.isEnabled()  # yes or no
    answer_with(qtbot, page, Qt.Key.Key_N)
    assert edit_history.next_undo(library).kind == "not_same_person"
    assert set(person_of(library, faces["anna"][:3])) == {twin}
    # Asked again: the pair is not among the questions any more.
    assert_not_asked_again(qtbot, page, SAME_PERSON)
    # Undone: asked again, and yes merges the two.
    undo_and_show_again(qtbot, page, history, SAME_PERSON)
    answer_with(qtbot, page, Qt.Key.Key_Y)
    assert set(person_of(library, faces["anna"])) == {a}
    merged = edit_history.next_undo(library)
    assert merged.kind == "merge_people" and merged.description == f"Merged Person {twin} into Anna"


def test_one_person_shows_both_parts_in_two_rows_yes_is_remembered_no_splits(qtbot, library,
                                                                             tmp_path):
    from PySide6.QtWidgets import QBoxLayout

    anna, bea, person = lookalikes(
        library, lambda lib, d, start=0: faces_in_photos(lib, tmp_path, d, start))
    # A face in no person: the review has a question left once this one is answered.
    [alone] = faces_in_photos(library, tmp_path, centres(2, seed=8)[1:], start=10)
    with library.session() as s:
        s.get(Face, alone).person_id = None
    _state, page, history = open_review(qtbot, library)
    q = show(page, ONE_PERSON)
    assert q.person_id == person
    assert page.question_label.text().startswith(
        f"Are these faces of Person {person} one person?")
    assert page.content.currentWidget() is page.face_sides
    # Two rows, one above the other: the person's largest part, then the part that would go.
    assert page.faces_layout.direction() == QBoxLayout.Direction.TopToBottom
    assert set(page.face_left.model.face_ids()) == set(anna)
    assert set(page.face_right.model.face_ids()) == set(bea)
    assert page.face_left.caption.text() == f"6 faces of “Person {person}”"
    assert page.face_right.caption.text().startswith(f"and 4 faces of “Person {person}”")
    qtbot.waitUntil(lambda: decoration(page.face_right).width() == QUESTION_THUMB,
                    timeout=10000)
    assert page.yes_action.isEnabled() and page.no_action.isEnabled()
    assert not page.elsewhere_action.isEnabled()  # yes or no
    # Y: one person, remembered: not asked again.
    answer_with(qtbot, page, Qt.Key.Key_Y)
    assert edit_history.next_undo(library).kind == "confirm_person"
    assert set(person_of(library, anna + bea)) == {person}
    assert_not_asked_again(qtbot, page, ONE_PERSON)
    # Undone: asked again; N splits the second row off as one undoable edit.
    undo_and_show_again(qtbot, page, history, ONE_PERSON)
    answer_with(qtbot, page, Qt.Key.Key_N)
    split = edit_history.next_undo(library)
    assert split.kind == "split_person"
    assert set(person_of(library, anna)) == {person}
    (new,) = set(person_of(library, bea))
    assert new != person
    undo(qtbot, page, history)
    assert set(person_of(library, anna + bea)) == {person}
    # Another question is drawn side by side again.
    show(page, WHO)
    assert page.faces_layout.direction() == QBoxLayout.Direction.LeftToRight


def test_who_is_this_is_answered_by_choosing_a_person(qtbot, library, alone):
    """A face in no person: Y and N do nothing, B chooses who it is (here a new person)."""
    _state, page, _history = open_review(qtbot, library)  # no clusters: people all the same
    assert page.queue.questions == []
    q = show(page, WHO)
    assert q.face_id == alone and page.question_label.text().startswith("Who is this?")
    assert page.face_left.model.face_ids() == [alone] and not page.face_right.isVisible()
    qtbot.wait(1)
    assert page.face_left.mapTo(page, page.face_left.rect().topLeft()).x() < 40  # on the left
    assert not page.yes_action.isEnabled() and not page.no_action.isEnabled()
    assert page.buttons["No, it belongs in…"].text() == "Who is it?…  (B)"
    page.pick_cluster()
    picker = page.picker
    assert isinstance(picker, PersonPicker)
    qtbot.keyClicks(picker.filter, "new")
    answer_with(qtbot, page, Qt.Key.Key_Return, picker.filter)
    person = person_of(library, [alone])[0]
    assert person is not None and people_state(library)["faces"][alone] == (person, "user", False)


def test_a_library_without_faces_or_clusters_still_says_why(qtbot, library):
    message = message_of(qtbot, ReviewPage, library)
    assert "no clusters yet" in message


def test_nothing_is_cut_off_at_1024_pixels(qtbot, anna):
    library = anna[0]
    _state, page = open_page(qtbot, ReviewPage, library, size=(1024, 620))
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.activate()
    kinds = set()
    for i in range(len(page.queue.items)):
        page.current = i
        page._show()
        qtbot.wait(1)
        kinds.add(page.current_question().kind)
        label = page.question_label
        assert label.heightForWidth(label.width()) <= label.height()
        for side in (page.face_left, page.face_right):
            if side.isVisible():
                caption = side.caption
                assert caption.heightForWidth(caption.width()) <= caption.height()
                side_px = side.strip.iconSize().width()
                assert side.strip.viewport().width() >= side_px + 12
                assert side.strip.viewport().height() >= side_px + 12
        for button in page.buttons.values():
            assert button.width() >= button.sizeHint().width()
            assert button.geometry().right() <= page.width()
    assert {SAME_PERSON, IS_THIS} <= kinds


def test_a_name_no_one_has_makes_a_new_person_of_that_name(qtbot, library, alone):
    """ "Who is it?…": typing a name no one has offers "A new person named “Mia”", and choosing
    it makes that person (before, the list went empty and the name had to be given later)."""
    from photoclust.core.faces import read

    _state, page, _history = open_review(qtbot, library)
    show(page, WHO)
    page.pick_cluster()
    picker = page.picker
    qtbot.keyClicks(picker.filter, "Mia")
    assert picker.proxy.rowCount() == 1
    assert picker.proxy.index(0, 0).data() == f"{NEW_PERSON_LABEL} named “Mia”"
    answer_with(qtbot, page, Qt.Key.Key_Return, picker.filter)
    person = person_of(library, [alone])[0]
    assert read.get_person(library, person).name == "Mia"
