"""The cluster sidebar: cover, name and count per cluster; sortable; F2 or double click renames;
photos dropped on a cluster move there."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from photoclust.gui.models.cluster_model import ClusterListModel, ClusterRole, ClusterSortProxy


class _NameDelegate(QStyledItemDelegate):
    """Keeps what the user typed in an open name editor: a change to its row (the covers, read
    after the sizes when the window opens; a thumbnail loaded) would put the old name back."""

    def setEditorData(self, editor, index) -> None:  # noqa: N802 - Qt override
        if isinstance(editor, QLineEdit) and editor.isModified():
            return
        super().setEditorData(editor, index)


class ClusterSidebar(QWidget):
    currentClusterChanged = Signal(object)  # cluster id or None
    selectionChanged = Signal()

    def __init__(self, model: ClusterListModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.proxy = ClusterSortProxy(self)
        self.proxy.setSourceModel(model)

        header = QHBoxLayout()
        title = QLabel("Clusters")
        title.setObjectName("paneTitle")
        self.sort_combo = QComboBox()
        self.sort_combo.addItem("Largest first", ClusterSortProxy.BY_SIZE)
        self.sort_combo.addItem("By name", ClusterSortProxy.BY_NAME)
        self.sort_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.sort_by(self.sort_combo.currentData()))
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.sort_combo)

        self.view = QListView()
        self.view.setObjectName("clusterSidebar")
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(_NameDelegate(self.view))
        self.view.setIconSize(model.cover_size)
        self.view.setSpacing(1)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.DoubleClicked)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setWordWrap(False)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.selectionChanged.emit())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        self.setMinimumWidth(200)

    def current_cluster_id(self) -> int | None:
        index = self.view.currentIndex()
        return index.data(ClusterRole.ClusterId) if index.isValid() else None

    def selected_cluster_ids(self) -> list[int]:
        """Selected clusters, the current one first (it is the merge target)."""
        ids = [i.data(ClusterRole.ClusterId) for i in self.view.selectionModel().selectedIndexes()]
        current = self.current_cluster_id()
        if current in ids:
            ids.remove(current)
            ids.insert(0, current)
        return ids

    def select_cluster(self, cluster_id: int | None) -> bool:
        """Make ``cluster_id`` current (or the first cluster when it is gone); False if empty."""
        row = self.model.row_of(cluster_id) if cluster_id is not None else -1
        if row < 0:
            if self.proxy.rowCount() == 0:
                self.currentClusterChanged.emit(None)
                return False
            index = self.proxy.index(0, 0)
        else:
            index = self.proxy.mapFromSource(self.model.index(row))
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(index)
        return True

    def rename_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.view.edit(index)

    def _on_current_changed(self, current, _previous) -> None:
        self.currentClusterChanged.emit(current.data(ClusterRole.ClusterId)
                                        if current.isValid() else None)
