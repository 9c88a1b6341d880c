"""``gui.workers.run_in_background``: the one way the app reads off the GUI thread without a job."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, QThreadPool

from photoclust.gui.workers import run_in_background


def test_the_result_arrives_on_the_gui_thread(qtbot):
    pool = QThreadPool()
    got: list = []
    run_in_background(lambda: (threading.get_ident(), 42),
                      lambda r: got.append((r, QThread.currentThread())), pool=pool)
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    (worker_thread, value), gui_thread = got[0]
    assert value == 42 and worker_thread != threading.get_ident()
    assert gui_thread is QThread.currentThread()


def test_an_error_goes_to_on_failed_and_not_to_on_done(qtbot):
    done, failed = [], []

    def boom():
        raise ValueError("unreadable")

    run_in_background(boom, done.append, on_failed=failed.append, pool=QThreadPool())
    qtbot.waitUntil(lambda: bool(failed), timeout=5000)
    assert not done and str(failed[0]) == "unreadable"


def test_nothing_is_delivered_to_an_owner_that_is_gone(qtbot):
    owner = QObject()
    gate, done, later = threading.Event(), [], []
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    run_in_background(lambda: gate.wait(5) and "late", done.append, pool=pool, owner=owner)
    owner.deleteLater()
    qtbot.wait(50)
    gate.set()
    run_in_background(lambda: "after", later.append, pool=pool)  # in order, on one pool
    qtbot.waitUntil(lambda: bool(later), timeout=5000)
    assert done == []


def test_results_come_back_in_order_on_a_one_thread_pool(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    got: list[int] = []
    for i in range(20):
        run_in_background(lambda i=i: i, got.append, pool=pool)
    qtbot.waitUntil(lambda: len(got) == 20, timeout=5000)
    assert got == list(range(20))
