"""The item models without widgets: what they list, paging, thumbnails, drag-and-drop data."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from sqlalchemy import select

from photoclust.core.clustering import editing
from photoclust.core.library.models import Assignment
from photoclust.gui.models import photo_model as photo_model_module
from photoclust.gui.models.cluster_model import ClusterListModel, ClusterRole, ClusterSortProxy
from photoclust.gui.models.mime import PHOTO_IDS_MIME, photo_ids_from_mime
from photoclust.gui.models.photo_model import PhotoListModel, PhotoRole
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.views.photo_grid import PhotoGrid
from photoclust.gui.workers import ProgressRate, format_duration


def _models(library, qtbot):
    loader = ThumbnailLoader(library, icon_size=64)
    clusters = ClusterListModel(library, loader)
    photos = PhotoListModel(library, loader)
    clusters.reload()
    return loader, clusters, photos


def test_cluster_model_lists_clusters_largest_first_with_names_and_counts(gui_library, qtbot):
    _loader, clusters, _photos = _models(gui_library.library, qtbot)
    rows = [(clusters.index(r).data(ClusterRole.Name), clusters.index(r).data(ClusterRole.Size))
            for r in range(clusters.rowCount())]
    assert rows == [("Group A", 6), ("Group B", 4), ("Group C", 3)]
    assert clusters.index(0).data(Qt.ItemDataRole.DisplayRole) == "Group A\n6 photos"


def test_cluster_sort_proxy_sorts_by_name(gui_library, qtbot):
    _loader, clusters, _photos = _models(gui_library.library, qtbot)
    editing.rename_cluster(gui_library.library, gui_library.cluster_ids[0], "Zebra")
    clusters.reload()
    proxy = ClusterSortProxy()
    proxy.setSourceModel(clusters)
    proxy.sort_by(ClusterSortProxy.BY_NAME)
    assert [proxy.index(r, 0).data(ClusterRole.Name) for r in range(3)] == [
        "Group B", "Group C", "Zebra"]
    proxy.sort_by(ClusterSortProxy.BY_SIZE)
    assert [proxy.index(r, 0).data(ClusterRole.Size) for r in range(3)] == [6, 4, 3]


def test_photo_model_pages_rows_on_fetch_more(gui_library, qtbot, monkeypatch):
    monkeypatch.setattr(photo_model_module, "PAGE_SIZE", 4)
    _loader, _clusters, photos = _models(gui_library.library, qtbot)
    first = gui_library.cluster_ids[0]
    photos.set_cluster(first, total=6)
    assert photos.rowCount() == 0 and photos.canFetchMore()
    photos.fetchMore()  # the first page at once
    assert photos.rowCount() == 4 and photos.canFetchMore()
    with qtbot.waitSignal(photos.pageLoaded):
        photos.fetchMore()  # the next ones from a worker thread
    assert photos.rowCount() == 6 and not photos.canFetchMore()
    ids = [photos.index(r).data(PhotoRole.PhotoId) for r in range(6)]
    assert ids == gui_library.photo_ids[first]


def test_select_all_takes_every_photo_of_the_cluster_not_only_the_loaded_pages(
        gui_library, qtbot, monkeypatch):
    monkeypatch.setattr(photo_model_module, "PAGE_SIZE", 2)
    _loader, _clusters, photos = _models(gui_library.library, qtbot)
    grid = PhotoGrid(photos)
    qtbot.addWidget(grid)
    first = gui_library.cluster_ids[0]
    photos.set_cluster(first, total=6)
    photos.fetchMore()
    photos.fetchMore()  # a page is being read on the worker thread
    assert photos.rowCount() == 2

    grid.selectAll()

    assert sorted(grid.selected_photo_ids()) == sorted(gui_library.photo_ids[first])
    photos.wait_for_pages()
    qtbot.wait(50)  # the page read before select-all arrives late and is dropped
    assert photos.rowCount() == 6 and not photos.canFetchMore()
    assert [photos.index(r).data(PhotoRole.PhotoId) for r in range(6)] == \
        gui_library.photo_ids[first]


def test_photo_model_shows_placeholder_then_the_thumbnail_loaded_off_thread(gui_library, qtbot):
    loader, _clusters, photos = _models(gui_library.library, qtbot)
    photos.set_cluster(gui_library.cluster_ids[1], total=4)
    photos.fetchMore()
    first = photos.index(0)
    assert first.data(Qt.ItemDataRole.DecorationRole) == loader.placeholder
    with qtbot.waitSignal(photos.dataChanged, timeout=10000):
        pass
    image = first.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(image, QImage) and image != loader.placeholder
    assert max(image.width(), image.height()) == 64
    green = image.pixelColor(image.width() // 2, image.height() // 2)
    assert green.green() > 120 and green.red() < 90  # cluster B's photos are green


def test_thumbnail_missing_file_is_made_from_the_original(library, tmp_path, qtbot):
    from conftest import build_library

    from photoclust.core.imaging import thumbnail_path

    built = build_library(library, tmp_path / "photos", sizes=(2,), with_thumbnails=False)
    loader, _clusters, photos = _models(library, qtbot)
    photos.set_cluster(built.cluster_ids[0], total=2)
    photos.fetchMore()
    with qtbot.waitSignal(loader.idle, timeout=10000):
        photos.index(0).data(Qt.ItemDataRole.DecorationRole)
    content_hash = photos.index(0).data(PhotoRole.ContentHash)
    assert thumbnail_path(library, content_hash).is_file()
    assert photos.index(0).data(Qt.ItemDataRole.DecorationRole) != loader.placeholder


def test_drag_and_drop_mime_data_moves_photos_to_the_dropped_on_cluster(gui_library, qtbot):
    library = gui_library.library
    _loader, clusters, photos = _models(library, qtbot)
    source, target = gui_library.cluster_ids[0], gui_library.cluster_ids[2]
    photos.set_cluster(source, total=6)
    photos.fetchMore()
    mime = photos.mimeData([photos.index(1), photos.index(3)])
    moved = gui_library.photo_ids[source][1:4:2]
    assert mime.hasFormat(PHOTO_IDS_MIME) and photo_ids_from_mime(mime) == moved
    clusters.photosDropped.connect(lambda ids, cid: editing.move_photos(library, ids, cid))
    target_index = clusters.index(clusters.row_of(target))
    assert clusters.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target_index)
    with qtbot.waitSignal(clusters.photosDropped) as dropped:
        assert clusters.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target_index)
    assert dropped.args == [moved, target]
    with library.session() as s:
        placed = dict(s.execute(select(Assignment.photo_id, Assignment.source)
                                .where(Assignment.cluster_id == target)).all())
    assert {pid: placed[pid] for pid in moved} == {moved[0]: "user", moved[1]: "user"}


def test_foreign_mime_data_is_refused(gui_library, qtbot):
    from PySide6.QtCore import QMimeData

    _loader, clusters, _photos = _models(gui_library.library, qtbot)
    mime = QMimeData()
    mime.setText("not photos")
    assert not clusters.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, clusters.index(0))
    mime.setData(PHOTO_IDS_MIME, b"{broken")
    assert not clusters.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, clusters.index(0))


def test_progress_rate_and_time_left():
    rate = ProgressRate(window_s=100)
    rate.add(0, now=0.0)
    assert rate.rate() is None
    rate.add(50, now=10.0)
    assert rate.rate() == 5.0
    assert rate.eta_seconds(150) == 20.0
    assert rate.describe(150) == ["5.0/s", "20 s left"]
    rate.add(3, now=11.0)  # the next phase restarts its count
    assert rate.rate() is None
    assert rate.describe(150) == []
    assert format_duration(75) == "1 min 15 s" and format_duration(7300) == "2 h 01 min"
