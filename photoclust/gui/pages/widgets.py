"""Small widgets several pages build the same way: the "working on it" panel, the centred
message shown instead of a page's content, a button standing for a page action, and a
one-line label that cuts its text to the room it gets."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QPainter
from PySide6.QtWidgets import (
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


def busy_panel(text: str) -> tuple[QWidget, QLabel]:
    """A panel with ``text`` above an endless progress bar, both centred; returns the panel and
    its label (the page updates the text as its job reports)."""
    panel = QWidget()
    label = QLabel(text)
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setMaximumWidth(320)
    box = QVBoxLayout(panel)
    box.addStretch(1)
    box.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
    box.addWidget(bar, 0, Qt.AlignmentFlag.AlignHCenter)
    box.addStretch(2)
    return panel, label


def message_label() -> QLabel:
    """A centred, wrapping label for a page's "nothing here" or "could not" sentence."""
    label = QLabel()
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def action_button(action: QAction, text: str | None = None) -> QPushButton:
    """A button for ``action``: its text (or ``text``) and tooltip, enabled when the action is,
    triggering it on click, and taking no focus (the page's keys stay with its content)."""
    button = QPushButton(action.text() if text is None else text)
    button.setToolTip(action.toolTip())
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.clicked.connect(action.trigger)
    action.changed.connect(lambda: button.setEnabled(action.isEnabled()))
    return button


class ElidedLabel(QLabel):
    """A one-line label that never asks for more room than it gets: the text is cut with "…"
    to the width the layout leaves it (the whole text in the tooltip). Text after ``keep`` (the
    separator before a count, say) stays whole; only what comes before it is cut."""

    def __init__(self, text: str = "", keep: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self._keep = keep
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(40, super().minimumSizeHint().height())

    def shown_text(self) -> str:
        """The text as drawn at the label's width now."""
        text, width = self.text(), self.contentsRect().width()
        metrics = self.fontMetrics()
        if metrics.horizontalAdvance(text) <= width:
            return text
        head, sep, tail = text.rpartition(self._keep) if self._keep else ("", "", text)
        if not sep:
            return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
        tail = sep + tail
        room = width - metrics.horizontalAdvance(tail)
        if room < metrics.horizontalAdvance("W…"):
            return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
        return metrics.elidedText(head, Qt.TextElideMode.ElideRight, room) + tail

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        shown = self.shown_text()
        self.setToolTip(self.text() if shown != self.text() else "")
        painter = QPainter(self)
        painter.setFont(self.font())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)
