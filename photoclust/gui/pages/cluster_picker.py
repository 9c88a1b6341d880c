"""A small dialog to choose a cluster by typing part of its name (review's "No, it belongs in…",
search's "Move to cluster…"). Window-modal but not blocking: ``picked(cluster_id)`` when the user
presses Enter or double-clicks a cluster."""
from __future__ import annotations

from typing import AbstractSet

from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QVBoxLayout

from photoclust.core.library.queries import list_clusters


class ClusterPicker(QDialog):
    picked = Signal(int)

    def __init__(self, library, prompt: str, exclude: AbstractSet[int] = frozenset(),
                 parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose a cluster")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        clusters = [c for c in list_clusters(library) if c.id not in exclude]
        self._ids = [c.id for c in clusters]
        names = [f"{c.name or 'Unnamed'}  ({c.size:,})" for c in clusters]
        self._source = QStringListModel(names, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self._source)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        label = QLabel(prompt)
        label.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Type part of a cluster's name")
        self.filter.setClearButtonEnabled(True)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.filter.textChanged.connect(self._on_filter)
        self.filter.returnPressed.connect(self.accept_current)
        self.list.doubleClicked.connect(lambda _i: self.accept_current())
        self.list.activated.connect(lambda _i: self.accept_current())
        self._on_filter("")
        self.resize(360, 420)

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        if self.proxy.rowCount():
            self.list.setCurrentIndex(self.proxy.index(0, 0))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.filter.hasFocus():
            self.list.keyPressEvent(event)  # arrows move in the list while typing
            return
        super().keyPressEvent(event)

    def cluster_ids(self) -> list[int]:
        """The clusters the list shows now, in order."""
        return [self._ids[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def accept_current(self) -> None:
        index = self.list.currentIndex()
        if not index.isValid():
            return
        cluster_id = self._ids[self.proxy.mapToSource(index).row()]
        self.accept()
        self.picked.emit(cluster_id)
