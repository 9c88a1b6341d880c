"""Photos into events by time and place, and event names ("Lisbon, 14–21 July 2023").

Photos sorted by their time (local wall-clock time, the user's shift applied) are cut where the
gap between two photos is longer than ``GAP_HOURS``: an evening, a day out. A trip is one event
however long it lasts: while the photos stay away from home (more than ``AWAY_KM`` from it) and
near each other (the next within ``TRIP_KM``), gaps of up to ``TRIP_GAP_DAYS`` are bridged.
Home is where most photos were taken (the fullest ``HOME_CELL_DEG`` cell). A photo without a
position is taken where the photo before it was (phones lose GPS indoors).
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import NamedTuple, Sequence

import numpy as np

GAP_HOURS = 6.0
TRIP_GAP_DAYS = 3.0
AWAY_KM = 50.0
TRIP_KM = 400.0
HOME_CELL_DEG = 0.5
EARTH_KM = 6371.0

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


class Moment(NamedTuple):
    """A photo's time (seconds since the epoch of its local wall-clock time) and position."""

    photo_id: int
    time: float
    lat: float | None = None
    lon: float | None = None


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def home_of(moments: Sequence[Moment]) -> tuple[float, float] | None:
    """The mean position of the fullest ``HOME_CELL_DEG`` cell (``None`` without positions)."""
    placed = [(m.lat, m.lon) for m in moments if m.lat is not None and m.lon is not None]
    if not placed:
        return None
    cells = Counter((math.floor(lat / HOME_CELL_DEG), math.floor(lon / HOME_CELL_DEG))
                    for lat, lon in placed)
    cell = cells.most_common(1)[0][0]
    inside = [(lat, lon) for lat, lon in placed
              if (math.floor(lat / HOME_CELL_DEG), math.floor(lon / HOME_CELL_DEG)) == cell]
    return (float(np.mean([p[0] for p in inside])), float(np.mean([p[1] for p in inside])))


def group_moments(moments: Sequence[Moment], home: tuple[float, float] | None = None,
                  gap_hours: float = GAP_HOURS) -> list[list[int]]:
    """Indices into ``moments`` (which must be sorted by time), one list per event."""
    if not moments:
        return []
    gap = gap_hours * 3600.0
    trip_gap = TRIP_GAP_DAYS * 86400.0
    groups: list[list[int]] = [[0]]
    last_pos = _position(moments[0])
    for i in range(1, len(moments)):
        m, prev = moments[i], moments[i - 1]
        pos = _position(m) or last_pos
        pause = m.time - prev.time
        joined = pause <= gap
        if not joined and home is not None and pos is not None and last_pos is not None \
                and pause <= trip_gap:
            joined = (km_between(pos, home) > AWAY_KM and km_between(last_pos, home) > AWAY_KM
                      and km_between(pos, last_pos) <= TRIP_KM)
        if joined:
            groups[-1].append(i)
        else:
            groups.append([i])
        last_pos = pos
    return groups


def _position(m: Moment) -> tuple[float, float] | None:
    return (m.lat, m.lon) if m.lat is not None and m.lon is not None else None


def date_range(start: datetime, end: datetime) -> str:
    """``14 July 2023``, ``14–21 July 2023``, ``30 June – 2 July 2023``,
    ``30 December 2023 – 2 January 2024``."""
    if start.date() == end.date():
        return f"{start.day} {MONTHS[start.month - 1]} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {MONTHS[start.month - 1]} {start.year}"
    if start.year == end.year:
        return (f"{start.day} {MONTHS[start.month - 1]} – {end.day} {MONTHS[end.month - 1]} "
                f"{start.year}")
    return (f"{start.day} {MONTHS[start.month - 1]} {start.year} – {end.day} "
            f"{MONTHS[end.month - 1]} {end.year}")


def place_label(cities: Sequence[str | None], countries: Sequence[str | None],
                regions: Sequence[str | None] = ()) -> str | None:
    """The place of an event from its photos' cities, countries and regions: the city most
    photos were taken in when it has at least half of them, else the two main cities when they
    have 70 %, else the region when one has 70 %, else the country."""
    named = [c for c in cities if c]
    if not named:
        return None
    counts = Counter(named).most_common(2)
    if counts[0][1] * 2 >= len(named) or len(counts) == 1:
        return counts[0][0]
    if (counts[0][1] + counts[1][1]) * 10 >= 7 * len(named):
        return f"{counts[0][0]} and {counts[1][0]}"
    region = Counter(r for r in regions if r).most_common(1)
    if region and region[0][1] * 10 >= 7 * len(named):
        return region[0][0]
    country = Counter(c for c in countries if c).most_common(1)
    return country[0][0] if country else counts[0][0]


def event_name(place: str | None, start: datetime, end: datetime) -> str:
    dates = date_range(start, end)
    return f"{place}, {dates}" if place else dates
