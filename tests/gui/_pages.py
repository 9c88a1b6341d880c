"""Showing one page in a window of its own, on a real library, for the page tests
(``from _pages import open_page``)."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from photoclust.gui.state import AppState


def open_page(qtbot, page_cls, library, size=(1024, 700), state: AppState | None = None):
    """``(state, page)``: ``page_cls`` on ``library``, shown at ``size``; its jobs are cancelled
    and waited for when the test ends."""
    from photoclust.gui.app import create_application

    create_application()
    state = state or AppState(library)
    page = page_cls(state)
    qtbot.addWidget(page, before_close_func=lambda _w: _stop(state))
    page.resize(*size)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page, timeout=5000)
    page.setFocus()
    return state, page


def open_page_with_history(qtbot, page_cls, library, ready: str, timeout: int = 10000,
                           idle: bool = True):
    """``(state, page, history)``: ``open_page`` with the window's undo history of its edits,
    activated, once it has emitted its signal ``ready`` (and, with ``idle``, has nothing left
    to read)."""
    from photoclust.gui.history import UndoHistory

    state, page = open_page(qtbot, page_cls, library)
    history = UndoHistory(state, page)
    with qtbot.waitSignal(getattr(page, ready), timeout=timeout):
        page.activate()
    if idle:
        qtbot.waitUntil(page.is_idle, timeout=10000)
    return state, page, history


def message_of(qtbot, page_cls, library) -> str:
    """``page_cls`` opened on ``library`` and activated: the sentence its message shows (it
    must come to show its message, as where the library lacks what the page needs)."""
    _state, page = open_page(qtbot, page_cls, library)
    with qtbot.waitSignal(page.stack.currentChanged, timeout=60000, check_params_cb=lambda i:
                          page.stack.widget(i) is page.message):
        page.activate()
    return page.message.text()


def _stop(state: AppState) -> None:
    state.queue.cancel_all()
    state.queue.wait_for_done(20000)


def page_requests(qtbot, state: AppState) -> list:
    """Every ``pageRequested(name, kwargs)`` the state emits, as a list that grows."""
    seen: list = []
    state.pageRequested.connect(lambda name, kwargs: seen.append((name, kwargs)))
    return seen
