"""Places: how fast GPS positions are named, and how right on the shared collection.

    python bench/places.py [--n 100000]

Prints the machine, the time to load the place data (once per process), the time to name N
positions (half near real towns, half anywhere on Earth, seeded), and on the shared set
places_signs (if present) the share of photos with GPS whose city and country match the
photographer's names (local or English form: tests/core/test_events.py's table).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.events.places import Geocoder
from places_signs import add_datasets_option, photos_with_gps, right_place


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    add_datasets_option(parser)
    args = parser.parse_args()
    print(describe_machine())
    started = time.perf_counter()
    geocoder = Geocoder()
    print(f"load: {time.perf_counter() - started:.2f} s ({len(geocoder.cities):,} places)")

    rng = np.random.default_rng(0)
    towns = rng.choice(len(geocoder.cities), args.n // 2)
    near = geocoder.tree.data[towns]
    lat_t = np.degrees(np.arcsin(near[:, 2])) + rng.normal(0, 0.02, len(towns))
    lon_t = np.degrees(np.arctan2(near[:, 1], near[:, 0])) + rng.normal(0, 0.02, len(towns))
    lat_r = np.degrees(np.arcsin(rng.uniform(-1, 1, args.n - len(towns))))
    lon_r = rng.uniform(-180, 180, args.n - len(towns))
    positions = list(zip(np.clip(np.r_[lat_t, lat_r], -90, 90).tolist(),
                         np.clip(np.r_[lon_t, lon_r], -180, 180).tolist()))
    started = time.perf_counter()
    places = geocoder.lookup(positions)
    seconds = time.perf_counter() - started
    print(f"named {sum(p is not None for p in places):,} of {len(positions):,} positions in "
          f"{seconds:.2f} s ({len(positions) / seconds:,.0f} per second)")

    signs = photos_with_gps(args.datasets)
    if signs is None:
        print(f"places_signs not found under {args.datasets}: accuracy not measured")
        return
    rows, with_gps = signs
    found = geocoder.lookup([(m.gps_lat, m.gps_lon) for _, m in with_gps])
    country = city = 0
    wrong = []
    for place, (row, _) in zip(found, with_gps):
        code_ok, city_ok = ((False, False) if place is None
                            else right_place(row, place.city, place.country_code))
        country += code_ok
        city += city_ok
        if not city_ok:
            wrong.append(f"{row['city'] or '(none)'} -> {place.city if place else None}")
    n = len(with_gps)
    print(f"places_signs: {n} of {len(rows)} photos with GPS; country right {country}/{n} "
          f"({country / n:.1%}), city and country right {city}/{n} ({city / n:.1%})")
    print("wrong (photographer's name -> ours):", "; ".join(sorted(set(wrong))))


if __name__ == "__main__":
    main()
