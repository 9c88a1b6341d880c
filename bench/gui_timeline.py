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
import time
from datetime import datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from events import synthetic_rows

from machine_info import describe_machine
from timeline_bench import grouped_library, pump_until, timeline_page, wait_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    from photoclust.gui.app import create_application

    app = create_application()
    rows = synthetic_rows(args.photos, 1, datetime(2015, 1, 1), np.random.default_rng(0))
    with grouped_library(rows, f"{args.photos:,} synthetic photos") as library:
        for run in range(args.runs):
            with timeline_page(app, library) as page:
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
                pump_until(app, lambda a=event_at: a, 60 - (time.perf_counter() - started))
                event_s = event_at[0] - started if event_at else float("nan")
                print(f"run {run + 1}: page frame {first * 1000:.0f} ms; years, months and "
                      f"places at {when_at[0] - started:.2f} s; events read "
                      f"{shown:.2f} s, painted with {len(page.snapshot.events):,} events, "
                      f"{len(page.snapshot.months)} months, {len(page.snapshot.places)} places "
                      f"at {filled:.2f} s; the newest event's photos at {event_s:.2f} s")


if __name__ == "__main__":
    main()
