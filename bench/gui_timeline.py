"""The Timeline page on a large library: how long from opening the page until years, months,
events and places are on screen (read on the reader thread, then painted), and opening one event.

    QT_QPA_PLATFORM=offscreen python bench/gui_timeline.py [--photos 100000]

Printed per run: the page's frame (drawn at once, "Reading…"), the years, months and places on
screen (read first), the events (read next) read and painted, the newest event's photos shown.

The library is the synthetic one of ``bench/events.py`` (rows only, no files: ten years of days
at home and week-long trips, 80 % with GPS), grouped by the core's events step first (not timed
here: see bench/events.py). Covers have no thumbnail files, so they are placeholders (making
thumbnails is the thumbnail loader's work, off the GUI thread, and not what is measured).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from events import add, synthetic_rows

from machine_info import describe_machine
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library import open_library


def wait_for(app, signal, timeout_s: float = 60.0) -> float:
    """Seconds until ``signal`` is emitted (events processed meanwhile)."""
    fired = []
    signal.connect(lambda *_: fired.append(time.perf_counter()))
    started = time.perf_counter()
    while not fired and time.perf_counter() - started < timeout_s:
        app.processEvents()
        time.sleep(0.001)
    if not fired:
        raise SystemExit("the page did not answer in time")
    return fired[0] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    from photoclust.gui.app import create_application
    from photoclust.gui.pages.timeline import TimelinePage
    from photoclust.gui.state import AppState

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        add(library, synthetic_rows(args.photos, 1, datetime(2015, 1, 1),
                                    np.random.default_rng(0)))
        started = time.perf_counter()
        EventsJob(library).run(JobContext())
        print(f"{args.photos:,} synthetic photos grouped into events in "
              f"{time.perf_counter() - started:.1f} s (not part of the figures below)")
        for run in range(args.runs):
            state = AppState(library)
            page = TimelinePage(state)
            page.resize(1024, 640)
            event_at: list[float] = []
            when_at: list[float] = []
            page.eventShown.connect(lambda a=event_at: a.append(time.perf_counter()))
            page.whenShown.connect(lambda a=when_at: a.append(time.perf_counter()))
            started = time.perf_counter()
            page.show()
            page.activate()
            page.repaint()
            first = time.perf_counter() - started  # the page frame with "Reading…"
            shown = wait_for(app, page.timelineShown)
            page.grab()  # paint the filled page
            filled = time.perf_counter() - started
            while not event_at and time.perf_counter() - started < 60:
                app.processEvents()
                time.sleep(0.001)
            event_s = event_at[0] - started if event_at else float("nan")
            print(f"run {run + 1}: page frame {first * 1000:.0f} ms; years, months and places "
                  f"at {when_at[0] - started:.2f} s; events read "
                  f"{shown:.2f} s, painted with {len(page.snapshot.events):,} events, "
                  f"{len(page.snapshot.months)} months, {len(page.snapshot.places)} places at "
                  f"{filled:.2f} s; the newest event's photos at {event_s:.2f} s")
            page.reads.wait_for_done()
            page.thumbnails.wait_for_done(5000)
            page.close()
            page.deleteLater()
            state.queue.cancel_all()
            app.processEvents()
        library.close()


if __name__ == "__main__":
    main()
