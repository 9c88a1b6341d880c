"""Waiting for the app in GUI tests, and the few steps several of them drive the same way."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from photoclust.core.jobs import Job


@contextmanager
def settled(window, qtbot, timeout: int = 20000):
    """Run the block (an edit, undo, redo or job), then wait until its edits are saved and the
    Photos page shows the library as it is after them."""
    yield
    qtbot.wait(20)  # an item editor commits its text on a queued call
    photos = window.page("photos")
    qtbot.waitUntil(lambda: not window.queue.is_busy("edits") and photos.is_up_to_date()
                    and window.history.is_up_to_date(), timeout=timeout)


class WaitingJob(Job):
    """Waits for ``done`` (the status area shows it meanwhile)."""

    title = "Organizing photos"

    def __init__(self):
        self.done = threading.Event()

    def run(self, ctx):
        self.done.wait(10)


def select_clusters(page, cluster_ids) -> None:
    """In the Photos page's sidebar: current = the first id (the merge target, the last one
    clicked); all of them selected."""
    view, proxy, model = page.sidebar.view, page.sidebar.proxy, page.cluster_model
    indexes = [proxy.mapFromSource(model.index(model.row_of(c))) for c in cluster_ids]
    view.selectionModel().setCurrentIndex(indexes[0],
                                          QItemSelectionModel.SelectionFlag.ClearAndSelect)
    for index in indexes[1:]:
        view.selectionModel().select(index, QItemSelectionModel.SelectionFlag.Select)


def cluster_name_editor(qtbot, photos) -> QLineEdit:
    """F2 on the Photos page's current cluster: the name editor it opens (with the focus)."""
    photos.sidebar.view.setFocus()
    qtbot.keyClick(photos.sidebar.view, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    return editor
