"""The status area: what the library holds, the running job in words, a progress bar, Cancel.

The layout is fixed: the job text has a fixed width (elided), so the bar and Cancel never move
under the mouse while the text changes. Progress is said in words a person uses ("Looking at
photos: 120 of 300 · 4 photos/s · about 1 min left"), never the core's raw stage text.

Progress arrives as numbers with a stage (``core.jobs.Progress``); nothing is parsed out of text.
Organize reads (indexes) and looks at (embeds) photos at the same time; while it reads, its
``index`` reports carry the photos embedded meanwhile and the photos there will be to look at, as
far as it knows (``Progress.embedded``, ``Progress.embedded_total``), shown as "Looking at
photos: 12 of 60 (40 of 300 read)". The count,
the bar, the rate and the time left then follow the photos looked at,
the slower of the two and what the job waits for (none is shown before the first photo is looked
at), so they run on without a jump when reading ends and only looking at is left
(docs/performance.md).
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from photoclust.core.jobs import Progress
from photoclust.gui.resources import icon
from photoclust.gui.workers import JobWorker, ProgressRate

JOB_TEXT_WIDTH = 480

#: The core's stages (``Progress.stage``) in words, and what the stage counts.
STAGE_WORDS = {
    "index": ("Reading photos", "photos"),
    "embed": ("Looking at photos", "photos"),
    "cluster": ("Grouping photos", None),
    "faces": ("Finding faces", "photos"),
    "events": ("Grouping events and places", None),
}
#: Stages whose counts run on from each other (Organize reads and looks at photos at once);
#: any other change of stage starts the bar and the rate again from nothing.
CONTINUOUS_STAGES = {"index": "photos", "embed": "photos"}
#: Job titles in words, when a job reports without a stage; the unit its numbers count.
TITLE_UNITS = {"Exporting albums": "photos", "Indexing photos": "photos",
               "Embedding photos": "photos"}


def photos_looked_at(progress: Progress) -> int | None:
    """The photos embedded while an overlapped organize indexes, else None."""
    return progress.embedded if progress.stage == "index" and progress.embedded else None


def photos_to_look_at(progress: Progress) -> int | None:
    """The photos there will be to look at while an overlapped organize indexes, as far as
    indexing knows yet; None when the report does not say."""
    if progress.stage == "index" and progress.embedded:
        return progress.embedded_total or None
    return None


def format_time_left(seconds: float) -> str:
    """"a few seconds left", "about 40 s left", "about 3 min left", "about 1 h 10 min left"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 8:
        return "a few seconds left"
    if seconds < 60:
        return f"about {max(5, 5 * round(seconds / 5))} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def describe_progress(title: str, progress: Progress,
                      rate: float | None = None, eta_s: float | None = None) -> str:
    """One line for a progress report; see the module docstring."""
    stage, done, total = progress.stage, progress.done, progress.total
    if stage == "prepare" and progress.message:
        return progress.message  # the core's own sentence ("Preparing the model (once, …)…")
    looked_at = photos_looked_at(progress)
    words, unit = STAGE_WORDS.get(stage, (None, None))
    if words is None:
        words, unit = title, TITLE_UNITS.get(title)
    if total <= 0 or (stage in STAGE_WORDS and unit is None):
        return f"{words}…"  # a stage's own steps ("0 of 9": silhouettes of k) mean nothing
    parts = [f"{words}: {done:,} of {total:,}"]
    if looked_at is not None:  # the count the rate and the bar follow comes first
        words = STAGE_WORDS["embed"][0]
        to_look_at = photos_to_look_at(progress)
        read = f"{done:,} of {total:,} read" if to_look_at else f"{done:,} read"
        total = to_look_at or total
        parts = [f"{words}: {looked_at:,} of {total:,} ({read})"]
    if rate and unit:
        parts.append(f"{rate:.1f} {unit}/s" if rate < 10 else f"{rate:.0f} {unit}/s")
    if eta_s is not None and (done if looked_at is None else looked_at) < total and rate:
        parts.append(format_time_left(eta_s))
    return " · ".join(parts)


class JobStatusWidget(QWidget):
    """Shows the running job of a ``JobQueue`` (attach each started worker)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setFixedWidth(JOB_TEXT_WIDTH)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setFlat(True)
        self.cancel_button.setFixedWidth(self.cancel_button.sizeHint().width() + 8)
        for w in (self.bar, self.cancel_button):
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # the space stays reserved: nothing moves
            w.setSizePolicy(policy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._rate = ProgressRate()
        self._shown_fraction = 0.0
        self._phase: str | None = None  # the stage the bar counts (index and embed are one)
        self._worker: JobWorker | None = None
        self._outcome_timer = QTimer(self)  # clears a finished job's outcome
        self._outcome_timer.setSingleShot(True)
        self._outcome_timer.timeout.connect(self._clear_outcome)
        self.cancel_button.clicked.connect(self._cancel)
        self._set_running(False)

    @property
    def worker(self) -> JobWorker | None:
        return self._worker

    def attach(self, worker: JobWorker) -> None:
        self._outcome_timer.stop()
        self._worker = worker
        self._rate.reset()
        self._shown_fraction = 0.0  # how far the bar went: it never goes back within a stage
        self._phase = None
        self.bar.setRange(0, 0)  # busy until the first report
        self._set_text(f"{worker.title}: getting ready…")
        worker.progressed.connect(self._on_progress)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(lambda *_a, w=worker: self._on_end(w))
        self._set_running(True)

    def show_outcome(self, text: str, timeout_ms: int) -> None:
        """How the last job ended, where its progress was, for ``timeout_ms`` (the whole text is
        the tooltip); a job that starts meanwhile takes the place over."""
        if self._worker is not None:
            return
        self.setVisible(True)
        self._set_text(text)
        self._outcome_timer.start(timeout_ms)

    def _clear_outcome(self) -> None:
        if self._worker is None:
            self.label.clear()
            self.label.setToolTip("")
            self.setVisible(False)

    def _set_running(self, running: bool) -> None:
        for w in (self.bar, self.cancel_button):
            w.setVisible(running)
        self.cancel_button.setEnabled(running)
        # Idle, the area is empty and hidden: a passing message (an edit, "Undone: …") has the
        # whole status bar instead of the third left of it.
        self.setVisible(running)
        if not running:
            self.label.clear()

    def _set_text(self, text: str) -> None:
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                              JOB_TEXT_WIDTH - 4))
        self.label.setToolTip(text)

    def _cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)
            self._set_text("Stopping after the current step…")

    def _on_progress(self, progress: Progress) -> None:
        phase = CONTINUOUS_STAGES.get(progress.stage, progress.stage)
        if phase != self._phase:  # a new stage (finding faces after looking at photos)
            self._phase = phase
            self._shown_fraction = 0.0
            self._rate.reset()
        done, total = progress.done, progress.total
        looked_at = photos_looked_at(progress)
        if looked_at is None and progress.stage == "index":
            looked_at = 0  # the model is still loading: reading alone is no rate for the job
        counted = done if looked_at is None else looked_at
        total = photos_to_look_at(progress) or total  # the photos to look at, not the files
        stage = progress.stage
        steps_only = stage in STAGE_WORDS and STAGE_WORDS[stage][1] is None
        if total > 0 and not steps_only:
            # Never back: a later report may count against a larger total (more photos found).
            shown = max(min(counted, total), math.ceil(self._shown_fraction * total))
            self._shown_fraction = shown / total
            self.bar.setRange(0, total)
            self.bar.setValue(shown)
        else:
            self.bar.setRange(0, 0)  # busy: no count (a stage's own steps mean nothing)
        self._rate.add(counted)
        if self.cancel_button.isEnabled() and self._worker is not None:
            self._set_text(describe_progress(self._worker.title, progress,
                                             self._rate.rate(), self._rate.eta_seconds(total)))

    def _on_end(self, worker: JobWorker) -> None:
        if worker is self._worker:
            self._worker = None
            self._set_running(False)
