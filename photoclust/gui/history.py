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

import dataclasses
from datetime import datetime

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from photoclust.core.edits import history as edit_history
from photoclust.core.edits.history import HistoryEntry
from photoclust.core.library.queries import library_version
from photoclust.gui.state import AppState
from photoclust.gui.workers import run_in_background

POLL_MS = 2000
HISTORY_SHOWN = 15


def read_history(library) -> tuple:
    """(newest entries for the menu, next undo, next redo, library version): a few events'
    payloads decoded (a Learn over 50,000 photos has a payload of megabytes), so it runs on a
    worker thread after edits."""
    return (edit_history.history(library, limit=HISTORY_SHOWN), edit_history.next_undo(library),
            edit_history.next_redo(library), library_version(library))


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
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._generation = self._shown = 0
        state.edited.connect(self._on_edited)
        state.photosChanged.connect(self.refresh_in_background)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.check_outside_changes)
        self._timer.start()
        self.refresh()
        # Edits older than the window are the library's past, not "made elsewhere".
        self._start_id = self.entries[0].event_id if self.entries else 0

    def refresh(self) -> None:
        """Re-read now (opening the window, after a refused edit)."""
        self._generation += 1
        self._shown = self._generation
        self._apply(read_history(self.state.library))

    def refresh_in_background(self) -> None:
        self._generation += 1
        library, generation = self.state.library, self._generation
        run_in_background(lambda: read_history(library),
                          lambda result: self._on_read(generation, result),
                          pool=self._pool, owner=self)

    def is_up_to_date(self) -> bool:
        return self._shown == self._generation

    def _on_read(self, generation: int, result: tuple) -> None:
        if generation == self._generation:
            self._shown = generation
            self._apply(result)

    def _apply(self, result: tuple) -> None:
        self.entries, self.next_undo, self.next_redo, self._version = result
        self.changed.emit()

    def adopt(self, event_id: int | None) -> None:
        """An edit this window made through a job (Learn, re-cluster), not through
        ``state.run_edit``: it is not "made elsewhere"."""
        if event_id is not None:
            self._own.add(event_id)
            self.changed.emit()

    def made_elsewhere(self, entry: HistoryEntry) -> bool:
        return entry.event_id not in self._own and entry.event_id > self._start_id

    def label(self, entry: HistoryEntry) -> str:
        return entry.description + (" (made elsewhere)" if self.made_elsewhere(entry) else "")

    def undo(self) -> None:
        self._replay(self.next_undo, edit_history.undo, "Undoing", "Undone")

    def redo(self) -> None:
        self._replay(self.next_redo, edit_history.redo, "Redoing", "Redone")

    def _replay(self, entry: HistoryEntry | None, fn, title: str, done: str) -> None:
        if entry is None or self.state.edits_in_flight:
            return  # while an edit is saved, the next undo is that edit: wait for it
        library, event_id = self.state.library, entry.event_id
        self._own.add(event_id)

        def replay():
            result = fn(library, event_id=event_id)
            if result is None:
                return None
            # Said as what happened now: "Undone: renamed 'shoe' to 'Hats'", not the edit's
            # own sentence again.
            text = result.description
            return dataclasses.replace(result, description=f"{done}: {text[:1].lower()}{text[1:]}")

        self.state.run_edit(replay, title=title)

    def _on_edited(self, result) -> None:
        event_id = getattr(result, "event_id", None)
        if event_id is None or event_id in self._own:
            return  # nothing recorded, or an undo/redo of ours: the re-read says what is next
        self._own.add(event_id)
        # A new edit is the next undo and ends the redo branch: shown at once, confirmed by the
        # re-read that follows.
        entry = HistoryEntry(event_id, result.kind, result.description, False, False,
                             datetime.now())
        self.entries = [entry, *(e for e in self.entries if e.event_id != event_id)]
        self.next_undo, self.next_redo = entry, None
        self.changed.emit()

    def check_outside_changes(self) -> bool:
        """Re-read when someone else changed the library; True when that happened."""
        if self.state.edits_in_flight or self.state.queue.is_busy("jobs") or \
                not self.is_up_to_date():
            return False  # our own work changes the version; re-read when it ends
        if library_version(self.state.library) == self._version:
            return False
        self.state.message.emit("The library was changed outside this window; "
                                "showing it as it is now.")
        self.state.photosChanged.emit()  # pages re-read; refresh() runs through the signal
        return True
