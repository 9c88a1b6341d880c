"""Page-local actions: shortcuts that work while the focus is on the page that owns them, so pages
can use plain keys (Y, N, arrows, Esc) without clashing with each other or the shell."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def page_action(page: QWidget, text: str, keys: list, slot, tip: str) -> QAction:
    """An action whose shortcuts work while focus is on ``page`` (or any of its children), so
    pages can use plain keys without clashing with each other."""
    action = QAction(text, page)
    action.setShortcuts([QKeySequence(k) for k in keys])
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    hint = f" ({QKeySequence(keys[0]).toString(QKeySequence.SequenceFormat.NativeText)})" \
        if keys else ""
    action.setToolTip(tip + hint)
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    page.addAction(action)
    return action
