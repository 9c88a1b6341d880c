"""The photos of one cluster as a paged list model with lazy thumbnails; a drag source.

Rows arrive a page at a time through ``canFetchMore``/``fetchMore`` (the view asks for more as the
user scrolls), so a 50,000-photo cluster never loads at once. The first page of a small cluster
is read at once (the user just picked it: no empty grid flashes); that of a big cluster
(``SYNC_FIRST_PAGE_MAX``) and later pages are read on a worker thread, because sorting a big
cluster costs tens of milliseconds per page (a quarter of a second for the largest cluster of a
million photos) and the GUI thread must not stall.
Thumbnails come from the shared ``ThumbnailLoader``: a placeholder until the file is decoded off
the GUI thread, then one ``dataChanged`` per loaded batch.
"""
from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
)

from photoclust.core.library import Library
from photoclust.core.library.queries import (
    PhotoInfo,
    photos_in_cluster,
    photos_now_in,
    unassigned_photos,
)
from photoclust.gui.models.cluster_model import UNASSIGNED_ID
from photoclust.gui.models.mime import PHOTO_IDS_MIME, photo_ids_to_mime
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.workers import run_in_background

PAGE_SIZE = 600
#: Clusters of up to this many photos have their first page read on the GUI thread (a few
#: milliseconds); bigger ones off it, the grid empty until it comes.
SYNC_FIRST_PAGE_MAX = 5000


class PhotoRole(IntEnum):
    PhotoId = Qt.ItemDataRole.UserRole + 1
    ContentHash = Qt.ItemDataRole.UserRole + 2
    Path = Qt.ItemDataRole.UserRole + 3


# The mixin below is mixed into QAbstractListModels; the type checker sees that base.
if TYPE_CHECKING:
    _ListModel = QAbstractListModel
else:
    _ListModel = object


class PhotoRowsMixin(_ListModel):
    """The Qt model side shared by the lists of photos (a cluster's grid, a fixed list of
    results): the photo roles of ``data()`` and dragging photo ids. Needs ``self._rows`` (rows
    with ``id``, ``content_hash``, ``path``), ``self.thumbnails`` and ``self.photo_ids(rows)``;
    ``_display``/``_tooltip`` give a row's caption and tooltip (default: file name, path)."""

    _rows: Sequence[Any]
    thumbnails: ThumbnailLoader

    def photo_ids(self, rows: list[int]) -> list[int]:
        raise NotImplementedError

    def _display(self, row) -> str:
        return Path(row.path).name

    def _tooltip(self, row) -> str:
        return row.path

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: N802,B008
                 ) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.image_or_placeholder(row.content_hash, row.path)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == PhotoRole.PhotoId:
            return row.id
        if role == PhotoRole.ContentHash:
            return row.content_hash
        if role == PhotoRole.Path:
            return row.path
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PHOTO_IDS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return photo_ids_to_mime(self.photo_ids(rows))


class PhotoRow(NamedTuple):
    """What the grid keeps per photo. A tuple of plain values, which Python's garbage collector
    stops tracking: 50,000 of them add nothing to a full collection (dataclass rows made the
    collector pause the GUI for 100 ms and more on big clusters)."""

    id: int
    content_hash: str
    path: str


def cluster_members(library: Library, cluster_id: int, photo_ids: list[int]) -> list[int]:
    """Which of ``photo_ids`` are in ``cluster_id`` now (``UNASSIGNED_ID``: in no cluster)."""
    return photos_now_in(library, None if cluster_id == UNASSIGNED_ID else cluster_id, photo_ids)


def read_page(library: Library, cluster_id: int, offset: int, limit: int,
              order: str) -> list[PhotoInfo]:
    if cluster_id == UNASSIGNED_ID:
        return unassigned_photos(library, offset, limit)
    return photos_in_cluster(library, cluster_id, offset, limit, order=order)


class PhotoListModel(PhotoRowsMixin, QAbstractListModel):
    pageLoaded = Signal()

    def __init__(self, library: Library, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self._generation = 0  # bumped when the listing changes: late pages are dropped
        self._page_in_flight = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.library = library
        self.thumbnails = thumbnails
        self.cluster_id: int | None = None
        self.order = "path"  # see queries.PHOTO_ORDERS
        self.total = 0
        self._rows: list[PhotoRow] = []
        self._rows_by_hash: dict[str, list[int]] = {}
        thumbnails.loaded.connect(self._on_thumbnails_loaded)

    def set_order(self, order: str) -> None:
        """Re-list the cluster by ``path``, ``taken_at`` or ``confidence`` (least sure first)."""
        self.order = order
        self.set_cluster(self.cluster_id, self.total)

    def set_cluster(self, cluster_id: int | None, total: int) -> None:
        """Show ``cluster_id`` (``total`` photos, from the cluster list); rows load on demand."""
        self.beginResetModel()
        self._generation += 1
        self._page_in_flight = False
        self.cluster_id = cluster_id
        self.total = total if cluster_id is not None else 0
        self._rows = []
        self._rows_by_hash = {}
        self.endResetModel()

    def apply_edit(self, edited_photo_ids: list[int], total: int,
                   now_in: set[int] | None = None) -> bool:
        """Drop the rows of photos an edit took out of this cluster, keeping the other rows (and
        with them the user's scroll position and selection). False when photos joined the
        cluster: the caller re-lists it, since their place in the order is unknown here.
        ``now_in``: which edited photos are in the cluster now, when already read."""
        if self.cluster_id is None or not edited_photo_ids:
            return not edited_photo_ids
        if now_in is None:
            now_in = set(cluster_members(self.library, self.cluster_id, edited_photo_ids))
        loaded = {row.id: n for n, row in enumerate(self._rows)}
        if any(pid not in loaded for pid in now_in):
            return False
        gone = sorted((loaded[pid] for pid in edited_photo_ids
                       if pid in loaded and pid not in now_in), reverse=True)
        for gone_row in gone:
            self.beginRemoveRows(QModelIndex(), gone_row, gone_row)
            del self._rows[gone_row]
            self.endRemoveRows()
        self._generation += 1  # a page in flight was read before the edit
        self._page_in_flight = False
        self._rows_by_hash = {}
        for n, row in enumerate(self._rows):
            self._rows_by_hash.setdefault(row.content_hash, []).append(n)
        self.total = total
        return True

    def photo_ids(self, rows: list[int]) -> list[int]:
        return [self._rows[r].id for r in rows if 0 <= r < len(self._rows)]

    def row_of(self, photo_id: int) -> int:
        for n, row in enumerate(self._rows):
            if row.id == photo_id:
                return n
        return -1

    # --- paging -------------------------------------------------------------------------------
    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: N802,B008 - Qt override
        return not parent.isValid() and self.cluster_id is not None and len(self._rows) < self.total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: N802,B008 - Qt override
        cluster_id = self.cluster_id
        if cluster_id is None or not self.canFetchMore(parent) or self._page_in_flight:
            return
        if not self._rows and self.total <= SYNC_FIRST_PAGE_MAX:
            page = read_page(self.library, cluster_id, 0, PAGE_SIZE, self.order)
            self._append(page)
            return
        self._page_in_flight = True
        library, offset = self.library, len(self._rows)
        order, generation = self.order, self._generation
        run_in_background(lambda: read_page(library, cluster_id, offset, PAGE_SIZE, order=order),
                          lambda page: self._on_page_loaded(generation, offset, page),
                          pool=self._pool, owner=self)

    def show_first_page(self, page: list[PhotoInfo]) -> None:
        """Show a first page read elsewhere (on a worker thread) for the cluster just set."""
        if not self._rows:
            self._append(page)

    def fetch_all(self) -> None:
        """Read every row not loaded yet, now: "select all" must take the whole cluster, not the
        pages scrolled through. Ids and paths only (thumbnails stay lazy), one query."""
        cluster_id = self.cluster_id
        if cluster_id is None or not self.canFetchMore():
            return
        self._generation += 1  # a page still being read is dropped when it arrives
        self._page_in_flight = False
        self._append(read_page(self.library, cluster_id, len(self._rows),
                               self.total - len(self._rows), self.order))

    def _on_page_loaded(self, generation: int, offset: int, page: list) -> None:
        if generation != self._generation or offset != len(self._rows):
            return  # the cluster or the order changed meanwhile
        self._page_in_flight = False
        self._append(page)

    def wait_for_pages(self, msecs: int = -1) -> bool:
        """Block until no page is being read (shutdown only)."""
        return self._pool.waitForDone(msecs)

    def _append(self, page: list[PhotoInfo]) -> None:
        if not page:
            self.total = len(self._rows)  # the cluster shrank since its count was read
            self.pageLoaded.emit()
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        for n, photo in enumerate(page, start=first):
            self._rows.append(PhotoRow(photo.id, photo.content_hash, photo.path))
            self._rows_by_hash.setdefault(photo.content_hash, []).append(n)
        self.endInsertRows()
        self.pageLoaded.emit()

    def _on_thumbnails_loaded(self, hashes: list) -> None:
        rows = [n for h in hashes for n in self._rows_by_hash.get(h, ())]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)),
                                  [Qt.ItemDataRole.DecorationRole])
