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
import time
from datetime import datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from events import synthetic_rows

from machine_info import describe_machine
from photoclust.core.events.world_map import read_positions
from timeline_bench import grouped_library, pump_until, timeline_page, wait_for


def rows_with_gps(n: int, rng) -> list[dict]:
    rows = synthetic_rows(n, 1, datetime(2015, 1, 1), rng)
    for r in rows:
        if r["gps_lat"] is None:
            r["gps_lat"] = float(rng.uniform(-55, 70))
            r["gps_lon"] = float(rng.uniform(-180, 180))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    print(describe_machine())
    from photoclust.gui.app import create_application

    app = create_application()
    rows = rows_with_gps(args.photos, np.random.default_rng(0))
    with grouped_library(rows, f"{args.photos:,} synthetic photos with GPS") as library:
        started = time.perf_counter()
        index = read_positions(library)
        print(f"read_positions: {len(index):,} positions in "
              f"{time.perf_counter() - started:.2f} s")
        for run in range(args.runs):
            # Odd runs choose the tab as soon as the events are on screen (the positions are
            # read then); even runs once the page has settled (they were read meanwhile).
            at_once = run % 2 == 0
            with timeline_page(app, library) as page:
                page.show()
                page.activate()
                wait_for(app, page.timelineShown)
                if not at_once:
                    pump_until(app, page.is_idle, float("inf"))
                view = page.map_panel.map
                painted: list[float] = []
                shown: list[float] = []
                page.map_panel.positionsShown.connect(
                    lambda s=shown: s.append(time.perf_counter()))
                if not at_once:
                    shown.append(time.perf_counter())  # read already
                view.painted.connect(lambda p=painted, s=shown: p.append(time.perf_counter())
                                     if s else None)
                started = time.perf_counter()
                page.show_map()
                pump_until(app, lambda p=painted: p)
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


if __name__ == "__main__":
    main()
