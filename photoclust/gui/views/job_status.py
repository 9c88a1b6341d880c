"""The status-bar progress of a background job: bar, message, rate, time left and Cancel."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from photoclust.gui.resources import icon
from photoclust.gui.workers import JobWorker, ProgressRate

MESSAGE_CHARS = 48


def _shorten(message: str) -> str:
    """Keep the end of long messages (file paths): the file name is the informative part."""
    return message if len(message) <= MESSAGE_CHARS else "…" + message[-(MESSAGE_CHARS - 1):]


class JobStatusWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setFlat(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._rate = ProgressRate()
        self._worker: JobWorker | None = None
        self.cancel_button.clicked.connect(self._cancel)
        self.hide()

    def attach(self, worker: JobWorker) -> None:
        self._worker = worker
        self._rate.reset()
        self.bar.setRange(0, 0)  # busy until the first report
        self.label.setText(f"{worker.title}…")
        self.cancel_button.setEnabled(True)
        worker.progressed.connect(self._on_progress)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_end)
        self.show()

    def _cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText("Stopping after the current batch…")

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        self._rate.add(done)
        parts = [_shorten(message) or (self._worker.title if self._worker else "")]
        parts += self._rate.describe(total)
        if self.cancel_button.isEnabled():
            self.label.setText(" · ".join(p for p in parts if p))

    def _on_end(self, *_args) -> None:
        self._worker = None
        self.hide()
