"""The read side of time and place, shared by the CLI and the app: events, places, the timeline
(years and months with counts) and each photo's time and place. Plain frozen dataclasses."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import case, func, select

from photoclust.core.edits.corrections import ShiftTimes
from photoclust.core.events import place_names
from photoclust.core.events.grouping import place_label
from photoclust.core.library import Library
from photoclust.core.library.capture_time import FILE_TIME, iso_time
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import (
    EditEvent,
    Event,
    EventPhoto,
    Photo,
    PhotoStatus,
    PhotoWhenWhere,
    Source,
)

_PRESENT = PhotoStatus.PRESENT
_JULIAN_EPOCH = 2440587.5  # julianday('1970-01-01')


def _from_julian(value: float | None) -> datetime | None:
    if value is None:
        return None
    return (datetime(1970, 1, 1) + timedelta(days=float(value) - _JULIAN_EPOCH)).replace(
        microsecond=0)


def _shifted_julian():
    """A photo's time as a Julian day, the user's shift applied (SQL expression)."""
    return (func.julianday(Photo.taken_at)
            + func.coalesce(PhotoWhenWhere.time_shift_s, 0) / 86400.0)


@dataclass(frozen=True)
class EventInfo:
    """An event with photos. ``source``: ``user`` when the user named it or placed any of its
    photos, else ``auto``."""

    id: int
    name: str
    start: datetime | None
    end: datetime | None
    place: str | None
    photos: int
    source: str
    cover_photo_id: int | None

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
                "place": self.place, "photos": self.photos, "source": self.source}


def _event_query():
    jd = _shifted_julian()
    user = func.max(case((EventPhoto.source == Source.USER, 1), else_=0))
    return (select(Event.id, Event.name, Event.name_source, func.min(jd), func.max(jd),
                   func.count(EventPhoto.photo_id), user, func.min(Photo.id))
            .join(EventPhoto, EventPhoto.event_id == Event.id)
            .join(Photo, Photo.id == EventPhoto.photo_id)
            .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
            .where(Event.active.is_(True), Photo.status == _PRESENT)
            .group_by(Event.id))


def _places_of_events(s, event_ids: list[int] | None) -> dict[int, str | None]:
    """The place label of each event (of all events with ``None``: one grouped pass)."""
    cities: dict[int, list[str | None]] = defaultdict(list)
    countries: dict[int, list[str | None]] = defaultdict(list)
    regions: dict[int, list[str | None]] = defaultdict(list)
    query = (select(EventPhoto.event_id, PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                    PhotoWhenWhere.place_region, func.count())
             .join(Photo, Photo.id == EventPhoto.photo_id)
             .join(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
             .where(Photo.status == _PRESENT, PhotoWhenWhere.place_city.is_not(None))
             .group_by(EventPhoto.event_id, PhotoWhenWhere.place_city,
                       PhotoWhenWhere.place_country, PhotoWhenWhere.place_region))
    parts = [None] if event_ids is None else list(chunks(event_ids))
    for part in parts:
        rows = s.execute(query if part is None else query.where(EventPhoto.event_id.in_(part)))
        for event_id, city, country, region, n in rows:
            cities[event_id].extend([city] * n)
            countries[event_id].extend([country] * n)
            regions[event_id].extend([region] * n)
    return {eid: place_label(cities[eid], countries[eid], regions[eid]) for eid in cities}


def list_events(library: Library, event_ids: Iterable[int] | None = None) -> list[EventInfo]:
    """Active events with present photos, oldest first (all, or those of ``event_ids``)."""
    query = _event_query()
    with library.session() as s:
        if event_ids is None:
            rows = s.execute(query).all()
        else:
            rows = []
            for part in chunks(sorted(set(event_ids))):
                rows.extend(s.execute(query.where(Event.id.in_(part))).all())
        places = _places_of_events(s, None if event_ids is None else [r[0] for r in rows])
    out = [EventInfo(eid, name, _from_julian(first), _from_julian(last), places.get(eid), n,
                     Source.USER if name_source == Source.USER or user else Source.AUTO, cover)
           for eid, name, name_source, first, last, n, user, cover in rows]
    out.sort(key=lambda e: (e.start or datetime.max, e.id))
    return out


def event_info(library: Library, event_id: int) -> EventInfo | None:
    found = list_events(library, [event_id])
    return found[0] if found else None


def event_photo_ids(library: Library, event_id: int) -> list[int]:
    """The present photos of an event, in time order."""
    with library.session() as s:
        return list(s.scalars(
            select(Photo.id).join(EventPhoto, EventPhoto.photo_id == Photo.id)
            .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
            .where(EventPhoto.event_id == int(event_id), Photo.status == _PRESENT)
            .order_by(_shifted_julian(), Photo.id)))


@dataclass(frozen=True)
class PlaceCount:
    name: str
    country: str | None
    country_code: str | None
    photos: int

    def to_json(self) -> dict:
        return {"name": self.name, "country": self.country, "photos": self.photos}


def list_places(library: Library) -> list[PlaceCount]:
    """Named places with their number of present photos, most photos first."""
    with library.session() as s:
        rows = s.execute(
            select(PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                   PhotoWhenWhere.place_country_code, func.count())
            .join(Photo, Photo.id == PhotoWhenWhere.photo_id)
            .where(Photo.status == _PRESENT, PhotoWhenWhere.place_city.is_not(None))
            .group_by(PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                      PhotoWhenWhere.place_country_code)).all()
    places = [PlaceCount(city or "", country, code, n) for city, country, code, n in rows]
    places.sort(key=lambda p: (-p.photos, p.name))
    return places


def photos_awaiting_places(library: Library) -> int:
    """Present photos with a usable GPS position whose place is not named yet (Organize's events
    step names them; ``index`` alone does not): for "run organize" hints."""
    from photoclust.core.events.places import valid_position

    with library.session() as s:
        rows = s.execute(
            select(Photo.gps_lat, Photo.gps_lon)
            .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
            .where(Photo.status == _PRESENT, Photo.gps_lat.is_not(None),
                   PhotoWhenWhere.photo_id.is_(None)
                   | Photo.gps_lat.is_distinct_from(PhotoWhenWhere.place_lat)
                   | Photo.gps_lon.is_distinct_from(PhotoWhenWhere.place_lon))).all()
    return sum(1 for lat, lon in rows if valid_position(lat, lon))


def timeline_months(library: Library) -> list[tuple[int, int, int]]:
    """``(year, month, photos)`` for every month with present photos, oldest first. A photo whose
    only time is its file's (a guess: often the day it was copied) is left out, as it is from
    events: a folder of scans would otherwise fill the month it was copied in."""
    jd = _shifted_julian()
    month = func.strftime("%Y-%m", jd)
    with library.session() as s:
        rows = s.execute(select(month, func.count())
                         .select_from(Photo)
                         .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                         .where(Photo.status == _PRESENT, Photo.taken_at.is_not(None),
                                PhotoWhenWhere.taken_source.is_(None)
                                | (PhotoWhenWhere.taken_source != FILE_TIME))
                         .group_by(month).order_by(month)).all()
    return [(int(ym[:4]), int(ym[5:7]), n) for ym, n in rows if ym]


def timeline_years(library: Library) -> list[tuple[int, int]]:
    """``(year, photos)`` for every year with present photos, oldest first."""
    years: Counter = Counter()
    for year, _month, n in timeline_months(library):
        years[year] += n
    return sorted(years.items())


@dataclass(frozen=True)
class WhenWhere:
    """A photo's time and place as the app and ``photos --json`` show them."""

    taken: str | None
    taken_source: str | None
    lat: float | None
    lon: float | None
    place: str | None
    event_id: int | None

    def to_json(self) -> dict:
        return {"taken": self.taken, "taken_source": self.taken_source, "lat": self.lat,
                "lon": self.lon, "place": self.place}


def when_where(library: Library, photo_ids: Iterable[int]) -> dict[int, WhenWhere]:
    """Time (ISO 8601, with its offset when known, the user's shift applied) and place of each
    photo."""
    out: dict[int, WhenWhere] = {}
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            rows = s.execute(
                select(Photo.id, Photo.taken_at, Photo.gps_lat, Photo.gps_lon,
                       PhotoWhenWhere.taken_offset_min, PhotoWhenWhere.taken_source,
                       PhotoWhenWhere.time_shift_s, PhotoWhenWhere.place_city,
                       PhotoWhenWhere.place_country, EventPhoto.event_id)
                .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                .outerjoin(EventPhoto, EventPhoto.photo_id == Photo.id)
                .where(Photo.id.in_(part)))
            for pid, taken, lat, lon, offset, source, shift, city, country, event_id in rows:
                if taken is not None and shift:
                    taken = taken + timedelta(seconds=shift)
                place = f"{city}, {country}" if city and country else city
                out[pid] = WhenWhere(iso_time(taken, offset), source, lat, lon, place, event_id)
    return out


def photos_taken_in(library: Library, year: int | None = None, month: int | None = None,
                    place_words: Iterable[str] = (), event_ids: Iterable[int] = ()) -> set[int]:
    """Present photos taken in ``year`` (and ``month``), at a place whose city, region or
    country contains every word of ``place_words`` (case-insensitive), and in one of
    ``event_ids`` when given; each condition only when given."""
    jd = _shifted_julian()
    query = (select(Photo.id).outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
             .where(Photo.status == _PRESENT))
    if year is not None:
        query = query.where(func.strftime("%Y", jd) == f"{int(year):04d}")
    if month is not None:
        query = query.where(func.strftime("%m", jd) == f"{int(month):02d}")
    for word in place_words:
        pattern = f"%{word.lower()}%"
        query = query.where(
            func.lower(PhotoWhenWhere.place_city).like(pattern)
            | func.lower(PhotoWhenWhere.place_region).like(pattern)
            | func.lower(PhotoWhenWhere.place_country).like(pattern)
            | (func.lower(PhotoWhenWhere.place_country_code) == word.lower()))
    events = sorted(set(event_ids))
    if events:
        query = query.join(EventPhoto, EventPhoto.photo_id == Photo.id).where(
            EventPhoto.event_id.in_(events))
    with library.session() as s:
        return set(s.scalars(query))


def shifted_year_months(library: Library) -> dict[int, tuple[int, int]]:
    """``photo id -> (year, month)`` of the present photos whose time the user shifted
    (``shift-time``), the shift applied; ``(0, 0)`` when the photo has no time. For search's
    date words, whose index holds the times as the photos say them. Usually empty.

    Only a ``time_shift`` edit (done, undone or redone) writes ``time_shift_s``, so a library
    whose history has none has no shifted photo: that is asked of the small history first
    (a scan of every photo's row took 70-150 ms of each date word's search at a million)."""
    with library.session() as s:
        if s.scalar(select(EditEvent.id).where(EditEvent.kind == ShiftTimes.kind).limit(1)) is None:
            return {}
    jd = _shifted_julian()
    query = (select(Photo.id, func.strftime("%Y", jd), func.strftime("%m", jd))
             .join(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
             .where(Photo.status == _PRESENT, PhotoWhenWhere.time_shift_s != 0))
    out: dict[int, tuple[int, int]] = {}
    with library.session() as s:
        for pid, year, month in s.execute(query):
            try:
                out[pid] = (int(year), int(month))
            except (TypeError, ValueError):
                out[pid] = (0, 0)
    return out


def known_place_words(library: Library) -> set[str]:
    """Lower-case words of every named city, region and country (for search)."""
    words: set[str] = set()
    with library.session() as s:
        for row in s.execute(select(PhotoWhenWhere.place_city, PhotoWhenWhere.place_region,
                                    PhotoWhenWhere.place_country).distinct()):
            for value in row:
                if value:
                    words.add(value.lower())
                    words.update(value.lower().split())
    return words


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


#: Events named by a search word get one explanation each up to this many; more share one.
_EVENTS_EXPLAINED = 20


def photos_named_by(library: Library, text: str) -> list[tuple[set[int], str]]:
    """Present photos whose place (city, region or country) or event name holds every word of
    ``text`` (whole words, any case), as ``(photo ids, why)``: one entry for the places, one per
    event (one for all when many); none when nothing matches. For search ("Lisbon 2023",
    "Copenhagen dog")."""
    wanted = set(_words(text))
    if not wanted:
        return []
    out: list[tuple[set[int], str]] = []
    with library.session() as s:
        places = s.execute(select(PhotoWhenWhere.place_city, PhotoWhenWhere.place_region,
                                  PhotoWhenWhere.place_country).distinct()
                           .where(PhotoWhenWhere.place_city.is_not(None))).all()
        matched = []
        named: set[str] = set()
        # Other forms of the names (Cologne for Köln, Danmark for Denmark): place_names.py.
        said = place_names.normal_form(text)
        city_forms = place_names.cities_called(said)
        for city, region, country in places:
            code = place_names.country_code(country)  # (the index holds no codes)
            fields = [v for v in (city, region, country) if v]
            if wanted <= set(_words(" ".join(fields))):
                matched.append((city, region, country))
                # Say it with the field the words name ("Sweden", not its towns).
                named.add(next((v for v in fields if wanted <= set(_words(v))), city or ""))
            elif city_forms and (code, place_names.normal_form(city or "")) in city_forms:
                matched.append((city, region, country))
                named.add(city or "")
            elif said in place_names.country_names(code):
                matched.append((city, region, country))
                named.add(country or code or "")
        if matched:
            wanted_places = set(matched)
            ids: set[int] = {
                pid for pid, *place in s.execute(
                    select(PhotoWhenWhere.photo_id, PhotoWhenWhere.place_city,
                           PhotoWhenWhere.place_region, PhotoWhenWhere.place_country)
                    .join(Photo, Photo.id == PhotoWhenWhere.photo_id)
                    .where(Photo.status == _PRESENT, PhotoWhenWhere.place_city.is_not(None)))
                if tuple(place) in wanted_places}
            names = sorted(named)
            shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
            out.append((ids, f"place: {shown}"))
        # SQLite's lower() and LIKE know only ASCII letters: each word's longest ASCII part
        # narrows the events down (never out), the words themselves decide.
        query = select(Event.id, Event.name).where(Event.active.is_(True))
        for word in wanted:
            part = max(re.findall(r"[a-z0-9]+", word), key=len, default="")
            if len(part) >= 2:
                query = query.where(func.lower(Event.name).like(f"%{part}%"))
        events = [(eid, name) for eid, name in s.execute(query)
                  if wanted <= set(_words(name))]
        members: dict[int, set[int]] = defaultdict(set)
        for part in chunks([eid for eid, _ in events]):
            for pid, eid in s.execute(select(EventPhoto.photo_id, EventPhoto.event_id)
                                      .join(Photo, Photo.id == EventPhoto.photo_id)
                                      .where(EventPhoto.event_id.in_(part),
                                             Photo.status == _PRESENT)):
                members[eid].add(pid)
        if len(events) <= _EVENTS_EXPLAINED:
            out.extend((members[eid], f"event: {name}") for eid, name in events)
        else:
            out.append((set().union(*members.values()),
                        f"event: {len(events)} events named {text.strip()}"))
    return [(ids, why) for ids, why in out if ids]


def places_and_events(library: Library, photo_ids: Iterable[int]
                      ) -> dict[int, tuple[str | None, str | None, str | None]]:
    """``{photo_id: (city, country, event name)}`` of the photos with a place or an event (for
    XMP sidecars)."""
    out: dict[int, tuple[str | None, str | None, str | None]] = {}
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            rows = s.execute(
                select(Photo.id, PhotoWhenWhere.place_city, PhotoWhenWhere.place_country,
                       Event.name)
                .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                .outerjoin(EventPhoto, EventPhoto.photo_id == Photo.id)
                .outerjoin(Event, (Event.id == EventPhoto.event_id) & Event.active.is_(True))
                .where(Photo.id.in_(part)))
            for pid, city, country, event in rows:
                if city or country or event:
                    out[pid] = (city, country, event)
    return out


def event_albums(library: Library, event_ids: Iterable[int] | None = None
                 ) -> tuple[dict[int, str], list[tuple]]:
    """For an export per event: ``{event_id: name}`` of the active events (those asked for, or
    all with present photos) and their present photos as ``(photo_id, path, event_id, source,
    content_hash, file_size, mtime_ns)``, by event and time."""
    with library.session() as s:
        query = select(Event.id, Event.name).where(Event.active.is_(True))
        if event_ids is not None:
            query = query.where(Event.id.in_(sorted(set(event_ids))))
        names = dict(s.execute(query).all())
        rows = s.execute(
            select(Photo.id, Photo.path, EventPhoto.event_id, EventPhoto.source,
                   Photo.content_hash, Photo.file_size, Photo.mtime_ns)
            .join(EventPhoto, EventPhoto.photo_id == Photo.id)
            .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
            .where(Photo.status == _PRESENT, EventPhoto.event_id.in_(sorted(names)))
            .order_by(EventPhoto.event_id, _shifted_julian(), Photo.id)).all()
    if event_ids is None:
        with_photos = {row[2] for row in rows}
        names = {eid: name for eid, name in names.items() if eid in with_photos}
    return names, [tuple(row) for row in rows]
