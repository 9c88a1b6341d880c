"""``EventsJob``: Organize's "when and where" step.

1. Photos indexed before capture times were kept (an upgraded library) get theirs: the file's
   header is read again (``capture_time``).
2. Photos whose GPS position has no place name yet (or changed) get one (``places.geocoder``);
   a photo without GPS, or with an unusable position, has none. When the place data cannot be
   loaded, the step says so in one sentence and goes on without places.
3. Photos in no event are grouped (``grouping.group_moments`` over all photos, so a new photo
   lands in the event of the photos taken around it): a photo already in an event is never moved
   (the user's merges, splits and moves stay), new photos join the event of the nearest photo
   of their group, and a group of new photos only founds a new event. Events named
   automatically are renamed from their photos' places and dates; the user's names are kept.
"""
from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from photoclust.core.events.grouping import Moment, event_name, group_moments, home_of, place_label
from photoclust.core.events.places import GeocoderError, geocoder, valid_position
from photoclust.core.imaging import ImageError, read_metadata
from photoclust.core.jobs import Job, JobContext
from photoclust.core.library.capture_time import FILE_TIME, capture_time
from photoclust.core.library.chunks import chunks
from photoclust.core.library.db import WRITE_LOCK, Library
from photoclust.core.library.models import (
    Base,
    Event,
    EventPhoto,
    Photo,
    PhotoStatus,
    PhotoWhenWhere,
    Source,
    utcnow,
)

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1)
_BATCH = 500


@dataclass
class EventsResult:
    times_read: int = 0
    places_named: int = 0
    events_created: int = 0
    photos_grouped: int = 0
    #: One sentence when places could not be named (missing or damaged place data).
    note: str | None = None

    def to_json(self) -> dict:
        return {"times_read": self.times_read, "places_named": self.places_named,
                "events_created": self.events_created, "photos_grouped": self.photos_grouped,
                "note": self.note}


def seconds(value: datetime) -> float:
    return (value - _EPOCH).total_seconds()


class EventsJob(Job[EventsResult]):
    """See the module docstring."""

    title = "Finding events"

    def __init__(self, library: Library, places: bool = True):
        self.library = library
        self.places = places

    def prepare(self) -> None:
        pass

    def run(self, ctx: JobContext) -> EventsResult:
        result = EventsResult()
        ctx.report(0, 3, "capture times")
        result.times_read = self._read_missing_times(ctx)
        ctx.raise_if_cancelled()
        if self.places:
            ctx.report(1, 3, "places")
            try:
                result.places_named = self._name_places(ctx)
            except GeocoderError as exc:
                result.note = str(exc)
                log.warning("%s", exc)
        ctx.raise_if_cancelled()
        ctx.report(2, 3, "events")
        result.events_created, result.photos_grouped = self._group(
            names_may_change=result.places_named > 0)
        ctx.report(3, 3, "done")
        return result

    # -- 1. capture times of photos indexed before they were kept ------------------------------

    def _read_missing_times(self, ctx: JobContext) -> int:
        with self.library.session() as s:
            todo = s.execute(
                select(Photo.id, Photo.path, Photo.mtime_ns)
                .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                .where(PhotoWhenWhere.photo_id.is_(None), Photo.status == PhotoStatus.PRESENT)
            ).all()
        for start in range(0, len(todo), _BATCH):
            ctx.raise_if_cancelled()
            rows, times = [], []
            for pid, path, mtime_ns in todo[start:start + _BATCH]:
                try:
                    tags = read_metadata(path).time_tags
                except (ImageError, OSError):
                    tags = None
                found = capture_time(tags, path, mtime_ns)
                rows.append({"photo_id": pid, "taken_offset_min": found.offset_minutes,
                             "taken_source": found.source, "taken_note": found.note,
                             "time_shift_s": 0})
                times.append({"id": pid, "taken_at": found.taken})
            with self.library.session() as s:
                s.connection(execution_options=WRITE_LOCK)
                s.execute(insert(PhotoWhenWhere).prefix_with("OR IGNORE"), rows)
                s.execute(update(Photo), times)
            ctx.report(start + len(rows), len(todo), "capture times")
        return len(todo)

    # -- 2. places ------------------------------------------------------------------------------

    def _name_places(self, ctx: JobContext) -> int:
        with self.library.session() as s:
            # The place of each position is kept with the position it was named for (also for
            # unusable positions, named none): only new or changed positions are looked up.
            stale = s.execute(
                select(Photo.id, Photo.gps_lat, Photo.gps_lon)
                .join(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                .where(Photo.status == PhotoStatus.PRESENT,
                       Photo.gps_lat.is_distinct_from(PhotoWhenWhere.place_lat)
                       | Photo.gps_lon.is_distinct_from(PhotoWhenWhere.place_lon))).all()
        if not stale:
            return 0
        usable = [(pid, lat, lon) for pid, lat, lon in stale if valid_position(lat, lon)]
        places = geocoder().lookup([(float(lat), float(lon)) for _, lat, lon in usable
                                    if lat is not None and lon is not None]) if usable else []
        named = dict(zip((pid for pid, _, _ in usable), places))
        updates = []
        for pid, lat, lon in stale:
            place = named.get(pid)
            updates.append({
                "pid": pid, "place_lat": lat, "place_lon": lon,
                "place_city": place.city if place else None,
                "place_region": place.region if place else None,
                "place_country_code": place.country_code if place else None,
                "place_country": place.country if place else None})
        table = Base.metadata.tables[PhotoWhenWhere.__tablename__]
        statement = update(table).where(table.c.photo_id == bindparam("pid")).values(
            {name: bindparam(name) for name in updates[0] if name != "pid"})
        for start in range(0, len(updates), 5000):
            ctx.raise_if_cancelled()
            with self.library.session() as s:
                s.connection(execution_options=WRITE_LOCK).execute(
                    statement, updates[start:start + 5000])
        return sum(1 for u in updates if u["place_city"] is not None)

    # -- 3. events ------------------------------------------------------------------------------

    def _group(self, names_may_change: bool = False) -> tuple[int, int]:
        with self.library.session() as s:
            s.connection(execution_options=WRITE_LOCK)
            waiting = s.scalar(
                select(Photo.id).outerjoin(EventPhoto, EventPhoto.photo_id == Photo.id)
                .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
                .where(Photo.status == PhotoStatus.PRESENT, Photo.taken_at.is_not(None),
                       _TIME_SAID_BY_PHOTO, EventPhoto.photo_id.is_(None)).limit(1))
            if waiting is None and not names_may_change:  # nothing new to group or to name
                return 0, 0
            photos = load_moments(s)
            if not photos:
                return 0, 0
            members = dict(s.execute(select(EventPhoto.photo_id, EventPhoto.event_id)).all())
            moments = [p.moment for p in photos]
            groups = group_moments(moments, home_of(moments))
            changed_events: set[int] = set()
            new_rows: list[dict] = []
            new_events: list[dict] = []
            next_id = int(s.scalar(select(func.max(Event.id))) or 0) + 1
            for group in groups:
                in_event = [i for i in group if photos[i].photo_id in members]
                new = [i for i in group if photos[i].photo_id not in members]
                if not new:
                    continue
                if in_event:
                    times = [moments[j].time for j in in_event]  # sorted: groups are
                    for i in new:
                        at = bisect.bisect_left(times, moments[i].time)
                        nearest = min(in_event[max(0, at - 1):at + 1],
                                      key=lambda j: abs(moments[j].time - moments[i].time))
                        event_id = members[photos[nearest].photo_id]
                        new_rows.append({"photo_id": photos[i].photo_id, "event_id": event_id,
                                         "source": Source.AUTO})
                        changed_events.add(event_id)
                else:
                    new_events.append({"id": next_id, "name": "", "name_source": Source.AUTO,
                                       "active": True, "created_at": utcnow()})
                    changed_events.add(next_id)
                    new_rows.extend({"photo_id": photos[i].photo_id, "event_id": next_id,
                                     "source": Source.AUTO} for i in new)
                    next_id += 1
            for part in range(0, len(new_events), 5000):
                s.execute(insert(Event), new_events[part:part + 5000])
            for part in range(0, len(new_rows), 5000):
                s.execute(insert(EventPhoto), new_rows[part:part + 5000])
            for row in new_rows:
                members[row["photo_id"]] = row["event_id"]
            # The events that gained photos are named again; all of them when places changed.
            rename_auto_events(s, changed_events | (set(members.values()) if names_may_change
                                                    else set()), photos, members)
        return len(new_events), len(new_rows)


#: Photos whose time is only their file's (a guess: the day they were copied, often) form no
#: event: a folder of scans or downloads would otherwise be one event "6 December 2026" (found in
#: the new-user walk). The user can still move them into an event.
_TIME_SAID_BY_PHOTO = or_(PhotoWhenWhere.taken_source.is_(None),
                          PhotoWhenWhere.taken_source != FILE_TIME)


class PhotoMoment(NamedTuple):
    photo_id: int
    taken: datetime
    city: str | None
    country: str | None
    moment: Moment
    region: str | None = None


def load_moments(s: Session, photo_ids: list[int] | None = None) -> list[PhotoMoment]:
    """Present photos with a capture time, sorted by their time (the user's shift applied)."""
    query = (select(Photo.id, Photo.taken_at, Photo.gps_lat, Photo.gps_lon,
                    PhotoWhenWhere.time_shift_s, PhotoWhenWhere.place_city,
                    PhotoWhenWhere.place_country, PhotoWhenWhere.place_region)
             .outerjoin(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
             .where(Photo.status == PhotoStatus.PRESENT, Photo.taken_at.is_not(None),
                    _TIME_SAID_BY_PHOTO))
    rows: list = []
    if photo_ids is None:
        rows = list(s.execute(query).all())
    else:
        for part in chunks(sorted(set(photo_ids))):
            rows.extend(s.execute(query.where(Photo.id.in_(part))).all())
    out = []
    rows.sort(key=lambda row: (row[1] + timedelta(seconds=row[4] or 0), row[0]))
    for pid, taken, lat, lon, shift, city, country, region in rows:
        taken = taken + timedelta(seconds=shift or 0)
        usable = valid_position(lat, lon)
        out.append(PhotoMoment(pid, taken, city, country,
                               Moment(pid, seconds(taken), lat if usable else None,
                                      lon if usable else None), region))
    return out


def rename_auto_events(s: Session, event_ids: set[int], photos: list[PhotoMoment] | None = None,
                       members: dict[int, int] | None = None) -> list[tuple[int, str, str]]:
    """Name each automatically named event among ``event_ids`` from its photos' places and
    dates; the user's names stay. Returns ``(event_id, old name, new name)`` of those renamed."""
    if not event_ids:
        return []
    auto: dict[int, str] = {}
    for part in chunks(sorted(event_ids)):
        auto.update(s.execute(select(Event.id, Event.name).where(
            Event.id.in_(part), Event.name_source == Source.AUTO)).all())
    if not auto:
        return []
    if photos is None or members is None:
        members = {}
        for part in chunks(sorted(auto)):
            members.update(s.execute(select(EventPhoto.photo_id, EventPhoto.event_id)
                                     .where(EventPhoto.event_id.in_(part))).all())
        photos = load_moments(s, list(members))
    by_event: dict[int, list[PhotoMoment]] = defaultdict(list)
    for p in photos:
        event_id = members.get(p.photo_id)
        if event_id in auto:
            by_event[event_id].append(p)
    renamed = []
    for event_id, items in by_event.items():
        place = place_label([p.city for p in items], [p.country for p in items],
                            [p.region for p in items])
        name = event_name(place, items[0].taken, items[-1].taken)
        if name != auto[event_id]:
            renamed.append((event_id, auto[event_id], name))
    if renamed:
        table = Base.metadata.tables[Event.__tablename__]
        s.connection().execute(
            update(table).where(table.c.id == bindparam("eid")).values(name=bindparam("new")),
            [{"eid": eid, "new": new} for eid, _old, new in renamed])
    return renamed
