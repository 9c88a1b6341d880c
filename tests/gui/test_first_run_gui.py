"""The window on a first run (issue 24, points 3 and 6): the one-off model build is said where
the job's progress is, an empty folder ends in one plain sentence, the bar never goes back."""
from __future__ import annotations

import threading

import pytest

from photoclust.core.jobs import Job
from photoclust.core.organize.pipeline import PREPARING_MODEL


class _SaysThenWaits(Job):
    """Reports ``reports`` one by one, each after the test sets ``step``; ends at ``done``."""

    title = "Organizing photos"

    def __init__(self, reports):
        self.reports = reports
        self.step = threading.Semaphore(0)
        self.done = threading.Event()

    def run(self, ctx):
        for done, total, message, stage in self.reports:
            self.step.acquire(timeout=10)
            ctx.report(done, total, message, stage=stage)
        self.done.wait(10)
        return None


def test_the_model_build_is_said_while_it_runs(window, qtbot):
    job = _SaysThenWaits([(0, 0, PREPARING_MODEL, "prepare")])
    worker = window.run_job(job)
    status = window.job_status
    with qtbot.waitSignal(worker.progressed, timeout=10000):
        job.step.release()
    assert status.label.toolTip() == "Preparing the model (once, about half a minute)…"
    assert status.label.text() == "Preparing the model (once, about half a minute)…"
    assert status.bar.maximum() == 0  # busy: no count to show
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()


@pytest.fixture
def empty_window(qtbot, library, monkeypatch):
    """The main window on a new, empty library (what a new user sees first)."""
    from PySide6.QtWidgets import QMessageBox

    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    create_application()
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(
        lambda _parent, _title, text, *a, **k: messages.append(text)))
    win = MainWindow(library)
    win.messages = messages
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    win.queue.wait_for_done(10000)


def test_organizing_an_empty_folder_says_no_photos_were_found(empty_window, qtbot, tmp_path):
    window = empty_window
    empty = tmp_path / "Holiday"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos")
    worker = window.organize_folder(str(empty)) or window.queue.current("jobs")
    qtbot.waitUntil(lambda: bool(window.messages), timeout=20000)
    assert window.messages == [f"No photos found in {empty}."]
    assert worker is None or worker.outcome == "failed"
    qtbot.waitUntil(lambda: "No photos found" in window.job_status.label.toolTip(),
                    timeout=5000)  # said where the progress was, too
