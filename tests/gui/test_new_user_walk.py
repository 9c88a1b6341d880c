"""What a new user tripped over on the walk of 6 Dec 2026 (docs/gui.md), each driven as a user
would see it."""
from __future__ import annotations

import threading

from photoclust.core.jobs import Job, Progress


class _Waits(Job):
    """Waits for ``done`` (the status area shows it meanwhile)."""

    title = "Organizing photos"

    def __init__(self):
        self.done = threading.Event()

    def run(self, ctx):
        self.done.wait(10)


def test_finding_faces_is_named_and_its_bar_starts_from_nothing(window, qtbot):
    """After looking at 195 photos Organize finds faces in them: the status said "Organizing
    photos: 16 of 195" under a full bar (the bar kept the previous stage's end)."""
    job = _Waits()
    worker = window.run_job(job)
    status = window.job_status
    qtbot.waitUntil(lambda: status.worker is worker, timeout=10000)
    status._on_progress(Progress(60, 195, "a.jpg", "index", 40, 195))
    status._on_progress(Progress(195, 195, "b.jpg", "embed"))
    assert (status.bar.value(), status.bar.maximum()) == (195, 195)
    status._on_progress(Progress(0, 3, "choosing k", "cluster"))
    status._on_progress(Progress(16, 195, "4 faces in 16 photos", "faces"))
    assert status.label.toolTip().startswith("Finding faces: 16 of 195")
    assert (status.bar.value(), status.bar.maximum()) == (16, 195)
    status._on_progress(Progress(1, 3, "places", "events"))
    assert status.label.toolTip() == "Grouping events and places…"
    assert status.bar.maximum() == 0  # busy: its three steps are no count of photos
    with qtbot.waitSignal(worker.finished, timeout=10000):
        job.done.set()
