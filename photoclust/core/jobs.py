"""Long work as jobs: progress as numbers, cooperative cancellation, a cheap check before starting.

A job subclass implements ``prepare()`` (fast; raises ``JobError`` with a user-facing message when
the job cannot run, e.g. missing weights or an unreadable folder) and ``run(ctx)``, which calls
``ctx.report(done, total, message)`` as it goes and ``ctx.raise_if_cancelled()`` between batches.
The CLI renders the context with a progress bar; the GUI bridges it to Qt signals in
``photoclust.gui.workers``. Jobs commit their work batch by batch, so a cancelled or killed job
resumes where it stopped when run again.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

ProgressCallback = Callable[[int, int, str], None]


class JobError(Exception):
    """A job cannot run or failed; the message is meant for the user."""


class Cancelled(Exception):
    """Raised inside a job by ``JobContext.raise_if_cancelled`` after ``cancel()``."""


class JobContext:
    """What a running job sees: where to report progress and whether it should stop."""

    def __init__(self, on_progress: ProgressCallback | None = None,
                 cancel_event: threading.Event | None = None):
        self._on_progress = on_progress
        self._cancel = cancel_event or threading.Event()
        self.started_at = time.monotonic()
        self.done = 0
        self.total = 0
        self.message = ""

    def report(self, done: int, total: int, message: str = "") -> None:
        self.done, self.total, self.message = done, total, message
        if self._on_progress is not None:
            self._on_progress(done, total, message)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


class Job(Generic[T]):
    """One operation (scan, embed, cluster, train, export) over a library."""

    title: str = "job"

    def prepare(self) -> None:
        """Check cheaply that the job can run; raise ``JobError`` if not."""

    def run(self, ctx: JobContext) -> T:
        raise NotImplementedError


def run_job(job: Job[T], ctx: JobContext | None = None) -> T:
    """Prepare and run ``job`` synchronously (the CLI and the tests)."""
    job.prepare()
    return job.run(ctx or JobContext())

