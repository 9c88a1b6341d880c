"""Undo/redo in the GUI: a ``QUndoStack`` whose commands call the core's history.

The core records every edit as an event and walks a linear history (``editing.undo`` /
``editing.redo``). Each edit is made *before* it is pushed (so a refused edit, e.g. an empty
name, raises without touching the stack); the pushed ``AppliedEditCommand`` then skips its first
``redo`` and maps later undo/redo to the core. The core's history and the stack stay in step
because every edit made in the window goes through the stack.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from photoclust.core import editing
from photoclust.core.edit_history import EditResult
from photoclust.core.jobs import Job, JobContext
from photoclust.core.library import Library

ChangeListener = Callable[[EditResult], None]


class AppliedEditCommand(QUndoCommand):
    def __init__(self, library: Library, result: EditResult, on_change: ChangeListener):
        super().__init__(result.description)
        self._library = library
        self._on_change = on_change
        self._applied = True
        self.result = result

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        result = editing.redo(self._library)
        if result is not None:
            self._on_change(result)

    def undo(self) -> None:
        result = editing.undo(self._library)
        if result is not None:
            self._on_change(result)


class EditStack(QUndoStack):
    """Runs an edit function, records it on the stack and tells the listener what changed."""

    def __init__(self, library: Library, on_change: ChangeListener, parent=None):
        super().__init__(parent)
        self.library = library
        self._on_change = on_change

    def run(self, edit: Callable[[], EditResult]) -> EditResult | None:
        """Apply ``edit`` now; raises ``editing.EditError`` (nothing changed) when refused."""
        return self.record(edit())

    def record(self, result: EditResult | None) -> EditResult | None:
        """Put an edit that was already applied (e.g. by an ``EditJob``) on the stack."""
        if result is None or result.event_id is None:
            return result  # nothing changed: nothing to undo
        self.push(AppliedEditCommand(self.library, result, self._on_change))
        self._on_change(result)
        return result


class EditJob(Job[EditResult]):
    """An edit that reads embeddings (split) run as a background job; its result goes to
    ``EditStack.record`` on the GUI thread."""

    def __init__(self, title: str, edit: Callable[[], EditResult]):
        self.title = title
        self._edit = edit

    def run(self, ctx: JobContext) -> EditResult:
        ctx.report(0, 1, self.title)
        result = self._edit()
        ctx.report(1, 1, "")
        return result
