"""The shared set places_signs for the place benches (``places.py``, ``places_variants.py``): its
photos with GPS, and whether a place named for one is the photographer's (the country, and the
city in its local or English form: tests/core/test_events.py's table)."""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "core"))

from photoclust.core.imaging import ImageMetadata, read_metadata  # noqa: E402


def add_datasets_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))


def photos_with_gps(datasets: str) -> tuple[list[dict], list[tuple[dict, ImageMetadata]]] | None:
    """places_signs' rows (``places.csv``) and those of its photos with a GPS position, each
    with its metadata; ``None`` where the set is not under ``datasets``."""
    root = Path(datasets) / "places_signs"
    if not (root / "places.csv").exists():
        return None
    with open(root / "places.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    metas = [(row, read_metadata(root / "photos" / row["file"])) for row in rows]
    return rows, [(row, m) for row, m in metas if m.gps_lat is not None]


def right_place(row: dict, city: str | None, country_code: str | None) -> tuple[bool, bool]:
    """Whether a photo's place (``city`` in the country ``country_code``) is the
    photographer's (``row``): the country right, and the city and country right."""
    from test_events import CITY_FORMS, COUNTRY_CODES

    country = country_code == COUNTRY_CODES.get(row["country"])
    return country, country and (city == row["city"] or city in CITY_FORMS.get(row["city"], ()))
