"""The viewer page: a photo large, decoded off the GUI thread, arrows, Esc, fit and 100 %."""
from __future__ import annotations

import threading

import pytest
from _pages import open_page, page_requests
from PySide6.QtCore import Qt
from sqlalchemy import update

from helpers import make_exif, two_tone_image, write_jpeg
from photoclust.core.library import viewing
from photoclust.core.library.models import Photo
from photoclust.gui.pages.viewer import ViewerPage


def _all_ids(gui_library) -> list[int]:
    return [p for c in gui_library.cluster_ids for p in gui_library.photo_ids[c]]


def _open(qtbot, gui_library, photo_id, photo_ids, size=(1024, 700)):
    state, page = open_page(qtbot, ViewerPage, gui_library.library, size)
    with qtbot.waitSignal(page.photoShown, timeout=10000) as shown:
        page.activate(photo_id=photo_id, photo_ids=photo_ids, back="photos")
    assert shown.args == [photo_id]
    return state, page


def _make_big(gui_library, photo_id, tmp_path, size=(2400, 1600)):
    path = write_jpeg(tmp_path / "big" / "wide.jpg", image=two_tone_image(size))
    with gui_library.library.session() as s:
        s.execute(update(Photo).where(Photo.id == photo_id)
                  .values(path=str(path), width=size[0], height=size[1]))
    return path


def test_viewer_shows_the_photo_with_its_details_and_cluster(qtbot, gui_library):
    ids = _all_ids(gui_library)
    _state, page = _open(qtbot, gui_library, ids[1], ids)
    assert not page.shown_size().isEmpty()
    text = page.details_label.text()
    assert "photo001.jpg" in text and "Group A" in text and "90% sure" in text
    assert page.position_label.text() == f"Photo 2 of {len(ids)}"


def test_arrow_keys_step_through_the_photos_and_stop_at_the_ends(qtbot, gui_library):
    ids = _all_ids(gui_library)[:3]
    _state, page = _open(qtbot, gui_library, ids[0], ids)
    assert not page.prev_action.isEnabled()
    for expected in ids[1:]:
        with qtbot.waitSignal(page.photoShown, timeout=10000) as shown:
            qtbot.keyClick(page.scroll_area, Qt.Key.Key_Right)
        assert shown.args == [expected]
    assert not page.next_action.isEnabled()
    qtbot.keyClick(page.scroll_area, Qt.Key.Key_Right)  # nothing past the last photo
    assert page.photo_id == ids[-1]
    with qtbot.waitSignal(page.photoShown, timeout=10000) as shown:
        qtbot.keyClick(page.scroll_area, Qt.Key.Key_Left)
    assert shown.args == [ids[1]]


def test_escape_goes_back_to_the_page_the_photo_came_from(qtbot, gui_library):
    ids = _all_ids(gui_library)
    state, page = _open(qtbot, gui_library, ids[2], ids)
    requests = page_requests(qtbot, state)
    qtbot.keyClick(page.scroll_area, Qt.Key.Key_Escape)
    assert requests == [("photos", {"photo_id": ids[2]})]


def test_fit_and_100_percent(qtbot, gui_library, tmp_path):
    ids = _all_ids(gui_library)
    _make_big(gui_library, ids[0], tmp_path)
    state, page = _open(qtbot, gui_library, ids[0], ids)
    viewport = page.scroll_area.viewport().size()
    fitted = page.shown_size()
    assert fitted.width() <= viewport.width() and fitted.height() <= viewport.height()
    assert max(fitted.width() / viewport.width(), fitted.height() / viewport.height()) > 0.95
    with qtbot.waitSignal(page.photoShown, timeout=10000):
        qtbot.keyClick(page.scroll_area, Qt.Key.Key_1)
    assert (page.shown_size().width(), page.shown_size().height()) == (2400, 1600)
    assert page.actual_action.isChecked() and not page.fit_action.isChecked()
    requests = page_requests(qtbot, state)
    qtbot.keyClick(page.scroll_area, Qt.Key.Key_Escape)  # Esc leaves 100 % first
    assert page.zoom == "fit" and requests == []
    assert page.shown_size() == fitted


def test_the_photo_is_decoded_off_the_gui_thread_at_screen_size(qtbot, gui_library, tmp_path,
                                                                 monkeypatch):
    ids = _all_ids(gui_library)
    _make_big(gui_library, ids[0], tmp_path, size=(5000, 3000))
    calls = []
    real = viewing.decode_to_fit

    def recording(path, w, h, full=False):
        image = real(path, w, h, full)
        calls.append((threading.current_thread() is threading.main_thread(), image.size))
        return image

    monkeypatch.setattr("photoclust.gui.pages.viewer.decode_to_fit", recording)
    _state, page = _open(qtbot, gui_library, ids[0], ids[:1])
    screen = page.screen().size()
    on_gui_thread, size = calls[0]
    assert not on_gui_thread
    assert size[0] <= screen.width() * page.screen().devicePixelRatio() < 5000


def test_neighbours_are_decoded_ahead(qtbot, gui_library):
    ids = _all_ids(gui_library)
    _state, page = _open(qtbot, gui_library, ids[0], ids)
    qtbot.waitUntil(lambda: (ids[1], False) in page._cache, timeout=10000)
    with qtbot.waitSignal(page.photoShown, timeout=1000):
        page.next()  # served from the cache: shown within the call
    assert page.photo_id == ids[1]


def test_an_unreadable_photo_gets_one_sentence(qtbot, gui_library):
    ids = _all_ids(gui_library)
    with gui_library.library.session() as s:
        path = s.get(Photo, ids[0]).path
    with open(path, "wb") as f:
        f.write(b"this is not a jpeg")
    state, page = open_page(qtbot, ViewerPage, gui_library.library)
    with qtbot.waitSignal(page.photoFailed, timeout=10000) as failed:
        page.activate(photo_id=ids[0], photo_ids=ids)
    assert failed.args[0] == ids[0]
    assert page.image_label.text().startswith("Cannot show this photo:")
    with qtbot.waitSignal(page.photoShown, timeout=10000):
        qtbot.keyClick(page.scroll_area, Qt.Key.Key_Right)  # the next one still shows


def test_show_similar_asks_for_the_search_page(qtbot, gui_library):
    ids = _all_ids(gui_library)
    state, page = _open(qtbot, gui_library, ids[3], ids)
    requests = page_requests(qtbot, state)
    page.similar_action.trigger()
    assert requests == [("search", {"similar_to": ids[3]})]


def test_details_follow_an_edit(qtbot, gui_library):
    from photoclust.core.clustering import editing

    ids = _all_ids(gui_library)
    state, page = _open(qtbot, gui_library, ids[0], ids)
    target = gui_library.cluster_ids[2]
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        state.run_edit(lambda: editing.move_photos(gui_library.library, [ids[0]], target))
    assert "Group C (placed by you)" in page.details_label.text()


@pytest.mark.parametrize("orientation,expected", [(1, (300, 200)), (6, (200, 300))])
def test_decode_to_fit_keeps_within_the_box_and_turns_the_photo_upright(tmp_path, orientation,
                                                                        expected):
    path = write_jpeg(tmp_path / "p.jpg", image=two_tone_image((3000, 2000)),
                      exif=make_exif(orientation=orientation))
    assert viewing.decode_to_fit(path, 300, 300).size == expected
    full = (3000, 2000) if orientation == 1 else (2000, 3000)
    assert viewing.decode_to_fit(path, 10000, 10000).size == full
    assert viewing.decode_to_fit(path, 10, 10, full=True).size == full


def test_decode_to_fit_never_enlarges(tmp_path):
    path = write_jpeg(tmp_path / "small.jpg", size=(64, 48))
    assert viewing.decode_to_fit(path, 1600, 1000).size == (64, 48)


def test_opened_from_a_cluster_it_steps_through_that_cluster(qtbot, gui_library):
    b = gui_library.cluster_ids[1]
    members = gui_library.photo_ids[b]
    state, page = open_page(qtbot, ViewerPage, gui_library.library)
    with qtbot.waitSignals([page.photoShown, page.listReady], timeout=10000):
        page.activate(photo_id=members[1], cluster_id=b)  # what the Photos page sends
    assert page.photo_ids == members  # by path, as the grid lists them
    assert page.position_label.text() == f"Photo 2 of {len(members)}"
    editing_ids = gui_library.photo_ids[gui_library.cluster_ids[0]][:2]
    from photoclust.core.clustering import editing

    editing.remove_photos_from_cluster(gui_library.library, editing_ids)
    with qtbot.waitSignals([page.photoShown, page.listReady], timeout=10000):
        page.activate(photo_id=editing_ids[0], cluster_id=-1)  # "Not in a cluster"
    assert page.photo_ids == editing_ids


def test_b_shows_the_faces_boxed_with_their_names(qtbot, gui_library, tmp_path):
    from sqlalchemy import update as sql_update

    from _face_fixtures import add_faces
    from photoclust.core.faces.editing import move_faces
    from photoclust.core.library.models import Face

    ids = _all_ids(gui_library)
    _make_big(gui_library, ids[0], tmp_path)  # 2400 x 1600
    vectors = [[1.0] + [0.0] * 127, [0.0, 1.0] + [0.0] * 126]
    anna, stranger = add_faces(gui_library.library, vectors, photo_ids=[ids[0], ids[0]], size=400)
    with gui_library.library.session() as s:
        s.execute(sql_update(Face).where(Face.id == anna).values(left=400, top=300))
        s.execute(sql_update(Face).where(Face.id == stranger).values(left=1600, top=800,
                                                                       unsure=True))
    move_faces(gui_library.library, [anna], None, name="Anna")
    _state, page = _open(qtbot, gui_library, ids[0], ids)
    shown = page.shown_size()
    scale = shown.width() / 2400
    assert page.face_boxes(shown) == []  # off until asked for

    def edge_pixel():
        image = page.image_label.pixmap().toImage()
        return image.pixelColor(round(400 * scale), round(500 * scale)).name()

    plain = edge_pixel()
    qtbot.keyClick(page.scroll_area, Qt.Key.Key_B)
    assert page.faces_action.isChecked()
    boxes = page.face_boxes(shown)
    assert [(label, unsure) for _rect, label, unsure in boxes] == [("Anna", False), ("?", True)]
    rect = boxes[0][0]
    assert abs(rect.x() - 400 * scale) <= 1 and abs(rect.width() - 400 * scale) <= 1
    assert edge_pixel() == "#ffd54f" != plain  # the box is drawn on the photo as shown
    qtbot.keyClick(page.scroll_area, Qt.Key.Key_B)
    assert page.face_boxes(shown) == [] and edge_pixel() == plain


def test_the_viewer_details_say_who_is_in_the_photo_and_when_a_time_is_a_guess(qtbot,
                                                                              gui_library):
    """Found in the new-user walk: the viewer showed a copied photo's file date as when it was
    taken and did not say who was in it, while the preview pane did."""
    from _face_fixtures import add_faces
    from photoclust.core.events.job import EventsJob
    from photoclust.core.faces.editing import move_faces
    from photoclust.core.jobs import JobContext

    ids = _all_ids(gui_library)
    face = add_faces(gui_library.library, [[1.0] + [0.0] * 127], photo_ids=[ids[0]])
    move_faces(gui_library.library, face, None, name="Anna")
    EventsJob(gui_library.library).run(JobContext())  # reads the times: these files have none
    _state, page = _open(qtbot, gui_library, ids[0], ids)
    text = page.details_label.text()
    assert "Anna" in text and "a guess" in text
