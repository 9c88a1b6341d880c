"""Faces for the review page's people questions: a caption over a row of faces cut from their
photos off the GUI thread (``FaceCropLoader``), at the size the question asks for ("Is this
Anna?" shows the face large, beside Anna's typical faces; "Are these the same person?" faces of
both). A double-click (or Enter) on a face asks for its photo (``photoActivated(photo_id)``)."""
from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QVBoxLayout, QWidget

from photoclust.core.faces.read import FaceCrop
from photoclust.gui.models.face_crops import FaceCropLoader

#: The role that holds a face's photo id.
PhotoIdRole = Qt.ItemDataRole.UserRole + 1


class FaceRefModel(QAbstractListModel):
    """Faces by id (``UserRole``), each drawn from a ``FaceCropLoader`` of the size shown."""

    def __init__(self, loaders: list[FaceCropLoader], parent=None):
        super().__init__(parent)
        self.loader = loaders[0]
        self.crops: list[FaceCrop] = []
        self._blank: dict[int, QImage] = {}
        for loader in loaders:
            loader.loaded.connect(self._on_loaded)

    def set_faces(self, crops: list[FaceCrop], loader: FaceCropLoader) -> None:
        self.beginResetModel()
        self.loader.forget()
        self.crops, self.loader = list(crops), loader
        self.endResetModel()

    def face_ids(self) -> list[int]:
        return [c.face_id for c in self.crops]

    def photo_ids(self) -> list[int]:
        return list(dict.fromkeys(c.photo_id for c in self.crops))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008 - Qt override
        return 0 if parent.isValid() else len(self.crops)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.crops):
            return None
        crop = self.crops[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.loader.image(crop) or self._placeholder(self.loader.side)
        if role == Qt.ItemDataRole.ToolTipRole:
            return crop.path
        if role == Qt.ItemDataRole.UserRole:
            return crop.face_id
        if role == PhotoIdRole:
            return crop.photo_id
        return None

    def _placeholder(self, side: int) -> QImage:
        if side not in self._blank:
            image = QImage(side, side, QImage.Format.Format_RGB888)
            image.fill(QColor(90, 90, 90))
            self._blank[side] = image
        return self._blank[side]

    def _on_loaded(self, face_ids: list) -> None:
        wanted = set(face_ids)
        rows = [n for n, c in enumerate(self.crops) if c.face_id in wanted]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)),
                                  [Qt.ItemDataRole.DecorationRole])


class FaceStrip(QListView):
    """The faces of a ``FaceRefModel`` in icon mode, wrapping to the width."""

    photoActivated = Signal(int)

    def __init__(self, model: FaceRefModel, side: int, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setModel(model)
        self.set_icon_size(side)
        self.doubleClicked.connect(lambda index: self.photoActivated.emit(
            index.data(PhotoIdRole)))

    def set_icon_size(self, side: int) -> None:
        self.setIconSize(QSize(side, side))
        self.setGridSize(QSize(side + 12, side + 12))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                self.currentIndex().isValid():
            self.photoActivated.emit(self.currentIndex().data(PhotoIdRole))
            return
        super().keyPressEvent(event)


class FaceSide(QWidget):
    """A caption over a strip of faces; ``show_faces`` sets both and the faces' size."""

    def __init__(self, loaders: list[FaceCropLoader], parent=None):
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setObjectName("reviewCaption")
        self.caption.setWordWrap(True)
        self.model = FaceRefModel(loaders, self)
        self.strip = FaceStrip(self.model, loaders[0].side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.strip, 1)

    def show_faces(self, caption: str, crops: list[FaceCrop], loader: FaceCropLoader) -> None:
        self.caption.setText(caption)
        self.strip.set_icon_size(loader.side)
        self.model.set_faces(crops, loader)
        self.setVisible(bool(crops) or bool(caption))
