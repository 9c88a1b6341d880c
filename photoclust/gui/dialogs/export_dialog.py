"""Export albums: choose a folder, a mode, albums per cluster, per event or per named person
(as ``photoclust export``, ``--events``, ``--people``), which of them, and XMP sidecars, then run
the core's ``ExportJob`` (``PeopleExportJob``) in the background with a progress bar and Cancel
inside the dialog.

The dialog only gathers choices and shows what the job reports: the export itself (and its
``prepare()`` checks, which touch the disk) runs on the app's ``JobQueue`` like every other job
(it waits for a running Organize instead of racing it), so the window stays live. While the
export runs the dialog cannot be closed, only cancelled: the worker must outlive its job.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.export.albums import ExportJob, ExportResult, PeopleExportJob
from photoclust.core.jobs import JobError, Progress
from photoclust.gui.file_dialogs import choose_folder
from photoclust.gui.resources import icon
from photoclust.gui.workers import JobQueue, JobWorker, ProgressRate

MODES = (
    ("copy", "Copies", "Independent copies: edit them freely, the originals stay as they are"),
    ("hardlink", "Hard links",
     "No extra disk space (copies across drives); editing an exported file edits the original"),
    ("symlink", "Symbolic links", "Links to the originals: tiny, but they break if the originals "
                                  "move"),
)
#: What an album stands for: (kind, the choice's text, "All …", the list's label, what to say
#: when there is none).
ALBUM_KINDS = (
    ("clusters", "One album per cluster", "All clusters", "Clusters:",
     "No clusters yet: organize a folder first."),
    ("events", "One album per event", "All events", "Events:",
     "No events yet: photos with a capture time are grouped into events when organized."),
    ("people", "One album per person", "All named people", "People:",
     "No named people yet: name people on the People page."),
)
_OUTDIR_KEY = "export/outdir"
_MESSAGE_CHARS = 60


def _shorten(message: str) -> str:
    """Keep the end of a long path: the file name is the informative part."""
    return message if len(message) <= _MESSAGE_CHARS else "…" + message[-(_MESSAGE_CHARS - 1):]


def summary_text(result: ExportResult) -> str:
    """What an export did, in words: counts, failures with reasons, notes, the manifest."""
    n_albums = len(result.albums)
    lines = [f"Exported {result.exported:,} photo{'s' if result.exported != 1 else ''} into "
             f"{n_albums} album{'s' if n_albums != 1 else ''} in {result.outdir} "
             f"({result.mode})."]
    if result.unchanged:
        lines.append(f"{result.unchanged:,} were already exported identically and were kept.")
    if result.failed:
        lines.append(f"{len(result.failed):,} could not be exported:")
        lines += [f"  {path}: {reason}" for path, reason in result.failed]
    lines += [f"Note: {note}" for note in result.notes]
    lines.append(f"Manifest: {result.manifest_csv} and {result.manifest_json.name}")
    return "\n".join(lines)


class ExportDialog(QDialog):
    """Export dialog over ``clusters`` (``(id, name, size)``); ``selected_ids`` are pre-chosen."""

    exportEnded = Signal(str)  # "done", "cancelled" or "failed", after the dialog shows it

    def __init__(self, library, clusters: list[tuple[int, str, int]], selected_ids: list[int],
                 queue: JobQueue | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.queue = queue if queue is not None else JobQueue(parent=self)
        self.worker: JobWorker | None = None
        self.export_result: ExportResult | None = None  # not `result`: QDialog.result()
        self._rate = ProgressRate()
        self.setWindowTitle("Export albums")
        self.setMinimumWidth(560)

        self.outdir_edit = QLineEdit(str(QSettings("photoclust", "photoclust")
                                         .value(_OUTDIR_KEY, "") or ""))
        self.outdir_edit.setPlaceholderText("A folder outside your photo folders")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        outdir_row = QHBoxLayout()
        outdir_row.addWidget(self.outdir_edit, 1)
        outdir_row.addWidget(self.browse_button)

        self.mode_combo = QComboBox()
        for index, (mode, text, tip) in enumerate(MODES):
            self.mode_combo.addItem(text, mode)
            self.mode_combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)

        # Albums per cluster, event or named person: the list below shows those of the kind
        # chosen (events and people are read when first chosen).
        self.kind_combo = QComboBox()
        for kind, text, *_rest in ALBUM_KINDS:
            self.kind_combo.addItem(text, kind)
        self._entries: dict[str, list[tuple[int, str, int]]] = {"clusters": list(clusters)}
        self._chosen: dict[str, set[int]] = {"clusters": set(selected_ids)}

        self.all_radio = QRadioButton("All clusters")
        self.chosen_radio = QRadioButton("Only these:")
        scope = QButtonGroup(self)
        scope.addButton(self.all_radio)
        scope.addButton(self.chosen_radio)
        self.cluster_list = QListWidget()  # the clusters, events or people to choose from
        self.cluster_list.setMaximumHeight(160)
        self.scope_hint = QLabel()
        self.scope_hint.setWordWrap(True)
        self.scope_hint.hide()
        self.scope_label = QLabel("Clusters:")
        self._shown_kind: str | None = None
        self._fill_list("clusters")
        # One selected cluster is just where the user was looking; several are a choice.
        (self.chosen_radio if len(selected_ids) > 1 else self.all_radio).setChecked(True)
        self.cluster_list.setEnabled(self.chosen_radio.isChecked())
        self.chosen_radio.toggled.connect(self.cluster_list.setEnabled)
        scope_box = QVBoxLayout()
        scope_box.addWidget(self.all_radio)
        scope_box.addWidget(self.chosen_radio)
        scope_box.addWidget(self.cluster_list)
        scope_box.addWidget(self.scope_hint)

        self.xmp_check = QCheckBox("Write XMP sidecars: album, people and event as keywords")
        self.xmp_check.setToolTip("For digiKam, darktable and Lightroom: <photo>.xmp next to "
                                  "each exported photo, with its album's name, the named "
                                  "people (and their faces), its event and its place")

        form = QFormLayout()
        form.addRow("Output folder:", outdir_row)
        form.addRow("Export as:", self.mode_combo)
        form.addRow("Albums:", self.kind_combo)
        form.addRow(self.scope_label, scope_box)
        form.addRow("", self.xmp_check)

        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.progress_label = QLabel()
        self.error_label = QLabel()
        self.error_label.setObjectName("errorText")
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.summary_view = QPlainTextEdit()
        self.summary_view.setReadOnly(True)
        self.summary_view.setMaximumHeight(150)
        self.summary_view.hide()

        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self._open_outdir)
        self.open_button.hide()
        self.export_button = QPushButton(icon("export"), "Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.summary_view)
        layout.addLayout(buttons)

        self.outdir_edit.textChanged.connect(self._update_buttons)
        self.cluster_list.itemChanged.connect(self._update_buttons)
        self.chosen_radio.toggled.connect(self._update_buttons)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.set_album_kind(
            self.kind_combo.currentData()))
        self._update_buttons()

    # --- choices ------------------------------------------------------------------------------
    def outdir(self) -> Path | None:
        text = self.outdir_edit.text().strip()
        return Path(text).expanduser() if text else None

    def mode(self) -> str:
        return self.mode_combo.currentData()

    def album_kind(self) -> str:
        """``clusters``, ``events`` or ``people``: what one album stands for."""
        return self.kind_combo.currentData()

    def set_album_kind(self, kind: str) -> None:
        """Show the clusters, events or named people to choose from (what was checked for a
        kind is kept while another is shown)."""
        if self.kind_combo.currentData() != kind:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
            return  # the combo's signal comes back here
        self._fill_list(kind)
        self._update_buttons()

    def _read_entries(self, kind: str) -> list[tuple[int, str, int]]:
        """``(id, name, photos)`` of the events or named people (one short read each)."""
        if kind == "events":
            from photoclust.core.events.queries import list_events

            return [(e.id, e.name, e.photos) for e in list_events(self.library)]
        from photoclust.core.faces.read import list_people

        return [(p.id, p.label, p.photos) for p in list_people(self.library, named_only=True)]

    def _fill_list(self, kind: str) -> None:
        if self._shown_kind is not None:  # what was checked for the kind shown so far is kept
            self._chosen[self._shown_kind] = set(self._checked_ids())
        if kind not in self._entries:
            self._entries[kind] = self._read_entries(kind)
        self._shown_kind = kind
        _kind, _text, all_text, label, none_text = next(k for k in ALBUM_KINDS if k[0] == kind)
        self.all_radio.setText(all_text)
        self.scope_label.setText(label)
        chosen = self._chosen.get(kind, set())
        self.cluster_list.blockSignals(True)
        self.cluster_list.clear()
        for entry_id, name, size in self._entries[kind]:
            item = QListWidgetItem(f"{name} ({size:,})")
            item.setData(Qt.ItemDataRole.UserRole, entry_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if entry_id in chosen
                               else Qt.CheckState.Unchecked)
            self.cluster_list.addItem(item)
        self.cluster_list.blockSignals(False)
        self.scope_hint.setText(none_text)
        self.scope_hint.setVisible(not self._entries[kind])

    def chosen_cluster_ids(self) -> list[int] | None:
        """The checked clusters (events, people: whatever the list shows), or None for all of
        them."""
        if self.all_radio.isChecked():
            return None
        return self._checked_ids()

    def _checked_ids(self) -> list[int]:
        return [self.cluster_list.item(r).data(Qt.ItemDataRole.UserRole)
                for r in range(self.cluster_list.count())
                if self.cluster_list.item(r).checkState() == Qt.CheckState.Checked]

    def is_running(self) -> bool:
        """Running or waiting its turn in the queue."""
        return self.worker is not None and self.worker.outcome is None

    def _update_buttons(self) -> None:
        chosen = self.chosen_cluster_ids()
        self.export_button.setEnabled(not self.is_running() and self.outdir() is not None
                                      and bool(self.cluster_list.count())
                                      and (chosen is None or bool(chosen)))

    def _set_choices_enabled(self, enabled: bool) -> None:
        for widget in (self.outdir_edit, self.browse_button, self.mode_combo, self.kind_combo,
                       self.all_radio, self.chosen_radio, self.xmp_check):
            widget.setEnabled(enabled)
        self.cluster_list.setEnabled(enabled and self.chosen_radio.isChecked())

    def _browse(self) -> None:
        folder = choose_folder(self, "Export albums into",
                               self.outdir_edit.text() or str(Path.home()))
        if folder:
            self.outdir_edit.setText(folder)

    def _open_outdir(self) -> None:
        if self.export_result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.export_result.outdir)))

    # --- running ------------------------------------------------------------------------------
    def start_export(self) -> JobWorker | None:
        """Start the export in the background; its checks and errors show in the dialog."""
        outdir = self.outdir()
        if self.is_running() or outdir is None:
            return None
        kind, chosen, xmp = self.album_kind(), self.chosen_cluster_ids(), self.xmp_check.isChecked()
        if kind == "people":
            job: ExportJob = PeopleExportJob(self.library, outdir, mode=self.mode(),
                                             person_ids=chosen, xmp=xmp)
        else:
            job = ExportJob(self.library, outdir, mode=self.mode(), cluster_ids=chosen, xmp=xmp,
                            events=kind == "events")

        def connect(worker: JobWorker) -> None:
            worker.progressed.connect(self._on_progress)
            worker.started.connect(
                lambda: self.progress_label.setText("Checking the output folder…"))
            self.worker = worker

        worker = self.queue.submit(job, self._on_finished, on_failed=self._on_failed,
                                   on_cancelled=self._on_cancelled, setup=connect)
        self.export_result = None
        self._rate.reset()
        self.error_label.hide()
        self.summary_view.hide()
        self.open_button.hide()
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self.progress_bar.show()
        if worker.running:
            self.progress_label.setText("Checking the output folder…")
        else:
            self.progress_label.setText("Waiting for the current job to finish…")
        self.cancel_button.setText("Cancel")
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setEnabled(True)
        self._set_choices_enabled(False)
        self._update_buttons()
        return worker

    def cancel_export(self) -> None:
        if self.worker is not None and self.is_running():
            self.queue.cancel(self.worker)
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("Stopping after the current photo…")

    def reject(self) -> None:
        """Cancel, Escape and the close button stop a running export instead of closing."""
        if self.is_running():
            self.cancel_export()
        else:
            super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.is_running():
            self.cancel_export()
            event.ignore()
        else:
            super().closeEvent(event)

    def _on_progress(self, progress: Progress) -> None:
        done, total, message = progress.done, progress.total, progress.message
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
        self._rate.add(done)
        parts = [f"{done:,} of {total:,} photos", *self._rate.describe(total)]
        if message:
            parts.append(_shorten(message))
        if self.cancel_button.isEnabled():
            self.progress_label.setText(" · ".join(parts))

    def _on_finished(self, result: ExportResult) -> None:
        self.export_result = result
        QSettings("photoclust", "photoclust").setValue(_OUTDIR_KEY, str(result.outdir))
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.progress_label.setText("Export finished.")
        self.summary_view.setPlainText(summary_text(result))
        self.summary_view.show()
        self.open_button.show()
        self._end("done")

    def _on_failed(self, error: object) -> None:
        # JobError messages are written for the user; anything else is at least named, never
        # shown as a traceback (the worker logs that).
        text = str(error) if isinstance(error, JobError) else \
            f"The export failed: {error or type(error).__name__}"
        self.error_label.setText(text)
        self.error_label.show()
        self.progress_bar.hide()
        self.progress_label.setText("")
        self._end("failed")

    def _on_cancelled(self) -> None:
        self.progress_label.setText("Export stopped. What was exported so far is listed in the "
                                    "manifest; export again to finish it.")
        self._end("cancelled")

    def _end(self, outcome: str) -> None:
        self.cancel_button.setText("Close")
        self.cancel_button.setIcon(QIcon())
        self.cancel_button.setEnabled(True)
        self._set_choices_enabled(True)
        self._update_buttons()
        self.exportEnded.emit(outcome)
