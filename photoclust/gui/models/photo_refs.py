"""A fixed list of photos (search results, a duplicate group, one side of a review question) as a
list model with lazy thumbnails, and the icon-mode strip that shows one.

Rows are ``(id, content_hash, path, caption)``; the caption (empty: the file name) is the text
under the thumbnail. Thumbnails come from a ``ThumbnailLoader`` (placeholder first, decoded off
the GUI thread), so a page of 200 results opens at once. The model is a drag source of photo ids,
like the cluster grid, so results can be dropped on a cluster.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, NamedTuple, cast

from PySide6.QtCore import QAbstractListModel, QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from photoclust.gui.models.photo_model import PhotoRole, PhotoRowsMixin
from photoclust.gui.models.thumbnails import ThumbnailLoader


class RefRow(NamedTuple):
    id: int
    content_hash: str
    path: str
    caption: str = ""
    tooltip: str = ""


class PhotoRefModel(PhotoRowsMixin, QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._rows: list[RefRow] = []
        thumbnails.loaded.connect(self._on_thumbnails_loaded)

    def set_rows(self, rows: Iterable[RefRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, n: int) -> RefRow:
        return self._rows[n]

    def rows(self) -> list[RefRow]:
        return list(self._rows)

    def photo_ids(self, rows: Iterable[int] | None = None) -> list[int]:
        if rows is None:
            return [r.id for r in self._rows]
        return [self._rows[n].id for n in rows if 0 <= n < len(self._rows)]

    def row_of(self, photo_id: int) -> int:
        return next((n for n, r in enumerate(self._rows) if r.id == photo_id), -1)

    def _display(self, row: RefRow) -> str:
        return row.caption or Path(row.path).name

    def _tooltip(self, row: RefRow) -> str:
        return row.tooltip or row.path

    def _on_thumbnails_loaded(self, hashes: list) -> None:
        wanted = set(hashes)
        rows = [n for n, r in enumerate(self._rows) if r.content_hash in wanted]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)),
                                  [Qt.ItemDataRole.DecorationRole])


class PhotoStrip(QListView):
    """Thumbnails of a ``PhotoRefModel`` in icon mode, wrapping to the width.
    ``photoActivated(photo_id)`` on double-click, Enter or Space (open it in the viewer)."""

    photoActivated = Signal(int)

    def __init__(self, model: PhotoRefModel, icon_size: int, parent=None,
                 multi_select: bool = False):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi_select
                              else QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setModel(model)
        self.set_icon_size(icon_size)
        self.doubleClicked.connect(lambda index: self.photoActivated.emit(
            index.data(PhotoRole.PhotoId)))

    def set_icon_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 16, size + 30))
        self.verticalScrollBar().setSingleStep(max(20, size // 4))

    def model(self) -> PhotoRefModel:
        """The photos shown (the one model the strip is given)."""
        return cast(PhotoRefModel, super().model())

    def current_photo_id(self) -> int | None:
        index = self.currentIndex()
        return index.data(PhotoRole.PhotoId) if index.isValid() else None

    def selected_photo_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return self.model().photo_ids(rows)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and \
                self.currentIndex().isValid():
            self.photoActivated.emit(self.currentIndex().data(PhotoRole.PhotoId))
            return
        super().keyPressEvent(event)
