"""The page interface: one screen of the main window (photos, viewer, map, review, duplicates,
search). A page owns its widgets, models and actions; it talks to the rest of the app only
through the shared ``AppState`` (signals in, ``run_job``/``run_edit``/``show_page`` out).
``JobPage`` is the base of the pages one background job fills (map, review, duplicates)."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QWidget

from photoclust.core.jobs import Job, Progress
from photoclust.gui.state import AppState
from photoclust.gui.workers import JobWorker


class Page(QWidget):
    """Subclasses set ``name`` and ``title`` and build their widgets in ``__init__``."""

    name: str = ""
    title: str = ""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.setObjectName(f"{self.name}Page" if self.name else "page")

    def actions(self) -> list[QAction]:
        """The page's own actions, for the menu bar and the toolbar (empty by default)."""
        return []

    def activate(self, **kwargs) -> None:
        """Called when the page is shown; ``kwargs`` come from ``AppState.show_page``."""

    def deactivate(self) -> None:
        """Called when another page is shown."""


class JobPage(Page):
    """A page whose content one background job computes (the map's layout, the review
    questions, the duplicate groups): one run at a time (``start_job``; ``job_running``), its
    progress said in ``loading_label``, and the same ending for every such page: the result goes
    to the page's callback; a failure says ``failed_text`` and a stop ``stopped_text`` through
    ``show_message``. Subclasses set the texts, ``loading_label`` and ``show_message``, and
    extend ``job_failed``/``job_cancelled`` where more than the message changes."""

    #: Said when the job failed; ``{error}`` is the job's sentence.
    failed_text = "This could not be computed: {error}"
    #: Said when the user stopped the job.
    stopped_text = "Stopped. Press F5 to try again."
    #: Where the job's progress is said (the subclass builds it).
    loading_label: QLabel

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(state, parent)
        self._worker: JobWorker | None = None

    def job_running(self) -> bool:
        return self._worker is not None

    def start_job(self, job: Job, on_result: Callable[[Any], None]) -> bool:
        """Queue ``job`` unless one is running (then ``False``); ``on_result(result)`` on the
        GUI thread when it is done."""
        if self._worker is not None:
            return False

        def finished(result: object) -> None:
            self._worker = None
            on_result(result)

        def failed(error: object) -> None:
            self._worker = None
            self.job_failed(error)

        def cancelled() -> None:
            self._worker = None
            self.job_cancelled()

        self._worker = self.state.run_job(job, finished, on_failed=failed,
                                          on_cancelled=cancelled)
        self._worker.progressed.connect(self.job_progressed)
        return True

    def job_progressed(self, progress: Progress) -> None:
        if progress.message:
            self.loading_label.setText(f"{progress.message}…")

    def job_failed(self, error: object) -> None:
        self.show_message(self.failed_text.format(error=error))

    def job_cancelled(self) -> None:
        self.show_message(self.stopped_text)

    def show_message(self, text: str) -> None:
        """Show ``text`` instead of the page's content."""
        raise NotImplementedError
