"""Settings: embedding model, device, number of clusters, library location, thumbnail size."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from photoclust.gui.settings import THUMBNAIL_SIZES, LibrarySettings


class SettingsDialog(QDialog):
    """Edits a ``LibrarySettings`` and the library location; the caller saves on ``accept``."""

    def __init__(self, settings: LibrarySettings, library_path: Path, models: list[str],
                 devices: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        form = QFormLayout(self)

        self.model_combo = QComboBox()
        self.model_combo.addItems(models if settings.model in models else [settings.model, *models])
        self.model_combo.setCurrentText(settings.model)
        form.addRow("Embedding model:", self.model_combo)

        self.device_combo = QComboBox()
        self.device_combo.addItems(devices)
        self.device_combo.setCurrentText(settings.device if settings.device in devices else "auto")
        self.device_combo.setToolTip("auto uses a GPU when one is present, the CPU otherwise")
        form.addRow("Device:", self.device_combo)

        self.k_auto = QRadioButton("Automatic")
        self.k_fixed = QRadioButton("Fixed:")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(2, 1000)
        self.k_spin.setValue(settings.k if isinstance(settings.k, int) else 10)
        (self.k_fixed if isinstance(settings.k, int) else self.k_auto).setChecked(True)
        self.k_spin.setEnabled(self.k_fixed.isChecked())
        self.k_fixed.toggled.connect(self.k_spin.setEnabled)
        k_row = QHBoxLayout()
        for w in (self.k_auto, self.k_fixed, self.k_spin):
            k_row.addWidget(w)
        k_row.addStretch(1)
        form.addRow("Number of clusters:", k_row)

        self.library_edit = QLineEdit(str(library_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_library)
        lib_row = QHBoxLayout()
        lib_row.addWidget(self.library_edit, 1)
        lib_row.addWidget(browse)
        form.addRow("Library file:", lib_row)

        self.thumb_combo = QComboBox()
        for size in THUMBNAIL_SIZES:
            self.thumb_combo.addItem(f"{size} px", size)
        self.thumb_combo.setCurrentIndex(THUMBNAIL_SIZES.index(settings.thumbnail_size))
        form.addRow("Thumbnail size:", self.thumb_combo)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._base = settings

    def _browse_library(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Library file", self.library_edit.text(), "photoclust library (*.sqlite)",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.library_edit.setText(path)

    def settings(self) -> LibrarySettings:
        """The edited settings (folders and anything not shown are kept)."""
        return LibrarySettings(
            model=self.model_combo.currentText(),
            device=self.device_combo.currentText(),
            k=self.k_spin.value() if self.k_fixed.isChecked() else "auto",
            thumbnail_size=int(self.thumb_combo.currentData()),
            folders=self._base.folders,
        )

    def library_path(self) -> Path:
        return Path(self.library_edit.text()).expanduser()
