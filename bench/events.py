"""Events: grouping speed on a library of synthetic photos, and the events found on the shared
collection judged against its dates and places.

    python bench/events.py [--photos 100000]

1. A library of N photo rows (no files: the rows are what grouping reads) with synthetic times
   over ten years: days at home (Köln) with a few photos each, and a trip abroad (a week in one of
   five cities) every few months; 80 % with GPS. Times: the events step (places for every photo,
   grouping, names), the read functions a Timeline page uses (events, months, places), and the
   events step again after 1,000 new photos arrive.
2. places_signs (if present): indexed (no embedding), then the events step. Judged two ways
   against the photographer's labels: *visit integrity*, the share of visits (photos of one city
   on one day) whose photos all landed in one event; *country purity*, the share of photos whose
   event's most common country (photographer's label) is their own.
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.events import queries
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library import open_library
from photoclust.core.library.models import Photo, PhotoWhenWhere
from photoclust.core.library.queries import photo_files
from photoclust.core.library.scan import ScanJob

ROOT = Path(__file__).resolve().parent.parent

HOME = (50.9375, 6.9603)
TRIPS = [(38.7223, -9.1393), (41.3874, 2.1686), (55.6761, 12.5683), (48.8566, 2.3522),
         (59.3293, 18.0686)]


def synthetic_rows(n: int, first_id: int, start: datetime, rng) -> list[dict]:
    rows: list[dict] = []
    day = start
    while len(rows) < n:
        if rng.random() < 0.03:  # a trip: a week away
            lat0, lon0 = TRIPS[int(rng.integers(len(TRIPS)))]
            for d in range(7):
                for _ in range(int(rng.integers(5, 30))):
                    rows.append(_row(first_id + len(rows), day + timedelta(
                        days=d, seconds=int(rng.integers(8 * 3600, 22 * 3600))),
                        lat0, lon0, rng))
            day += timedelta(days=7 + int(rng.integers(1, 5)))
        else:
            for _ in range(int(rng.integers(1, 25))):
                rows.append(_row(first_id + len(rows), day + timedelta(
                    seconds=int(rng.integers(9 * 3600, 20 * 3600))), *HOME, rng))
            day += timedelta(days=int(rng.integers(1, 4)))
    return rows[:n]


def _row(pid: int, when: datetime, lat: float, lon: float, rng) -> dict:
    gps = rng.random() < 0.8
    return {"id": pid, "path": f"/photos/{pid:07d}.jpg", "content_hash": f"{pid:064x}",
            "file_size": 1, "mtime_ns": 1, "taken_at": when,
            "gps_lat": float(lat + rng.normal(0, 0.02)) if gps else None,
            "gps_lon": float(lon + rng.normal(0, 0.02)) if gps else None, "status": "present"}


def add(library, rows: list[dict]) -> None:
    with library.session() as s:
        s.execute(insert(Photo), rows)
        s.execute(insert(PhotoWhenWhere), [{"photo_id": r["id"], "taken_source": "exif",
                                            "time_shift_s": 0} for r in rows])


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def synthetic(n: int) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        rows = synthetic_rows(n, 1, datetime(2015, 1, 1), rng)
        add(library, rows)
        result = timed(f"events step on {n:,} photos (places, grouping, names)",
                       lambda: EventsJob(library).run(JobContext()))
        print(f"  {result.places_named:,} places named, {result.events_created:,} events, "
              f"{result.photos_grouped:,} photos grouped")
        events = timed("  list_events", lambda: queries.list_events(library))
        timed("  timeline_months", lambda: queries.timeline_months(library))
        timed("  list_places", lambda: queries.list_places(library))
        # Search words (docs/places.md, Search): the first word of a process reads the data of
        # other names; a word naming nothing, other forms of city and country names.
        for word in ("dog", "dog", "cologne", "köln", "deutschland", "lisboa"):
            found = timed(f"  search word {word!r}",
                          lambda w=word: queries.photos_named_by(library, w))
            print(f"    {sum(len(ids) for ids, _ in found):,} photos ({len(found)} reasons)")
        timed("  shifted_year_months (no shift)", lambda: queries.shifted_year_months(library))
        timed("  photos_awaiting_places", lambda: queries.photos_awaiting_places(library))
        print(f"  {len(events):,} events; largest: {max(events, key=lambda e: e.photos).name}")
        later = synthetic_rows(1000, n + 1, rows[-1]["taken_at"] + timedelta(days=2), rng)
        add(library, later)
        result = timed("events step after 1,000 new photos",
                       lambda: EventsJob(library).run(JobContext()))
        print(f"  {result.events_created} new events, {result.photos_grouped} photos grouped")
        library.close()


def shared_set(datasets: Path) -> None:
    root = datasets / "places_signs"
    if not (root / "places.csv").exists():
        print(f"places_signs not found under {datasets}: not judged")
        return
    labels = {row["file"]: row for row in csv.DictReader(open(root / "places.csv",
                                                              encoding="utf-8"))}
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        ScanJob(library, [root / "photos"]).run(JobContext())
        EventsJob(library).run(JobContext())
        events = queries.list_events(library)
        members = {e.id: queries.event_photo_ids(library, e.id) for e in events}
        ww = queries.when_where(library, [p for ids in members.values() for p in ids])
        paths = {pid: path for pid, (_hash, path) in photo_files(library, list(ww)).items()}
        library.close()
    visits: dict[tuple, set[int]] = defaultdict(set)
    event_of: dict[int, int] = {}
    country_of: dict[int, str] = {}
    for eid, ids in members.items():
        for pid in ids:
            row = labels[Path(paths[pid]).name]
            event_of[pid] = eid
            country_of[pid] = row["country"]
            taken = ww[pid].taken or ""
            if row["city"]:
                visits[(row["city"], taken[:10])].add(eid)
    whole = sum(len(e) == 1 for e in visits.values())
    majority = {eid: Counter(country_of[p] for p in ids if country_of[p]).most_common(1)
                for eid, ids in members.items()}
    pure = sum(bool(majority[event_of[p]]) and majority[event_of[p]][0][0] == country_of[p]
               for p in country_of if country_of[p])
    labelled = sum(1 for p in country_of if country_of[p])
    print(f"places_signs: {len(event_of)} photos in {len(events)} events; visits (city, day) "
          f"kept whole {whole}/{len(visits)} ({whole / len(visits):.1%}); country purity "
          f"{pure}/{labelled} ({pure / labelled:.1%})")
    for e in events[:8]:
        print(f"  {e.name} ({e.photos})")
    print("  ...")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    args = parser.parse_args()
    print(describe_machine())
    synthetic(args.photos)
    shared_set(Path(args.datasets))


if __name__ == "__main__":
    main()
