"""The main window is a shell: a menu bar, a toolbar, a status area and a stack of pages.

Pages (``gui/pages``) are registered by name; each owns its views, models and actions, and they
share only the ``AppState`` (library, current cluster, selection, job queue). The shell owns what
belongs to the whole library: adding folders and Organize, Undo/Redo from the library's history,
Learn, Re-cluster everything, Export and Settings. Long work runs on the one ``JobQueue``; edits
run off the GUI thread through ``AppState.run_edit``.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTabBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.jobs import Progress
from photoclust.core.library import Library
from photoclust.core.library.queries import list_clusters
from photoclust.core.organize.settings import add_folder, effective_model, remove_folder
from photoclust.gui.dialogs.export_dialog import ExportDialog
from photoclust.gui.dialogs.settings_dialog import SettingsDialog
from photoclust.gui.file_dialogs import choose_folder
from photoclust.gui.history import HISTORY_SHOWN, UndoHistory
from photoclust.gui.pages.actions import make_action
from photoclust.gui.pages.base import Page
from photoclust.gui.resources import app_icon, icon
from photoclust.gui.settings import remember_library_path, save_window_state, window_state
from photoclust.gui.state import AppState
from photoclust.gui.views.job_status import JobStatusWidget
from photoclust.gui.views.welcome import default_photo_folder
from photoclust.gui.workers import DeferredJob, JobQueue, JobWorker

log = logging.getLogger(__name__)

#: Page name -> module; the page class is the module's ``Page`` subclass with that name.
PAGE_MODULES = {
    "photos": "photoclust.gui.pages.photos",
    "viewer": "photoclust.gui.pages.viewer",
    "map": "photoclust.gui.pages.map",
    "review": "photoclust.gui.pages.review",
    "duplicates": "photoclust.gui.pages.duplicates",
    "search": "photoclust.gui.pages.search",
    "people": "photoclust.gui.pages.people",
    "timeline": "photoclust.gui.pages.timeline",
}
#: This long after the window is made, the modules of the pages not shown yet are imported on a
#: background thread, so that a page's first opening does not pay its import on the GUI thread
#: (the Map page's, SciPy's modules through the search code, was a 0.14-0.2 s stall); None: never.
PREFETCH_PAGES_AFTER_MS: int | None = 1500
#: Page name -> its title, for the tabs and the View menu: they are made when the window opens,
#: before the page's module is imported (it is imported when the page is first shown).
PAGE_TITLES = {"photos": "Photos", "viewer": "Viewer", "map": "Map", "review": "Review",
               "duplicates": "Duplicates", "search": "Search", "people": "People",
               "timeline": "Timeline"}
#: Pages reached from the toolbar and the View menu (the viewer opens from a photo), with keys.
NAVIGATION = (("photos", "Ctrl+1", "grid"), ("map", "Ctrl+2", "map"),
              ("review", "Ctrl+3", "review"), ("duplicates", "Ctrl+4", "duplicates"),
              ("search", "Ctrl+F", "search"), ("people", "Ctrl+5", "people"),
              ("timeline", "Ctrl+6", "timeline"))
#: Jobs after which the pages re-read the library, whatever their outcome.
RECLUSTER_SENTENCE = (
    "Re-cluster everything groups all photos again from scratch, as the first Organize did. "
    "Photos you placed yourself and the names you gave stay; other photos may move to "
    "different clusters. It is one edit: Undo takes it back. Organize, by contrast, only adds "
    "new photos to the clusters you have.")


def page_class(name: str) -> type[Page] | None:
    """The ``Page`` subclass called ``name`` from its module; None when the module is not there
    (the window then goes without that page)."""
    module_name = PAGE_MODULES.get(name)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module is there but something it imports is not: a real error
        return None
    for value in vars(module).values():
        if inspect.isclass(value) and issubclass(value, Page) and value.name == name:
            return value
    return None


def page_module_exists(name: str) -> bool:
    """Whether the module of page ``name`` is there, without importing it."""
    module_name = PAGE_MODULES.get(name)
    if module_name is None:
        return False
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


class PageClasses(Mapping[str, type[Page]]):
    """The pages this version has, by name: a page's module is imported the first time its
    class is asked for (the page is first shown), not when the window opens. At a million photos
    importing every page's module (the map's search index, SciPy) took most of a second of the
    window's first paint."""

    def __init__(self) -> None:
        self._names = [name for name in PAGE_MODULES if page_module_exists(name)]
        self._classes: dict[str, type[Page]] = {}
        self._prefetch: threading.Thread | None = None

    def prefetch(self) -> threading.Thread:
        """Import the modules of the pages not asked for yet on a background thread (their
        classes are still taken on the GUI thread, when a page is first shown). A failed import
        is left for that first showing to report."""
        if self._prefetch is None:
            wanted = [PAGE_MODULES[name] for name in self._names if name not in self._classes]

            def run() -> None:
                for module_name in wanted:
                    try:
                        importlib.import_module(module_name)
                    except Exception:  # page_class raises it again when the page is shown
                        log.debug("importing %s ahead failed", module_name, exc_info=True)

            self._prefetch = threading.Thread(target=run, name="photoclust-page-imports",
                                              daemon=True)
            self._prefetch.start()
        return self._prefetch

    @property
    def prefetching(self) -> threading.Thread | None:
        """The thread of ``prefetch`` once started, else None."""
        return self._prefetch

    def __getitem__(self, name: str) -> type[Page]:
        if name not in self._classes:
            if self._prefetch is not None:
                self._prefetch.join()  # one importer at a time: never two threads in one module
            cls = page_class(name) if name in self._names else None
            if cls is None:
                raise KeyError(name)
            self._classes[name] = cls
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def imported(self) -> list[str]:
        """The pages whose module was imported by this mapping."""
        return list(self._classes)


MENU_LABEL_CHARS = 70
#: While a job that changes the photos runs, the pages re-read the library this often.
REREAD_WHILE_RUNNING_S = 5.0


def learn_summary(result) -> str:
    """What Learn did, in words: the photos it moved, then the faces it re-sorted (each an edit
    that Undo takes back)."""
    people = getattr(result, "people", None)
    if getattr(result, "photos_skipped", ""):  # faces but no clusters yet: only faces re-sorted
        faces = (f"People: {people.description}. Edit > Undo takes it back." if people is not None
                 else "People: no face you did not place had to move.")
        return f"No clusters yet, so no photo was re-sorted. {faces}"
    changed = getattr(result, "event_id", None) is not None or \
        bool(getattr(result, "n_reassigned", 0))
    photos = getattr(result, "description", "") if changed else ""
    if people is None:
        return (f"{photos}. Edit > Undo takes it back." if photos
                else "Learned from your corrections: nothing changed.")
    if not photos:
        return (f"Learned from your corrections: no photo moved. People: {people.description}. "
                "Edit > Undo takes it back.")
    return f"{photos}. People: {people.description}. Edit > Undo takes them back, one at a time."


def menu_label(label: str, limit: int = MENU_LABEL_CHARS) -> str:
    """A history label short enough for a menu (Learn's describes every move): the middle is
    cut, a closing "(made elsewhere)" kept; the tooltip and Edit > History keep the whole text."""
    suffix = " (made elsewhere)" if label.endswith(" (made elsewhere)") else ""
    text = label[: len(label) - len(suffix)]
    room = limit - len(suffix)
    if len(text) <= room:
        return label
    return text[: room - 1].rstrip() + "…" + suffix


class MainWindow(QMainWindow):
    pageChanged = Signal(str)
    jobEnded = Signal(str)  # what the status area said when a job ended

    def __init__(self, library: Library, queue: JobQueue | None = None, parent=None):
        super().__init__(parent)
        self.library = library
        self.state = AppState(library, queue, self)
        self.queue = self.state.queue
        self.history = UndoHistory(self.state, self)
        self.export_dialog: ExportDialog | None = None
        self.setWindowTitle(f"photoclust — {library.path.name}")
        self.setWindowIcon(app_icon())

        #: The pages this version has, by name; each is imported and built the first time it is
        #: shown (or asked for with ``page()``), so opening the window builds only the Photos page.
        self.page_classes = PageClasses()
        self.pages: dict[str, Page] = {}
        self.stack = QStackedWidget()
        # The pages as tabs above the stack: one row that never overflows the toolbar.
        self.nav_bar = QTabBar()
        self.nav_bar.setObjectName("pageTabs")
        self.nav_bar.setDrawBase(False)
        self.nav_bar.setExpanding(False)
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.nav_bar)
        central_layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.current_page: Page | None = None

        self.summary_label = QLabel()
        self.job_status = JobStatusWidget()
        self.statusBar().addWidget(self.summary_label, 1)
        self.statusBar().addPermanentWidget(self.job_status)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self.resize(1320, 820)
        self.show_page("photos")
        self._update_library_state()
        if PREFETCH_PAGES_AFTER_MS is not None:
            QTimer.singleShot(PREFETCH_PAGES_AFTER_MS, self, self.page_classes.prefetch)

    # --- pages --------------------------------------------------------------------------------
    def register_page(self, page: Page) -> None:
        self.pages[page.name] = page
        self.stack.addWidget(page)
        for action in page.actions():
            self.addAction(action)  # its shortcuts work whichever page is shown

    def page(self, name: str) -> Page | None:
        """The page called ``name``, built now if it was not yet; None when there is none."""
        if name not in self.pages:
            cls = self.page_classes.get(name)  # the page's module is imported now
            if cls is not None:
                self.register_page(cls(self.state))
        return self.pages.get(name)

    def show_page(self, name: str, **kwargs) -> bool:
        page = self.page(name)
        if page is None:
            return False
        if page is not self.current_page:
            if self.current_page is not None:
                self.current_page.deactivate()
                for action in self.current_page.actions():
                    self.toolbar.removeAction(action) if hasattr(self, "toolbar") else None
            self.current_page = page
            self.stack.setCurrentWidget(page)
            if hasattr(self, "toolbar"):
                self.toolbar.insertActions(self._page_actions_end, page.actions())
        for action in getattr(self, "nav_actions", {}).values():
            action.setChecked(action.data() == name)
        self._sync_tabs(name)
        page.activate(**kwargs)
        self.pageChanged.emit(name)
        return True

    # --- construction -------------------------------------------------------------------------
    def _action(self, name, text, icon_name, shortcuts, tip, slot, short=None) -> QAction:
        action = make_action(self, name, text, icon_name, shortcuts, tip, slot, short)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.add_folder_action = a("addFolder", "Add folder…", "add-folder", "Ctrl+O",
                                   "Add a folder of photos and organize it", self.add_folder,
                                   short="Add folder")
        self.organize_action = a("organize", "Organize", "organize", "Ctrl+R",
                                 "Find new photos in the library's folders and put them in "
                                 "clusters", self.organize)
        self.recluster_action = a("recluster", "Re-cluster everything…", None, [],
                                  RECLUSTER_SENTENCE, self.recluster)
        # Undo/Redo: short labels on the toolbar, the edit they undo in the tooltip and the menu.
        self.undo_action = a("undo", "Undo", "undo", [], "Nothing to undo", self.history.undo)
        self.redo_action = a("redo", "Redo", "redo", [], "Nothing to redo", self.history.redo)
        self.undo_menu_action = a("undoMenu", "Undo", "undo", QKeySequence.StandardKey.Undo,
                                  "Undo the last edit", self.history.undo)
        self.redo_menu_action = a("redoMenu", "Redo", "redo", ["Ctrl+Shift+Z", "Ctrl+Y"],
                                  "Redo the last undone edit", self.history.redo)
        self.learn_action = a("learn", "Learn", "learn", "Ctrl+L",
                              "Re-sort the photos you did not place, learning from your "
                              "corrections", self.learn)
        self.export_action = a("export", "Export albums…", "export", "Ctrl+E",
                               "Export clusters as album folders with a manifest",
                               self.open_export_dialog, short="Export")
        self.settings_action = a("settings", "Settings…", "settings", "Ctrl+,",
                                 "Folders, model, device, number of clusters", self.open_settings,
                                 short="Settings")
        self.quit_action = a("quit", "Quit", None, QKeySequence.StandardKey.Quit,
                             "Close photoclust", self.close)
        self.about_action = a("about", "About photoclust", None, [], "Version and licence",
                              self._about)
        self.nav_group = QActionGroup(self)
        self.nav_actions: dict[str, QAction] = {}
        for name, key, icon_name in NAVIGATION:
            if name not in self.page_classes:
                continue
            title = PAGE_TITLES[name]
            action = a(f"show_{name}", title, icon_name, key, f"Show the {title} page",
                       lambda n=name: self.show_page(n))
            action.setCheckable(True)
            action.setData(name)
            self.nav_group.addAction(action)
            self.nav_actions[name] = action
            tab = self.nav_bar.addTab(icon(icon_name), title)
            self.nav_bar.setTabData(tab, name)
            self.nav_bar.setTabToolTip(tab, action.toolTip())
        self.nav_bar.currentChanged.connect(self._on_tab_changed)

    def _on_tab_changed(self, index: int) -> None:
        name = self.nav_bar.tabData(index)
        if name and (self.current_page is None or self.current_page.name != name):
            self.show_page(name)

    def _sync_tabs(self, name: str) -> None:
        for index in range(self.nav_bar.count()):
            if self.nav_bar.tabData(index) == name and self.nav_bar.currentIndex() != index:
                self.nav_bar.blockSignals(True)
                self.nav_bar.setCurrentIndex(index)
                self.nav_bar.blockSignals(False)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.add_folder_action, self.organize_action,
                              self.recluster_action])
        file_menu.addSeparator()
        file_menu.addActions([self.export_action, self.settings_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        self.edit_menu = bar.addMenu("&Edit")
        self.history_menu = QMenu("History", self)
        self.history_menu.setObjectName("historyMenu")
        self.history_menu.aboutToShow.connect(self._fill_history_menu)
        self.edit_menu.aboutToShow.connect(self._fill_edit_menu)
        self._fill_edit_menu()

        self.view_menu = bar.addMenu("&View")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)
        self._fill_view_menu()

        tools = bar.addMenu("&Tools")
        tools.addActions([self.learn_action, self.recluster_action])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _fill_edit_menu(self) -> None:
        menu = self.edit_menu
        menu.clear()
        menu.addActions([self.undo_menu_action, self.redo_menu_action])
        menu.addMenu(self.history_menu)
        if self.current_page is not None and self.current_page.actions():
            menu.addSeparator()
            menu.addActions(self.current_page.actions())

    def _fill_view_menu(self) -> None:
        menu = self.view_menu
        menu.clear()
        menu.addActions(list(self.nav_actions.values()))
        extra = getattr(self.current_page, "view_actions", None)
        if callable(extra) and extra():
            menu.addSeparator()
            menu.addActions(extra())

    def _fill_history_menu(self) -> None:
        """The newest edits; the next undo and redo are marked. Read from the library."""
        menu = self.history_menu
        menu.clear()
        entries = self.history.entries[:HISTORY_SHOWN]
        if not entries:
            menu.addAction("No edits yet").setEnabled(False)
            return
        for entry in entries:
            if entry == self.history.next_undo:
                prefix = "Undo ▸ "
            elif entry == self.history.next_redo:
                prefix = "Redo ▸ "
            elif entry.undone:
                prefix = "(undone) "
            else:
                prefix = ""
            when = entry.created_at.strftime("%d %b %H:%M") if entry.created_at else ""
            action = menu.addAction(f"{prefix}{self.history.label(entry)}   {when}")
            action.setEnabled(entry in (self.history.next_undo, self.history.next_redo))
            if entry == self.history.next_undo:
                action.triggered.connect(self.history.undo)
            elif entry == self.history.next_redo:
                action.triggered.connect(self.history.redo)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        toolbar.addActions([self.add_folder_action, self.organize_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action])
        toolbar.addSeparator()
        self._page_actions_end = toolbar.addSeparator()
        toolbar.addActions([self.learn_action, self.export_action, self.settings_action])
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        if self.current_page is not None:
            toolbar.insertActions(self._page_actions_end, self.current_page.actions())

    def _connect(self) -> None:
        self.state.pageRequested.connect(lambda name, kwargs: self.show_page(name, **kwargs))
        self.state.countsChanged.connect(lambda *_counts: self._update_library_state())
        self.state.edited.connect(lambda r: self.show_status(r.description, 5000))
        self.state.editFailed.connect(self._on_edit_failed)
        self.state.message.connect(lambda text: self.show_status(text, 8000))
        self.state.editsInFlightChanged.connect(lambda _n: self._update_summary())
        self.state.editsInFlightChanged.connect(lambda _n: self._update_undo_actions())
        self.state.organizeRequested.connect(self.organize_folder)
        self.history.changed.connect(self._update_undo_actions)
        self.queue.jobStarted.connect(self._on_job_started)
        self.queue.busyChanged.connect(lambda _b: self._update_actions())
        self._update_undo_actions()

    # --- library state ------------------------------------------------------------------------
    def _update_library_state(self) -> None:
        self._update_summary()
        self._update_actions()

    def _counts(self) -> tuple[int, int]:
        """(photos present, clusters) as the Photos page read them last; read here when there
        is no Photos page."""
        counts = self.state.counts
        if counts is None:
            from photoclust.core.library.queries import count_present_photos

            counts = (count_present_photos(self.library), len(list_clusters(self.library)))
            self.state.set_counts(*counts)
        return counts

    def _update_summary(self) -> None:
        n_photos, n_clusters = self._counts()
        text = (f"{n_photos:,} photo{'s' if n_photos != 1 else ''} in {n_clusters:,} "
                f"cluster{'s' if n_clusters != 1 else ''}")
        if self.state.edits_in_flight:
            n = self.state.edits_in_flight
            text += f"  ·  saving {n} edit{'s' if n != 1 else ''}…"
        self.summary_label.setText(text)

    def _update_actions(self) -> None:
        has_photos = self._counts()[0] > 0
        for name, action in self.nav_actions.items():
            action.setEnabled(name == "photos" or has_photos)
        for index in range(self.nav_bar.count()):
            self.nav_bar.setTabEnabled(index, self.nav_bar.tabData(index) == "photos"
                                       or has_photos)
        busy = self.queue.is_busy("jobs")
        self.organize_action.setEnabled(not busy)
        self.recluster_action.setEnabled(not busy and has_photos)
        self.learn_action.setEnabled(not busy and has_photos)
        self.export_action.setEnabled(has_photos)

    def _update_undo_actions(self) -> None:
        """Undo names the edit it undoes; while an edit is being saved it waits (the edit to
        undo is the one being saved)."""
        saving = self.state.edits_in_flight > 0
        for toolbar_action, menu_action, entry, verb in (
                (self.undo_action, self.undo_menu_action, self.history.next_undo, "Undo"),
                (self.redo_action, self.redo_menu_action, self.history.next_redo, "Redo")):
            label = self.history.label(entry) if entry is not None else ""
            toolbar_action.setEnabled(entry is not None and not saving)
            menu_action.setEnabled(entry is not None and not saving)
            menu_action.setText(f"{verb}: {menu_label(label)}" if entry is not None else verb)
            key = menu_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = f"{verb}: {label}" if entry is not None else f"Nothing to {verb.lower()}"
            toolbar_action.setToolTip(f"{tip} ({key})" if key else tip)
            toolbar_action.setStatusTip(tip)

    def _on_edit_failed(self, text: str) -> None:
        QMessageBox.warning(self, "photoclust", text)
        self.history.refresh()

    # --- jobs ---------------------------------------------------------------------------------
    def run_job(self, job, on_finished: Callable[[object], None] | None = None,
                reread: bool = False) -> JobWorker:
        """Queue a job; with ``reread`` the pages re-read the library when it ends, however it
        ends (a cancelled Organize leaves the photos it indexed)."""
        def ended(outcome: str, result=None) -> None:
            if reread:
                self.state.photosChanged.emit()
            if outcome == "done" and on_finished is not None:
                on_finished(result)
            self._say_job_ended(worker, outcome)

        stage: dict = {"name": None, "read_at": time.monotonic()}

        def progressed(progress: Progress) -> None:
            # A new stage (indexing done, say), or every REREAD_WHILE_RUNNING_S within one
            # (indexing a large folder takes minutes): show what the library holds so far, so
            # the photos found appear while they are looked at.
            name = progress.stage
            now = time.monotonic()
            if stage["name"] is not None and (
                    name != stage["name"] or now - stage["read_at"] >= REREAD_WHILE_RUNNING_S):
                self.state.photosChanged.emit()
                stage["read_at"] = now
            stage["name"] = name

        def setup(w: JobWorker) -> None:
            if reread:
                w.progressed.connect(progressed)

        worker = self.state.run_job(job, lambda result: ended("done", result),
                                    on_failed=lambda error: ended("failed"),
                                    on_cancelled=lambda: ended("cancelled"), setup=setup)
        return worker

    def _on_job_started(self, worker: JobWorker) -> None:
        if worker in self.queue.waiting("edits") or self.queue.current("edits") is worker:
            return  # edits show as "saving…" in the summary, not as a job
        self.job_status.attach(worker)

    def _say_job_ended(self, worker: JobWorker, outcome: str) -> None:
        if outcome == "cancelled":
            text = f"{worker.title}: stopped. Everything finished so far is saved."
        elif outcome == "failed":
            error = worker.error
            text = str(error) or type(error).__name__
            QMessageBox.warning(self, "photoclust", text)
            text = f"{worker.title}: failed. {text}"
        else:
            text = (getattr(worker, "summary", None) or getattr(worker.job, "summary", None)
                    or f"{worker.title}: done.")
        # Where the job's progress was (the room the status bar leaves a passing message is
        # small), once the job status has let go of the job (its own slot may run after this).
        QTimer.singleShot(0, lambda: self.job_status.show_outcome(text, 10000))
        self.jobEnded.emit(text)

    def show_status(self, text: str, timeout_ms: int) -> None:
        """A passing message in the status bar, cut with "…" to the room left of the job status
        while it shows a job (it keeps its place so that nothing moves), else to the bar's
        width; the whole text is its tooltip."""
        bar = self.statusBar()
        # The message is drawn left of the job status, inside the bar's margins.
        room = bar.width() - 24  # no job running, no job's outcome shown: the whole bar
        if self.job_status.isVisible():
            room = min(bar.width() - self.job_status.width(), self.job_status.geometry().x()) - 16
        shown = bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(room, 80))
        bar.setToolTip(text if shown != text else "")
        bar.showMessage(shown, timeout_ms)

    @staticmethod
    def library_summary(library: Library, result=None) -> str:
        """"Done: 300 photos in 6 groups." (read on the job's thread when a job ends); after an
        Organize that placed new photos, what became of them: "49 new photos: 25 joined their
        groups, 24 started a new group (parachute)." (the totals are on the left of the status
        bar)."""
        return MainWindow._clusters_summary(library, result) + MainWindow._faces_summary(result)

    @staticmethod
    def _faces_summary(result) -> str:
        """" 12 faces found in 12 photos." after an Organize that found faces; why faces were
        not searched (the face model missing or damaged), which only the log said before."""
        faces = getattr(result, "faces", None)
        if faces is None:
            return ""
        if getattr(faces, "error", None):
            return f" Faces were not searched: {faces.error}"
        n, photos = getattr(faces, "faces", 0), getattr(faces, "with_faces", 0)
        if not n:
            return ""
        return (f" {n:,} face{'s' if n != 1 else ''} found in {photos:,} "
                f"photo{'s' if photos != 1 else ''}.")

    @staticmethod
    def _clusters_summary(library: Library, result=None) -> str:
        clusters = list_clusters(library)
        photos = sum(c.size for c in clusters)
        total = (f"{photos:,} photo{'s' if photos != 1 else ''} in {len(clusters):,} "
                 f"group{'s' if len(clusters) != 1 else ''}.")
        cluster_result = getattr(result, "cluster", result)  # an OrganizeResult's cluster stage
        if getattr(cluster_result, "mode", None) != "place" or not cluster_result.placed:
            return f"Done: {total}"
        names = {c.id: c.name for c in clusters}
        founded = [names[cid] for cid in cluster_result.founded_cluster_ids if cid in names]
        in_new = sum(c.size for c in clusters if c.id in cluster_result.founded_cluster_ids)
        n = cluster_result.placed
        text = f"{n:,} new photo{'s' if n != 1 else ''}"
        if founded:
            shown = ", ".join(founded[:3]) + (", …" if len(founded) > 3 else "")
            groups = "a new group" if len(founded) == 1 else f"{len(founded):,} new groups"
            return f"{text}: {n - in_new:,} joined their groups, {in_new:,} started {groups} " \
                   f"({shown})."
        return f"{text}, each in the group it resembles."

    def add_folder(self) -> None:
        folder = choose_folder(self, "Add a folder of photos", str(default_photo_folder()))
        if folder:
            self.organize_folder(folder)

    def organize_folder(self, folder: str) -> None:
        if folder:
            path = Path(folder).expanduser()
            if not path.is_dir():
                QMessageBox.warning(self, "photoclust", f"{path} is not a folder.")
                return
            self.state.settings = add_folder(self.library, path)
        self.organize()

    def organize(self) -> JobWorker | None:
        """Find new photos in the library's folders, look at them and group them, in the
        background. Nothing heavy is imported here: the job is built on the worker thread."""
        settings = self.state.settings
        if not settings.folders:
            self.add_folder()
            return None
        library = self.library

        def build():
            from photoclust.core.organize.pipeline import OrganizeJob

            return OrganizeJob(library, [Path(f) for f in settings.folders],
                               model=effective_model(library, settings), device=settings.device,
                               k=settings.k)

        return self.run_job(DeferredJob("Organizing photos", build,
                                        lambda result: self.library_summary(library, result)),
                            reread=True)

    def recluster(self, confirm: bool = True) -> JobWorker | None:
        """Cluster every photo again from scratch (user placements and names stay)."""
        if confirm and QMessageBox.question(
                self, "Re-cluster everything", RECLUSTER_SENTENCE + "\n\nRe-cluster now?") != \
                QMessageBox.StandardButton.Yes:
            return None
        library, settings = self.library, self.state.settings

        def build():
            from photoclust.core.clustering.job import ClusterJob

            return ClusterJob(library, model=effective_model(library, settings), k=settings.k,
                              fresh=True)

        return self.run_job(DeferredJob("Re-clustering everything", build,
                                        lambda result: self.library_summary(library)),
                            lambda result: self.history.adopt(getattr(result, "event_id", None)),
                            reread=True)

    def learn(self) -> JobWorker:
        """Reassign the photos the user did not place, from a model of the user's corrections,
        then re-sort the faces the user did not place (``LearnJob``, as ``photoclust learn``)."""
        library = self.library

        def build():
            from photoclust.core.learning.job import LearnJob

            return LearnJob(library)

        def learned(result) -> None:
            # Learn's edits are this window's: the clusters', then the faces' (``learn_people``)
            self.history.adopt(getattr(result, "event_id", None))
            people = getattr(result, "people", None)
            self.history.adopt(getattr(people, "event_id", None))
            worker.summary = learn_summary(result)

        worker = self.run_job(DeferredJob("Learning from your corrections", build), learned,
                              reread=True)
        return worker

    # --- dialogs ------------------------------------------------------------------------------
    def open_export_dialog(self) -> ExportDialog:
        """Open the export dialog (window-modal, not blocking: the export runs on the queue)
        with the clusters selected on the Photos page pre-chosen."""
        if self.export_dialog is not None:
            self.export_dialog.deleteLater()
        clusters = [(c.id, c.name, c.size) for c in list_clusters(self.library)]
        self.export_dialog = ExportDialog(self.library, clusters,
                                          list(self.state.selected_cluster_ids), self.queue, self)
        self.export_dialog.open()
        return self.export_dialog

    def settings_dialog(self) -> SettingsDialog:
        return SettingsDialog(self.library, self.state.settings, self)

    def open_settings(self) -> None:
        dialog = self.settings_dialog()
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog)

    def apply_settings(self, dialog: SettingsDialog) -> None:
        self.state.update_settings(**dialog.values())
        removed = dialog.removed_folders()
        if removed:
            hidden = sum(remove_folder(self.library, folder) for folder in removed)
            self.state.update_settings()  # re-read: the folders are gone
            self.state.photosChanged.emit()
            self.show_status(
                f"{hidden:,} photo{'s' if hidden != 1 else ''} of the removed folder"
                f"{'s' if len(removed) != 1 else ''} left the clusters; add the folder again to "
                "bring them back.", 10000)
        if dialog.added_folders():
            self.organize()
        library_path = dialog.library_path()
        if library_path != self.library.path:
            remember_library_path(library_path)
            QMessageBox.information(self, "photoclust",
                                    f"photoclust will open {library_path} the next time it starts.")

    def _about(self) -> None:
        from photoclust import __version__

        QMessageBox.about(self, "About photoclust",
                          f"photoclust {__version__}: groups your photos by what they show, "
                          "learns from your corrections, never changes the originals.")

    # --- window state -------------------------------------------------------------------------
    def restore_state(self) -> None:
        """The size and place of the last session; never larger than the screen it opens on
        (the default 1320x820 would hang off a 1024x700 laptop screen, hiding the status area)."""
        geometry = window_state("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
        # Room for the window manager's frame and title bar, which resize() does not count.
        width = min(self.width(), available.width() - 16)
        height = min(self.height(), available.height() - 48)
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, self.minimumWidth()), max(height, self.minimumHeight()))
            self.move(available.topLeft())

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Close at once: jobs are cancelled, not waited for (each commits batch by batch, so
        nothing finished is lost)."""
        self.queue.cancel_all()
        self.history._timer.stop()
        save_window_state("geometry", self.saveGeometry())
        super().closeEvent(event)

    def when_drawn(self, callback: Callable[[], None], settle_ms: int = 300) -> None:
        """Call ``callback`` once no job is queued, the pages have their data and every
        thumbnail loader of the window (the shared one and the pages' own) is idle, twice in a
        row ``settle_ms`` apart (a paint in between may ask for more thumbnails)."""
        from photoclust.gui.models.thumbnails import ThumbnailLoader
        from photoclust.gui.pages.photos import PhotosPage

        shown = self.pages.get("photos")
        photos = shown if isinstance(shown, PhotosPage) else None
        calm = {"rounds": 0}

        def idle() -> bool:
            self.grab()  # paint what is shown: the views ask for the thumbnails they need
            loaders = self.findChildren(ThumbnailLoader)
            page_idle = getattr(self.current_page, "is_idle", None)  # pages' own readers
            return (not self.queue.is_busy() and all(t.is_idle() for t in loaders)
                    and (photos is None or photos.is_up_to_date())
                    and (page_idle is None or page_idle()))

        def check() -> None:
            calm["rounds"] = calm["rounds"] + 1 if idle() else 0
            if calm["rounds"] >= 2:
                callback()
            else:
                QTimer.singleShot(settle_ms if calm["rounds"] else 100, check)

        QTimer.singleShot(settle_ms, check)
