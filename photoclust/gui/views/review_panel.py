"""Review suggestions: the learner's questions, answered with Yes / No or by dragging a photo onto
the cluster it belongs to."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.learning.questions import PHOTO
from photoclust.gui.models.review_model import ReviewListModel, ReviewRole


class ReviewPanel(QWidget):
    acceptRequested = Signal(int)  # row
    refuseRequested = Signal(int)  # row
    currentPhotoChanged = Signal(object)  # photo id of the current question, or None

    def __init__(self, model: ReviewListModel, parent=None):
        super().__init__(parent)
        self.model = model
        title = QLabel("Review suggestions")
        title.setObjectName("paneTitle")
        hint = QLabel("The questions whose answers teach photoclust the most. Yes (Y) accepts, "
                      "No (N) refuses a merge or split; drag a photo onto the cluster it belongs "
                      "to. Then press Learn to let photoclust re-sort the rest.")
        hint.setWordWrap(True)
        self.view = QListView()
        self.view.setObjectName("reviewList")
        self.view.setModel(model)
        self.view.setIconSize(model.icon_size)
        self.view.setSpacing(2)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.yes_button = QPushButton("Yes")
        self.yes_button.setShortcut("Y")
        self.no_button = QPushButton("No")
        self.no_button.setShortcut("N")
        self.yes_button.clicked.connect(lambda: self._answer(self.acceptRequested))
        self.no_button.clicked.connect(lambda: self._answer(self.refuseRequested))
        self.empty_label = QLabel("Nothing to review.")
        buttons = QHBoxLayout()
        buttons.addWidget(self.empty_label)
        buttons.addStretch(1)
        buttons.addWidget(self.yes_button)
        buttons.addWidget(self.no_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        model.modelReset.connect(self._on_count_changed)
        model.rowsRemoved.connect(self._on_count_changed)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self._on_count_changed()

    def current_row(self) -> int:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else -1

    def _answer(self, signal) -> None:
        row = self.current_row()
        if row >= 0:
            signal.emit(row)

    def _on_count_changed(self, *_args) -> None:
        self.empty_label.setVisible(self.model.rowCount() == 0)
        if self.model.rowCount() and not self.view.currentIndex().isValid():
            self.view.setCurrentIndex(self.model.index(0))
        self._update_buttons()

    def _on_current_changed(self, current, _previous) -> None:
        self._update_buttons()
        question = current.data(ReviewRole.Question) if current.isValid() else None
        self.currentPhotoChanged.emit(getattr(question, "photo_id", None))

    def _update_buttons(self) -> None:
        row = self.current_row()
        self.yes_button.setEnabled(row >= 0)
        question = self.model.index(row).data(ReviewRole.Question) if row >= 0 else None
        # A photo is answered "no" by dragging it where it belongs.
        self.no_button.setEnabled(question is not None and question.kind != PHOTO)
