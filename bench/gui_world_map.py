"""The Timeline page's World map on a large library: how long from choosing the tab until the map
with every photo's dot is painted, and a repaint after zooming and panning.

    QT_QPA_PLATFORM=offscreen python bench/gui_world_map.py [--photos 100000]

The library is the synthetic one of ``bench/events.py`` (rows only, no files: ten years of days
at home and week-long trips to five cities), with a GPS position on every photo: the 20 % that
have none there get one anywhere on the world instead (the dots the map has most trouble with:
thousands of single photos). Grouped into events first (not timed: the page shows its tabs only
when there are events).

Printed per run (a new page each run, the first run of the process also loads the outlines):
the first paint of the map with all its dots after the tab was chosen, at once when the events
are on screen (the positions are read then, on the reader thread) or once the page has settled
(the page read them after the covers), then the mean repaint after each of 8 zoom steps (each
a new level binned the first time) and after 8 drags.
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
from photoclust.core.events.world_map import read_positions
from photoclust.core.jobs import JobContext
from photoclust.core.library import open_library


def rows_with_gps(n: int, rng) -> list[dict]:
    rows = synthetic_rows(n, 1, datetime(2015, 1, 1), rng)
    for r in rows:
        if r["gps_lat"] is None:
            r["gps_lat"] = float(rng.uniform(-55, 70))
            r["gps_lon"] = float(rng.uniform(-180, 180))
    return rows


def wait_for(app, signal, timeout_s: float = 60.0) -> float:
    fired: list[float] = []
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
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    print(describe_machine())
    from photoclust.gui.app import create_application
    from photoclust.gui.pages.timeline import TimelinePage
    from photoclust.gui.state import AppState

    app = create_application()
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        add(library, rows_with_gps(args.photos, np.random.default_rng(0)))
        started = time.perf_counter()
        EventsJob(library).run(JobContext())
        print(f"{args.photos:,} synthetic photos with GPS grouped into events in "
              f"{time.perf_counter() - started:.1f} s (not part of the figures below)")
        started = time.perf_counter()
        index = read_positions(library)
        print(f"read_positions: {len(index):,} positions in "
              f"{time.perf_counter() - started:.2f} s")
        for run in range(args.runs):
            # Odd runs choose the tab as soon as the events are on screen (the positions are
            # read then); even runs once the page has settled (they were read meanwhile).
            at_once = run % 2 == 0
            state = AppState(library)
            page = TimelinePage(state)
            page.resize(1024, 640)
            page.show()
            page.activate()
            wait_for(app, page.timelineShown)
            if not at_once:
                while not page.is_idle():
                    app.processEvents()
                    time.sleep(0.001)
            view = page.map_panel.map
            painted: list[float] = []
            shown: list[float] = []
            page.map_panel.positionsShown.connect(lambda s=shown: s.append(time.perf_counter()))
            if not at_once:
                shown.append(time.perf_counter())  # read already
            view.painted.connect(lambda p=painted, s=shown: p.append(time.perf_counter())
                                 if s else None)
            started = time.perf_counter()
            page.show_map()
            while not painted and time.perf_counter() - started < 60:
                app.processEvents()
                time.sleep(0.001)
            first = painted[0] - started
            dots = len(view.clusters())
            zooms = []
            for _ in range(8):
                view.zoom(2.0)
                t = time.perf_counter()
                view.repaint()
                zooms.append(time.perf_counter() - t)
            pans = []
            for step in range(8):
                view.view.pan(37.0 * (1 if step % 2 else -1), 23.0)
                t = time.perf_counter()
                view.repaint()
                pans.append(time.perf_counter() - t)
            when = ("tab chosen at once: positions read at "
                    f"{shown[0] - started:.2f} s" if at_once
                    else "tab chosen once the page settled (positions read)")
            print(f"run {run + 1}, {when}: first paint of the map ({dots:,} dots, "
                  f"{len(view.index):,} photos) at "
                  f"{first:.2f} s; repaint after a zoom step {np.mean(zooms) * 1000:.0f} ms "
                  f"(slowest {max(zooms) * 1000:.0f}), after a drag "
                  f"{np.mean(pans) * 1000:.0f} ms")
            page.reads.wait_for_done()
            page.thumbnails.wait_for_done(5000)
            page.close()
            page.deleteLater()
            state.queue.cancel_all()
            app.processEvents()
        library.close()


if __name__ == "__main__":
    main()
