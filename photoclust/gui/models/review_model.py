"""The review queue as a list model: the questions the learner most needs answered, best first.

Photo questions ("is this photo in Beach?") show the photo's thumbnail and can be dragged onto a
cluster (the answer "no, it belongs there"); cluster questions ask to merge two clusters or to split
a group out of one. ``photoclust.core.review_queue.ReviewJob`` computes the queue off the GUI
thread.
"""
from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt

from photoclust.core.review_queue import (  # noqa: F401 - ReviewJob: the old window's import
    MERGE,
    PHOTO,
    Question,
    ReviewJob,
    ReviewQueue,
)
from photoclust.gui.models.mime import PHOTO_IDS_MIME, photo_ids_to_mime
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.resources import icon


class ReviewRole(IntEnum):
    Question = Qt.ItemDataRole.UserRole + 1


class ReviewListModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._questions: list[Question] = []
        self._hashes: dict[int, str] = {}
        self.icon_size = QSize(72, 72)
        thumbnails.loaded.connect(lambda _hashes: self._repaint_photos())

    def set_queue(self, queue: ReviewQueue) -> None:
        self.beginResetModel()
        self._questions = list(queue.questions)
        self._hashes = {pid: ref.content_hash for pid, ref in queue.photos.items()}
        self.endResetModel()

    def question(self, row: int) -> Question:
        return self._questions[row]

    def remove_question(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._questions[row]
        self.endRemoveRows()

    def remove(self, question: Question) -> None:
        """Drop an answered question (found by identity: rows shift as edits answer others)."""
        for row, q in enumerate(self._questions):
            if q is question:
                self.remove_question(row)
                return

    def remove_answered_photos(self, photo_ids: list[int]) -> None:
        """Photo questions about photos the user just edited are answered."""
        edited = set(photo_ids)
        for row in reversed(range(len(self._questions))):
            q = self._questions[row]
            if q.kind == PHOTO and q.photo_id in edited:
                self.remove_question(row)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008 - Qt override
        return 0 if parent.isValid() else len(self._questions)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._questions):
            return None
        q = self._questions[index.row()]
        if role == ReviewRole.Question:
            return q
        if role == Qt.ItemDataRole.DisplayRole:
            return question_text(q)
        if role == Qt.ItemDataRole.DecorationRole:
            if q.kind == PHOTO:
                return self.thumbnails.image_at(self._hashes.get(q.photo_id), q.path,
                                                self.icon_size)
            return icon("merge" if q.kind == MERGE else "split")
        if role == Qt.ItemDataRole.ToolTipRole and q.kind == PHOTO:
            return q.path
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and self._questions[index.row()].kind == PHOTO:
            return base | Qt.ItemFlag.ItemIsDragEnabled
        return base

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PHOTO_IDS_MIME]

    def mimeData(self, indexes: list[QModelIndex]):  # noqa: N802
        ids = [self._questions[i.row()].photo_id for i in indexes
               if i.isValid() and self._questions[i.row()].kind == PHOTO]
        return photo_ids_to_mime(ids)

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def _repaint_photos(self) -> None:
        if self._questions:
            self.dataChanged.emit(self.index(0), self.index(len(self._questions) - 1),
                                  [Qt.ItemDataRole.DecorationRole])


def question_text(q: Question) -> str:
    if q.kind == PHOTO:
        # How sure the program is matters for a doubtful photo; a cluster's most typical photo is
        # asked to check the cluster, and "100 % sure" there would only puzzle.
        sure = f" ({q.confidence:.0%} sure)" if q.reason != "representative" and \
            q.confidence is not None else ""
        return (f"Is {Path(q.path).name} in “{q.suggested_cluster_name}”?\n"
                f"{q.explanation}{sure}")
    if q.kind == MERGE:
        return (f"Merge “{q.other_cluster_name}” into “{q.cluster_name}”?\n{q.explanation}")
    return (f"Split {len(q.photo_ids)} photos out of “{q.cluster_name}”?\n{q.explanation}")
