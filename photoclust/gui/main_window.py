"""The main window: cluster sidebar | photo grid or map | preview, a toolbar of edits, and the
status bar that shows background jobs.

Every edit goes through ``EditStack`` (core edit + undo command) and is committed by the core at
once; the window then re-reads what the edit says changed. Long work (organize, split, map layout,
review suggestions, learn) runs as core jobs on ``JobWorker``s; the GUI thread only does paged,
indexed reads.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import func, select

from photoclust.core import editing
from photoclust.core.edit_history import EditResult
from photoclust.core.jobs import Job
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Photo
from photoclust.gui.dialogs.export_dialog import ExportDialog
from photoclust.gui.dialogs.settings_dialog import SettingsDialog
from photoclust.gui.map_layout import MapLayout, MapLayoutJob, cluster_of_photos
from photoclust.gui.models.cluster_model import UNASSIGNED_ID, ClusterListModel
from photoclust.gui.models.photo_model import PhotoListModel
from photoclust.gui.models.review_model import (
    ReviewJob,
    ReviewListModel,
    ReviewQueue,
    is_photo_question,
)
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.resources import app_icon, icon
from photoclust.gui.settings import LibrarySettings, remember_library_path
from photoclust.gui.undo_commands import EditJob, EditStack
from photoclust.gui.views.job_status import JobStatusWidget
from photoclust.gui.views.map_view import MapView
from photoclust.gui.views.photo_grid import PhotoGrid
from photoclust.gui.views.preview import PreviewPane
from photoclust.gui.views.review_panel import ReviewPanel
from photoclust.gui.views.sidebar import ClusterSidebar
from photoclust.gui.views.welcome import WelcomePage, default_photo_folder
from photoclust.gui.workers import JobWorker


class MainWindow(QMainWindow):
    libraryChanged = Signal()  # an edit, undo, redo or job changed what the library holds
    jobStarted = Signal(object)  # JobWorker
    jobEnded = Signal(str)  # what the status bar says: done, stopped or failed
    mapReady = Signal()
    reviewReady = Signal()

    def __init__(self, library: Library, job_pool: QThreadPool | None = None, parent=None):
        super().__init__(parent)
        self.library = library
        self.settings = LibrarySettings.load(library)
        self.job_pool = job_pool or QThreadPool(self)
        self.worker: JobWorker | None = None
        self._edited_photo_ids: list[int] | None = None  # set while re-reading after an edit
        self.map_layout: MapLayout | None = None
        self.export_dialog: ExportDialog | None = None

        self.setWindowTitle(f"photoclust — {library.path.name}")
        self.setWindowIcon(app_icon())
        self.thumbnails = ThumbnailLoader(library, icon_size=self.settings.thumbnail_size,
                                          parent=self)
        self.cluster_model = ClusterListModel(library, self.thumbnails, self)
        self.photo_model = PhotoListModel(library, self.thumbnails, self)
        self.edits = EditStack(library, self._on_edit, self)

        self.sidebar = ClusterSidebar(self.cluster_model)
        self.grid = PhotoGrid(self.photo_model)
        self.map_view = MapView()
        self.review_model = ReviewListModel(self.thumbnails, self)
        self.review_panel = ReviewPanel(self.review_model)
        self.preview = PreviewPane(library)
        self.welcome = WelcomePage()

        self.grid_title = QLabel()
        self.grid_title.setObjectName("paneTitle")
        self.order_combo = QComboBox()
        for text, order in (("By file name", "path"), ("By date taken", "taken_at"),
                            ("Least sure first", "confidence")):
            self.order_combo.addItem(text, order)
        self.order_combo.setToolTip("Least sure first: the photos most worth checking")
        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 2)
        header.addWidget(self.grid_title, 1)
        header.addWidget(self.order_combo)
        self.grid_page = QWidget()
        grid_layout = QVBoxLayout(self.grid_page)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(0)
        grid_layout.addLayout(header)
        grid_layout.addWidget(self.grid, 1)

        self.center = QStackedWidget()
        self.center.addWidget(self.grid_page)
        self.center.addWidget(self.map_view)
        self.center.addWidget(self.review_panel)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([250, 760, 300])
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)

        self.job_status = JobStatusWidget()
        self.statusBar().addPermanentWidget(self.job_status)
        self.summary_label = QLabel()
        self.statusBar().addWidget(self.summary_label)

        self._build_actions()
        self._connect()
        self.resize(1320, 820)
        self.reload()

    # --- construction -------------------------------------------------------------------------
    def _action(self, name: str, text: str, icon_name: str, shortcuts, slot: Callable,
                tip: str) -> QAction:
        action = QAction(icon(icon_name), text, self)
        action.setObjectName(name)
        keys = [QKeySequence(s) for s in (shortcuts if isinstance(shortcuts, list) else
                                          [shortcuts] if shortcuts else [])]
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        hint = f" ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})" if keys else ""
        action.setToolTip(tip + hint)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.organize_action = a("organize", "Organize", "organize", "Ctrl+R", self.organize,
                                 "Index the library's folders, embed new photos and cluster")
        self.add_folder_action = a("addFolder", "Add folder…", "add-folder", "Ctrl+O",
                                   self.add_folder, "Add a folder of photos and organize it")
        self.undo_action = self.edits.createUndoAction(self, "Undo")
        self.undo_action.setIcon(icon("undo"))
        self.undo_action.setShortcuts([QKeySequence.StandardKey.Undo])
        self.redo_action = self.edits.createRedoAction(self, "Redo")
        self.redo_action.setIcon(icon("redo"))
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.undo_action, self.redo_action])
        self.rename_action = a("rename", "Rename", "rename", "F2", self.rename_current_cluster,
                               "Rename the cluster")
        self.merge_action = a("merge", "Merge", "merge", "Ctrl+M", self.merge_selected_clusters,
                              "Merge the selected clusters into the current one")
        self.split_action = a("split", "Split", "split", "Ctrl+Shift+M", self.split_current_cluster,
                              "Split the cluster into parts by content")
        self.new_cluster_action = a("newCluster", "New cluster", "new-cluster", "Ctrl+N",
                                    self.new_cluster_from_selection,
                                    "Make a new cluster of the selected photos")
        self.remove_action = a("remove", "Remove", "remove",
                               [QKeySequence(Qt.Key.Key_Delete).toString(), "Backspace"],
                               self.remove_selected_photos,
                               "Remove the selected photos from their cluster")
        self.grid_action = a("showGrid", "Photos", "grid", "Ctrl+1", self.show_grid,
                             "Show the photos of the cluster")
        self.map_action = a("showMap", "Map", "map", "Ctrl+2", self.show_map,
                            "Show all photos on a map of similarity, coloured by cluster")
        self.review_action = a("review", "Review", "review", "Ctrl+3", self.show_review,
                               "Answer the questions that teach photoclust the most")
        self.learn_action = a("learn", "Learn", "learn", "Ctrl+L", self.learn,
                              "Re-sort the photos you did not place, learning from your "
                              "corrections")
        self.export_action = a("export", "Export albums…", "export", "Ctrl+E",
                               self.open_export_dialog,
                               "Export clusters as album folders with a manifest")
        self.settings_action = a("settings", "Settings", "settings", "Ctrl+,", self.open_settings,
                                 "Model, device, number of clusters, thumbnails")
        for action in (self.grid_action, self.map_action, self.review_action):
            action.setCheckable(True)
        self.grid_action.setChecked(True)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        for action in (self.add_folder_action, self.organize_action, None, self.undo_action,
                       self.redo_action, None, self.rename_action, self.merge_action,
                       self.split_action, self.new_cluster_action, self.remove_action, None,
                       self.grid_action, self.map_action, None, self.review_action,
                       self.learn_action, None, self.export_action, self.settings_action):
            if action is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(action)
        self.addToolBar(toolbar)

    def _connect(self) -> None:
        self.sidebar.currentClusterChanged.connect(self._show_cluster)
        self.sidebar.selectionChanged.connect(self._update_actions)
        self.grid.currentPhotoChanged.connect(self.preview.show_photo)
        self.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.cluster_model.renameRequested.connect(self.rename_cluster_to)
        self.cluster_model.photosDropped.connect(self.move_photos)
        self.map_view.photoClicked.connect(self.open_photo)
        self.welcome.organizeRequested.connect(self.organize_folder)
        self.order_combo.currentIndexChanged.connect(self._on_order_changed)
        self.review_panel.acceptRequested.connect(self.accept_suggestion)
        self.review_panel.refuseRequested.connect(self.refuse_suggestion)
        self.review_panel.currentPhotoChanged.connect(self.preview.show_photo)

    # --- reading ------------------------------------------------------------------------------
    def photo_count(self) -> int:
        with self.library.session() as s:
            return s.scalar(select(func.count(Photo.id)).where(Photo.status == "present")) or 0

    def reload(self, select_cluster: int | None = None) -> None:
        """Re-read clusters; keep (or move to) the given/current cluster."""
        keep = select_cluster if select_cluster is not None else self.sidebar.current_cluster_id()
        self.cluster_model.reload()
        has_clusters = self.cluster_model.rowCount() > 0
        has_photos = has_clusters or self.photo_count() > 0
        self.pages.setCurrentWidget(self.splitter if has_photos else self.welcome)
        if not self.sidebar.select_cluster(keep):
            self.photo_model.set_cluster(None, 0)
        self._update_summary()
        self._update_actions()

    def _show_cluster(self, cluster_id: int | None) -> None:
        row = self.cluster_model.row_of(cluster_id) if cluster_id is not None else -1
        size = self.cluster_model.cluster(row).size if row >= 0 else 0
        edited, self._edited_photo_ids = self._edited_photo_ids, None
        if row >= 0 and edited is not None and cluster_id == self.photo_model.cluster_id and \
                self.photo_model.apply_edit(edited, size):
            self._show_title(row)
            if self.preview.photo_id in edited:
                self.preview.show_photo(self.preview.photo_id)  # its cluster changed
            self._update_actions()
            return  # same cluster after an edit: rows dropped in place, scroll position kept
        self.photo_model.set_cluster(cluster_id if row >= 0 else None, size)
        self._show_title(row)
        if self.photo_model.canFetchMore():
            self.photo_model.fetchMore()
        self.preview.show_photo(None)
        self._update_actions()

    def _show_title(self, row: int) -> None:
        if row < 0:
            self.grid_title.clear()
            return
        cluster = self.cluster_model.cluster(row)
        self.grid_title.setText(f"{cluster.name or 'Unnamed'}  ·  {cluster.size:,} "
                                f"photo{'s' if cluster.size != 1 else ''}")

    def _on_order_changed(self, _index: int) -> None:
        self.photo_model.set_order(self.order_combo.currentData())
        if self.photo_model.canFetchMore():
            self.photo_model.fetchMore()

    def _update_summary(self) -> None:
        n_clusters = self.cluster_model.cluster_count()
        self.summary_label.setText(f"{self.cluster_model.total_photos():,} photos in "
                                   f"{n_clusters:,} cluster{'s' if n_clusters != 1 else ''}")

    def _update_actions(self) -> None:
        clusters = [c for c in self.sidebar.selected_cluster_ids() if c != UNASSIGNED_ID]
        current = self.sidebar.current_cluster_id()
        real_cluster = current is not None and current != UNASSIGNED_ID
        photos = bool(self.grid.selectionModel().selectedIndexes())
        busy = self.worker is not None and self.worker.running
        self.rename_action.setEnabled(real_cluster)
        self.merge_action.setEnabled(len(clusters) >= 2)
        self.split_action.setEnabled(real_cluster and not busy)
        self.new_cluster_action.setEnabled(photos)
        self.remove_action.setEnabled(photos and real_cluster)
        self.organize_action.setEnabled(not busy)
        self.learn_action.setEnabled(not busy and self.cluster_model.cluster_count() > 0)
        self.add_folder_action.setEnabled(not busy)
        self.export_action.setEnabled(self.cluster_model.cluster_count() > 0)

    # --- editing ------------------------------------------------------------------------------
    def run_edit(self, edit: Callable[[], EditResult]) -> EditResult | None:
        try:
            return self.edits.run(edit)
        except editing.EditError as exc:
            QMessageBox.warning(self, "photoclust", str(exc))
            return None

    def _on_edit(self, result: EditResult) -> None:
        self.statusBar().showMessage(result.description, 5000)
        target = result.created_cluster_ids[0] if result.kind == "new_cluster" and \
            result.created_cluster_ids else None
        self._edited_photo_ids = list(result.photo_ids)
        self.reload(select_cluster=target)
        self._edited_photo_ids = None
        self.review_model.remove_answered_photos(result.photo_ids)
        if self.center.currentWidget() is self.map_view:
            self._recolor_map()
        self.libraryChanged.emit()

    def move_photos(self, photo_ids: list, cluster_id: int) -> None:
        """Move photos to a cluster; dropped on "Not in a cluster", take them out of theirs."""
        if cluster_id == UNASSIGNED_ID:
            self.run_edit(lambda: editing.remove_photos_from_cluster(self.library, photo_ids))
        else:
            self.run_edit(lambda: editing.move_photos(self.library, photo_ids, cluster_id))

    def merge_selected_clusters(self) -> None:
        ids = [c for c in self.sidebar.selected_cluster_ids() if c != UNASSIGNED_ID]
        if len(ids) >= 2:
            self.run_edit(lambda: editing.merge_clusters(self.library, ids[0], ids[1:]))

    def split_current_cluster(self) -> None:
        cluster_id = self.sidebar.current_cluster_id()
        if cluster_id is not None and cluster_id != UNASSIGNED_ID:
            if self.worker is not None and self.worker.running:
                return
            job = EditJob("Splitting the cluster",
                          lambda: editing.split_cluster(self.library, cluster_id,
                                                        model=self.settings.model))
            self.start_job(job, self.edits.record)

    def new_cluster_from_selection(self, name: str | None = None) -> None:
        photo_ids = self.grid.selected_photo_ids()
        if photo_ids:
            self.run_edit(lambda: editing.new_cluster_from_photos(self.library, photo_ids, name))

    def remove_selected_photos(self) -> None:
        photo_ids = self.grid.selected_photo_ids()
        if photo_ids and self.sidebar.current_cluster_id() != UNASSIGNED_ID:
            self.run_edit(lambda: editing.remove_photos_from_cluster(self.library, photo_ids))

    def rename_current_cluster(self) -> None:
        self.sidebar.view.setFocus()
        self.sidebar.rename_current()

    def rename_cluster_to(self, cluster_id: int, name: str) -> None:
        self.run_edit(lambda: editing.rename_cluster(self.library, cluster_id, name))

    # --- background jobs ----------------------------------------------------------------------
    def start_job(self, job: Job, on_finished: Callable[[object], None] | None = None) -> JobWorker:
        """Run ``job`` in the background with progress and Cancel in the status bar."""
        if self.worker is not None and self.worker.running:
            raise RuntimeError("a job is already running")
        worker = JobWorker(job, self.job_pool, self)
        self.worker = worker
        self.job_status.attach(worker)
        if on_finished is not None:
            worker.finished.connect(on_finished)
        worker.failed.connect(self._on_job_failed)
        worker.cancelled.connect(lambda: self._on_job_end(f"{worker.title}: stopped. "
                                                          "Everything finished so far is saved."))
        worker.finished.connect(lambda _r: self._on_job_end(f"{worker.title}: done."))
        worker.start()
        self._update_actions()
        self.jobStarted.emit(worker)
        return worker

    def _on_job_end(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)
        self.welcome.set_busy(False)
        self._update_actions()
        self.jobEnded.emit(message)

    def _on_job_failed(self, error: object) -> None:
        text = str(error) or type(error).__name__
        QMessageBox.warning(self, "photoclust", text)
        self._on_job_end(f"Failed: {text}")

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos",
                                                  str(default_photo_folder()))
        if folder:
            self.organize_folder(folder)

    def organize_folder(self, folder: str) -> None:
        path = Path(folder).expanduser()
        if not path.is_dir():
            QMessageBox.warning(self, "photoclust", f"{path} is not a folder.")
            return
        if str(path) not in self.settings.folders:
            self.settings.folders = (*self.settings.folders, str(path))
            self.settings.save(self.library)
        self.organize()

    def organize(self) -> None:
        """Index the library's folders, embed new photos and cluster, in the background."""
        if not self.settings.folders:
            self.add_folder()
            return
        from photoclust.core.pipeline import OrganizeJob

        job = OrganizeJob(self.library, [Path(f) for f in self.settings.folders],
                          model=self.settings.model, device=self.settings.device,
                          k=self.settings.k)
        self.welcome.set_busy(True, "Organizing… progress is shown in the status bar.")
        self.start_job(job, lambda _result: self._after_clustering_run())

    # --- map ----------------------------------------------------------------------------------
    def _show_page(self, page: QWidget) -> None:
        self.center.setCurrentWidget(page)
        self.grid_action.setChecked(page is self.grid_page)
        self.map_action.setChecked(page is self.map_view)
        self.review_action.setChecked(page is self.review_panel)

    def show_grid(self) -> None:
        self._show_page(self.grid_page)

    def show_map(self) -> None:
        self._show_page(self.map_view)
        if self.map_layout is not None:
            self._recolor_map()
            return
        if self.worker is not None and self.worker.running:
            self.statusBar().showMessage("The map is computed when the current job ends.", 5000)
            return
        self.start_job(MapLayoutJob(self.library, self.settings.model), self._on_map_layout)

    def _on_map_layout(self, layout: MapLayout) -> None:
        self.map_layout = layout
        self.map_view.set_layout(layout.photo_ids, layout.xy, layout.cluster_ids,
                                 self._cluster_names())
        self.mapReady.emit()

    def _cluster_names(self) -> dict[int, str]:
        return {self.cluster_model.cluster(r).id: self.cluster_model.cluster(r).name
                for r in range(self.cluster_model.rowCount())}

    def _recolor_map(self) -> None:
        if self.map_layout is None:
            return
        self.map_layout.cluster_ids = cluster_of_photos(self.library, self.map_layout.photo_ids)
        self.map_view.set_layout(self.map_layout.photo_ids, self.map_layout.xy,
                                 self.map_layout.cluster_ids, self._cluster_names())

    # --- review and learning ------------------------------------------------------------------
    def show_review(self) -> None:
        """Show the review questions, computed afresh in the background."""
        self._show_page(self.review_panel)
        if self.worker is not None and self.worker.running:
            self.statusBar().showMessage("Suggestions are computed when the current job ends.",
                                         5000)
            return
        self.start_job(ReviewJob(self.library, model=None), self._on_review_queue)

    def _on_review_queue(self, queue: ReviewQueue) -> None:
        self.review_model.set_queue(queue)
        self.reviewReady.emit()

    def accept_suggestion(self, row: int) -> None:
        question = self.review_model.question(row)
        if is_photo_question(question):
            with self.library.session() as s:
                current = s.scalar(select(Assignment.cluster_id)
                                   .where(Assignment.photo_id == question.photo_id))
            if current == question.suggested_cluster_id:
                self.run_edit(lambda: editing.confirm_photos(self.library, [question.photo_id]))
            else:
                self.run_edit(lambda: editing.move_photos(self.library, [question.photo_id],
                                                          question.suggested_cluster_id))
        elif question.kind == "merge":
            self.run_edit(lambda: editing.merge_clusters(self.library, question.cluster_id,
                                                         [question.other_cluster_id]))
        else:
            self.run_edit(lambda: editing.new_cluster_from_photos(self.library,
                                                                  question.photo_ids))
        self.review_model.remove(question)

    def refuse_suggestion(self, row: int) -> None:
        """No to a merge or split: remembered, so it is not suggested again."""
        from photoclust.core.learning.constraints import refuse_suggestion

        question = self.review_model.question(row)
        if is_photo_question(question):
            return  # a photo is answered by moving it where it belongs
        refuse_suggestion(self.library, question.kind, question.cluster_id,
                          question.other_cluster_id if question.other_cluster_id is not None
                          else -1)
        self.review_model.remove(question)
        self.statusBar().showMessage("Noted: that suggestion will not come back.", 5000)

    def learn(self) -> None:
        """Reassign the photos the user did not place, from a model of the user's corrections."""
        from photoclust.core.learning.job import LearnJob

        self.start_job(LearnJob(self.library), self._on_learned)

    def _after_clustering_run(self) -> None:
        """A clustering run ends the core's redo branch: drop ours too, so Redo cannot get out
        of step with the library (undo of earlier edits stays possible in the core's history)."""
        if self.edits.canRedo():
            self.edits.clear()
        self.reload()
        if self.center.currentWidget() is self.map_view:
            self._recolor_map()
        self.libraryChanged.emit()

    def _on_learned(self, result) -> None:
        self._after_clustering_run()
        self.statusBar().showMessage(
            f"Learned from {result.n_labelled:,} photos you placed: {result.n_reassigned:,} "
            "photos changed cluster.", 8000)

    def open_photo(self, photo_id: int) -> None:
        """Show a photo (clicked on the map): its cluster in the grid, the photo in the preview."""
        with self.library.session() as s:
            cluster_id = s.scalar(select(Assignment.cluster_id)
                                  .where(Assignment.photo_id == photo_id))
        if cluster_id is not None and self.sidebar.current_cluster_id() != cluster_id:
            self.sidebar.select_cluster(cluster_id)
        self.preview.show_photo(photo_id)

    # --- export -------------------------------------------------------------------------------
    def open_export_dialog(self) -> ExportDialog:
        """Open the export dialog (window-modal, not blocking: the export runs in the background)
        on the clusters, with those selected in the sidebar pre-chosen."""
        if self.export_dialog is not None:
            self.export_dialog.deleteLater()
        clusters = [(row.id, row.name, row.size) for row in
                    (self.cluster_model.cluster(r) for r in range(self.cluster_model.rowCount()))
                    if row.id != UNASSIGNED_ID]
        selected = [c for c in self.sidebar.selected_cluster_ids() if c != UNASSIGNED_ID]
        self.export_dialog = ExportDialog(self.library, clusters, selected, self.job_pool, self)
        self.export_dialog.open()
        return self.export_dialog

    # --- settings -----------------------------------------------------------------------------
    def settings_dialog(self) -> SettingsDialog:
        # Imported here: the embedding modules load torch, which the window does not need.
        from photoclust.core.embedding.backbones import available_models
        from photoclust.core.embedding.devices import DEVICE_CHOICES

        return SettingsDialog(self.settings, self.library.path, available_models(),
                              list(DEVICE_CHOICES), self)

    def open_settings(self) -> None:
        dialog = self.settings_dialog()
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog)

    def apply_settings(self, dialog: SettingsDialog) -> None:
        new = dialog.settings()
        if new.model != self.settings.model:
            self.map_layout = None
        self.settings = new
        self.settings.save(self.library)
        if new.thumbnail_size != self.thumbnails.icon_size.width():
            self.thumbnails.set_icon_size(new.thumbnail_size)
            self.grid.set_icon_size(new.thumbnail_size)
        library_path = dialog.library_path()
        if library_path != self.library.path:
            remember_library_path(library_path)
            QMessageBox.information(self, "photoclust",
                                    f"photoclust will open {library_path} the next time it starts.")

    # --- window state -------------------------------------------------------------------------
    def restore_state(self) -> None:
        state = QSettings("photoclust", "photoclust").value("window/geometry")
        if isinstance(state, QByteArray):
            self.restoreGeometry(state)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.worker is not None and self.worker.running:
            self.worker.cancel()
        if self.export_dialog is not None:
            self.export_dialog.cancel_export()
        QSettings("photoclust", "photoclust").setValue("window/geometry", self.saveGeometry())
        self.job_pool.waitForDone(10000)
        self.thumbnails.wait_for_done(5000)
        self.photo_model.wait_for_pages(5000)
        super().closeEvent(event)

    def when_drawn(self, callback: Callable[[], None], settle_ms: int = 300) -> None:
        """Call ``callback`` once the clusters and visible thumbnails are painted."""
        def check() -> None:
            if self.thumbnails.is_idle():
                callback()
            else:
                self.thumbnails.idle.connect(lambda: QTimer.singleShot(settle_ms, callback),
                                             Qt.ConnectionType.SingleShotConnection)
        QTimer.singleShot(settle_ms, check)

