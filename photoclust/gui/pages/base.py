"""The page interface: one screen of the main window (photos, viewer, map, review, duplicates,
search). A page owns its widgets, models and actions; it talks to the rest of the app only
through the shared ``AppState`` (signals in, ``run_job``/``run_edit``/``show_page`` out)."""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from photoclust.gui.state import AppState


class Page(QWidget):
    """Subclasses set ``name`` and ``title`` and build their widgets in ``__init__``."""

    name: str = ""
    title: str = ""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setObjectName(f"{self.name}Page" if self.name else "page")

    def actions(self) -> list[QAction]:  # type: ignore[override]
        """The page's own actions, for the menu bar and the toolbar (empty by default)."""
        return []

    def activate(self, **kwargs) -> None:
        """Called when the page is shown; ``kwargs`` come from ``AppState.show_page``."""

    def deactivate(self) -> None:
        """Called when another page is shown."""
