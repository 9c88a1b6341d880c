"""Actions: ``make_action`` for the shell's and the photos page's window-wide actions, and
page-local ones (``page_action``): shortcuts that work while the focus is on the page that owns
them, so pages can use plain keys (Y, N, arrows, Esc) without clashing with each other or the
shell."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from photoclust.gui.resources import icon

# The mixin below is mixed into ``Page`` (a QWidget); the type checker sees that base.
if TYPE_CHECKING:
    _MixinBase = QWidget
else:
    _MixinBase = object


def make_action(parent: QObject, name: str, text: str, icon_name: str | None, shortcuts,
                tip: str, slot, short: str | None = None) -> QAction:
    """An action with its object name, shortcuts (window-wide) and a tooltip naming the key;
    ``short`` is the toolbar's label (``iconText``) when the menu's ``text`` is longer."""
    action = QAction(icon(icon_name) if icon_name else icon(""), text, parent)
    action.setObjectName(name)
    if short:
        action.setIconText(short)
    keys = [QKeySequence(s) for s in (shortcuts if isinstance(shortcuts, (list, tuple))
                                      else [shortcuts] if shortcuts else [])]
    action.setShortcuts(keys)
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    hint = f" ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})" if keys else ""
    action.setToolTip(tip + hint)
    action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    return action


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


class ReadWhenShown(_MixinBase):
    """Mixed into a ``Page`` that shows what it reads from the library (``read_library``): a
    change of the library is read at once while the page is shown, else when it is next
    activated (``activate`` calls ``refresh_if_stale``), so hidden pages read nothing."""

    _stale = True

    def read_library(self) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        self._stale = False
        self.read_library()

    def refresh_if_stale(self, moved: bool = False) -> None:
        """Read again when the library changed meanwhile, or when ``moved`` (the page was asked
        to show another item)."""
        if self._stale or moved:
            self.refresh()

    def _on_library_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()


class LiveWhileShown(_MixinBase):
    """Mixed into a ``Page``: its actions work only while the page is on screen.

    ``actions()`` are the few the shell shows in its toolbar and Edit menu; ``view_actions()``
    (zoom, refresh, previous/next question) go in its View menu.

    The shell adds every page's actions to the window (so their keys work and menus can list
    them); plain keys (Y, Left, F5, Esc) of pages that are not shown must neither answer nor
    clash with the shown page's, and a hidden action has no live shortcut."""

    def view_actions(self) -> list:
        """Actions for the View menu only (the toolbar gets ``actions()``)."""
        return []

    def set_actions_live(self, live: bool) -> None:
        for action in [*self.actions(), *self.view_actions()]:
            action.setVisible(live)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.set_actions_live(True)
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        if not self.isVisible():
            self.set_actions_live(False)
