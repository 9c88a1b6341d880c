"""The thumbnail grid of one cluster: a virtualised icon-mode ``QListView`` (only visible rows
are painted and asked for thumbnails), multi-select, and a drag source of photo ids."""
from __future__ import annotations

from typing import cast

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from photoclust.gui.models.photo_model import PhotoListModel, PhotoRole


class PhotoGrid(QListView):
    currentPhotoChanged = Signal(object)  # photo id or None

    def __init__(self, model: PhotoListModel, parent=None):
        super().__init__(parent)
        self.setObjectName("photoGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        # Lay out big clusters a batch at a time between events: Qt's own time-boxed layout, so
        # adding a page to a 20,000-photo grid never freezes the window.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setModel(model)
        self.set_icon_size(model.thumbnails.icon_size.width())
        self.selectionModel().currentChanged.connect(
            lambda current, _prev: self.currentPhotoChanged.emit(
                current.data(PhotoRole.PhotoId) if current.isValid() else None))

    def set_icon_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 16, size + 30))
        self.verticalScrollBar().setSingleStep(max(20, size // 4))

    def model(self) -> PhotoListModel:
        """The photos of the cluster shown (the one model the grid is given)."""
        return cast(PhotoListModel, super().model())

    def selectAll(self) -> None:  # noqa: N802 - Qt override (Ctrl+A)
        """Select every photo of the cluster, loading the rows not paged in yet first."""
        self.model().fetch_all()
        super().selectAll()

    def selected_photo_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return self.model().photo_ids(rows)
