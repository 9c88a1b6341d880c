"""The shared application state and the job queue: jobs wait their turn, edits run off the GUI
thread and are announced, pages get the page interface."""
from __future__ import annotations

import threading

from sqlalchemy import select

from photoclust.core.clustering import editing
from photoclust.core.jobs import Job
from photoclust.core.library.models import Assignment, Cluster
from photoclust.gui.pages.base import Page
from photoclust.gui.state import AppState
from photoclust.gui.workers import JobQueue


class _GateJob(Job):
    """Runs until its gate opens; records the thread it ran on."""

    def __init__(self, title: str, log: list):
        self.title = title
        self.gate = threading.Event()
        self.log = log

    def run(self, ctx):
        self.log.append(("start", self.title))
        while not self.gate.wait(0.01):
            ctx.raise_if_cancelled()
        self.log.append(("end", self.title))
        return self.title


def test_a_second_job_waits_for_the_first_instead_of_failing(qtbot, library):
    state = AppState(library)
    log, results = [], []
    first, second = _GateJob("first", log), _GateJob("second", log)
    w1 = state.run_job(first, results.append)
    w2 = state.run_job(second, results.append)
    assert state.queue.current() is w1 and state.queue.waiting() == [w2]
    second.gate.set()
    qtbot.waitUntil(lambda: ("start", "first") in log)
    assert ("start", "second") not in log  # it has not jumped the queue
    with qtbot.waitSignal(w2.finished, timeout=5000):
        first.gate.set()
    assert results == ["first", "second"]
    assert log == [("start", "first"), ("end", "first"), ("start", "second"), ("end", "second")]
    assert not state.queue.is_busy()


def test_cancel_all_stops_the_running_job_and_drops_the_waiting_one(qtbot, library):
    queue = JobQueue()
    log = []
    running, waiting = _GateJob("running", log), _GateJob("waiting", log)
    w1, w2 = queue.submit(running), queue.submit(waiting)
    qtbot.waitUntil(lambda: ("start", "running") in log)
    with qtbot.waitSignals([w1.cancelled, w2.cancelled], timeout=5000):
        queue.cancel_all()
    assert (w1.outcome, w2.outcome) == ("cancelled", "cancelled")
    assert ("start", "waiting") not in log
    assert queue.wait_for_done(2000)


def test_run_edit_changes_the_library_off_the_gui_thread_then_announces_it(qtbot, gui_library):
    library = gui_library.library
    state = AppState(library)
    a, b = gui_library.cluster_ids[:2]
    threads = []

    def merge():
        threads.append(threading.current_thread())
        return editing.merge_clusters(library, a, [b])

    edited = []
    state.edited.connect(edited.append)
    with qtbot.waitSignals([state.edited, state.photosChanged], timeout=5000):
        state.run_edit(merge)
        assert state.edits_in_flight == 1
    assert threads and threads[0] is not threading.main_thread()
    assert state.edits_in_flight == 0
    [result] = edited
    assert result.kind == "merge" and result.event_id is not None
    with library.session() as s:
        members = set(s.scalars(select(Assignment.photo_id).where(Assignment.cluster_id == a)))
        assert not s.get(Cluster, b).active
    assert members == set(gui_library.photo_ids[a]) | set(gui_library.photo_ids[b])


def test_a_refused_edit_says_why_and_changes_nothing(qtbot, gui_library):
    state = AppState(gui_library.library)
    cluster = gui_library.cluster_ids[0]
    with qtbot.waitSignal(state.editFailed, timeout=5000) as failed:
        state.run_edit(lambda: editing.rename_cluster(gui_library.library, cluster, "   "))
    assert failed.args[0]  # a sentence, not an empty message
    assert state.edits_in_flight == 0
    with gui_library.library.session() as s:
        assert s.get(Cluster, cluster).name == "Group A"


def test_selection_and_page_requests_are_signalled(qtbot, library):
    state = AppState(library)
    with qtbot.waitSignal(state.clusterChanged) as changed:
        state.set_current_cluster(7)
    assert changed.args == [7] and state.current_cluster_id == 7
    with qtbot.waitSignal(state.pageRequested) as requested:
        state.show_page("viewer", photo_id=3)
    assert requested.args == ["viewer", {"photo_id": 3}]


def test_a_page_has_a_name_title_and_no_actions_by_default(qtbot, library):
    class Demo(Page):
        name, title = "demo", "Demo"

    page = Demo(AppState(library))
    qtbot.addWidget(page)
    assert page.actions() == [] and page.state.library is library
    page.activate(photo_id=1)
    page.deactivate()


def test_qt_calls_cannot_use_up_the_references_to_none_and_true(qtbot, monkeypatch):
    """PySide6 6.12 on Python 3.11 drops a reference to True per emit and to None per void call
    (gui/_refcount_guard.py); the guard keeps enough spare ones that a session never runs out."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from photoclust.gui import _refcount_guard as guard

    class Emitter(QObject):
        pinged = Signal()

    emitter = Emitter()
    emitter.pinged.connect(lambda: None)
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    for _ in range(1000):
        emitter.pinged.emit()
        label.clear()
    for value in (None, True):
        now = sys.getrefcount(value)
        monkeypatch.setattr(guard, "_LOW", now + 1000)  # as if the count had run low
        guard.top_up()
        expected = guard._BATCH if guard._ACTIVE else 0
        assert sys.getrefcount(value) >= now + expected - 10
        assert sys.getrefcount(value) > 100_000 or not guard._ACTIVE
