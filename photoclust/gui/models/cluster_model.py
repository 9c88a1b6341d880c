"""The clusters of a library as a list model: cover thumbnail, name, photo count; a drop target.

Renaming (``setData``) and dropping photos (``dropMimeData``) do not edit the library themselves:
they emit ``renameRequested`` / ``photosDropped`` so that the Photos page can run the edit
(``AppState.run_edit``). The model only reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage

from photoclust.core.library import Library
from photoclust.core.library.queries import (
    ClusterSizes,
    count_unassigned_photos,
    list_clusters,
    photo_files,
    unassigned_photos,
)
from photoclust.gui.models.mime import PHOTO_IDS_MIME, photo_ids_from_mime
from photoclust.gui.models.thumbnails import ThumbnailLoader

COVER_SIZE = 56
#: The sidebar row of photos in no cluster (never clustered, removed by the user, or noise).
UNASSIGNED_ID = -1
UNASSIGNED_NAME = "Not in a cluster"


class ClusterRole(IntEnum):
    ClusterId = Qt.ItemDataRole.UserRole + 1
    Name = Qt.ItemDataRole.UserRole + 2
    Size = Qt.ItemDataRole.UserRole + 3
    NameSource = Qt.ItemDataRole.UserRole + 4
    CoverHash = Qt.ItemDataRole.UserRole + 5


@dataclass(frozen=True)
class ClusterRow:
    id: int
    name: str
    name_source: str
    size: int
    cover_hash: str | None
    cover_path: str | None


class ClusterListModel(QAbstractListModel):
    renameRequested = Signal(int, str)  # cluster id, new name
    photosDropped = Signal(list, int)  # photo ids, target cluster id
    renameRefused = Signal(int, str)  # cluster id, why (an empty name)

    def __init__(self, library: Library, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.library = library
        self.thumbnails = thumbnails
        self._rows: list[ClusterRow] = []
        self._row_by_hash: dict[str, list[int]] = {}
        self.cover_size = QSize(COVER_SIZE, COVER_SIZE)
        thumbnails.loaded.connect(self._on_thumbnails_loaded)

    @staticmethod
    def read(library: Library) -> list[ClusterRow]:
        """The rows as the library holds them now: plain data, safe to read on a worker thread."""
        infos = list_clusters(library)
        covers = photo_files(library, [c.cover_photo_id for c in infos
                                       if c.cover_photo_id is not None])
        rows = []
        for info in infos:
            found = covers.get(info.cover_photo_id) if info.cover_photo_id is not None else None
            cover_hash, cover_path = found if found is not None else (None, None)
            rows.append(ClusterRow(info.id, info.name, info.name_source, info.size, cover_hash,
                                   cover_path))
        unassigned = count_unassigned_photos(library)
        if unassigned:
            first = unassigned_photos(library, 0, 1)
            rows.append(ClusterRow(UNASSIGNED_ID, UNASSIGNED_NAME, "system", unassigned,
                                   first[0].content_hash if first else None,
                                   first[0].path if first else None))
        return rows

    @staticmethod
    def rows_without_covers(sizes: ClusterSizes) -> list[ClusterRow]:
        """The rows of ``read`` from ``queries.cluster_sizes`` (a tenth of the time at a million
        photos): no covers, which ``update_covers`` brings later."""
        rows = [ClusterRow(info.id, info.name, info.name_source, info.size, None, None)
                for info in sizes.clusters]
        if sizes.unassigned:
            rows.append(ClusterRow(UNASSIGNED_ID, UNASSIGNED_NAME, "system", sizes.unassigned,
                                   None, None))
        return rows

    def update_covers(self, rows: list[ClusterRow]) -> bool:
        """Take the covers of ``rows`` (a later ``read``) in place, without resetting the model
        (the selection and the shown cluster stay); False, and nothing changed, when ``rows``
        are not the same clusters with the same names and sizes as shown."""
        def key(r: ClusterRow) -> tuple:
            return r.id, r.name, r.name_source, r.size

        if [key(r) for r in rows] != [key(r) for r in self._rows]:
            return False
        self._rows = list(rows)
        self._row_by_hash = {}
        for n, row in enumerate(self._rows):
            if row.cover_hash:
                self._row_by_hash.setdefault(row.cover_hash, []).append(n)
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1),
                                  [Qt.ItemDataRole.DecorationRole, ClusterRole.CoverHash])
        return True

    def reload(self) -> None:
        """Re-read the clusters now (opening a library; later re-reads use ``read`` on a worker
        thread and ``apply``)."""
        self.apply(self.read(self.library))

    def apply(self, rows: list[ClusterRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._row_by_hash = {}
        for n, row in enumerate(self._rows):
            if row.cover_hash:
                self._row_by_hash.setdefault(row.cover_hash, []).append(n)
        self.endResetModel()

    def cluster_ids(self) -> list[int]:
        return [r.id for r in self._rows]

    def row_of(self, cluster_id: int) -> int:
        for n, row in enumerate(self._rows):
            if row.id == cluster_id:
                return n
        return -1

    def cluster(self, row: int) -> ClusterRow:
        return self._rows[row]

    def cluster_count(self) -> int:
        return sum(r.id != UNASSIGNED_ID for r in self._rows)

    # --- Qt model interface -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()  # noqa: N802,B008
                 ) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.name or 'Unnamed'}\n{row.size:,} photo{'s' if row.size != 1 else ''}"
        if role == Qt.ItemDataRole.EditRole or role == ClusterRole.Name:
            return row.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._cover(row)
        if role == Qt.ItemDataRole.ToolTipRole and row.id == UNASSIGNED_ID:
            return "Photos in no cluster. Drop photos here to take them out of their cluster."
        if role == Qt.ItemDataRole.ToolTipRole:
            source = "named by you" if row.name_source == "user" else "suggested name"
            return f"{row.name} ({source}), {row.size:,} photos. F2 renames."
        if role == ClusterRole.ClusterId:
            return row.id
        if role == ClusterRole.Size:
            return row.size
        if role == ClusterRole.NameSource:
            return row.name_source
        if role == ClusterRole.CoverHash:
            return row.cover_hash
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = str(value).strip()
        row = self._rows[index.row()]
        if not name and row.id != UNASSIGNED_ID:
            self.renameRefused.emit(row.id, f"A cluster needs a name: “{row.name}” keeps its "
                                            "name.")
            return False
        if not name or name == row.name or row.id == UNASSIGNED_ID:
            return False
        self.renameRequested.emit(row.id, name)
        return True

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        if self._rows[index.row()].id == UNASSIGNED_ID:
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDropEnabled

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PHOTO_IDS_MIME]

    def canDropMimeData(self, data, action, row, column,  # noqa: N802
                        parent: QModelIndex | QPersistentModelIndex) -> bool:
        return parent.isValid() and bool(photo_ids_from_mime(data))

    def dropMimeData(self, data, action, row, column,  # noqa: N802
                     parent: QModelIndex | QPersistentModelIndex) -> bool:
        """Dropping photos *on* a cluster moves them there (dropping between rows does nothing)."""
        if action == Qt.DropAction.IgnoreAction:
            return True
        photo_ids = photo_ids_from_mime(data)
        if not parent.isValid() or not photo_ids:
            return False
        self.photosDropped.emit(photo_ids, self._rows[parent.row()].id)
        return True  # the photo model has no removeRows: the edit refreshes both views

    def _cover(self, row: ClusterRow) -> QImage:
        return self.thumbnails.image_at(row.cover_hash, row.cover_path, self.cover_size)

    def _on_thumbnails_loaded(self, hashes: list) -> None:
        rows = [n for h in hashes for n in self._row_by_hash.get(h, ())]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)),
                                  [Qt.ItemDataRole.DecorationRole])


class ClusterSortProxy(QSortFilterProxyModel):
    """Sorts the sidebar by size (largest first) or by name; "Not in a cluster" stays last."""

    BY_SIZE, BY_NAME = "size", "name"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.sort_by(self.BY_SIZE)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,  # noqa: N802
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        if left.data(ClusterRole.ClusterId) == UNASSIGNED_ID:
            return descending
        if right.data(ClusterRole.ClusterId) == UNASSIGNED_ID:
            return not descending
        return super().lessThan(left, right)

    def sort_by(self, key: str) -> None:
        if key == self.BY_NAME:
            self.setSortRole(ClusterRole.Name)
            self.sort(0, Qt.SortOrder.AscendingOrder)
        else:
            self.setSortRole(ClusterRole.Size)
            self.sort(0, Qt.SortOrder.DescendingOrder)
