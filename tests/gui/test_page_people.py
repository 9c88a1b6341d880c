"""The People page over a real library: people found by the core's grouping from faces with
made-up descriptors; naming (with type-ahead and merge by name), merging, moving faces, "not this
person" and "not a face", each undone with the window's Undo; faces cut from the photos."""
from __future__ import annotations

import hashlib

import pytest
from _pages import open_page_with_history
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import insert, select

from _face_fixtures import add_faces, centres, near, people_state, person_of
from helpers import write_jpeg
from photoclust.core.faces import editing, read
from photoclust.core.faces.grouping import group_faces
from photoclust.core.imaging import thumbnail_path, write_thumbnail
from photoclust.core.library.models import Face, FaceCannotLink, Photo
from photoclust.gui.models.face_crops import cut_face
from photoclust.gui.pages.people import TO_CHECK, PeoplePage, face_ids_from_mime


@pytest.fixture
def people_library(library):
    """Three people of 5, 4 and 3 faces (one face each in its own photo), and one unsure face."""
    c = centres(4, seed=3)
    faces = {n: add_faces(library, near(c[i], size, seed=10 + i))
             for i, (n, size) in enumerate((("a", 5), ("b", 4), ("c", 3)))}
    faces["unsure"] = add_faces(library, near(c[3], 1, seed=20), unsure=True)
    group_faces(library)
    return library, faces


def open_people(qtbot, library):
    return open_page_with_history(qtbot, PeoplePage, library, "peopleShown")


def wait_edit(qtbot, page, action):
    """Run ``action`` (an edit) and wait until the page shows its outcome."""
    with qtbot.waitSignal(page.state.edited, timeout=10000):
        action()
    qtbot.waitUntil(lambda: page.state.edits_in_flight == 0, timeout=10000)
    qtbot.waitUntil(page.is_idle, timeout=10000)
    qtbot.wait(50)


def labels(page) -> list[str]:
    model = page.people_model
    return [model.data(model.index(r)).split("\n")[0] for r in range(model.rowCount())]


def select_person(qtbot, page, person_id):
    row = page.people_model.row_of(person_id)
    if page.current_person_id == person_id:
        return
    with qtbot.waitSignal(page.facesShown, timeout=10000):
        page.people_list.setCurrentIndex(page.people_model.index(row))
    qtbot.waitUntil(page.is_idle, timeout=10000)


def person_with(library, face_id) -> int:
    return person_of(library, [face_id])[0]


def test_people_are_listed_with_counts_unnamed_after_named_and_faces_to_check_last(
        qtbot, people_library):
    library, faces = people_library
    pid = person_with(library, faces["b"][0])
    editing.name_person(library, pid, "Zoe")
    _state, page, _history = open_people(qtbot, library)
    shown = labels(page)
    assert shown[0] == "Zoe"  # named first, even after "Person n" alphabetically
    assert shown[-1] == "Faces to check"
    assert page.people_model.ids()[-1] == TO_CHECK
    assert len(shown) == 4  # Zoe, two unnamed people, faces to check
    assert "4 photos" in page.people_model.data(page.people_model.index(0))
    # The named person is opened first: their four faces are shown.
    assert page.current_person_id == pid
    assert sorted(f.id for f in page.face_model.faces) == sorted(faces["b"])
    select_person(qtbot, page, TO_CHECK)
    assert [f.id for f in page.face_model.faces] == faces["unsure"]
    assert not page.name_edit.isEnabled()


def test_rename_then_undo_and_type_ahead_offers_given_names(qtbot, people_library):
    library, faces = people_library
    state, page, history = open_people(qtbot, library)
    pid = person_with(library, faces["a"][0])
    select_person(qtbot, page, pid)
    page.name_edit.setText("Ana")
    wait_edit(qtbot, page, lambda: QTest.keyClick(page.name_edit, Qt.Key.Key_Return))
    assert read.get_person(library, pid).name == "Ana"
    assert "Ana" in labels(page)
    assert page.names_model.stringList() == ["Ana"]
    assert history.next_undo is not None and "Ana" in history.label(history.next_undo)
    wait_edit(qtbot, page, history.undo)
    assert read.get_person(library, pid).name == ""
    assert "Ana" not in labels(page)


def test_naming_with_an_existing_name_says_it_merges_and_merges(qtbot, people_library):
    library, faces = people_library
    a, b = person_with(library, faces["a"][0]), person_with(library, faces["b"][0])
    editing.name_person(library, a, "Ana")
    state, page, history = open_people(qtbot, library)
    select_person(qtbot, page, b)
    page.name_edit.setText("ana")
    assert "merges this person with Ana" in page.name_hint.text()
    wait_edit(qtbot, page, page.rename_current)
    assert person_of(library, faces["b"]) == [a] * 4
    assert page.current_person_id == a  # the merged person is shown
    assert len(page.face_model.faces) == 9
    wait_edit(qtbot, page, history.undo)
    assert person_of(library, faces["b"]) == [b] * 4


def test_merge_selected_people_then_undo(qtbot, people_library):
    library, faces = people_library
    state, page, history = open_people(qtbot, library)
    a, c = person_with(library, faces["a"][0]), person_with(library, faces["c"][0])
    before = people_state(library)
    select_person(qtbot, page, a)
    flags = page.people_list.selectionModel().SelectionFlag.Select
    page.people_list.selectionModel().select(page.people_model.index(
        page.people_model.row_of(c)), flags)
    assert page.merge_action.isEnabled()
    wait_edit(qtbot, page, page.merge_action.trigger)
    assert set(person_of(library, faces["a"] + faces["c"])) == {a}
    assert len(labels(page)) == 3  # two people and the faces to check
    wait_edit(qtbot, page, history.undo)
    assert people_state(library) == before


def test_not_this_person_with_n_then_undo(qtbot, people_library):
    library, faces = people_library
    state, page, history = open_people(qtbot, library)
    a = person_with(library, faces["a"][0])
    select_person(qtbot, page, a)
    odd = faces["a"][2]
    row = next(n for n, f in enumerate(page.face_model.faces) if f.id == odd)
    page.faces.setFocus()
    page.faces.setCurrentIndex(page.face_model.index(row))
    wait_edit(qtbot, page, lambda: QTest.keyClick(page.faces, Qt.Key.Key_N))
    assert person_with(library, odd) != a
    with library.session() as s:
        assert s.get(FaceCannotLink, (odd, a)) is not None
    assert odd not in [f.id for f in page.face_model.faces]
    wait_edit(qtbot, page, history.undo)
    assert person_with(library, odd) == a


def test_move_faces_by_dropping_them_on_a_person_and_remove_a_false_face(qtbot,
                                                                         people_library):
    library, faces = people_library
    state, page, history = open_people(qtbot, library)
    a, b = person_with(library, faces["a"][0]), person_with(library, faces["b"][0])
    select_person(qtbot, page, a)
    page.faces.selectAll()
    mime = page.face_model.mimeData([page.face_model.index(0), page.face_model.index(1)])
    moved = sorted(f.id for f in page.face_model.faces[:2])
    wait_edit(qtbot, page, lambda: page.people_list.facesDropped.emit(
        face_ids_from_mime(mime), b))
    assert person_of(library, moved) == [b, b]
    # Not a face (Delete): hidden for good, and back with Undo.
    select_person(qtbot, page, b)
    page.faces.setFocus()
    page.faces.setCurrentIndex(page.face_model.index(0))
    gone = page.face_model.faces[0].id
    wait_edit(qtbot, page, lambda: QTest.keyClick(page.faces, Qt.Key.Key_Delete))
    with library.session() as s:
        assert s.get(Face, gone).removed
    assert gone not in [f.id for f in page.face_model.faces]
    wait_edit(qtbot, page, history.undo)
    with library.session() as s:
        assert not s.get(Face, gone).removed


def test_a_face_is_cut_from_the_thumbnail_or_the_photo(library, tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (2000, 1500), (0, 0, 200))
    ImageDraw.Draw(image).rectangle((900, 600, 1099, 799), fill=(250, 0, 0))
    path = write_jpeg(tmp_path / "big.jpg", image=image)
    content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    with library.session() as s:
        s.execute(insert(Photo), [{"path": str(path), "content_hash": content_hash,
                                   "file_size": 1, "mtime_ns": 1, "width": 2000,
                                   "height": 1500, "status": "present"}])
        photo_id = s.scalar(select(Photo.id))
    [face_id] = add_faces(library, near(centres(1)[0], 1), photo_ids=[photo_id], size=200)
    with library.session() as s:
        face = s.get(Face, face_id)
        face.left, face.top = 900, 600
    crop = read.face_crops(library, [face_id])[face_id]
    # No thumbnail: cut from the photo; the red square fills the middle of the crop.
    face = cut_face(library, crop, 96)
    assert face.size == (96, 96)
    r, g, b = face.getpixel((48, 48))
    assert r > 200 and b < 60
    r, g, b = face.getpixel((2, 2))  # the margin around the box is the blue background
    assert b > 150 and r < 60
    # A thumbnail where the face is too small (13 px) is not used: still a sharp red middle.
    write_thumbnail(image.resize((200, 150)), thumbnail_path(library, content_hash))
    face = cut_face(library, crop, 96)
    assert face.getpixel((48, 48))[0] > 200


def test_a_photos_details_say_who_is_in_it(qtbot, people_library):
    from photoclust.gui.app import create_application
    from photoclust.gui.views.preview import PreviewPane

    library, faces = people_library
    create_application()
    a = person_with(library, faces["a"][0])
    editing.name_person(library, a, "Ana")
    photo_id = read.face_crops(library, [faces["a"][0]])[faces["a"][0]].photo_id
    pane = PreviewPane(library)
    qtbot.addWidget(pane)
    pane.show_photo(photo_id)
    text = pane.metadata_label.text()
    assert "People" in text and "Ana" in text
    other = read.face_crops(library, [faces["b"][0]])[faces["b"][0]].photo_id
    pane.show_photo(other)
    assert "Ana" not in pane.metadata_label.text()
    assert f"Person {person_with(library, faces['b'][0])}" in pane.metadata_label.text()
    pane._pool.waitForDone(5000)


def test_covers_and_faces_are_cut_from_the_photos_at_the_lists_sizes(qtbot, library, tmp_path):
    """Real photos: the people list shows each cover face at its icon size (not a wider strip
    of a larger crop), the faces at theirs, both cut around the box (red here)."""
    from PIL import Image, ImageDraw

    from photoclust.gui.pages.people import COVER_SIDE, FACE_SIDE

    rows = []
    for i in range(3):
        image = Image.new("RGB", (400, 300), (0, 0, 200))
        ImageDraw.Draw(image).rectangle((150, 100, 249, 199), fill=(250, 0, 0))
        path = write_jpeg(tmp_path / f"p{i}.jpg", image=image.rotate(i * 0.5))
        rows.append({"path": str(path),
                     "content_hash": hashlib.sha256(path.read_bytes()).hexdigest(),
                     "file_size": 1, "mtime_ns": 1, "width": 400, "height": 300,
                     "status": "present"})
    with library.session() as s:
        s.execute(insert(Photo), rows)
        ids = list(s.scalars(select(Photo.id).order_by(Photo.id)))
    face_ids = add_faces(library, near(centres(1)[0], 3), photo_ids=ids)
    with library.session() as s:
        for fid in face_ids:
            s.get(Face, fid).left, s.get(Face, fid).top = 150, 100
    group_faces(library)
    _state, page, _history = open_people(qtbot, library)
    model = page.people_model
    qtbot.waitUntil(lambda: model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
                    .pixelColor(COVER_SIDE // 2, COVER_SIDE // 2).red() > 200, timeout=10000)
    cover = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert (cover.width(), cover.height()) == (COVER_SIDE, COVER_SIDE)
    assert cover.pixelColor(1, 1).blue() > 150  # the margin around the box
    qtbot.waitUntil(page.is_idle, timeout=10000)
    face = page.face_model.data(page.face_model.index(0), Qt.ItemDataRole.DecorationRole)
    assert (face.width(), face.height()) == (FACE_SIDE, FACE_SIDE)
    assert face.pixelColor(FACE_SIDE // 2, FACE_SIDE // 2).red() > 200


def test_in_the_window_the_people_tab_renames_and_the_windows_undo_takes_it_back(
        qtbot, window, gui_library):
    library = gui_library.library
    photos = [pid for ids in gui_library.photo_ids.values() for pid in ids][:4]
    faces = add_faces(library, near(centres(1)[0], 4), photo_ids=photos)
    group_faces(library)
    window.state.photosChanged.emit()  # as after an Organize
    assert "people" in [window.nav_bar.tabData(i) for i in range(window.nav_bar.count())]
    QTest.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    page = window.page("people")
    assert window.current_page is page
    qtbot.waitUntil(lambda: page.people_model.rowCount() == 1 and page.is_idle(), timeout=10000)
    page.name_edit.setText("Bo")
    wait_edit(qtbot, page, page.rename_current)
    pid = person_with(library, faces[0])
    assert read.get_person(library, pid).name == "Bo"
    qtbot.waitUntil(lambda: window.undo_action.isEnabled(), timeout=5000)
    assert "Bo" in window.undo_action.toolTip()
    wait_edit(qtbot, page, window.undo_action.trigger)
    assert read.get_person(library, pid).name == ""
    assert labels(page) == [f"Person {pid}"]


def test_move_to_menu_offers_the_other_people_and_a_new_one(qtbot, people_library):
    library, faces = people_library
    _state, page, history = open_people(qtbot, library)
    a, c = person_with(library, faces["a"][0]), person_with(library, faces["c"][0])
    select_person(qtbot, page, a)
    page.faces.setCurrentIndex(page.face_model.index(0))
    moved = page.face_model.faces[0].id
    assert page.move_action.isEnabled()
    menu = page.move_menu()
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert f"Person {a}" not in texts and f"Person {c}" in texts and texts[-1] == "A new person"
    wait_edit(qtbot, page, menu.actions()[-1].trigger)
    new = person_with(library, moved)
    assert new not in (a, c) and read.get_person(library, new).faces == 1
    wait_edit(qtbot, page, history.undo)
    assert person_with(library, moved) == a


def test_people_and_timeline_fit_1024_by_700_and_their_keys_are_dead_elsewhere(qtbot, window):
    window.resize(1024, 700)
    for name in ("people", "timeline"):
        assert window.show_page(name)
        qtbot.wait(10)
        page = window.page(name)
        assert page.minimumSizeHint().width() <= page.width() <= 1024
        assert page.minimumSizeHint().height() <= page.height()
    assert window.width() <= 1024
    window.show_page("photos")
    people = window.page("people")
    # N, M and Delete belong to the Photos page's grid now (Delete removes from a cluster).
    assert not any(a.isVisible() for a in (people.not_this_action, people.move_action,
                                           people.not_face_action))
    window.show_page("people")
    assert people.not_face_action.isVisible()
