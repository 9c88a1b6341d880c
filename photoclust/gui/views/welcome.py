"""The first-run page: what photoclust does, a folder to start with, and one Organize button."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photoclust.gui.file_dialogs import choose_folder
from photoclust.gui.resources import app_icon


def default_photo_folder() -> Path:
    pictures = Path.home() / "Pictures"
    return pictures if pictures.is_dir() else Path.home()


class WelcomePage(QWidget):
    organizeRequested = Signal(str)  # folder

    def __init__(self, parent=None):
        super().__init__(parent)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Welcome to photoclust")
        title.setObjectName("welcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Your library is empty. Choose a folder of photos and press <b>Organize</b>: "
            "photoclust indexes the photos, looks at each one and groups them by what they show, "
            "who is in them and when and where they were taken. "
            "It runs in the background; your photos are never changed or moved.")
        text.setObjectName("welcomeText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(560)
        text.ensurePolished()  # the style sheet's font, or the height is measured too small
        text.setMinimumHeight(text.heightForWidth(560))

        self.folder_edit = QLineEdit(str(default_photo_folder()))
        self.folder_edit.setMinimumWidth(360)
        browse = QPushButton("Choose folder…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.folder_edit)
        row.addWidget(browse)
        row.addStretch(1)

        self.organize_button = QPushButton("Organize")
        self.organize_button.setObjectName("primaryButton")
        self.organize_button.setDefault(True)
        self.organize_button.clicked.connect(
            lambda: self.organizeRequested.emit(self.folder_edit.text().strip()))
        self.status_label = QLabel()
        self.status_label.setObjectName("welcomeText")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(self.organize_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.status_label)
        layout.addStretch(3)

    def _browse(self) -> None:
        folder = choose_folder(self, "Folder of photos", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.organize_button.setEnabled(not busy)
        self.status_label.setText(message)
