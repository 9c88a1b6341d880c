"""The pages inside the shell: reached by their keys, a photo opens in the viewer and Esc comes
back, and a page's plain keys work only while it is shown."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from photoclust.core.library.models import Assignment
from photoclust.gui.pages.duplicates import DuplicatesPage
from photoclust.gui.pages.map import MapPage
from photoclust.gui.pages.review import ReviewPage
from photoclust.gui.pages.search import SearchPage
from photoclust.gui.pages.viewer import ViewerPage


def test_the_shell_hosts_these_pages(window):
    for name, cls in (("viewer", ViewerPage), ("map", MapPage), ("review", ReviewPage),
                      ("duplicates", DuplicatesPage), ("search", SearchPage)):
        assert type(window.page(name)) is cls


def test_enter_on_a_grid_photo_opens_the_viewer_and_esc_comes_back(window, qtbot, gui_library):
    photos, viewer = window.page("photos"), window.page("viewer")
    a = gui_library.cluster_ids[0]
    photos.grid.setFocus()
    photos.grid.setCurrentIndex(photos.photo_model.index(1))
    with qtbot.waitSignals([viewer.photoShown, viewer.listReady], timeout=10000):
        qtbot.keyClick(photos.grid, Qt.Key.Key_Return)
    assert window.current_page is viewer
    assert viewer.photo_id == gui_library.photo_ids[a][1]
    assert viewer.photo_ids == gui_library.photo_ids[a]
    with qtbot.waitSignal(viewer.photoShown, timeout=10000):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert viewer.photo_id == gui_library.photo_ids[a][2]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert window.current_page is photos


def test_review_answered_with_its_key_in_the_window(window, qtbot, gui_library):
    review = window.page("review")
    with qtbot.waitSignal(review.queueReady, timeout=60000):
        window.nav_actions["review"].trigger()
    assert window.current_page is review
    q = review.current_question()
    with qtbot.waitSignal(window.state.photosChanged, timeout=10000):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Y)
    assert q not in review.queue.questions
    assert window.undo_action.isEnabled()


def test_a_pages_plain_keys_are_dead_while_another_page_is_shown(window, qtbot, gui_library):
    review, viewer = window.page("review"), window.page("viewer")
    with qtbot.waitSignal(review.queueReady, timeout=60000):
        window.show_page("review")
    window.show_page("photos")
    assert not review.yes_action.isVisible() and not viewer.next_action.isVisible()
    library = gui_library.library
    with library.session() as s:
        before = s.execute(select(Assignment.photo_id, Assignment.source)).all()
    photos = window.page("photos")
    photos.grid.setFocus()
    qtbot.keyClick(photos.grid, Qt.Key.Key_Y)  # the review's Yes must not answer from here
    qtbot.wait(50)
    with library.session() as s:
        assert s.execute(select(Assignment.photo_id, Assignment.source)).all() == before
    window.show_page("review")
    assert review.yes_action.isVisible()


def test_every_page_fits_1024_by_700(window, qtbot):
    window.resize(1024, 700)
    for name in ("viewer", "map", "review", "duplicates", "search"):
        window.show_page(name)
        qtbot.wait(10)
        page = window.page(name)
        assert page.minimumSizeHint().width() <= page.width() <= 1024
        assert page.minimumSizeHint().height() <= page.height()
    assert window.width() <= 1024
