"""The Timeline page on a large library: how long from opening the page until years, months,
events and places are on screen (read on the reader thread, then painted), and opening one event.

    QT_QPA_PLATFORM=offscreen python bench/gui_timeline.py [--photos 100000]

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
            started = time.perf_counter()
            page.show()
            page.activate()
            page.repaint()
            first = time.perf_counter() - started  # the page frame with "Reading…"
            shown = wait_for(app, page.timelineShown)
            page.grab()  # paint the filled page
            filled = time.perf_counter() - started
            event_s = wait_for(app, page.eventShown) if page.photo_model.rowCount() == 0 \
                else 0.0
            print(f"run {run + 1}: page frame {first * 1000:.0f} ms; timeline read "
                  f"{shown:.2f} s, painted with {len(page.snapshot.events):,} events, "
                  f"{len(page.snapshot.months)} months, {len(page.snapshot.places)} places at "
                  f"{filled:.2f} s; the newest event's photos {event_s:.2f} s later")
            page.reads.wait_for_done()
            page.thumbnails.wait_for_done(5000)
            page.close()
            page.deleteLater()
            state.queue.cancel_all()
            app.processEvents()
        library.close()


if __name__ == "__main__":
    main()
