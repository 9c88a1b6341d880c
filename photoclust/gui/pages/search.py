"""The search page: find photos by what they show, their names, dates and cameras, or by likeness
to a photo, and act on the results as on a cluster.

Shown without arguments (the shell's Ctrl+F) the page focuses its search field, text selected;
``SearchBox(state)`` is a field the shell may also put in its toolbar (Enter shows the page with
the results). ``state.show_page("search", text="dog")`` searches, ``state.show_page("search",
similar_to=photo_id)`` shows the photos most like that one ("Show similar", also from the viewer).
Queries run on a worker thread through ``photoclust.core.search`` (``search_photos``,
``similar_photos``, ``search_hint``); a new query drops the answer of an older one.

The results are a grid with the same actions as a cluster: Move to… a cluster (M), New cluster
from the selection (Ctrl+Shift+N), Export album… (makes a cluster of the selection, then opens the
export dialog on it), Show similar (Ctrl+Shift+F); Enter, Space or a double-click open a photo in
the viewer (``back="search"``), and results can be dragged onto a cluster of the sidebar.

The shell registers it like every page: ``SearchPage(state)`` in its page stack under
``SearchPage.name``; ``actions()`` go in its toolbar.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from photoclust.core.clustering import editing
from photoclust.core.library.queries import list_clusters, photo_details, photo_files
from photoclust.gui.gc_freeze import freeze_new_modules
from photoclust.gui.models.photo_refs import PhotoRefModel, PhotoStrip, RefRow
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.pages.actions import LiveWhileShown, page_action
from photoclust.gui.pages.base import Page
from photoclust.gui.pages.cluster_picker import ClusterPicker
from photoclust.gui.pages.widgets import action_button
from photoclust.gui.workers import run_in_background

RESULT_THUMB = 160
SEARCH_LIMIT = 200
SIMILAR_LIMIT = 60


def read_hint() -> str:
    """Imports ``core.search`` (a quarter of a second: its word lists; run off the GUI thread)
    and says what can be typed."""
    try:
        from photoclust.core.search import search_hint

        hint = search_hint("")
        freeze_new_modules()
    except Exception as exc:  # noqa: BLE001 - a sentence for the user, never a crash
        hint = f"The search could not start: {exc or type(exc).__name__}"
    return hint


def run_query(library, text: str | None = None, similar_to: int | None = None):
    """(hits, content hashes, the file name similar photos are like) or an error sentence; run
    off the GUI thread."""
    from photoclust.core.search import SearchError, search_photos, similar_photos

    try:
        if similar_to is not None:
            hits = similar_photos(library, similar_to, limit=SIMILAR_LIMIT)
        else:
            hits = search_photos(library, text or "", limit=SEARCH_LIMIT)
        files = photo_files(library, [h.id for h in hits])
        hashes = {pid: content_hash for pid, (content_hash, _path) in files.items()}
        start = None
        if similar_to is not None:
            details = photo_details(library, similar_to)
            start = Path(details.path).name if details is not None else None
        return hits, hashes, start
    except SearchError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a sentence for the user, never a crash
        return f"The search could not run: {exc or type(exc).__name__}"


class SearchBox(QLineEdit):
    """A search field for the shell's toolbar: Enter shows the search page with the results."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("searchBox")
        self.setPlaceholderText("Search photos (Ctrl+F)")
        self.setClearButtonEnabled(True)
        self.setMaximumWidth(240)
        self.returnPressed.connect(lambda: state.show_page("search", text=self.text()))


class SearchPage(LiveWhileShown, Page):
    name = "search"
    title = "Search"

    resultsShown = Signal()  # results (or the hint for none) are on screen
    hintShown = Signal()  # the hint for an empty query is on screen (search is ready)

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.query_text = ""
        self.similar_to: int | None = None
        self.hits: list = []
        self.error: str | None = None
        self._start_name: str | None = None  # the file name of the photo "similar" started from
        self._generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.thumbnails = ThumbnailLoader(state.library, icon_size=RESULT_THUMB, parent=self)
        self.picker: ClusterPicker | None = None
        self.export_dialog = None

        self.field = QLineEdit()
        self.field.setObjectName("searchField")
        self.field.setPlaceholderText("What the photos show (dog, beach, hat), a name, a folder, "
                                      "2023, july 2023, a camera…")
        self.field.setClearButtonEnabled(True)
        self.field.returnPressed.connect(lambda: self.search(self.field.text()))
        go = QPushButton("Search")
        go.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        go.clicked.connect(lambda: self.search(self.field.text()))
        top = QHBoxLayout()
        top.addWidget(self.field, 1)
        top.addWidget(go)
        self.status = QLabel()
        self.status.setObjectName("paneTitle")
        self.status.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.model = PhotoRefModel(self.thumbnails, self)
        self.results = PhotoStrip(self.model, RESULT_THUMB, multi_select=True)
        self.results.setObjectName("searchResults")

        a = page_action
        self.move_action = a(self, "Move to…", ["M"], self.move_selection,
                             "Move the selected photos to a cluster")
        self.new_cluster_action = a(self, "New cluster", ["Ctrl+Shift+N"],
                                    self.new_cluster_from_selection,
                                    "Make a new cluster of the selected photos")
        self.export_action = a(self, "Export album…", ["Ctrl+Shift+E"], self.export_selection,
                               "Make a cluster of the selected photos and export it")
        self.similar_action = a(self, "Show similar", ["Ctrl+Shift+F"], self.show_similar,
                                "The photos that look most like the current one")
        buttons = QHBoxLayout()
        for action in (self.similar_action, self.move_action, self.new_cluster_action,
                       self.export_action):
            buttons.addWidget(action_button(action))
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.hint)
        layout.addWidget(self.results, 1)
        layout.addLayout(buttons)
        self.results.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.results.selectionModel().currentChanged.connect(lambda *_: self._update_actions())
        self.results.photoActivated.connect(
            lambda pid: self.state.show_page("viewer", photo_id=pid,
                                             photo_ids=self.model.photo_ids(), back="search"))
        self.field.installEventFilter(self)
        state.photosChanged.connect(self._on_photos_changed)
        self._show_hint_only(loaded_here=False)
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.similar_action, self.move_action, self.new_cluster_action,
                self.export_action]

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        # Down from the field goes to the results, as in a browser's search.
        if obj is self.field and event.type() == event.Type.KeyPress and \
                event.key() == Qt.Key.Key_Down and self.model.rowCount():
            self.results.setFocus()
            if not self.results.currentIndex().isValid():
                self.results.setCurrentIndex(self.model.index(0))
            return True
        return super().eventFilter(obj, event)

    # --- page interface -----------------------------------------------------------------------
    def activate(self, text: str | None = None, similar_to: int | None = None,
                 focus: bool = False, photo_id: int | None = None, **_kwargs) -> None:
        if similar_to is not None:
            self.show_similar_to(int(similar_to))
        elif text is not None:
            self.field.setText(text)
            self.search(text)
        if focus or (text is None and similar_to is None and photo_id is None):
            self.field.setFocus()  # Ctrl+F or the page's tab: ready to type
            self.field.selectAll()
        else:
            self.results.setFocus()
            row = self.model.row_of(photo_id) if photo_id is not None else -1
            if row >= 0:  # back from the viewer: on the photo that was open
                self.results.setCurrentIndex(self.model.index(row))

    # --- querying -----------------------------------------------------------------------------
    def search(self, text: str) -> None:
        self.query_text, self.similar_to = text.strip(), None
        if not self.query_text:
            self._show_hint_only()
            return
        library, text = self.state.library, self.query_text
        self._start(lambda: run_query(library, text=text), f"Looking for “{self.query_text}”…")

    def show_similar_to(self, photo_id: int) -> None:
        self.similar_to, self.query_text = photo_id, ""
        self.field.clear()  # the results are no longer those of the words typed
        library = self.state.library
        self._start(lambda: run_query(library, similar_to=photo_id),
                    "Looking for similar photos…")

    def show_similar(self) -> None:
        photo_id = self.results.current_photo_id()
        if photo_id is not None:
            self.show_similar_to(photo_id)

    def _next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def _start(self, query, status: str) -> None:
        generation = self._next_generation()
        self.status.setText(status)
        self.hint.clear()
        self.hint.hide()
        run_in_background(query, lambda answer: self._on_answer(generation, answer),
                          pool=self._pool, owner=self)

    def _on_answer(self, generation: int, answer) -> None:
        if generation != self._generation:
            return  # an older query: the user has typed since
        if isinstance(answer, str):
            self.hits, self.error = [], answer
            self.model.set_rows([])
            self.status.setText("No results")
            self.hint.setText(answer)
            self.hint.show()
        else:
            hits, hashes, self._start_name = answer
            self.hits, self.error = hits, None
            self.model.set_rows(RefRow(h.id, hashes.get(h.id, ""), h.path, "",
                                       f"{h.path}\n{h.why} · score {h.score:.2f}")
                                for h in hits if h.id in hashes)
            if not hits:
                self.status.setText("No results")
                self._hint_for_nothing()
            else:
                self.status.setText(self._status_text())
                self.hint.hide()
                self.results.setCurrentIndex(self.model.index(0))
        self._update_actions()
        self.resultsShown.emit()

    def _status_text(self) -> str:
        n = len(self.hits)
        noun = f"{n:,} photo{'s' if n != 1 else ''}"
        if self.similar_to is not None:
            return f"{noun} like {self._start_name or f'photo {self.similar_to}'}"
        reasons = sorted({h.why for h in self.hits[:20]}, key=len)[:3]
        why = f" · matched by {', '.join(reasons)}" if reasons else ""
        return f"{noun} for “{self.query_text}”{why}"

    def _hint_for_nothing(self) -> None:
        from photoclust.core.search import search_hint

        self.hint.setText(search_hint(self.query_text) if self.similar_to is None else
                          "No other photo has an embedding to compare with yet.")
        self.hint.show()

    def _show_hint_only(self, loaded_here: bool = True) -> None:
        """No query: say what can be typed. The first time (``loaded_here=False``, from the
        constructor) ``core.search`` is imported on the page's worker while the page says it is
        getting ready, so opening the page never waits for the import."""
        self._generation += 1
        self.hits = []
        self.model.set_rows([])
        self._update_actions()
        if loaded_here and "photoclust.core.search" in sys.modules:
            from photoclust.core.search import search_hint

            self._on_hint(self._generation, search_hint(""))
            return
        self.status.setText("Getting search ready…")
        self.hint.hide()
        generation = self._generation
        run_in_background(read_hint, lambda hint: self._on_hint(generation, hint),
                          pool=self._pool, owner=self)

    def _on_hint(self, generation: int, hint: str) -> None:
        if generation != self._generation:
            return  # a query was typed meanwhile: its answer is shown instead
        self.status.setText("Search your photos")
        self.hint.setText(hint)
        self.hint.show()
        self.hintShown.emit()

    def _on_photos_changed(self) -> None:
        # Cluster names and placements feed the search: show the results afresh when visible.
        if self.isVisible() and (self.query_text or self.similar_to is not None):
            keep = self.results.selected_photo_ids()
            self.resultsShown.connect(lambda: self._reselect(keep),
                                      Qt.ConnectionType.SingleShotConnection)
            if self.similar_to is not None:
                self.show_similar_to(self.similar_to)
            else:
                self.search(self.query_text)

    def _reselect(self, photo_ids: list[int]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        selection = QItemSelection()
        for pid in photo_ids:
            row = self.model.row_of(pid)
            if row >= 0:
                selection.select(self.model.index(row), self.model.index(row))
        self.results.selectionModel().select(selection,
                                             QItemSelectionModel.SelectionFlag.ClearAndSelect)

    # --- acting on the results ----------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        ids = self.results.selected_photo_ids()
        if not ids and self.results.current_photo_id() is not None:
            ids = [self.results.current_photo_id()]
        return ids

    def _selection(self) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        has = bool(self.selected_ids())
        for action in (self.move_action, self.new_cluster_action, self.export_action):
            action.setEnabled(has)
        self.similar_action.setEnabled(self.results.current_photo_id() is not None)

    def move_selection(self) -> ClusterPicker | None:
        ids = self.selected_ids()
        if not ids:
            return None
        self.picker = ClusterPicker(self.state.library,
                                    f"Move {len(ids):,} photo{'s' if len(ids) != 1 else ''} to:",
                                    parent=self)
        library = self.state.library
        self.picker.picked.connect(lambda cid: self.state.run_edit(
            lambda: editing.move_photos(library, ids, cid), title="Moving photos"))
        self.picker.open()
        self.picker.filter.setFocus()
        return self.picker

    def _cluster_name(self) -> str | None:
        return self.query_text or None

    def new_cluster_from_selection(self, on_done=None) -> None:
        ids = self.selected_ids()
        if ids:
            library, name = self.state.library, self._cluster_name()
            self.state.run_edit(lambda: editing.new_cluster_from_photos(library, ids, name),
                                on_done, title="Making a new cluster")

    def export_selection(self) -> None:
        """Make a cluster of the selection (undoable), then open the export dialog on it."""
        self.new_cluster_from_selection(on_done=self._open_export)

    def _open_export(self, result) -> None:
        from photoclust.gui.dialogs.export_dialog import ExportDialog

        created = getattr(result, "created_cluster_ids", None)
        if not created:
            return
        clusters = [(c.id, c.name, c.size) for c in list_clusters(self.state.library)]
        if self.export_dialog is not None:
            self.export_dialog.deleteLater()
        self.export_dialog = ExportDialog(self.state.library, clusters, list(created),
                                          self.state.queue, self)
        self.export_dialog.chosen_radio.setChecked(True)  # the new album only, not everything
        self.export_dialog.open()
