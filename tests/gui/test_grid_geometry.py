"""The Photos page's grid and its neighbours after re-reads (issue 24, point 1): every cell keeps
its picture and name inside it with a gap to the next, whatever size the thumbnails were decoded
at; a long cluster name is cut before the Size slider; the preview follows a rename; a re-read
while a job runs keeps the selected photos and the preview."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QRect
from PySide6.QtGui import QColor
from qt_helpers import settled

from helpers import write_jpeg
from photoclust.core.clustering import editing
from photoclust.core.imaging import thumbnail_path
from photoclust.gui.models.photo_model import PhotoRole
from photoclust.gui.views.photo_grid import CELL_GAP


def _visible_rects(photos) -> list[QRect]:
    grid, model = photos.grid, photos.photo_model
    viewport = grid.viewport().rect()
    rects = [grid.visualRect(model.index(r)) for r in range(model.rowCount())]
    return [r for r in rects if r.intersects(viewport)]


def _assert_cells_hold_picture_and_name(photos) -> None:
    """Each visible cell is tall enough for the icon square and a line of text, and no two
    cells touch."""
    grid = photos.grid
    side, line = grid.iconSize().width(), grid.fontMetrics().height()
    rects = _visible_rects(photos)
    assert len(rects) >= 4
    for rect in rects:
        assert rect.height() >= side + line and rect.width() >= side, (rect, side)
    for n, a in enumerate(rects):
        for b in rects[n + 1:]:
            assert not a.adjusted(-1, -1, 1, 1).intersects(b), (a, b)


def _is_background(color: QColor) -> bool:
    return color.red() > 240 and color.green() > 240 and color.blue() > 240


def test_small_thumbnails_stay_in_their_cells_with_a_gap(window, photos, qtbot, gui_library):
    """Thumbnails decoded at 160 px and shown at 64 px: drawn inside their cells, white gaps
    between the cells (Qt's default delegate drew them at 160 px over their neighbours)."""
    qtbot.waitUntil(lambda: photos.thumbnails.is_idle()
                    and photos.photo_model.index(0).data(1).width() == 160, timeout=10000)
    photos.size_slider.setValue(64)  # below the loader's size, above half of it: not re-decoded
    qtbot.wait(50)
    assert photos.thumbnails.icon_size.width() == 160
    _assert_cells_hold_picture_and_name(photos)
    image = photos.grid.viewport().grab().toImage()
    first, second = (photos.grid.visualRect(photos.photo_model.index(r)) for r in (0, 1))
    assert second.left() - first.right() >= CELL_GAP  # a gap between neighbours
    gap_x = (first.right() + second.left()) // 2
    column = [image.pixelColor(gap_x, y) for y in range(first.top(), first.bottom())]
    assert all(_is_background(c) for c in column)  # nothing drawn in the gap
    # The picture is drawn (red, cluster A's colour) inside the first cell.
    centre = image.pixelColor(first.center().x(), first.top() + 4 + 32)
    assert centre.red() > 180 and centre.green() < 120, centre.name()


def test_cells_keep_their_size_after_a_rename_and_a_reread(window, photos, qtbot, gui_library):
    """A portrait photo among landscape ones: its picture and name fit its cell before and
    after re-reads (Qt sized every cell like the first photo's landscape picture: the portrait
    one was cut and its name drawn under the next row)."""
    portrait = photos.photo_model.index(2).data(PhotoRole.ContentHash)
    write_jpeg(thumbnail_path(gui_library.library, portrait), (192, 256), (200, 40, 40))
    photos.thumbnails.set_icon_size(160)  # forget the decoded thumbnails
    photos.grid.viewport().update()
    qtbot.waitUntil(lambda: photos.thumbnails.is_idle()
                    and photos.photo_model.index(2).data(1).height() == 160, timeout=10000)
    before = [photos.grid.visualRect(photos.photo_model.index(r)).size()
              for r in range(photos.photo_model.rowCount())]
    with settled(window, qtbot):
        photos.rename_cluster_to(gui_library.cluster_ids[0], "Renamed")
    with settled(window, qtbot):
        window.state.photosChanged.emit()  # as a running job does every few seconds
    qtbot.wait(50)
    after = [photos.grid.visualRect(photos.photo_model.index(r)).size()
             for r in range(photos.photo_model.rowCount())]
    assert after == before
    _assert_cells_hold_picture_and_name(photos)


def test_a_long_cluster_name_is_cut_before_the_size_slider(window, photos, qtbot, gui_library):
    long_name = "Dresses and tops from the summer holidays at the seaside " * 3
    with settled(window, qtbot):
        photos.rename_cluster_to(gui_library.cluster_ids[0], long_name.strip())
    qtbot.wait(50)
    title = photos.grid_title
    assert title.text().startswith("Dresses and tops")  # the whole name is kept
    assert title.geometry().right() < photos.size_label.geometry().left()
    assert photos.size_label.geometry().right() < photos.size_slider.geometry().left()
    shown = title.shown_text()
    assert shown.endswith("·  6 photos") and "…" in shown
    assert title.fontMetrics().horizontalAdvance(shown) <= title.contentsRect().width()
    assert title.toolTip().startswith("Dresses and tops")


def test_the_preview_shows_the_new_name_after_a_rename(window, photos, qtbot, gui_library):
    with qtbot.waitSignal(photos.preview.photoShown, timeout=10000):
        photos.grid.setCurrentIndex(photos.photo_model.index(1))
    assert "Group A" in photos.preview.metadata_label.text()
    with settled(window, qtbot):
        photos.rename_cluster_to(gui_library.cluster_ids[0], "Red things")
    assert "Red things" in photos.preview.metadata_label.text()
    assert "Group A" not in photos.preview.metadata_label.text()
    assert not photos.preview.image_label.pixmap().isNull()  # the photo is still shown


def test_a_reread_while_a_job_runs_keeps_the_selection_and_the_preview(
        window, photos, qtbot, gui_library):
    a, b = gui_library.cluster_ids[:2]
    ids = gui_library.photo_ids[a]
    with qtbot.waitSignal(photos.preview.photoShown, timeout=10000):
        photos.grid.setCurrentIndex(photos.photo_model.index(2))
    photos.grid.selectionModel().select(photos.photo_model.index(4),
                                        QItemSelectionModel.SelectionFlag.Select)
    assert sorted(photos.grid.selected_photo_ids()) == [ids[2], ids[4]]
    # A job saves a batch (here: a photo of cluster B joins A, written by the core as a job
    # would), and the window re-reads the library as it does every few seconds of a job.
    editing.move_photos(gui_library.library, gui_library.photo_ids[b][:1], a)
    with settled(window, qtbot):
        window.state.photosChanged.emit()
    assert photos.photo_model.rowCount() == len(ids) + 1  # the re-read did happen
    assert sorted(photos.grid.selected_photo_ids()) == [ids[2], ids[4]]
    assert photos.grid.currentIndex().data(PhotoRole.PhotoId) == ids[2]
    assert photos.preview.photo_id == ids[2]
    assert "photo002.jpg" in photos.preview.metadata_label.text()
    assert not photos.preview.image_label.pixmap().isNull()
