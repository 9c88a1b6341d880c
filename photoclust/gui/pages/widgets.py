"""Small widgets several pages build the same way: the "working on it" panel, the centred
message shown instead of a page's content, and a button standing for a page action."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


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
