"""The thumbnail grid of one cluster: a virtualised icon-mode ``QListView`` (only visible rows
are painted and asked for thumbnails), multi-select, and a drag source of photo ids.

Every cell has the same fixed geometry, whatever the thumbnail in it: the picture is scaled to
fit the icon square (never cropped, never larger than the cell, whether it is a placeholder or a
thumbnail decoded at another size), the file name takes one elided line below it, and cells keep
a gap of ``CELL_GAP`` pixels between them. (Qt's default delegate sized each cell from its
decoration image: after a re-read, while thumbnails were still decoded at the old size, names
were drawn under the next row and pictures overlapped.)"""
from __future__ import annotations

from typing import cast

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from photoclust.gui.models.photo_model import PhotoListModel, PhotoRole

#: Pixels between two cells (their selection backgrounds), at every thumbnail size.
CELL_GAP = 8
#: Pixels around the picture and the name inside a cell.
CELL_PADDING = 4


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a cell as the icon square (the picture fitted into it, centred) above one line of
    text, all inside the cell's rectangle; every cell has the same size hint."""

    def __init__(self, view: QListView):
        super().__init__(view)
        self._view = view

    def cell_size(self) -> QSize:
        """A cell without the gap: padding, the icon square, one line of text."""
        side = self._view.iconSize().width()
        text = self._view.fontMetrics().height()
        return QSize(side + 2 * CELL_PADDING, side + text + 3 * CELL_PADDING)

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt override
        return self.cell_size()

    def picture_rect(self, cell: QRect, image_size: QSize) -> QRect:
        """Where a picture of ``image_size`` is drawn in ``cell``: fitted into the icon square
        (shrunk, never enlarged past it), centred; the square is at the top of the cell."""
        side = self._view.iconSize().width()
        fitted = QSize(image_size)
        if fitted.isEmpty():
            return QRect()
        fitted.scale(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio)
        square = QRect(cell.x() + (cell.width() - side) // 2, cell.y() + CELL_PADDING, side, side)
        return QRect(square.x() + (side - fitted.width()) // 2,
                     square.y() + (side - fitted.height()) // 2, fitted.width(), fitted.height())

    def text_rect(self, cell: QRect) -> QRect:
        side = self._view.iconSize().width()
        top = cell.y() + 2 * CELL_PADDING + side
        return QRect(cell.x() + CELL_PADDING, top, cell.width() - 2 * CELL_PADDING,
                     self._view.fontMetrics().height())

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        cell = QRect(option.rect)
        # The selection/hover background (the style sheet's ::item rules), without the text and
        # the decoration: those are drawn below at their fixed places.
        opt.text = ""
        opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        opt.rect = cell
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)
        painter.save()
        painter.setClipRect(cell)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self.picture_rect(cell, image.size()), image)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if text:
            # The palette's text colour, selected or not: the selection background is light
            # (the style sheet's ::item:selected), where Qt's highlighted text is white.
            painter.setPen(opt.palette.color(opt.palette.ColorRole.Text))
            painter.setFont(option.font)
            rect = self.text_rect(cell)
            shown = option.fontMetrics.elidedText(str(text), Qt.TextElideMode.ElideMiddle,
                                                  rect.width())
            painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             shown)
        painter.restore()


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
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setModel(model)
        self.set_icon_size(model.thumbnails.icon_size.width())
        self.selectionModel().currentChanged.connect(
            lambda current, _prev: self.currentPhotoChanged.emit(
                current.data(PhotoRole.PhotoId) if current.isValid() else None))

    def set_icon_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        cell = self.delegate.cell_size()
        self.setGridSize(QSize(cell.width() + CELL_GAP, cell.height() + CELL_GAP))
        self.verticalScrollBar().setSingleStep(max(20, size // 4))
        self.scheduleDelayedItemsLayout()  # the uniform cell size is cached by the view

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
