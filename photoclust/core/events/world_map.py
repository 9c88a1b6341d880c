"""A map of where the photos were taken, drawn offline: the Qt-free half (the GUI's
``gui/views/world_map.py`` draws it).

- **Outlines**: Natural Earth's country outlines (public domain) as the npm package
  ``world-atlas`` 2.0.2 ships them (TopoJSON, ISC), vendored in ``photoclust/resources/world``
  at two scales: 1:110m (38 KB, 8,246 points) for the world and 1:50m (230 KB, 80,617 points)
  once zoomed in (docs/places.md). ``load_outlines`` decodes them; a missing or damaged file is
  one sentence (``MapDataError``). No network, no tiles.
- **Projection**: Web Mercator in degrees: ``x`` is the longitude and ``y`` the Mercator
  ordinate scaled to degrees, so the world is the square -180..180 on both axes (latitudes
  beyond +/-85.05 are clamped, as on every web map) and shapes are true near any point.
- **Positions**: the present photos' GPS positions (``read_positions``), binned on a square grid
  per zoom level (``PositionIndex.clusters``: level ``L`` has cells of ``360 / 2**L`` map
  units); a level is binned once with numpy (tens of milliseconds at 100,000 photos) and kept,
  so panning costs milliseconds. A cluster is drawn at the mean of its photos, its dot growing
  with the logarithm of its count (``dot_radius``); ``hit`` finds the dot under a click with the
  same radius.
"""
from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
from sqlalchemy import Float, func, select

from photoclust.core.events.queries import PlaceCount
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Photo, PhotoStatus, PhotoWhenWhere

OUTLINES_DIR = Path(__file__).resolve().parent.parent.parent / "resources" / "world"
OUTLINE_FILES = {"110m": "countries-110m.json.gz", "50m": "countries-50m.json.gz"}
#: The latitude where Web Mercator's square world ends.
MAX_LAT = 85.0511287798066
#: Dots are binned in cells of this many pixels at most (half of it at least).
CELL_PX = 48.0
MAX_LEVEL = 22  # cells of 360 / 2**22 degrees: about 10 m
#: Dots of neighbouring cells closer than this share of a cell become one (``_bin``).
MERGE_CELLS = 0.75


class MapDataError(RuntimeError):
    """The map's outline data cannot be read; the message is one sentence for the user."""


# --- projection ---------------------------------------------------------------------------
def project(lon, lat):
    """Map units (``x``, ``y``) of positions in degrees (numbers or arrays): ``y`` grows to
    the north."""
    lat = np.clip(np.asarray(lat, dtype=np.float64), -MAX_LAT, MAX_LAT)
    y = np.degrees(np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)))
    return np.asarray(lon, dtype=np.float64), y


def unproject(x, y):
    """Longitude and latitude of map units (the inverse of ``project``)."""
    lat = np.degrees(2 * np.arctan(np.exp(np.radians(np.asarray(y, dtype=np.float64))))
                     - np.pi / 2)
    return np.asarray(x, dtype=np.float64), lat


@dataclass
class Viewport:
    """What the map shows: ``width`` x ``height`` pixels around the map point ``cx``, ``cy``
    at ``scale`` pixels per map unit. Screen ``y`` grows downwards."""

    width: float
    height: float
    cx: float = 10.0
    cy: float = 30.0
    scale: float = 1.0
    max_scale: float = 20000.0  # pixels per degree: about 5 m a pixel

    def min_scale(self) -> float:
        """The whole world fits (a little margin)."""
        return 0.95 * min(self.width, self.height) / 360.0 if self.width and self.height else 1.0

    def to_screen(self, x, y):
        return ((np.asarray(x) - self.cx) * self.scale + self.width / 2,
                (self.cy - np.asarray(y)) * self.scale + self.height / 2)

    def to_map(self, sx: float, sy: float) -> tuple[float, float]:
        return ((sx - self.width / 2) / self.scale + self.cx,
                self.cy - (sy - self.height / 2) / self.scale)

    def visible(self) -> tuple[float, float, float, float]:
        """The map units on screen: ``(x0, y0, x1, y1)``, ``y0`` the south edge."""
        x0, y1 = self.to_map(0, 0)
        x1, y0 = self.to_map(self.width, self.height)
        return x0, y0, x1, y1

    def _clamp(self) -> None:
        self.scale = min(max(self.scale, self.min_scale()), self.max_scale)
        # The centre stays on the world (never a screen of empty sea beyond it).
        half_w, half_h = self.width / 2 / self.scale, self.height / 2 / self.scale
        self.cx = float(np.clip(self.cx, -180 + min(half_w, 180), 180 - min(half_w, 180)))
        self.cy = float(np.clip(self.cy, -180 + min(half_h, 180), 180 - min(half_h, 180)))

    def resize(self, width: float, height: float) -> None:
        self.width, self.height = float(width), float(height)
        self._clamp()

    def zoom_at(self, sx: float, sy: float, factor: float) -> None:
        """Zoom by ``factor`` keeping the map point under the pixel ``sx``, ``sy`` there."""
        x, y = self.to_map(sx, sy)
        self.scale *= factor
        self._clamp()
        self.cx = x - (sx - self.width / 2) / self.scale
        self.cy = y + (sy - self.height / 2) / self.scale
        self._clamp()

    def pan(self, dx: float, dy: float) -> None:
        """Move the map by ``dx``, ``dy`` pixels (as when dragged)."""
        self.cx -= dx / self.scale
        self.cy += dy / self.scale
        self._clamp()

    def fit(self, x0: float, y0: float, x1: float, y1: float, margin_px: float = 40.0,
            max_scale: float | None = None) -> None:
        """Show the map rectangle ``x0..x1``, ``y0..y1`` (map units) whole."""
        w = max(x1 - x0, 1e-9)
        h = max(y1 - y0, 1e-9)
        usable_w = max(self.width - 2 * margin_px, 1.0)
        usable_h = max(self.height - 2 * margin_px, 1.0)
        self.scale = min(usable_w / w, usable_h / h, max_scale or self.max_scale)
        self.cx, self.cy = (x0 + x1) / 2, (y0 + y1) / 2
        self._clamp()

    def fit_world(self) -> None:
        self.scale, self.cx, self.cy = self.min_scale(), 0.0, 0.0
        self._clamp()


# --- outlines -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Country:
    """A country's outline: ``rings`` in map units (``project``), outer rings and holes alike
    (fill them with the even-odd rule); ``bounds`` is ``(x0, y0, x1, y1)``."""

    name: str
    code: str  # ISO 3166-1 numeric ("620" Portugal), "" where Natural Earth gives none
    rings: tuple[np.ndarray, ...] = field(repr=False)
    bounds: tuple[float, float, float, float]


def _decode_arcs(topology: dict) -> list[np.ndarray]:
    """The arcs as arrays of longitude, latitude (quantized, delta-encoded in the file)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        a = np.asarray(arc, dtype=np.float64).reshape(-1, 2)
        if transform:
            a = np.cumsum(a, axis=0) * np.asarray(transform["scale"], dtype=np.float64) \
                + np.asarray(transform["translate"], dtype=np.float64)
        arcs.append(a)
    return arcs


def _ring(arcs: list[np.ndarray], indices: list[int]) -> np.ndarray:
    parts = []
    for n, i in enumerate(indices):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if n == 0 else a[1:])  # consecutive arcs share their end points
    return np.concatenate(parts) if parts else np.empty((0, 2))


def _unwrap(lon: np.ndarray) -> np.ndarray:
    """Longitudes without the jump of 360 degrees where a ring crosses the date line."""
    jumps = np.diff(lon)
    fix = np.where(jumps > 180, -360.0, np.where(jumps < -180, 360.0, 0.0))
    # A ring around the pole (Antarctica) crosses once without coming back: left as it is.
    if not fix.any() or fix.sum() != 0:
        return lon
    return lon + np.concatenate([[0.0], np.cumsum(fix)])


def decode_countries(topology: dict) -> list[Country]:
    """The countries of a ``world-atlas`` TopoJSON topology (its ``countries`` object)."""
    if topology.get("type") != "Topology":
        raise ValueError("not a TopoJSON topology")
    arcs = _decode_arcs(topology)
    countries = []
    for g in topology["objects"]["countries"]["geometries"]:
        if g.get("type") == "Polygon":
            polygons = [g["arcs"]]
        elif g.get("type") == "MultiPolygon":
            polygons = g["arcs"]
        else:
            continue  # a geometry without a shape
        rings = []
        for polygon in polygons:
            for ring in polygon:
                lonlat = _ring(arcs, [int(i) for i in ring])
                if len(lonlat) >= 3:
                    x, y = project(_unwrap(lonlat[:, 0]), lonlat[:, 1])
                    rings.append(np.column_stack([x, y]))
                    # A ring across the date line (Russia's Chukotka, Fiji) runs on past 180
                    # (or -180): drawn again one world over, each copy clipped to the world.
                    if x.max() > 180:
                        rings.append(np.column_stack([x - 360, y]))
                    if x.min() < -180:
                        rings.append(np.column_stack([x + 360, y]))
        if not rings:
            continue
        every = np.concatenate(rings)
        bounds = (float(every[:, 0].min()), float(every[:, 1].min()),
                  float(every[:, 0].max()), float(every[:, 1].max()))
        countries.append(Country(str((g.get("properties") or {}).get("name") or ""),
                                 str(g.get("id") or ""), tuple(rings), bounds))
    if not countries:
        raise ValueError("no countries")
    return countries


@lru_cache(maxsize=4)
def load_outlines(detail: str = "110m", folder: str | Path | None = None) -> tuple[Country, ...]:
    """The country outlines at ``detail`` ("110m" or "50m"), read once per process (110m:
    about 0.05 s; 50m: about 0.3 s); ``MapDataError`` when the file is missing or damaged."""
    path = Path(folder or OUTLINES_DIR) / OUTLINE_FILES[detail]
    try:
        with gzip.open(path, "rb") as fh:
            topology = json.loads(fh.read())
        return tuple(decode_countries(topology))
    except FileNotFoundError:
        raise MapDataError(f"The world map's outline data is missing ({path}): reinstall "
                           "photoclust to get it back.") from None
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError,
            AttributeError) as exc:
        raise MapDataError(f"The world map's outline data ({path}) is damaged "
                           f"({type(exc).__name__}): reinstall photoclust to get it "
                           "back.") from None


def detail_for(scale: float) -> str:
    """The outlines to draw at ``scale`` pixels per map unit: 1:110m for the world and
    continents, 1:50m from about a country's size on screen."""
    return "110m" if scale < 12 else "50m"


# --- positions ----------------------------------------------------------------------------
def dot_radius(count):
    """A cluster's dot in pixels: 5 for one photo, growing with the logarithm of the count
    (about 11 for 100, 17 for 10,000, 20 for 100,000)."""
    return 5.0 + 3.0 * np.log10(np.maximum(np.asarray(count, dtype=np.float64), 1.0))


def level_for(scale: float) -> int:
    """The binning level for ``scale`` pixels per map unit: cells of ``CELL_PX / 2`` to
    ``CELL_PX`` pixels."""
    if scale <= 0:
        return 0
    return int(min(max(math.ceil(math.log2(360.0 * scale / CELL_PX)), 0), MAX_LEVEL))


@dataclass(frozen=True)
class Clusters:
    """The photos of one level binned: cluster ``i`` is drawn at ``x[i]``, ``y[i]`` (the mean of
    its photos, map units) with ``count[i]`` photos; its photos are
    ``PositionIndex.photo_ids[order[start[i]:start[i] + count[i]]]``."""

    level: int
    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    start: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    def in_view(self, x0: float, y0: float, x1: float, y1: float, margin: float = 0.0
                ) -> np.ndarray:
        """Indices of the clusters inside the rectangle (widened by ``margin`` map units)."""
        return np.flatnonzero((self.x >= x0 - margin) & (self.x <= x1 + margin)
                              & (self.y >= y0 - margin) & (self.y <= y1 + margin))


class PositionIndex:
    """Photos' positions, binned per zoom level on demand (each level once)."""

    def __init__(self, photo_ids: Iterable[int], lat: Iterable[float], lon: Iterable[float]):
        self.photo_ids = np.asarray(list(photo_ids) if not isinstance(photo_ids, np.ndarray)
                                    else photo_ids, dtype=np.int64)
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        keep = valid_positions(lat, lon)
        self.photo_ids, lat, lon = self.photo_ids[keep], lat[keep], lon[keep]
        self.lat, self.lon = lat, lon
        self.x, self.y = project(lon, lat)
        self._levels: dict[int, Clusters] = {}

    def __len__(self) -> int:
        return len(self.photo_ids)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(x0, y0, x1, y1)`` of the photos in map units; ``None`` without any."""
        if not len(self):
            return None
        return (float(self.x.min()), float(self.y.min()), float(self.x.max()),
                float(self.y.max()))

    def clusters(self, level: int) -> Clusters:
        level = int(min(max(level, 0), MAX_LEVEL))
        found = self._levels.get(level)
        if found is None:
            found = self._levels[level] = self._bin(level)
        return found

    def _bin(self, level: int) -> Clusters:
        n = 2 ** level
        cell = 360.0 / n
        ix = np.clip(((self.x + 180.0) / cell).astype(np.int64), 0, n - 1)
        iy = np.clip(((self.y + 180.0) / cell).astype(np.int64), 0, n - 1)
        keys = iy * n + ix
        cells, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        x = np.bincount(inverse, weights=self.x) / count
        y = np.bincount(inverse, weights=self.y) / count
        # A group of photos at a corner of the grid falls into up to four cells, whose dots
        # would lie on top of each other: cells whose means are closer than MERGE_CELLS of a
        # cell become one dot (the largest takes its neighbours).
        into = _merge_close(cells, n, x, y, count, MERGE_CELLS * cell)
        if into is not None:
            _kept, inverse, count = np.unique(into[inverse], return_inverse=True,
                                              return_counts=True)
            inverse = inverse.ravel()
            x = np.bincount(inverse, weights=self.x) / count
            y = np.bincount(inverse, weights=self.y) / count
        order = np.argsort(inverse, kind="stable")  # each cluster's photos in the index's order
        start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        return Clusters(level, x, y, count.astype(np.int64), start, order)

    def photos_in(self, clusters: Clusters, i: int) -> list[int]:
        """The photos of cluster ``i`` of ``clusters``, in the index's order."""
        s = int(clusters.start[i])
        return self.photo_ids[clusters.order[s:s + int(clusters.count[i])]].tolist()

    def hit(self, clusters: Clusters, view: Viewport, sx: float, sy: float,
            slack_px: float = 3.0) -> int | None:
        """The cluster whose dot is under the pixel ``sx``, ``sy`` (the nearest centre when dots
        overlap), or ``None``."""
        if not len(clusters):
            return None
        px, py = view.to_screen(clusters.x, clusters.y)
        d = np.hypot(px - sx, py - sy)
        inside = d <= dot_radius(clusters.count) + slack_px
        if not inside.any():
            return None
        d = np.where(inside, d, np.inf)
        return int(np.argmin(d))


def _merge_close(cells: np.ndarray, n: int, x: np.ndarray, y: np.ndarray, count: np.ndarray,
                 radius: float) -> np.ndarray | None:
    """For each cluster (of the sorted grid ``cells``, ``n`` to a row), the cluster it joins
    (itself when none): clusters within ``radius`` (less than a cell) of a larger one in a
    neighbouring cell join it, largest first. ``None`` when no two are that close."""
    if len(count) < 2:
        return None
    ix, iy = cells % n, cells // n
    found = []
    for dx, dy in ((1, 0), (-1, 1), (0, 1), (1, 1)):  # each neighbouring pair once
        nx, ny = ix + dx, iy + dy
        ok = (nx >= 0) & (nx < n) & (ny < n)
        pos = np.searchsorted(cells, ny * n + nx)
        pos = np.minimum(pos, len(cells) - 1)
        hit = ok & (cells[pos] == ny * n + nx)
        i, j = np.flatnonzero(hit), pos[hit]
        close = np.hypot(x[i] - x[j], y[i] - y[j]) < radius
        found.append(np.column_stack([i[close], j[close]]))
    pairs = np.concatenate(found)
    if not len(pairs):
        return None
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(len(count) + 1))
    into = np.arange(len(count))
    taken = np.zeros(len(count), dtype=bool)
    involved = np.unique(pairs)
    for i in involved[np.argsort(-count[involved], kind="stable")].tolist():
        if taken[i]:
            continue
        taken[i] = True
        for j in both[starts[i]:starts[i + 1], 1].tolist():
            if not taken[j]:
                taken[j] = True
                into[j] = i
    return into


def valid_positions(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``places.valid_position`` for arrays: finite, in range and not 0, 0."""
    with np.errstate(invalid="ignore"):
        return (np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
                & ~((np.abs(lat) < 1e-6) & (np.abs(lon) < 1e-6)))


def read_positions(library: Library) -> PositionIndex:
    """The present photos with a usable GPS position (in the order of their ids; a dot's
    photos are put in time order when shown: ``in_time_order``)."""
    with library.session() as s:
        # On the connection (Core, not the ORM's row loading: 0.3 s less on 100,000 photos).
        rows = s.connection().execute(
            select(Photo.id, Photo.gps_lat, Photo.gps_lon)
            .where(Photo.status == PhotoStatus.PRESENT, Photo.gps_lat.is_not(None),
                   Photo.gps_lon.is_not(None))
            .order_by(Photo.id)).all()
    if not rows:
        return PositionIndex([], [], [])
    # Column by column: numpy reads 100,000 SQLAlchemy rows as one array slowly (2 s).
    ids, lat, lon = zip(*rows)
    return PositionIndex(np.fromiter(ids, dtype=np.int64, count=len(ids)),
                         np.fromiter(lat, dtype=np.float64, count=len(lat)),
                         np.fromiter(lon, dtype=np.float64, count=len(lon)))


def in_time_order(library: Library, photo_ids: Iterable[int]) -> list[int]:
    """The photos, oldest first (the user's time shift applied; photos without a time last)."""
    jd = (func.julianday(Photo.taken_at, type_=Float)
          + func.coalesce(PhotoWhenWhere.time_shift_s, 0) / 86400.0)
    keyed: list[tuple[bool, float, int]] = []
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            rows = s.execute(select(Photo.id, jd)
                             .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                             .where(Photo.id.in_(part)))
            keyed.extend((when is None, when or 0.0, pid) for pid, when in rows)
    keyed.sort()
    return [pid for _none, _when, pid in keyed]


def places_of_photos(library: Library, photo_ids: Iterable[int]) -> list[PlaceCount]:
    """The named places of the photos with their number of photos, most first; photos without a
    place name yet are left out."""
    counts: dict[tuple[str, str | None, str | None], int] = {}
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            rows = s.execute(
                select(PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                       PhotoWhenWhere.place_country_code, func.count())
                .where(PhotoWhenWhere.photo_id.in_(part),
                       PhotoWhenWhere.place_city.is_not(None))
                .group_by(PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                          PhotoWhenWhere.place_country_code))
            for city, country, code, n in rows:
                key = (city or "", country, code)
                counts[key] = counts.get(key, 0) + n
    places = [PlaceCount(city, country, code, n) for (city, country, code), n in counts.items()]
    places.sort(key=lambda p: (-p.photos, p.name))
    return places


def describe_places(places: list[PlaceCount]) -> str:
    """"Lisbon, Portugal", "Lisbon, Portugal and 2 other places", or "" without a name."""
    if not places:
        return ""
    first = f"{places[0].name}, {places[0].country}" if places[0].country else places[0].name
    others = len(places) - 1
    if not others:
        return first
    return f"{first} and {others} other place{'s' if others != 1 else ''}"
