"""Settings: the library's folders (add, remove), the image model in words, the device, the number
of clusters, and which library file to open. They are the library's settings
(``core.organize.settings``), the same the command line uses."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.clustering import MIN_K
from photoclust.core.library import Library
from photoclust.core.organize.settings import (
    DEVICE_LABELS,
    MODEL_LABELS,
    LibrarySettings,
    effective_model,
    folder_photo_count,
    model_label,
)
from photoclust.gui.file_dialogs import choose_folder, choose_save_file

REMOVE_SENTENCE = ("Removing a folder takes its photos out of the clusters, counts and albums. "
                   "Nothing is deleted: photoclust keeps where you placed them, so adding the "
                   "folder again brings them back as they were.")


def model_choices() -> list[str]:
    """The models photoclust can use, fastest first (the registry, without loading torch)."""
    from photoclust.core.embedding.backbones import available_models

    known = available_models()
    return [m for m in MODEL_LABELS if m in known] + [m for m in known if m not in MODEL_LABELS]


def model_detail(name: str) -> str:
    label, what = MODEL_LABELS.get(name, (name, ""))
    return f"{what} (technical name: {name})" if what else f"technical name: {name}"



class SettingsDialog(QDialog):
    """Edits the library's settings; the caller saves ``values()`` on ``accept``."""

    def __init__(self, library: Library, settings: LibrarySettings,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._library = library
        self._base = settings
        self._removed: list[str] = []
        self._added: list[str] = []
        layout = QVBoxLayout(self)

        folders_title = QLabel("<b>Folders of this library</b>")
        self.folder_list = QListWidget()
        self.folder_list.setObjectName("folderList")
        self.folder_list.setMaximumHeight(130)
        for folder in settings.folders:
            self._add_folder_item(folder, folder_photo_count(library, folder))
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.clicked.connect(self._browse_folder)
        self.remove_folder_button = QPushButton("Remove")
        self.remove_folder_button.clicked.connect(self.remove_selected_folder)
        self.remove_folder_button.setEnabled(False)
        self.folder_list.currentRowChanged.connect(
            lambda row: self.remove_folder_button.setEnabled(row >= 0))
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(self.add_folder_button)
        folder_buttons.addWidget(self.remove_folder_button)
        folder_buttons.addStretch(1)
        self.remove_note = QLabel(REMOVE_SENTENCE)
        self.remove_note.setWordWrap(True)
        self.remove_note.setObjectName("hint")
        layout.addWidget(folders_title)
        layout.addWidget(self.folder_list)
        layout.addLayout(folder_buttons)
        layout.addWidget(self.remove_note)

        form = QFormLayout()
        layout.addLayout(form)
        current_model = settings.model or effective_model(library, settings)
        self.model_combo = QComboBox()
        models = model_choices()
        if current_model not in models:
            models.insert(0, current_model)
        for name in models:
            self.model_combo.addItem(model_label(name), name)
            self.model_combo.setItemData(self.model_combo.count() - 1, model_detail(name),
                                         Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(current_model)))
        self.model_detail = QLabel()
        self.model_detail.setObjectName("hint")
        self.model_detail.setWordWrap(True)
        self.model_combo.currentIndexChanged.connect(self._show_model_detail)
        self._show_model_detail()
        model_box = QVBoxLayout()
        model_box.addWidget(self.model_combo)
        model_box.addWidget(self.model_detail)
        form.addRow("Image model:", model_box)

        self.device_combo = QComboBox()
        for device, label in DEVICE_LABELS.items():
            self.device_combo.addItem(label, device)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(settings.device)))
        form.addRow("Runs on:", self.device_combo)

        self.k_auto = QRadioButton("Automatic")
        self.k_fixed = QRadioButton("Fixed:")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(MIN_K, 1000)
        self.k_spin.setValue(settings.k if isinstance(settings.k, int) else 10)
        (self.k_fixed if isinstance(settings.k, int) else self.k_auto).setChecked(True)
        self.k_spin.setEnabled(self.k_fixed.isChecked())
        self.k_fixed.toggled.connect(self.k_spin.setEnabled)
        k_row = QHBoxLayout()
        for w in (self.k_auto, self.k_fixed, self.k_spin):
            k_row.addWidget(w)
        k_row.addStretch(1)
        form.addRow("Number of clusters:", k_row)

        self.library_edit = QLineEdit(str(library.path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_library)
        lib_row = QHBoxLayout()
        lib_row.addWidget(self.library_edit, 1)
        lib_row.addWidget(browse)
        form.addRow("Library file:", lib_row)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # --- folders ------------------------------------------------------------------------------
    def _add_folder_item(self, folder: str, count: int | None) -> None:
        text = folder if count is None else f"{folder}  ({count:,} photos)"
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, folder)
        item.setToolTip(folder)
        self.folder_list.addItem(item)

    def folders(self) -> list[str]:
        return [self.folder_list.item(r).data(Qt.ItemDataRole.UserRole)
                for r in range(self.folder_list.count())]

    def add_folder(self, folder: str) -> None:
        folder = str(Path(folder).expanduser().absolute())
        if folder in self.folders():
            return
        if folder in self._removed:
            self._removed.remove(folder)
        else:
            self._added.append(folder)
        self._add_folder_item(folder, None)

    def remove_selected_folder(self) -> None:
        row = self.folder_list.currentRow()
        if row < 0:
            return
        folder = self.folder_list.takeItem(row).data(Qt.ItemDataRole.UserRole)
        if folder in self._added:
            self._added.remove(folder)
        else:
            self._removed.append(folder)

    def removed_folders(self) -> list[str]:
        return list(self._removed)

    def added_folders(self) -> list[str]:
        return list(self._added)

    def _browse_folder(self) -> None:
        folder = choose_folder(self, "Add a folder of photos", str(Path.home()))
        if folder:
            self.add_folder(folder)

    # --- the rest -----------------------------------------------------------------------------
    def _show_model_detail(self, *_args) -> None:
        self.model_detail.setText(model_detail(self.model_combo.currentData()))

    def _browse_library(self) -> None:
        path = choose_save_file(self, "Library file", self.library_edit.text(),
                                "photoclust library (*.sqlite)")
        if path:
            self.library_edit.setText(path)

    def values(self) -> dict:
        """The settings to save (``core.organize.settings.save_settings`` keywords). Removed folders
        are left in: the caller removes them with ``core.organize.settings.remove_folder``, which
        also takes their photos out of the clusters."""
        values = {
            "device": self.device_combo.currentData(),
            "k": self.k_spin.value() if self.k_fixed.isChecked() else "auto",
            "folders": [*self.folders(), *self._removed],
        }
        model = self.model_combo.currentData()
        if self._base.model is not None or model != effective_model(self._library, self._base):
            values["model"] = model  # chosen: kept; never touched: the library's own stays
        return values

    def library_path(self) -> Path:
        return Path(self.library_edit.text()).expanduser()
