"""Undo and redo in the app: the library's own edit history, by event id.

The Undo action says which edit it undoes ("Undo: Renamed 'A' to 'B'") and undoes exactly that
event (``edit_history.undo(library, event_id=...)``). When the library's history moved on
meanwhile (an edit from the command line or another window), the core refuses; the app then says
what happened, shows the new next edit, and undoes nothing. The history is read from the library,
so it is there after a restart; edits this window did not make are marked "made elsewhere".

A timer notices changes made outside the window (``queries.library_version``, one tiny query) and
tells the pages to re-read.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from photoclust.core import edit_history
from photoclust.core.edit_history import HistoryEntry
from photoclust.core.queries import library_version
from photoclust.gui.state import AppState

POLL_MS = 2000
HISTORY_SHOWN = 15


class UndoHistory(QObject):
    changed = Signal()  # next_undo / next_redo / entries were re-read

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.entries: list[HistoryEntry] = []
        self.next_undo: HistoryEntry | None = None
        self.next_redo: HistoryEntry | None = None
        self._own: set[int] = set()  # events made, undone or redone in this window
        self._version = None
        state.edited.connect(self._on_edited)
        state.photosChanged.connect(self.refresh)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.check_outside_changes)
        self._timer.start()
        self.refresh()
        # Edits older than the window are the library's past, not "made elsewhere".
        self._start_id = self.entries[0].event_id if self.entries else 0

    def refresh(self) -> None:
        library = self.state.library
        self.entries = edit_history.history(library, limit=200)
        self.next_undo = next((e for e in self.entries if not e.undone), None)
        redoable = [e for e in self.entries if e.undone and not e.superseded]
        self.next_redo = redoable[-1] if redoable else None
        self._version = library_version(library)
        self.changed.emit()

    def made_elsewhere(self, entry: HistoryEntry) -> bool:
        return entry.event_id not in self._own and entry.event_id > self._start_id

    def label(self, entry: HistoryEntry) -> str:
        return entry.description + (" (made elsewhere)" if self.made_elsewhere(entry) else "")

    def undo(self) -> None:
        self._replay(self.next_undo, edit_history.undo, "Undoing")

    def redo(self) -> None:
        self._replay(self.next_redo, edit_history.redo, "Redoing")

    def _replay(self, entry: HistoryEntry | None, fn, title: str) -> None:
        if entry is None or self.state.edits_in_flight:
            return  # while an edit is saved, the next undo is that edit: wait for it
        library, event_id = self.state.library, entry.event_id
        self._own.add(event_id)
        self.state.run_edit(lambda: fn(library, event_id=event_id), title=title)

    def _on_edited(self, result) -> None:
        if getattr(result, "event_id", None) is not None:
            self._own.add(result.event_id)

    def check_outside_changes(self) -> bool:
        """Re-read when someone else changed the library; True when that happened."""
        if self.state.edits_in_flight or self.state.queue.is_busy("jobs"):
            return False  # our own work changes the version; re-read when it ends
        if library_version(self.state.library) == self._version:
            return False
        self.state.message.emit("The library was changed outside this window; "
                                "showing it as it is now.")
        self.state.photosChanged.emit()  # pages re-read; refresh() runs through the signal
        return True
