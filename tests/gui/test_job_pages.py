"""The pages one background job fills (map, review, duplicates) share ``JobPage``: one job at a
time, its progress in the loading text, and the same sentences when it fails or is stopped."""
from __future__ import annotations

import threading

import pytest
from _pages import open_page

from photoclust.core.jobs import Job, JobError
from photoclust.gui.pages.duplicates import DuplicatesPage
from photoclust.gui.pages.map import MapPage
from photoclust.gui.pages.review import ReviewPage


class _Waiting(Job):
    """Reports once, then waits until it is cancelled (or fails when told to)."""

    title = "Waiting"

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.reported = threading.Event()

    def run(self, ctx):
        ctx.report(1, 2, "Counting sheep")
        self.reported.set()
        if self.fail:
            raise JobError("the sheep ran off")
        while not ctx.cancelled:
            threading.Event().wait(0.01)
        ctx.raise_if_cancelled()


@pytest.mark.parametrize("page_cls, stopped, failed", [
    (MapPage, "Stopped. Press F5 to lay out the map.", "The map cannot be drawn yet: "),
    (ReviewPage, "Stopped. Press F5 to look for questions again.", "No questions could be made: "),
    (DuplicatesPage, "Stopped. Press F5 to look for duplicates again.",
     "Duplicates could not be looked for: "),
])
def test_a_job_page_runs_one_job_and_says_how_it_ended(qtbot, gui_library, page_cls, stopped,
                                                       failed):
    state, page = open_page(qtbot, page_cls, gui_library.library)
    state.queue.wait_for_done(20000)
    qtbot.waitUntil(lambda: not page.job_running(), timeout=60000)  # what showing it started
    results: list = []
    job = _Waiting()
    assert page.start_job(job, results.append)
    assert page.job_running() and not page.start_job(_Waiting(), results.append)
    worker = page._worker
    with qtbot.waitSignal(worker.progressed, timeout=10000):
        pass
    if page_cls is not DuplicatesPage:  # it says its progress in its own words
        assert page.loading_label.text() == "Counting sheep…"
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        worker.cancel()
    assert not page.job_running() and results == []
    assert page.message.text() == stopped
    with qtbot.waitSignal(state.queue.jobEnded, timeout=10000):
        page.start_job(_Waiting(fail=True), results.append)
    assert not page.job_running() and results == []
    assert page.message.text() == failed + "the sheep ran off"
