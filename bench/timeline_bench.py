"""What the Timeline page benches share (``gui_timeline.py``, ``gui_world_map.py``): a synthetic
library grouped into events, a fresh page on it and closing it, and waiting on the Qt loop."""
from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from events import add

from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library import Library, open_library


def pump_until(app, done: Callable[[], object], timeout_s: float = 60.0) -> None:
    """Process Qt events until ``done()`` is true or ``timeout_s`` has passed."""
    started = time.perf_counter()
    while not done() and time.perf_counter() - started < timeout_s:
        app.processEvents()
        time.sleep(0.001)


def wait_for(app, signal, timeout_s: float = 60.0) -> float:
    """Seconds until ``signal`` is emitted (events processed meanwhile)."""
    fired: list[float] = []
    signal.connect(lambda *_: fired.append(time.perf_counter()))
    started = time.perf_counter()
    pump_until(app, lambda: fired, timeout_s)
    if not fired:
        raise SystemExit("the page did not answer in time")
    return fired[0] - started


@contextmanager
def grouped_library(rows: list[dict], what: str) -> Iterator[Library]:
    """A library in a temporary folder holding ``rows`` (``events.add``), grouped into events
    by the core's events step; the time that took is printed, said to be no part of the
    figures (``what``: the photos, in words)."""
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        add(library, rows)
        started = time.perf_counter()
        EventsJob(library).run(JobContext())
        print(f"{what} grouped into events in {time.perf_counter() - started:.1f} s (not part "
              "of the figures below)")
        try:
            yield library
        finally:
            library.close()


@contextmanager
def timeline_page(app, library: Library) -> Iterator:
    """A new Timeline page (1024 x 640, not shown yet) with its own app state; closed after,
    once its reads and thumbnails are done."""
    from photoclust.gui.pages.timeline import TimelinePage
    from photoclust.gui.state import AppState

    state = AppState(library)
    page = TimelinePage(state)
    page.resize(1024, 640)
    yield page
    page.reads.wait_for_done()
    page.thumbnails.wait_for_done(5000)
    page.close()
    page.deleteLater()
    state.queue.cancel_all()
    app.processEvents()
