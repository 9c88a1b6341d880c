"""The one bridge between core jobs and Qt: run a ``Job`` on a thread pool, re-emit its progress.

``JobWorker`` lives on the GUI thread; the job runs in a ``QRunnable`` on a ``QThreadPool``.
Signals emitted from the pool thread reach GUI-thread slots as queued calls, so slots never race
the job. Cancel is cooperative: ``cancel()`` sets the ``JobContext`` flag that the job checks
between batches, and the worker then emits ``cancelled``.

``JobQueue`` is the one place the app starts jobs: each *lane* ("jobs" for long work such as
Organize, Learn, the map or export; "edits" for user edits) runs one job at a time, in the order
submitted, so a second job waits its turn instead of failing, and a rename never waits behind an
Organize of 50,000 photos.

``run_in_background(fn, on_done)`` is the one way to read or decode something off the GUI thread
without a job (a page of photos, a thumbnail batch, a preview): ``fn`` runs on a pool, ``on_done``
gets its result on the GUI thread.
"""
from __future__ import annotations

import logging
import threading
import time

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from photoclust.core.jobs import Cancelled, Job, JobContext, JobError, Progress
from photoclust.gui.gc_freeze import freeze_new_modules

log = logging.getLogger(__name__)

# Progress reports faster than this are coalesced: a job may report per photo.
_MIN_REPORT_INTERVAL_S = 0.05


class JobWorker(QObject):
    """Runs one job in the background. Connect to the signals, then call ``start()``."""

    started = Signal()
    progressed = Signal(object)  # a core.jobs.Progress: numbers, stage, detail
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    # From the pool thread with no Python object attached (a queued signal carrying one, with
    # several receivers, corrupted reference counts in PySide6 6.x); ``_deliver`` then emits the
    # public signals on the GUI thread with the result or error kept on the worker.
    _ended = Signal()
    _progressed = Signal()  # the same, for the newest ``Progress`` kept on the worker

    def __init__(self, job: Job, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.job = job
        self._pool = pool or QThreadPool.globalInstance()
        self._cancel_event = threading.Event()
        self._last_report = 0.0
        self.progress: Progress | None = None  # the newest report
        self.running = False
        self.outcome: str | None = None  # "done", "cancelled" or "failed" once it ended
        self.result: object = None
        self.error: BaseException | None = None
        self.summary: str | None = None  # how it ended in words, when its caller says so
        self._ended.connect(self._deliver)
        self._progressed.connect(self._deliver_progress)

    @property
    def title(self) -> str:
        return getattr(self.job, "title", "job")

    def start(self) -> None:
        self.running = True
        self.started.emit()
        self._pool.start(_JobRunnable(self))

    def cancel(self) -> None:
        self._cancel_event.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_event.is_set()

    def _on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.done < progress.total and now - self._last_report < _MIN_REPORT_INTERVAL_S:
            return
        self._last_report = now
        self.progress = progress
        self._progressed.emit()

    def _deliver_progress(self) -> None:
        """On the GUI thread: the newest report (reports in between are coalesced)."""
        if self.progress is not None and self.outcome is None:
            self.progressed.emit(self.progress)

    def _run(self) -> None:
        ctx = JobContext(cancel_event=self._cancel_event, on_update=self._on_progress)
        try:
            self.job.prepare()
            ctx.raise_if_cancelled()
            result = self.job.run(ctx)
        except Cancelled:
            self._outcome = "cancelled"
        except JobError as exc:  # a message for the user (bad folder, nothing to do): no traceback
            log.warning("%s: %s", self.title, exc)
            self._outcome, self.error = "failed", exc
        except Exception as exc:  # reported to the user, never lost
            if not _is_user_error(exc):
                log.exception("%s failed", self.title)
            self._outcome, self.error = "failed", exc
        else:
            self._outcome, self.result = "done", result
        freeze_new_modules()  # what the job imported stays out of the collector's scans
        self._ended.emit()

    def _deliver(self) -> None:
        """On the GUI thread: the job ended; say how."""
        if self.outcome is not None:
            return  # already ended (dropped from the queue before it ran)
        self.running, self.outcome = False, self._outcome
        if self.outcome == "cancelled":
            self.cancelled.emit()
        elif self.outcome == "failed":
            self.failed.emit(self.error)
        else:
            self.finished.emit(self.result)


def _is_user_error(exc: BaseException) -> bool:
    """An edit refused with a sentence for the user (``EditError`` is a ``ValueError``)."""
    return isinstance(exc, ValueError)


class JobQueue(QObject):
    """Runs submitted jobs one at a time per lane, in order; never refuses one.

    ``jobStarted(worker)`` when a job leaves the queue and starts; ``jobEnded(worker)`` when it
    ended (``worker.outcome`` says how); ``busyChanged(bool)`` when the queue goes from idle to
    busy or back."""

    jobQueued = Signal(object)
    jobStarted = Signal(object)
    jobEnded = Signal(object)
    busyChanged = Signal(bool)

    LANES = ("jobs", "edits")

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool(self)
        if self.pool.maxThreadCount() < len(self.LANES):
            self.pool.setMaxThreadCount(len(self.LANES))
        self._waiting: dict[str, list[JobWorker]] = {lane: [] for lane in self.LANES}
        self._running: dict[str, JobWorker | None] = {lane: None for lane in self.LANES}
        self._closed = False

    def submit(self, job: Job, on_finished=None, lane: str = "jobs", on_failed=None,
               on_cancelled=None, setup=None) -> JobWorker:
        """Queue ``job``; it starts at once when its lane is free. The callbacks run on the GUI
        thread with the result (``on_finished``), the exception (``on_failed``) or nothing;
        ``setup(worker)`` runs before the job can start (connect to its progress there)."""
        if lane not in self._waiting:
            raise ValueError(f"unknown lane {lane!r}")
        was_busy = self.is_busy()
        worker = JobWorker(job, self.pool, self)
        if on_finished is not None:
            worker.finished.connect(on_finished)
        if on_failed is not None:
            worker.failed.connect(on_failed)
        if on_cancelled is not None:
            worker.cancelled.connect(on_cancelled)
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(lambda *_a, w=worker, lane=lane: self._on_ended(lane, w))
        if setup is not None:
            setup(worker)
        self._waiting[lane].append(worker)
        self.jobQueued.emit(worker)
        if self._closed:
            worker.cancel()
        self._start_next(lane)
        if not was_busy:
            self.busyChanged.emit(True)
        return worker

    def current(self, lane: str = "jobs") -> JobWorker | None:
        return self._running[lane]

    def waiting(self, lane: str = "jobs") -> list[JobWorker]:
        return list(self._waiting[lane])

    def is_busy(self, lane: str | None = None) -> bool:
        lanes = self.LANES if lane is None else (lane,)
        return any(self._running[name] is not None or self._waiting[name] for name in lanes)

    def cancel(self, worker: JobWorker) -> None:
        """Stop a running job (cooperatively) or drop a waiting one."""
        for waiting in self._waiting.values():
            if worker in waiting:
                waiting.remove(worker)
                worker.outcome = "cancelled"
                worker.cancelled.emit()  # its listeners learn it will not run
                return
        worker.cancel()

    def cancel_all(self) -> None:
        """Cancel every job, waiting or running, and refuse to start any more (window closing)."""
        self._closed = True
        for waiting in self._waiting.values():
            for worker in list(waiting):
                self.cancel(worker)
        for running in self._running.values():
            if running is not None:
                running.cancel()

    def wait_for_done(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)

    def _start_next(self, lane: str) -> None:
        if self._running[lane] is not None or not self._waiting[lane]:
            return
        worker = self._waiting[lane].pop(0)
        self._running[lane] = worker
        self.jobStarted.emit(worker)
        worker.start()

    def _on_ended(self, lane: str, worker: JobWorker) -> None:
        if self._running[lane] is worker:
            self._running[lane] = None
        self.jobEnded.emit(worker)
        self._start_next(lane)
        if not self.is_busy():
            self.busyChanged.emit(False)


class _JobRunnable(QRunnable):
    def __init__(self, worker: JobWorker):
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        self._worker._run()  # the runnable is the worker's private half


#: Deliveries not made yet (a parentless QObject lives only as long as its Python wrapper).
_deliveries: set[_Delivery] = set()


class _Delivery(QObject):
    """Hands a background read's outcome to the GUI thread. It lives there (a child of the
    owner: when the owner goes, a late outcome is dropped with it); the pool thread keeps the
    outcome on it and emits ``_ready`` with no Python object attached (see ``JobWorker``)."""

    _ready = Signal()

    def __init__(self, on_done, on_failed, parent: QObject | None):
        super().__init__(parent)
        self._on_done, self._on_failed = on_done, on_failed
        self.result: object = None
        self.error: BaseException | None = None
        self._ready.connect(self._deliver)
        _deliveries.add(self)  # alive until delivered and deleted, also without an owner
        self.destroyed.connect(lambda *_a, d=self: _deliveries.discard(d))

    def _deliver(self) -> None:
        try:
            if self.error is None:
                self._on_done(self.result)
            elif self._on_failed is not None:
                self._on_failed(self.error)
        finally:
            self._on_done = self._on_failed = None
            self.result = self.error = None
            if shiboken6.isValid(self):  # the callback may have deleted the owner, and us
                self.deleteLater()  # then ``destroyed`` lets the wrapper go
            else:
                _deliveries.discard(self)


class _Background(QRunnable):
    def __init__(self, fn, delivery: _Delivery):
        super().__init__()
        self._fn, self._delivery = fn, delivery

    def run(self) -> None:
        delivery = self._delivery
        try:
            delivery.result = self._fn()
        except Exception as exc:  # handed to on_failed (or logged), never lost in the pool
            if delivery._on_failed is None:
                log.exception("a background read failed")
            delivery.error = exc
        try:
            delivery._ready.emit()
        except RuntimeError:  # the owner (and its delivery) went meanwhile: nobody waits
            pass


def run_in_background(fn, on_done, *, pool: QThreadPool | None = None,
                      owner: QObject | None = None, on_failed=None) -> None:
    """Run ``fn()`` on ``pool`` (the global pool by default; a page's own one-thread pool keeps
    its reads in order) and call ``on_done(result)`` on the GUI thread, or ``on_failed(error)``
    when ``fn`` raised (logged when there is no ``on_failed``). With ``owner``, nothing is
    called once the owner is deleted. For short reads of the library and decodes; long work
    that reports progress or can be cancelled is a ``Job`` (``JobQueue``)."""
    delivery = _Delivery(on_done, on_failed, owner)
    (pool or QThreadPool.globalInstance()).start(_Background(fn, delivery))


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


class DeferredJob(Job):
    """A job built on the worker thread: ``factory()`` imports and constructs the real job there,
    so the heavy core modules (torch, scikit-learn) never load on the GUI thread. ``summarize()``,
    when given, runs there too after the job with its result and sets ``summary`` (what the
    status area says)."""

    def __init__(self, title: str, factory, summarize=None):
        self.title = title
        self._factory = factory
        self._summarize = summarize
        self.job: Job | None = None
        self.summary: str | None = None

    def prepare(self) -> None:
        self.job = self._factory()
        self.job.prepare()

    def run(self, ctx: JobContext):
        assert self.job is not None, "prepare() builds the job"
        result = self.job.run(ctx)
        if self._summarize is not None:
            self.summary = self._summarize(result)
        return result
