"""The Photos page driven offscreen like a user would: each test checks what the library holds."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QInputDialog
from qt_helpers import cluster_name_editor, select_clusters, settled
from sqlalchemy import select

from photoclust.core.library.models import Assignment, Cluster
from photoclust.core.organize.settings import load_settings
from photoclust.gui.models.cluster_model import ClusterRole
from photoclust.gui.models.photo_model import PhotoRole


def _clusters(library) -> dict[int, tuple[str, str, bool]]:
    with library.session() as s:
        return {c.id: (c.name, c.name_source, c.active) for c in s.scalars(select(Cluster))}


def _members(library, cluster_id) -> list[int]:
    with library.session() as s:
        return sorted(s.scalars(select(Assignment.photo_id)
                                .where(Assignment.cluster_id == cluster_id)))


def _select_photos(page, rows) -> None:
    selection = page.grid.selectionModel()
    selection.clearSelection()
    for r in rows:
        selection.select(page.photo_model.index(r), QItemSelectionModel.SelectionFlag.Select)


def _shown(page) -> list[int]:
    return [page.photo_model.index(r).data(PhotoRole.PhotoId)
            for r in range(page.photo_model.rowCount())]


def test_selecting_a_cluster_shows_its_photos(window, photos, gui_library):
    second = gui_library.cluster_ids[1]
    assert photos.sidebar.current_cluster_id() == gui_library.cluster_ids[0]
    select_clusters(photos, [second])
    shown = [photos.photo_model.index(r).data(PhotoRole.PhotoId)
             for r in range(photos.photo_model.rowCount())]
    assert shown == gui_library.photo_ids[second] == _members(gui_library.library, second)
    assert window.summary_label.text() == "13 photos in 3 clusters"


def test_preview_shows_the_photo_and_its_metadata(window, photos, qtbot, gui_library):
    with qtbot.waitSignal(photos.preview.photoShown, timeout=10000) as shown:
        photos.grid.setCurrentIndex(photos.photo_model.index(2))
    assert shown.args == [gui_library.photo_ids[gui_library.cluster_ids[0]][2]]
    assert not photos.preview.image_label.pixmap().isNull()
    assert "photo002.jpg" in photos.preview.metadata_label.text()
    assert "Group A (90% sure)" in photos.preview.metadata_label.text()


def test_drop_on_sidebar_moves_photos_and_undo_brings_them_back(window, photos, qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[0], gui_library.cluster_ids[1]
    mime = photos.photo_model.mimeData([photos.photo_model.index(0), photos.photo_model.index(1)])
    target = photos.sidebar.proxy.mapFromSource(photos.cluster_model.index(
        photos.cluster_model.row_of(b)))
    with settled(window, qtbot):
        photos.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    moved = gui_library.photo_ids[a][:2]
    assert set(moved) <= set(_members(library, b))
    assert photos.photo_model.rowCount() == 4  # the grid of cluster A lost them
    with settled(window, qtbot):
        window.undo_action.trigger()
    assert set(moved) <= set(_members(library, a))
    with settled(window, qtbot):
        window.redo_action.trigger()
    assert set(moved) <= set(_members(library, b))


def test_merge_selected_clusters_with_ctrl_m(window, photos, qtbot, gui_library):
    library = gui_library.library
    a, b, c = gui_library.cluster_ids
    select_clusters(photos, [b, c])
    assert photos.merge_action.isEnabled()
    qtbot.keyClick(photos.sidebar.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: photos.merge_box is not None and photos.merge_box.isVisible())
    with settled(window, qtbot):
        next(b for b in photos.merge_box.buttons() if b.text() == "Merge").click()
    assert _members(library, b) == sorted(gui_library.photo_ids[b] + gui_library.photo_ids[c])
    assert _clusters(library)[c][2] is False  # merged away, id kept for undo
    assert photos.cluster_model.rowCount() == 2
    assert photos.sidebar.current_cluster_id() == b
    # The grid lists the merged cluster (its first page was read off the GUI thread).
    assert sorted(_shown(photos)) == sorted(gui_library.photo_ids[b] + gui_library.photo_ids[c])


def test_split_cluster_makes_a_new_cluster_from_part_of_it(window, photos, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    before = set(_clusters(library))
    with settled(window, qtbot, 20000):
        photos.split_action.trigger()
    new = set(_clusters(library)) - before
    assert len(new) == 1
    (new_id,) = new
    parts = [set(_members(library, a)), set(_members(library, new_id))]
    assert parts[0] | parts[1] == set(gui_library.photo_ids[a]) and all(parts)
    assert photos.cluster_model.rowCount() == 4


def test_a_name_being_typed_stays_when_the_covers_arrive(window, photos, qtbot, gui_library):
    """The covers are read after the window opens: their arrival (a change of every row) must
    not put the old name back into the editor the user is typing in."""
    a = gui_library.cluster_ids[0]
    qtbot.waitUntil(photos.is_up_to_date)
    window.activateWindow()
    editor = cluster_name_editor(qtbot, photos)
    editor.selectAll()
    qtbot.keyClicks(editor, "Beach days")
    model = photos.cluster_model
    rows = [model.cluster(r) for r in range(model.rowCount())]
    assert model.update_covers(rows)  # as when the covers come
    assert editor.text() == "Beach days"
    with settled(window, qtbot):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert _clusters(gui_library.library)[a][:2] == ("Beach days", "user")


def test_rename_inline_with_f2(window, photos, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    window.activateWindow()
    editor = cluster_name_editor(qtbot, photos)
    assert editor.text() == "Group A"
    editor.selectAll()
    qtbot.keyClicks(editor, "Beach days")
    with settled(window, qtbot):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert _clusters(library)[a][:2] == ("Beach days", "user")
    assert photos.cluster_model.index(photos.cluster_model.row_of(a)).data(
        ClusterRole.Name) == "Beach days"
    with settled(window, qtbot):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _clusters(library)[a][:2] == ("Group A", "auto")
    with settled(window, qtbot):
        qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert _clusters(library)[a][:2] == ("Beach days", "user")


def test_refused_rename_changes_nothing_and_is_not_undoable(window, photos, qtbot, gui_library):
    a = gui_library.cluster_ids[0]
    with qtbot.waitSignal(window.state.editFailed):
        photos.rename_cluster_to(a, "   ")
    assert _clusters(gui_library.library)[a][0] == "Group A"
    assert window.history.next_undo is None and not window.undo_action.isEnabled()
    assert window.messages == ["a cluster name cannot be empty"]


def test_new_cluster_asks_for_a_name(window, photos, qtbot, gui_library, monkeypatch):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    asked = []
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(
        lambda _parent, _title, label, *_a, **_k: (asked.append(label), ("Sunsets", True))[1]))
    _select_photos(photos, [0, 2, 4])
    with settled(window, qtbot):
        photos.new_cluster_action.trigger()
    assert asked == ["Name of the new cluster of 3 photos:"]
    new_id = photos.sidebar.current_cluster_id()
    assert new_id not in gui_library.cluster_ids
    assert _clusters(library)[new_id][:2] == ("Sunsets", "user")
    chosen = [gui_library.photo_ids[a][r] for r in (0, 2, 4)]
    assert _members(library, new_id) == chosen
    assert photos.photo_model.rowCount() == 3  # the new cluster is shown


def test_delete_key_removes_photos_from_their_cluster(window, photos, qtbot, gui_library):
    library = gui_library.library
    c = gui_library.cluster_ids[2]
    select_clusters(photos, [c])
    _select_photos(photos, [0])
    photos.grid.setFocus()
    with settled(window, qtbot):
        qtbot.keyClick(photos.grid, Qt.Key.Key_Delete)
    assert _members(library, c) == gui_library.photo_ids[c][1:]
    with library.session() as s:
        assert s.get(Assignment, gui_library.photo_ids[c][0]) is None


def test_cancelling_the_name_of_a_new_cluster_changes_nothing(photos, gui_library, monkeypatch):
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *_a, **_k: ("ignored", False)))
    _select_photos(photos, [0])
    photos.new_cluster_action.trigger()
    assert photos.state.edits_in_flight == 0
    assert len(_clusters(gui_library.library)) == 3


def test_removed_photos_are_listed_under_not_in_a_cluster_and_can_be_dropped_back(
        window, photos, qtbot, gui_library):
    from photoclust.gui.models.cluster_model import UNASSIGNED_ID

    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    assert photos.cluster_model.row_of(UNASSIGNED_ID) == -1  # every photo is in a cluster
    _select_photos(photos, [0, 1])
    with settled(window, qtbot):
        photos.remove_action.trigger()
    removed = gui_library.photo_ids[a][:2]
    unassigned_row = photos.cluster_model.row_of(UNASSIGNED_ID)
    assert photos.cluster_model.cluster(unassigned_row).size == 2
    assert photos.sidebar.proxy.mapFromSource(
        photos.cluster_model.index(unassigned_row)).row() == 3  # listed last
    select_clusters(photos, [UNASSIGNED_ID])
    assert _shown(photos) == removed
    assert not photos.split_action.isEnabled() and not photos.rename_action.isEnabled()
    mime = photos.photo_model.mimeData([photos.photo_model.index(0)])
    target = photos.sidebar.proxy.mapFromSource(photos.cluster_model.index(
        photos.cluster_model.row_of(b)))
    with settled(window, qtbot):
        photos.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    assert removed[0] in _members(library, b)
    with library.session() as s:
        assert s.get(Assignment, removed[1]) is None


def test_least_sure_first_is_remembered_for_the_library(window, photos, gui_library):
    from photoclust.gui.pages.photos import PhotosPage

    library = gui_library.library
    a = gui_library.cluster_ids[0]
    ids = gui_library.photo_ids[a]
    with library.session() as s:
        for confidence, pid in zip((0.8, 0.2, 0.5), ids[:3]):
            s.get(Assignment, pid).confidence = confidence
    photos.reload()
    photos.order_combo.setCurrentIndex(photos.order_combo.findData("confidence"))
    assert _shown(photos)[:3] == [ids[1], ids[2], ids[0]]
    assert load_settings(library).photo_order == "confidence"
    # A new window on the same library (a restart) lists it the same way.
    again = PhotosPage(window.state)
    assert again.order_combo.currentData() == "confidence"
    assert _shown(again)[:3] == [ids[1], ids[2], ids[0]]
    again.deleteLater()


def test_an_edit_drops_rows_in_place_keeping_the_other_photos_selected(
        window, photos, qtbot, gui_library):
    a, b = gui_library.cluster_ids[:2]
    ids = gui_library.photo_ids[a]
    _select_photos(photos, [3, 4])
    mime = photos.photo_model.mimeData([photos.photo_model.index(0)])
    target = photos.sidebar.proxy.mapFromSource(photos.cluster_model.index(
        photos.cluster_model.row_of(b)))
    with qtbot.waitSignal(photos.photo_model.rowsRemoved):
        photos.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    assert _shown(photos) == ids[1:]
    assert sorted(photos.grid.selected_photo_ids()) == ids[3:5]  # selection survived
    assert photos.grid_title.text() == "Group A  ·  5 photos"
    assert _members(gui_library.library, a) == ids[1:]


def test_thumbnail_slider_and_ctrl_wheel_resize_the_grid_and_are_remembered(
        photos, qtbot, gui_library):
    start = photos.grid.iconSize().width()
    photos.size_slider.setValue(96)
    assert photos.grid.iconSize().width() == 96
    viewport = photos.grid.viewport()
    centre = QPointF(viewport.width() / 2, viewport.height() / 2)
    wheel = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    assert photos.grid.iconSize().width() == 112 and photos.size_slider.value() == 112
    qtbot.waitUntil(lambda: load_settings(gui_library.library).thumbnail_size == 112)
    assert start != 112


def test_plain_wheel_scrolls_instead_of_resizing(photos):
    viewport = photos.grid.viewport()
    centre = QPointF(10, 10)
    wheel = QWheelEvent(centre, viewport.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    size = photos.grid.iconSize().width()
    QApplication.sendEvent(viewport, wheel)
    assert photos.grid.iconSize().width() == size


def test_enter_space_and_double_click_ask_for_the_viewer(photos, qtbot, gui_library):
    a = gui_library.cluster_ids[0]
    photos.grid.setCurrentIndex(photos.photo_model.index(1))
    photos.grid.setFocus()
    requests = []
    photos.state.pageRequested.connect(lambda name, kwargs: requests.append((name, kwargs)))
    qtbot.keyClick(photos.grid, Qt.Key.Key_Return)
    qtbot.keyClick(photos.grid, Qt.Key.Key_Space)
    rect = photos.grid.visualRect(photos.photo_model.index(1))
    qtbot.mouseClick(photos.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(photos.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    expected = ("viewer", {"photo_id": gui_library.photo_ids[a][1], "cluster_id": a,
                           "order": "path"})
    assert requests == [expected] * 3


def test_arrow_keys_move_through_the_grid_and_the_preview_follows(photos, qtbot, gui_library):
    a = gui_library.cluster_ids[0]
    photos.grid.setCurrentIndex(photos.photo_model.index(0))
    photos.grid.setFocus()
    with qtbot.waitSignal(photos.grid.currentPhotoChanged) as changed:
        qtbot.keyClick(photos.grid, Qt.Key.Key_Right)
    assert changed.args == [gui_library.photo_ids[a][1]]
    assert photos.preview.photo_id == gui_library.photo_ids[a][1]


def test_selection_and_current_cluster_are_shared_through_the_state(photos, gui_library):
    a, b = gui_library.cluster_ids[:2]
    assert photos.state.current_cluster_id == a
    select_clusters(photos, [b])
    assert photos.state.current_cluster_id == b
    _select_photos(photos, [0, 1])
    assert photos.grid.selected_photo_ids() == gui_library.photo_ids[b][:2]
    photos.state.set_current_cluster(a)  # another page asks for cluster A
    assert photos.sidebar.current_cluster_id() == a


def test_enter_goes_from_the_clusters_to_their_photos_and_escape_back(photos, qtbot, gui_library):
    b = gui_library.cluster_ids[1]
    select_clusters(photos, [b])
    photos.sidebar.view.setFocus()
    qtbot.keyClick(photos.sidebar.view, Qt.Key.Key_Return)
    assert photos.grid.hasFocus() or QApplication.focusWidget() is photos.grid
    assert photos.grid.currentIndex().data(PhotoRole.PhotoId) == gui_library.photo_ids[b][0]
    qtbot.keyClick(photos.grid, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is photos.sidebar.view


def test_opening_reads_sizes_first_and_covers_off_the_gui_thread_and_the_first_page_once(
        gui_library, qtbot, monkeypatch):
    """The window shows the clusters from their sizes (no covers: a cover needs a visit of every
    assigned photo, a second at a million photos) and the largest cluster's first page, read
    once; the covers follow from a read on another thread, without re-listing the photos."""
    import threading

    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow
    from photoclust.gui.models import cluster_model, photo_model

    gui_thread = threading.current_thread()
    listed, pages = [], []
    real_list, real_page = cluster_model.list_clusters, photo_model.photos_in_cluster
    monkeypatch.setattr(cluster_model, "list_clusters", lambda library: (
        listed.append(threading.current_thread() is gui_thread), real_list(library))[1])
    monkeypatch.setattr(photo_model, "photos_in_cluster", lambda library, cid, offset=0, *a, **k: (
        pages.append((cid, offset)), real_page(library, cid, offset, *a, **k))[1])
    create_application()
    window = MainWindow(gui_library.library)
    qtbot.addWidget(window)
    photos = window.page("photos")
    model = photos.cluster_model
    largest = gui_library.cluster_ids[0]
    assert True not in listed  # no cover read on the GUI thread (one may be under way)
    assert [(model.cluster(r).id, model.cluster(r).size) for r in range(model.rowCount())] == \
        [(largest, 6), (gui_library.cluster_ids[1], 4), (gui_library.cluster_ids[2], 3)]
    assert photos.sidebar.current_cluster_id() == largest
    assert photos.photo_model.rowCount() == 6
    window.show()
    qtbot.waitUntil(photos.is_up_to_date)
    qtbot.wait(50)
    assert listed == [False]  # one read of the covers, on the reader thread
    covers = [model.index(r).data(ClusterRole.CoverHash) for r in range(model.rowCount())]
    assert all(covers)
    assert pages == [(largest, 0)]  # the first page, read once
    assert photos.photo_model.rowCount() == 6
    window.close()
    window.queue.wait_for_done(10000)


def test_a_big_clusters_first_page_and_a_re_read_are_read_off_the_gui_thread(
        photos, gui_library, qtbot, monkeypatch):
    """A cluster bigger than ``SYNC_FIRST_PAGE_MAX`` is listed from a page read on the model's
    thread (the grid is empty meanwhile); a re-read of the library (a job saved photos) reads
    the shown cluster's first page with the clusters, on the page's reader thread."""
    import threading

    from photoclust.gui.models import photo_model

    gui_thread = threading.current_thread()
    pages: list[tuple[int, bool]] = []
    real_page = photo_model.photos_in_cluster
    monkeypatch.setattr(photo_model, "photos_in_cluster", lambda library, cid, *a, **k: (
        pages.append((cid, threading.current_thread() is gui_thread)),
        real_page(library, cid, *a, **k))[1])
    monkeypatch.setattr(photo_model, "SYNC_FIRST_PAGE_MAX", 3)
    big, small = gui_library.cluster_ids[1], gui_library.cluster_ids[2]  # 4 and 3 photos
    photos.sidebar.select_cluster(small)
    assert photos.photo_model.rowCount() == 3 and pages == [(small, True)]
    photos.sidebar.select_cluster(big)
    assert photos.photo_model.rowCount() == 0
    qtbot.waitUntil(lambda: photos.photo_model.rowCount() == 4)
    assert pages[1:] == [(big, False)]
    photos.grid.setCurrentIndex(photos.photo_model.index(2))
    current = photos.grid.currentIndex().data(PhotoRole.PhotoId)
    photos.state.photosChanged.emit()  # as after a job that saved photos
    qtbot.waitUntil(photos.is_up_to_date)
    assert photos.photo_model.rowCount() == 4
    assert pages[2:] == [(big, False)]  # read with the clusters, not again on the GUI thread
    assert photos.grid.currentIndex().data(PhotoRole.PhotoId) == current  # kept


def test_opening_on_a_big_cluster_reads_the_covers_after_its_first_page(
        gui_library, qtbot, monkeypatch):
    """The largest cluster's first page, read off the GUI thread when the cluster is big, comes
    before the covers' read (which would share the CPU with it before the first paint)."""
    import time

    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow
    from photoclust.gui.models import cluster_model, photo_model

    events: list[str] = []
    real_list, real_page = cluster_model.list_clusters, photo_model.photos_in_cluster

    def slow_page(*a, **k):
        time.sleep(0.3)  # a big cluster's sort
        events.append("page")
        return real_page(*a, **k)

    monkeypatch.setattr(cluster_model, "list_clusters", lambda library: (
        events.append("covers"), real_list(library))[1])
    monkeypatch.setattr(photo_model, "photos_in_cluster", slow_page)
    monkeypatch.setattr(photo_model, "SYNC_FIRST_PAGE_MAX", 3)
    create_application()
    window = MainWindow(gui_library.library)
    qtbot.addWidget(window)
    photos = window.page("photos")
    assert photos.photo_model.rowCount() == 0  # its first page is being read
    qtbot.waitUntil(lambda: photos.is_up_to_date() and photos.photo_model.rowCount() == 6)
    assert events == ["page", "covers"]
    model = photos.cluster_model
    assert all(model.index(r).data(ClusterRole.CoverHash) for r in range(model.rowCount()))
    window.close()
    window.queue.wait_for_done(10000)
