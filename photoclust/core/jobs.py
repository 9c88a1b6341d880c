"""Long work as jobs: progress as numbers, cooperative cancellation, a cheap check before starting.

A job subclass implements ``prepare()`` (fast; raises ``JobError`` with a user-facing message when
the job cannot run, e.g. missing weights or an unreadable folder) and ``run(ctx)``, which calls
``ctx.report(done, total, message)`` as it goes and ``ctx.raise_if_cancelled()`` between batches.
The CLI renders the context with a progress bar; the GUI bridges it to Qt signals in
``photoclust.gui.workers``. Jobs commit their work batch by batch, so a cancelled or killed job
resumes where it stopped when run again.

Progress is data, not text to parse back: each report is a ``Progress`` (numbers, the stage of
a job made of stages, such as Organize's ``index``/``embed``/``cluster``, the detail for people,
and the photos embedded meanwhile while an overlapped stage indexes). A view reads its fields;
``Progress.text`` is the one line the CLI shows (``index: IMG_1.jpg (12 embedded)``).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

#: ``(done, total, text)``: the numbers and ``Progress.text``.
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Progress:
    """One progress report. ``stage`` names the part of a job made of parts (``""`` for a job
    of one part); ``message`` is the detail for people (a file name, a step); ``embedded``, when
    not ``None``, counts the photos embedded so far while the ``index`` stage reports (Organize
    indexes and embeds at the same time), and ``embedded_total`` the photos there will be to
    embed, as far as indexing knows yet."""

    done: int
    total: int
    message: str = ""
    stage: str = ""
    embedded: int | None = None
    embedded_total: int | None = None

    @property
    def text(self) -> str:
        """The report in one line: ``stage: message (N embedded)``, the parts there are."""
        text = f"{self.stage}: {self.message}" if self.stage and self.message else \
            self.stage or self.message
        if self.embedded and self.embedded_total:
            text += f" ({self.embedded} of {self.embedded_total} embedded)"
        elif self.embedded:
            text += f" ({self.embedded} embedded)"
        return text


#: Receives every ``Progress``.
ProgressListener = Callable[[Progress], None]


class JobError(Exception):
    """A job cannot run or failed; the message is meant for the user."""


class Cancelled(Exception):
    """Raised inside a job by ``JobContext.raise_if_cancelled`` after ``cancel()``."""


class JobContext:
    """What a running job sees: where to report progress and whether it should stop."""

    def __init__(self, on_progress: ProgressCallback | None = None,
                 cancel_event: threading.Event | None = None, *,
                 on_update: ProgressListener | None = None):
        self._on_progress = on_progress
        self._on_update = on_update
        self._cancel = cancel_event or threading.Event()
        self.started_at = time.monotonic()
        self.progress = Progress(0, 0)

    @property
    def done(self) -> int:
        return self.progress.done

    @property
    def total(self) -> int:
        return self.progress.total

    @property
    def message(self) -> str:
        return self.progress.message

    def report(self, done: int, total: int, message: str = "", *, stage: str = "",
               embedded: int | None = None, embedded_total: int | None = None) -> None:
        """Report ``done`` of ``total`` with a detail for people; ``stage``, ``embedded`` and
        ``embedded_total`` as ``Progress`` says (a stage's ``StageContext`` fills ``stage`` in)."""
        self.update(Progress(int(done), int(total), message, stage, embedded, embedded_total))

    def update(self, progress: Progress) -> None:
        """Hand on a whole ``Progress`` (what ``report`` builds)."""
        self.progress = progress
        if self._on_progress is not None:
            self._on_progress(progress.done, progress.total, progress.text)
        if self._on_update is not None:
            self._on_update(progress)

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

