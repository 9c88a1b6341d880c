"""The smaller things a new user tripped over (issue 24, point 6), each driven as a user would."""
from __future__ import annotations

from _pages import open_page
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from qt_helpers import WaitingJob, cluster_name_editor, settled

from photoclust.core.jobs import Progress
from photoclust.core.library.models import Assignment
from photoclust.gui.models.photo_model import PhotoRole


def test_the_viewer_steps_through_the_photos_as_the_grid_sorts_them(window, photos, qtbot,
                                                                   gui_library):
    a = gui_library.cluster_ids[0]
    ids = gui_library.photo_ids[a]
    with gui_library.library.session() as s:  # the last photo by name is the least sure
        for n, pid in enumerate(ids):
            s.get(Assignment, pid).confidence = 0.9 - 0.1 * n
    photos.reload()
    photos.order_combo.setCurrentIndex(photos.order_combo.findData("confidence"))
    first = photos.photo_model.index(0)
    assert first.data(PhotoRole.PhotoId) == ids[-1]
    photos.grid.setCurrentIndex(first)
    photos.grid.setFocus()
    viewer = window.page("viewer")
    with qtbot.waitSignal(viewer.listReady, timeout=10000):
        qtbot.keyClick(photos.grid, Qt.Key.Key_Return)
    assert viewer.photo_ids == list(reversed(ids))  # least sure first, as the grid
    assert viewer.position_label.text() == f"Photo 1 of {len(ids)}"


def test_a_click_on_a_map_dot_shows_its_photo(qtbot, gui_library):
    from test_page_map import _page_with_layout

    state, page = _page_with_layout(qtbot, gui_library)
    c = gui_library.cluster_ids[1]
    target = gui_library.photo_ids[c][2]
    assert page.preview.isVisible() and page.preview.photo_id is None
    assert page.preview.image_label.text() == "Click a dot to see its photo here."
    point = page.view.mapFromScene(page.view.point_position(target))
    with qtbot.waitSignal(page.preview.photoShown, timeout=10000) as shown:
        qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert shown.args == [target]
    assert not page.preview.image_label.pixmap().isNull()
    assert "photo002.jpg" in page.preview.metadata_label.text()
    assert "Group B" in page.preview.metadata_label.text()


def test_the_progress_bar_never_goes_back(window, qtbot):
    """What Organize reported on a 2-core machine: "16 of 32", then "40 of 150" (more photos
    found), then the clustering's own steps."""
    job = WaitingJob()
    worker = window.run_job(job)
    status = window.job_status
    qtbot.waitUntil(lambda: status.worker is worker, timeout=10000)
    shown: list[tuple[int, int]] = []
    for report in [Progress(16, 32, "a.jpg", "embed"), Progress(40, 150, "b.jpg", "embed"),
                   Progress(150, 150, "c.jpg", "embed"), Progress(2, 3, "choosing k", "cluster"),
                   Progress(0, 3, "silhouette of k=2", "cluster"),
                   Progress(0, 4, "K-means k=4, restart 1/4", "cluster")]:
        status._on_progress(report)  # what each report does
        shown.append((status.bar.value(), status.bar.maximum()))
    fractions = [value / maximum for value, maximum in shown if maximum > 0]
    assert fractions == sorted(fractions), shown
    assert shown[1] == (75, 150)  # "40 of 150" keeps the bar where "16 of 32" left it
    assert all(maximum == 0 for _, maximum in shown[3:])  # a stage's own steps: busy
    assert status.label.text().startswith("Grouping photos")
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()


def test_an_undo_says_it_was_undone(window, photos, qtbot, gui_library):
    with settled(window, qtbot):
        photos.rename_cluster_to(gui_library.cluster_ids[0], "Beach")
    assert window.statusBar().currentMessage() == "Renamed 'Group A' to 'Beach'"
    with settled(window, qtbot):
        window.undo_action.trigger()
    assert window.statusBar().currentMessage() == "Undone: renamed 'Group A' to 'Beach'"
    with settled(window, qtbot):
        window.redo_action.trigger()
    assert window.statusBar().currentMessage() == "Redone: renamed 'Group A' to 'Beach'"


def test_renaming_to_an_empty_name_says_why(window, photos, qtbot, gui_library):
    editor = cluster_name_editor(qtbot, photos)
    editor.selectAll()
    qtbot.keyClicks(editor, "   ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(window.messages), timeout=5000)
    assert window.messages == ["A cluster needs a name: “Group A” keeps its name."]
    assert not isinstance(QApplication.focusWidget(), QLineEdit)  # the editor closed first
    assert photos.cluster_model.cluster(photos.cluster_model.row_of(
        gui_library.cluster_ids[0])).name == "Group A"


def test_left_and_right_work_in_review_after_the_questions_are_computed_again(
        window, qtbot, gui_library):
    window.state.show_page("review")
    review = window.page("review")
    qtbot.waitUntil(lambda: review.queue is not None and not review.job_running(),
                    timeout=60000)
    assert len(review.queue.questions) >= 3
    # The focus went elsewhere in the window (Qt hands it on when the strip that had it is
    # hidden while questions are computed), then the questions are asked again.
    window.nav_bar.setFocus()
    with qtbot.waitSignal(review.queueReady, timeout=60000):
        review.refresh()
    focus = QApplication.focusWidget()
    qtbot.keyClick(focus, Qt.Key.Key_Right)
    assert review.current == 1 and window.stack.currentWidget() is review
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Left)
    assert review.current == 0


def test_review_page_alone_keeps_left_working(qtbot, gui_library):
    """Left after clicking a photo of the question: the strip has the focus, Left still goes
    back a question."""
    from photoclust.gui.pages.review import ReviewPage

    _state, page = open_page(qtbot, ReviewPage, gui_library.library)
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.activate()
    page.go(1)
    strip = page.right.strip
    index = strip.model().index(0, 0)
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton,
                     pos=strip.visualRect(index).center())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Left)
    assert page.current == 0


def test_while_reading_the_count_is_of_the_photos_to_look_at_not_the_files():
    """An Organize of 150 new photos in folders of 290 files: "88 of 150", not "88 of 290"
    (which then jumped to "of 143" when reading ended)."""
    from photoclust.gui.views.job_status import describe_progress

    assert describe_progress("Organizing photos",
                             Progress(290, 290, "more_0149.jpg", "index", 88, 150)) == \
        "Looking at photos: 88 of 150 (290 of 290 read)"
    assert describe_progress("Organizing photos", Progress(60, 60, "done", "index", 48)) == \
        "Looking at photos: 48 of 60 (60 read)"  # without the photos to look at


def test_the_bar_follows_the_photos_to_look_at_while_reading(window, qtbot):
    job = WaitingJob()
    worker = window.run_job(job)
    status = window.job_status
    qtbot.waitUntil(lambda: status.worker is worker, timeout=10000)
    status._on_progress(Progress(200, 290, "a.jpg", "index", 30, 150))
    assert (status.bar.value(), status.bar.maximum()) == (30, 150)
    status._on_progress(Progress(60, 143, "b.jpg", "embed"))  # reading over: 143 in the end
    assert status.bar.maximum() == 143 and status.bar.value() == 60
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()
