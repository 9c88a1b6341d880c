"""The Photos page: clusters in a sidebar, the photos of the current cluster in a grid, the
selected photo in a preview pane; the welcome view while the library is empty.

It owns its models, views and cluster actions (rename, merge, split, new cluster, remove). Edits
run through ``AppState.run_edit`` (off the GUI thread); the page re-reads when the state says
photos changed. Enter, Space or a double click opens the photo in the viewer page.
"""
from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.clustering import editing
from photoclust.core.library import Library
from photoclust.core.library.queries import cluster_sizes, count_present_photos, photos_now_in
from photoclust.core.organize.settings import THUMBNAIL_MAX, THUMBNAIL_MIN, effective_model
from photoclust.gui.models.cluster_model import UNASSIGNED_ID, ClusterListModel
from photoclust.gui.models.photo_model import PAGE_SIZE, PhotoListModel, PhotoRole, read_page
from photoclust.gui.pages.actions import make_action
from photoclust.gui.pages.base import Page
from photoclust.gui.pages.widgets import ElidedLabel
from photoclust.gui.state import AppState
from photoclust.gui.views.photo_grid import PhotoGrid
from photoclust.gui.views.preview import PreviewPane
from photoclust.gui.views.sidebar import ClusterSidebar
from photoclust.gui.views.welcome import WelcomePage
from photoclust.gui.workers import run_in_background

ORDERS = (("By file name", "path"), ("By date taken", "taken_at"),
          ("Least sure first", "confidence"))
THUMBNAIL_STEP = 16
#: At the latest this long after the window opens, the clusters' covers are read.
COVERS_AFTER_MS = 2000
#: How long the thumbnail size must rest before thumbnails are decoded again at the new size.
RESIZE_SETTLE_MS = 250


class Snapshot(NamedTuple):
    """What the page shows of the library, read in one go (on a worker thread after edits)."""

    rows: list  # ClusterRow
    present: int  # photos whose file is there
    now_in: set | None  # which edited photos are in the shown cluster now
    first_page: tuple | None = None  # (cluster id, order, its first page of photos)


def read_snapshot(library: Library, cluster_id: int | None, edited: list[int] | None,
                  order: str | None = None) -> Snapshot:
    """The clusters and counts; with ``order``, also the first page of ``cluster_id`` (so the
    GUI thread does not read it again when it shows the cluster re-read: a quarter of a second
    for the largest cluster of a million photos)."""
    rows = ClusterListModel.read(library)
    now_in = first_page = None
    if cluster_id is not None and edited:
        now_in = set(photos_now_in(library, None if cluster_id == UNASSIGNED_ID else cluster_id,
                                   edited))
    if cluster_id is not None and order is not None:
        first_page = (cluster_id, order, read_page(library, cluster_id, 0, PAGE_SIZE, order))
    return Snapshot(rows, count_present_photos(library), now_in, first_page)


def read_sizes_snapshot(library: Library) -> Snapshot:
    """The clusters and counts without covers (``queries.cluster_sizes``): what the page shows
    first when it opens; the covers are read next, off the GUI thread."""
    sizes = cluster_sizes(library)
    return Snapshot(ClusterListModel.rows_without_covers(sizes), sizes.present, None)


class PhotosPage(Page):
    name = "photos"
    title = "Photos"
    reloaded = Signal()  # the clusters were re-read and are shown

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(state, parent)
        library = state.library
        self.thumbnails = state.thumbnails
        self.cluster_model = ClusterListModel(library, self.thumbnails, self)
        self.photo_model = PhotoListModel(library, self.thumbnails, self)
        self.photo_model.order = state.settings.photo_order
        self._edited_photo_ids: list[int] | None = None
        self._now_in: set | None = None
        self._first_page: tuple | None = None
        self._select_after_reload: int | None = None
        self.merge_box: QMessageBox | None = None  # the last merge confirmation
        # After edits the library is re-read on this thread, so the GUI thread never waits for
        # the 50,000-row counts; the newest read wins.
        self._reader = QThreadPool(self)
        self._reader.setMaxThreadCount(1)
        self._generation = 0
        self._shown_generation = 0
        self._covers_pending = False

        self.sidebar = ClusterSidebar(self.cluster_model)
        self.grid = PhotoGrid(self.photo_model)
        self.grid.set_icon_size(state.settings.thumbnail_size)
        self.grid.installEventFilter(self)
        self.grid.viewport().installEventFilter(self)
        self.sidebar.view.installEventFilter(self)
        self.preview = PreviewPane(library)
        self.welcome = WelcomePage()

        # The cluster's name is cut to the room left of the Size slider, its count kept whole.
        self.grid_title = ElidedLabel(keep="  ·  ")
        self.grid_title.setObjectName("paneTitle")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("thumbnailSize")
        self.size_slider.setRange(THUMBNAIL_MIN, THUMBNAIL_MAX)
        self.size_slider.setSingleStep(THUMBNAIL_STEP)
        self.size_slider.setPageStep(THUMBNAIL_STEP * 2)
        self.size_slider.setValue(state.settings.thumbnail_size)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size (Ctrl + mouse wheel over the photos)")
        self.order_combo = QComboBox()
        for text, order in ORDERS:
            self.order_combo.addItem(text, order)
        self.order_combo.setCurrentIndex(max(0, self.order_combo.findData(self.photo_model.order)))
        self.order_combo.setToolTip("Least sure first: the photos most worth checking")
        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.addWidget(self.grid_title, 1)
        header.addSpacing(12)
        self.size_label = QLabel("Size")
        header.addWidget(self.size_label)
        header.addWidget(self.size_slider)
        header.addSpacing(8)
        header.addWidget(self.order_combo)
        grid_pane = QWidget()
        grid_layout = QVBoxLayout(grid_pane)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(0)
        grid_layout.addLayout(header)
        grid_layout.addWidget(self.grid, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("photosSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(grid_pane)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([210, 800, 240])
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(RESIZE_SETTLE_MS)
        self._resize_timer.timeout.connect(self._apply_thumbnail_size)

        self._build_actions()
        self._connect()
        self._open()

    # --- construction -------------------------------------------------------------------------
    def _build_actions(self) -> None:
        a = make_action
        self.rename_action = a(self, "rename", "Rename cluster", "rename", "F2",
                               "Rename the cluster", self.rename_current_cluster, short="Rename")
        self.merge_action = a(self, "merge", "Merge clusters", "merge", "Ctrl+M",
                              "Merge the selected clusters into the current one",
                              self.merge_selected_clusters, short="Merge")
        self.split_action = a(self, "split", "Split cluster", "split", "Ctrl+Shift+M",
                              "Split the cluster into parts by content",
                              self.split_current_cluster, short="Split")
        self.new_cluster_action = a(self, "newCluster", "New cluster…", "new-cluster", "Ctrl+N",
                                    "Make a new cluster of the selected photos (asks its name)",
                                    self.new_cluster_from_selection, short="New")
        self.remove_action = a(self, "remove", "Remove from cluster", "remove",
                               [QKeySequence(Qt.Key.Key_Delete).toString(), "Backspace"],
                               "Take the selected photos out of their cluster",
                               self.remove_selected_photos, short="Remove")
        self.open_action = a(self, "openPhoto", "Open photo", None, [],
                             "Open the photo large (Enter, Space or double click)",
                             self.open_current_photo)
        self.bigger_action = a(self, "biggerThumbnails", "Bigger thumbnails", None, "Ctrl++",
                               "Show bigger thumbnails", lambda: self.step_thumbnail_size(1))
        self.smaller_action = a(self, "smallerThumbnails", "Smaller thumbnails", None, "Ctrl+-",
                                "Show smaller thumbnails", lambda: self.step_thumbnail_size(-1))
        for action in self.actions():
            self.addAction(action)

    def actions(self) -> list[QAction]:
        """Cluster edits first (toolbar), then the view actions (menu only)."""
        return [self.rename_action, self.merge_action, self.split_action,
                self.new_cluster_action, self.remove_action]

    def view_actions(self) -> list[QAction]:
        return [self.open_action, self.bigger_action, self.smaller_action]

    def _connect(self) -> None:
        self.sidebar.currentClusterChanged.connect(self._show_cluster)
        self.sidebar.selectionChanged.connect(self._on_cluster_selection)
        self.grid.currentPhotoChanged.connect(self.preview.show_photo)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._on_photo_selection())
        self.grid.doubleClicked.connect(lambda _index: self.open_current_photo())
        self.cluster_model.renameRequested.connect(self.rename_cluster_to)
        # Said once the name's editor has closed (not from inside the model's setData).
        self.cluster_model.renameRefused.connect(lambda _c, why: QTimer.singleShot(
            0, lambda: self.state.editFailed.emit(why)))
        self.cluster_model.photosDropped.connect(self.move_photos)
        self.welcome.organizeRequested.connect(self.state.organizeRequested.emit)
        self.order_combo.currentIndexChanged.connect(self._on_order_changed)
        self.size_slider.valueChanged.connect(self._on_size_changed)
        self.state.edited.connect(self._on_edited)
        self.state.photosChanged.connect(self.reload_in_background)
        self.state.clusterChanged.connect(self._on_state_cluster)
        self.state.editsInFlightChanged.connect(lambda _n: self._update_actions())
        self.state.queue.busyChanged.connect(lambda _b: self._update_actions())
        self.state.queue.busyChanged.connect(self._on_busy)

    def _on_busy(self, _busy: bool) -> None:
        busy = self.state.queue.is_busy("jobs")
        self.welcome.set_busy(busy, "Organizing… the photos appear here as they are found; "
                                    "progress is shown at the bottom." if busy else "")

    # --- reading ------------------------------------------------------------------------------
    def has_photos(self) -> bool:
        return self.cluster_model.rowCount() > 0

    def reload(self, select_cluster: int | None = None) -> None:
        """Re-read clusters now; keep (or move to) the given/current cluster."""
        self._generation += 1
        self._shown_generation = self._generation
        self._apply(read_snapshot(self.state.library, self.sidebar.current_cluster_id(),
                                  self._edited_photo_ids), select_cluster)

    def _open(self) -> None:
        """The first read: the clusters' sizes and counts now, without their covers (a cover is
        the most confident photo of its cluster: finding it visits every assigned photo, a second
        at a million photos), then the covers on the reader thread."""
        self._generation += 1
        self._shown_generation = generation = self._generation
        self._apply(read_sizes_snapshot(self.state.library))
        library = self.state.library
        self._covers_pending = True

        started: list[bool] = []

        def read_covers() -> None:
            if started:
                return
            started.append(True)
            run_in_background(lambda: ClusterListModel.read(library),
                              lambda rows: self._on_covers_read(generation, rows),
                              pool=self._reader, owner=self,
                              on_failed=lambda _error: self._on_covers_read(generation, None))

        model = self.photo_model
        if model.rowCount() == 0 and model.canFetchMore():
            # A big cluster's first page is being read on another thread: the covers after it
            # (or after COVERS_AFTER_MS, should that page never come), so that the two reads do
            # not share the CPU before the grid's first paint.
            model.pageLoaded.connect(read_covers, Qt.ConnectionType.SingleShotConnection)
            QTimer.singleShot(COVERS_AFTER_MS, self, read_covers)
        else:
            read_covers()

    def _on_covers_read(self, generation: int, rows: list | None) -> None:
        self._covers_pending = False
        if generation != self._generation:
            return  # a newer re-read (with covers) is on its way or shown
        if rows is None or not self.cluster_model.update_covers(rows):
            self.reload_in_background()  # the clusters changed meanwhile: show them anew

    def reload_in_background(self) -> None:
        """Re-read the library on the reader thread, then show it (``reloaded``)."""
        self._generation += 1
        generation, library, order = self._generation, self.state.library, self.photo_model.order
        cluster_id, edited = self.sidebar.current_cluster_id(), self._edited_photo_ids
        run_in_background(lambda: read_snapshot(library, cluster_id, edited, order),
                          lambda snapshot: self._on_snapshot_read(generation, snapshot),
                          pool=self._reader, owner=self)

    def _on_snapshot_read(self, generation: int, snapshot: Snapshot) -> None:
        if generation == self._generation:
            self._shown_generation = generation
            self._apply(snapshot)

    def is_up_to_date(self) -> bool:
        """True when the newest re-read is shown (none is running), covers included."""
        return self._shown_generation == self._generation and not self._covers_pending

    def wait_for_reads(self, msecs: int = -1) -> bool:
        """Block until no re-read is running (shutdown and tests)."""
        return self._reader.waitForDone(msecs)

    def _apply(self, snapshot: Snapshot, select_cluster: int | None = None) -> None:
        if select_cluster is None:
            select_cluster, self._select_after_reload = self._select_after_reload, None
        keep = select_cluster if select_cluster is not None else self.sidebar.current_cluster_id()
        self._now_in = snapshot.now_in
        self._first_page = snapshot.first_page
        self.cluster_model.apply(snapshot.rows)
        has_photos = bool(snapshot.rows) or snapshot.present > 0
        self.stack.setCurrentWidget(self.splitter if has_photos else self.welcome)
        if not self.sidebar.select_cluster(keep):
            self.photo_model.set_cluster(None, 0)
            self._show_title(-1)
        self._edited_photo_ids = None
        self._now_in = self._first_page = None
        self._update_actions()
        self.state.set_counts(snapshot.present, self.cluster_model.cluster_count())
        self.reloaded.emit()

    def _on_edited(self, result) -> None:
        self._edited_photo_ids = list(result.photo_ids)
        if result.kind == "new_cluster" and result.created_cluster_ids:
            self._select_after_reload = result.created_cluster_ids[0]

    def _show_cluster(self, cluster_id: int | None) -> None:
        row = self.cluster_model.row_of(cluster_id) if cluster_id is not None else -1
        size = self.cluster_model.cluster(row).size if row >= 0 else 0
        edited, self._edited_photo_ids = self._edited_photo_ids, None
        self.state.set_current_cluster(cluster_id if row >= 0 else None)
        same = row >= 0 and cluster_id == self.photo_model.cluster_id  # a re-read of it
        if same and edited is not None and \
                self.photo_model.apply_edit(edited, size, self._now_in):
            self._show_title(row)
            self.preview.refresh()  # its cluster may have changed or been renamed
            self._update_actions()
            return  # same cluster after an edit: rows dropped in place, scroll position kept
        kept = self._grid_state() if same else None
        self.photo_model.set_cluster(cluster_id if row >= 0 else None, size)
        self._show_title(row)
        first = self._first_page
        if first is not None and first[:2] == (cluster_id, self.photo_model.order):
            self.photo_model.show_first_page(first[2])  # read with the snapshot, off this thread
        elif self.photo_model.canFetchMore():
            self.photo_model.fetchMore()
        if kept is not None:
            self._restore_grid_state(*kept)
        else:
            self.preview.show_photo(None)
        self._update_actions()

    def _grid_state(self) -> tuple[list[int], int | None]:
        """The selected photos and the current one, by photo id: what a re-read of the same
        cluster (a job saving, an edit elsewhere) must not take away."""
        current = self.grid.currentIndex()
        return (self.grid.selected_photo_ids(),
                current.data(PhotoRole.PhotoId) if current.isValid() else None)

    def _restore_grid_state(self, selected: list[int], current: int | None) -> None:
        """Select again the photos of ``_grid_state`` still listed (by id); keep the preview on
        the current photo while it is still in the cluster."""
        selection = self.grid.selectionModel()
        for photo_id in selected:
            row = self.photo_model.row_of(photo_id)
            if row >= 0:
                selection.select(self.photo_model.index(row),
                                 QItemSelectionModel.SelectionFlag.Select)
        row = self.photo_model.row_of(current) if current is not None else -1
        if row >= 0:
            selection.setCurrentIndex(self.photo_model.index(row),
                                      QItemSelectionModel.SelectionFlag.NoUpdate)
            self.preview.refresh()
        else:
            self.preview.show_photo(None)

    def _on_state_cluster(self, cluster_id) -> None:
        """Another page asked for a cluster (e.g. a click on the map)."""
        if cluster_id is not None and cluster_id != self.sidebar.current_cluster_id():
            self.sidebar.select_cluster(cluster_id)

    def _show_title(self, row: int) -> None:
        if row < 0:
            self.grid_title.clear()
            return
        cluster = self.cluster_model.cluster(row)
        self.grid_title.setText(f"{cluster.name or 'Unnamed'}  ·  {cluster.size:,} "
                                f"photo{'s' if cluster.size != 1 else ''}")

    def _on_cluster_selection(self) -> None:
        self.state.selected_cluster_ids = [c for c in self.sidebar.selected_cluster_ids()
                                           if c != UNASSIGNED_ID]
        self._update_actions()

    def _on_photo_selection(self) -> None:
        self._update_actions()

    def _on_order_changed(self, _index: int) -> None:
        order = self.order_combo.currentData()
        self.photo_model.set_order(order)
        if self.photo_model.canFetchMore():
            self.photo_model.fetchMore()
        if order != self.state.settings.photo_order:
            self.state.update_settings(photo_order=order)  # remembered for this library

    # --- thumbnail size -----------------------------------------------------------------------
    def step_thumbnail_size(self, steps: int) -> None:
        self.size_slider.setValue(self.size_slider.value() + steps * THUMBNAIL_STEP)

    def _on_size_changed(self, size: int) -> None:
        self.grid.set_icon_size(size)  # the layout follows at once; sharp images a bit later
        self._resize_timer.start()

    def _apply_thumbnail_size(self) -> None:
        size = self.size_slider.value()
        if size > self.thumbnails.icon_size.width() or size < self.thumbnails.icon_size.width() / 2:
            self.thumbnails.set_icon_size(size)
            self.grid.viewport().update()
            self.sidebar.view.viewport().update()
        if size != self.state.settings.thumbnail_size:
            self.state.update_settings(thumbnail_size=size)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and \
                event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.step_thumbnail_size(1 if delta > 0 else -1)
            return True
        if watched is self.sidebar.view and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Right) and \
                self.sidebar.view.state() != self.sidebar.view.State.EditingState:
            self.focus_grid()  # from the clusters into their photos
            return True
        if watched is self.grid and event.type() == QEvent.Type.KeyPress and \
                event.key() == Qt.Key.Key_Escape:
            self.sidebar.view.setFocus()  # back to the clusters
            return True
        if watched is self.grid and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and \
                not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.open_current_photo()
            return True
        return super().eventFilter(watched, event)

    def focus_grid(self) -> None:
        self.grid.setFocus()
        if not self.grid.currentIndex().isValid() and self.photo_model.rowCount():
            self.grid.setCurrentIndex(self.photo_model.index(0))

    # --- actions ------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        clusters = [c for c in self.sidebar.selected_cluster_ids() if c != UNASSIGNED_ID]
        current = self.sidebar.current_cluster_id()
        real_cluster = current is not None and current != UNASSIGNED_ID
        photos = bool(self.grid.selectionModel().selectedIndexes())
        self.rename_action.setEnabled(real_cluster)
        self.merge_action.setEnabled(len(clusters) >= 2)
        self.split_action.setEnabled(real_cluster)
        self.new_cluster_action.setEnabled(photos)
        self.remove_action.setEnabled(photos and real_cluster)
        self.open_action.setEnabled(self.grid.currentIndex().isValid())

    def open_current_photo(self) -> None:
        index = self.grid.currentIndex()
        if not index.isValid():
            return
        self.state.show_page("viewer", photo_id=index.data(PhotoRole.PhotoId),
                             cluster_id=self.photo_model.cluster_id,
                             order=self.photo_model.order)  # the viewer steps as the grid sorts

    def move_photos(self, photo_ids: list, cluster_id: int) -> None:
        """Move photos to a cluster; dropped on "Not in a cluster", take them out of theirs."""
        library = self.state.library
        if cluster_id == UNASSIGNED_ID:
            self.state.run_edit(lambda: editing.remove_photos_from_cluster(library, photo_ids))
        else:
            self.state.run_edit(lambda: editing.move_photos(library, photo_ids, cluster_id))

    def merge_selected_clusters(self) -> QMessageBox | None:
        """Ask first, saying which cluster stays and which name it keeps (a name the user gave
        wins over a suggested one); merge on "Merge". The box is window-modal, not blocking."""
        ids = [c for c in self.sidebar.selected_cluster_ids() if c != UNASSIGNED_ID]
        if len(ids) < 2:
            return None
        library = self.state.library
        try:
            target, name = editing.merge_keeps(library, ids[0], ids[1:])
        except editing.EditError as exc:
            self.state.editFailed.emit(str(exc))
            return None
        rows = {c: self.cluster_model.cluster(self.cluster_model.row_of(c)) for c in ids
                if self.cluster_model.row_of(c) >= 0}
        if target not in rows:
            return None
        total = sum(r.size for r in rows.values())
        others = [f"“{rows[c].name}”" for c in ids[1:] if c in rows]
        joined = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
        box = QMessageBox(QMessageBox.Icon.Question, "Merge clusters",
                          f"Merge {joined} into “{rows[target].name}”?", parent=self)
        named = "" if name == rows[target].name else " (the name you gave)"
        box.setInformativeText(f"One cluster of {total:,} photos stays, named “{name}”{named}. "
                               "Edit > Undo takes the merge back.")
        merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(merge)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button) -> None:
            if button is merge:
                self.state.run_edit(lambda: editing.merge_clusters(library, ids[0], ids[1:]),
                                    title="Merging clusters")

        box.buttonClicked.connect(answered)
        self.merge_box = box
        box.open()
        return box

    def split_current_cluster(self) -> None:
        cluster_id = self.sidebar.current_cluster_id()
        if cluster_id is None or cluster_id == UNASSIGNED_ID:
            return
        library, settings = self.state.library, self.state.settings
        self.state.run_edit(lambda: editing.split_cluster(
            library, cluster_id, model=effective_model(library, settings)),
            title="Splitting the cluster")

    def new_cluster_from_selection(self, name: str | None = None) -> None:
        photo_ids = self.grid.selected_photo_ids()
        if not photo_ids:
            return
        if name is None:
            name, ok = QInputDialog.getText(
                self, "New cluster",
                f"Name of the new cluster of {len(photo_ids):,} "
                f"photo{'s' if len(photo_ids) != 1 else ''}:",
                QLineEdit.EchoMode.Normal, "New cluster")
            if not ok:
                return
            name = name.strip() or None
        library = self.state.library
        self.state.run_edit(lambda: editing.new_cluster_from_photos(library, photo_ids, name))

    def remove_selected_photos(self) -> None:
        photo_ids = self.grid.selected_photo_ids()
        if photo_ids and self.sidebar.current_cluster_id() != UNASSIGNED_ID:
            library = self.state.library
            self.state.run_edit(lambda: editing.remove_photos_from_cluster(library, photo_ids))

    def rename_current_cluster(self) -> None:
        self.sidebar.view.setFocus()
        self.sidebar.rename_current()

    def rename_cluster_to(self, cluster_id: int, name: str) -> None:
        library = self.state.library
        self.state.run_edit(lambda: editing.rename_cluster(library, cluster_id, name))

    def activate(self, **kwargs) -> None:
        cluster_id = kwargs.get("cluster_id")
        if cluster_id is not None:
            self.sidebar.select_cluster(cluster_id)
        photo_id = kwargs.get("photo_id")
        if photo_id is not None:
            row = self.photo_model.row_of(photo_id)
            if row >= 0:
                self.grid.setCurrentIndex(self.photo_model.index(row))
            self.preview.show_photo(photo_id)
