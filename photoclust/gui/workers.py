"""The one bridge between core jobs and Qt: run a ``Job`` on a thread pool, re-emit its progress.

``JobWorker`` lives on the GUI thread; the job runs in a ``QRunnable`` on a ``QThreadPool``.
Signals emitted from the pool thread reach GUI-thread slots as queued calls, so slots never race
the job. Cancel is cooperative: ``cancel()`` sets the ``JobContext`` flag that the job checks
between batches, and the worker then emits ``cancelled``.
"""
from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from photoclust.core.jobs import Cancelled, Job, JobContext, JobError

log = logging.getLogger(__name__)

# Progress reports faster than this are coalesced: a job may report per photo.
_MIN_REPORT_INTERVAL_S = 0.05


class JobWorker(QObject):
    """Runs one job in the background. Connect to the signals, then call ``start()``."""

    started = Signal()
    progressed = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    def __init__(self, job: Job, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.job = job
        self._pool = pool or QThreadPool.globalInstance()
        self._cancel_event = threading.Event()
        self._last_report = 0.0
        self.running = False

    @property
    def title(self) -> str:
        return getattr(self.job, "title", "job")

    def start(self) -> None:
        self.running = True
        self.started.emit()
        self._pool.start(_JobRunnable(self))

    def cancel(self) -> None:
        self._cancel_event.set()

    def _on_progress(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last_report < _MIN_REPORT_INTERVAL_S:
            return
        self._last_report = now
        self.progressed.emit(done, total, message)

    def _run(self) -> None:
        ctx = JobContext(self._on_progress, self._cancel_event)
        try:
            self.job.prepare()
            ctx.raise_if_cancelled()
            result = self.job.run(ctx)
        except Cancelled:
            self.running = False
            self.cancelled.emit()
        except JobError as exc:  # a message for the user (bad folder, nothing to do): no traceback
            log.warning("%s: %s", self.title, exc)
            self.running = False
            self.failed.emit(exc)
        except Exception as exc:  # reported to the user, never lost
            log.exception("%s failed", self.title)
            self.running = False
            self.failed.emit(exc)
        else:
            self.running = False
            self.finished.emit(result)


class _JobRunnable(QRunnable):
    def __init__(self, worker: JobWorker):
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        self._worker._run()  # the runnable is the worker's private half


class ProgressRate:
    """Rate and remaining time of a job from its (done, total) reports, smoothed over a window."""

    def __init__(self, window_s: float = 10.0):
        self.window_s = window_s
        self._samples: list[tuple[float, int]] = []

    def reset(self) -> None:
        self._samples.clear()

    def add(self, done: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # a new phase restarted its count
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.pop(0)

    def rate(self) -> float | None:
        """Items per second, or None before two reports."""
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None

    def eta_seconds(self, total: int) -> float | None:
        rate = self.rate()
        if not rate or rate <= 0 or not self._samples:
            return None
        return max(0.0, (total - self._samples[-1][1]) / rate)

    def describe(self, total: int) -> list[str]:
        """The speed and the time left as shown to the user ("4.2/s", "3 min 05 s left"), each
        only once it is known."""
        parts = []
        rate = self.rate()
        if rate:
            parts.append(f"{rate:.1f}/s" if rate < 10 else f"{rate:.0f}/s")
        eta = self.eta_seconds(total) if total else None
        if eta is not None:
            parts.append(f"{format_duration(eta)} left")
        return parts


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
