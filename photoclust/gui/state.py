"""What the pages of the window share: the library, the current cluster, the clusters selected in
the Photos page, and the one way to run work (jobs and edits) off the GUI thread. (A page's
selected photos are its own: no other page reads them.)

Pages read and write through this object and listen to its signals; they never reach into each
other's widgets. ``photosChanged`` is emitted after every edit, undo, redo or job that changed
where photos are or what clusters are called, so each page re-reads what it shows.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from photoclust.core.jobs import Job, JobContext
from photoclust.core.library import Library
from photoclust.core.organize.settings import LibrarySettings, load_settings, save_settings
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.workers import JobQueue, JobWorker


class EditJob(Job):
    """A function that edits the library, run on the "edits" lane."""

    def __init__(self, title: str, edit: Callable[[], object]):
        self.title = title
        self._edit = edit

    def run(self, ctx: JobContext):
        ctx.report(0, 1, self.title)
        result = self._edit()
        ctx.report(1, 1, "")
        return result


class AppState(QObject):
    """The library, the current cluster, the selected clusters, and the job queue."""

    clusterChanged = Signal(object)  # int | None
    photosChanged = Signal()  # after any edit or job that changed placements or names
    pageRequested = Signal(str, dict)  # page name, its activate() keyword arguments
    edited = Signal(object)  # an EditResult: what an edit, undo or redo changed
    editFailed = Signal(str)  # an edit was refused: the sentence for the user
    editsInFlightChanged = Signal(int)  # how many edits are queued or running
    message = Signal(str)  # a short status message for the user
    settingsChanged = Signal(object)  # the library's LibrarySettings after a change
    organizeRequested = Signal(str)  # a folder to add and organize ("" = the library's folders)
    countsChanged = Signal(int, int)  # photos present, clusters: after the library was re-read

    def __init__(self, library: Library, queue: JobQueue | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.queue = queue or JobQueue(parent=self)
        self.current_cluster_id: int | None = None
        self.selected_cluster_ids: list[int] = []  # the clusters selected in the Photos page
        self._edits_in_flight = 0
        self.counts: tuple[int, int] | None = None  # (photos present, clusters), once read
        self.settings: LibrarySettings = load_settings(library)
        #: One thumbnail cache for every page of this library.
        self.thumbnails = ThumbnailLoader(library, icon_size=self.settings.thumbnail_size,
                                          parent=self)

    def set_counts(self, photos: int, clusters: int) -> None:
        """What the library holds, as the page that read it last saw it (the status area and
        the enabled pages follow)."""
        if (photos, clusters) != self.counts:
            self.counts = (photos, clusters)
            self.countsChanged.emit(photos, clusters)

    def update_settings(self, **values) -> LibrarySettings:
        """Save library settings (``core.organize.settings.save_settings``) and tell the pages."""
        self.settings = save_settings(self.library, **values)
        self.settingsChanged.emit(self.settings)
        return self.settings

    # --- the shared current cluster -----------------------------------------------------------
    def set_current_cluster(self, cluster_id: int | None) -> None:
        if cluster_id != self.current_cluster_id:
            self.current_cluster_id = cluster_id
            self.clusterChanged.emit(cluster_id)

    def show_page(self, name: str, **kwargs) -> None:
        self.pageRequested.emit(name, kwargs)

    # --- work ---------------------------------------------------------------------------------
    def run_job(self, job: Job, on_finished: Callable[[object], None] | None = None,
                **callbacks) -> JobWorker:
        """Queue ``job`` on the job lane (it waits for the running one; never refused).
        ``on_finished(result)`` runs on the GUI thread; ``on_failed``/``on_cancelled`` may be
        given as keywords."""
        return self.queue.submit(job, on_finished, lane="jobs", **callbacks)

    @property
    def edits_in_flight(self) -> int:
        return self._edits_in_flight

    def run_edit(self, fn: Callable[[], object], on_done: Callable[[object], None] | None = None,
                 title: str = "Saving the edit") -> JobWorker:
        """Run ``fn`` (an edit of the library, e.g. ``lambda: editing.merge_clusters(...)``) off
        the GUI thread, one edit at a time in order. Then ``edited(result)`` (when ``fn`` returns
        an ``EditResult``) and ``photosChanged`` are emitted and ``on_done(result)`` is called.
        A refused edit (``EditError``) emits ``editFailed`` with its sentence."""
        self._set_edits_in_flight(self._edits_in_flight + 1)

        def finished(result: object) -> None:
            self._set_edits_in_flight(self._edits_in_flight - 1)
            if result is not None and hasattr(result, "event_id"):
                self.edited.emit(result)
            self.photosChanged.emit()
            if on_done is not None:
                on_done(result)

        def failed(error: object) -> None:
            self._set_edits_in_flight(self._edits_in_flight - 1)
            self.editFailed.emit(str(error) or type(error).__name__)

        def cancelled() -> None:
            self._set_edits_in_flight(self._edits_in_flight - 1)

        return self.queue.submit(EditJob(title, fn), finished, lane="edits", on_failed=failed,
                                 on_cancelled=cancelled)

    def _set_edits_in_flight(self, n: int) -> None:
        self._edits_in_flight = max(0, n)
        self.editsInFlightChanged.emit(self._edits_in_flight)
