"""The Timeline page over a real library: photos with EXIF times and GPS positions written by
the test, indexed and grouped into events by the core; years, months, events and places with
their counts, finding a trip by its city, jumping to a date, renaming and merging events with
the window's Undo."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from _pages import open_page_with_history, page_requests
from PIL import ExifTags
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from helpers import make_exif, write_jpeg
from photoclust.core.events import queries
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library.scan import ScanJob
from photoclust.gui.pages import timeline
from photoclust.gui.pages.timeline import TimelinePage

LISBON = (38.7223, -9.1393)
KOLN = (50.9375, 6.9603)


def photo(folder, name, when: datetime, gps=None, color=(200, 30, 30)):
    exif = make_exif(taken_at=when, gps=gps)
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = "+01:00"
    return write_jpeg(folder / name, color=color, exif=exif)


@pytest.fixture
def trips(library, tmp_path):
    """Köln at Christmas 2022 (2 photos), Lisbon in July 2023 (3 photos in a morning), and an
    afternoon at home in September 2023 without GPS (2 photos)."""
    folder = tmp_path / "photos"
    for i in range(2):
        photo(folder, f"koln{i}.jpg", datetime(2022, 12, 24, 15) + timedelta(hours=i), KOLN,
              (30, 30 + 40 * i, 200))
    for i in range(3):
        photo(folder, f"lisbon{i}.jpg", datetime(2023, 7, 14, 10) + timedelta(hours=2 * i),
              LISBON, (200, 40 * i, 30))
    for i in range(2):
        photo(folder, f"home{i}.jpg", datetime(2023, 9, 3, 16) + timedelta(minutes=20 * i),
              None, (30, 200, 40 * i))
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    return library


def open_timeline(qtbot, library):
    return open_page_with_history(qtbot, TimelinePage, library, "timelineShown")


def wait_edit(qtbot, page, action):
    with qtbot.waitSignal(page.timelineShown, timeout=10000):
        with qtbot.waitSignal(page.state.edited, timeout=10000):
            action()
    qtbot.waitUntil(lambda: page.state.edits_in_flight == 0 and page.is_idle(), timeout=10000)


def shown_events(page) -> list[tuple[str, int]]:
    return [(e.name, e.photos) for e in page.event_model.events]


def event_of_city(page, city):
    return next(e for e in page.snapshot.events if e.place and e.place.startswith(city))


def test_the_timeline_lists_years_months_events_and_places_with_counts(qtbot, trips):
    _state, page, _history = open_timeline(qtbot, trips)
    years = {page.when.topLevelItem(i).text(0): page.when.topLevelItem(i).text(1)
             for i in range(page.when.topLevelItemCount())}
    assert years == {"2022": "2", "2023": "5"}
    y2023 = next(page.when.topLevelItem(i) for i in range(page.when.topLevelItemCount())
                 if page.when.topLevelItem(i).text(0) == "2023")
    assert [(y2023.child(i).text(0), y2023.child(i).text(1))
            for i in range(y2023.childCount())] == [("July", "3"), ("September", "2")]
    assert [e.photos for e in page.event_model.events] == [2, 3, 2]  # oldest first
    lisbon = event_of_city(page, "Lisbon")
    assert lisbon.photos == 3
    text = page.event_model.data(page.event_model.index(1))
    assert "Lisbon" in text
    assert text.split("\n")[1].startswith("3 photos  ·  Fri 14 Jul 2023")
    places = [(page.places.topLevelItem(i).text(0), page.places.topLevelItem(i).text(1))
              for i in range(page.places.topLevelItemCount())]
    assert places == [("Lisbon, Portugal", "3"), ("Köln, Germany", "2")]
    # The newest event is open, its photos shown.
    assert page.current_event_id == page.snapshot.events[-1].id
    qtbot.waitUntil(lambda: page.photo_model.rowCount() == 2, timeout=5000)


def test_find_a_trip_by_its_city_open_it_and_rename_it_then_undo(qtbot, trips):
    _state, page, history = open_timeline(qtbot, trips)
    QTest.keyClicks(page.find_field, "lisbon")
    assert [e.photos for e in page.event_model.events] == [3]
    lisbon = page.event_model.events[0]
    assert page.current_event_id == lisbon.id
    qtbot.waitUntil(lambda: page.photo_model.rowCount() == 3, timeout=5000)
    page.event_name.setFocus()
    page.event_name.setText("Summer in Lisbon")
    wait_edit(qtbot, page, lambda: QTest.keyClick(page.event_name, Qt.Key.Key_Return))
    assert queries.event_info(trips, lisbon.id).name == "Summer in Lisbon"
    assert shown_events(page) == [("Summer in Lisbon", 3)]  # still found by its city
    wait_edit(qtbot, page, history.undo)
    assert queries.event_info(trips, lisbon.id).name == lisbon.name


def test_a_place_shows_its_events_and_a_date_jumps_to_its_event(qtbot, trips):
    _state, page, _history = open_timeline(qtbot, trips)
    koln = page.places.topLevelItem(1)
    page.places.itemClicked.emit(koln, 0)
    assert [e.photos for e in page.event_model.events] == [2]
    assert page.event_model.events[0].place.startswith("Köln")
    row = page.jump_to(date(2023, 8, 1))  # after Lisbon: the afternoon at home
    assert page.place_filter is None and len(page.event_model.events) == 3
    assert row == 2 and page.current_event_id == page.snapshot.events[2].id
    assert page.jump_to(date(2023, 7, 14)) == 1  # the day of Lisbon
    assert page.jump_to(date(2023, 7, 15)) == 2


def test_merge_selected_events_then_undo(qtbot, trips):
    _state, page, history = open_timeline(qtbot, trips)
    flag = page.events.selectionModel().SelectionFlag.Select
    page.events.setCurrentIndex(page.event_model.index(1))
    page.events.selectionModel().select(page.event_model.index(2), flag)
    assert page.merge_action.isEnabled()
    target = page.current_event_id
    wait_edit(qtbot, page, page.merge_action.trigger)
    assert [e.photos for e in page.event_model.events] == [2, 5]
    assert page.current_event_id == target
    wait_edit(qtbot, page, history.undo)
    assert [e.photos for e in page.event_model.events] == [2, 3, 2]


def test_the_page_reads_through_the_grouped_queries_once(qtbot, trips, monkeypatch):
    """One read on the reader thread: the grouped queries, not one query per event."""
    calls = []
    for name in ("list_events", "timeline_months", "list_places", "photo_files"):
        real = getattr(timeline, name)
        monkeypatch.setattr(timeline, name, lambda *a, _r=real, _n=name, **k:
                            calls.append(_n) or _r(*a, **k))
    monkeypatch.setattr(queries, "event_info", lambda *a, **k: pytest.fail("per-event read"))
    _state, page, _history = open_timeline(qtbot, trips)
    # The events, months and places in one read; then the covers' files in one more.
    assert sorted(calls[:3]) == ["list_events", "list_places", "timeline_months"]
    assert calls[3] == "photo_files"
    qtbot.waitUntil(lambda: len(page.snapshot.covers) == 3, timeout=5000)


def test_event_covers_are_square_whatever_the_photo(qtbot, library, tmp_path):
    folder = tmp_path / "photos"
    for i, size in enumerate(((90, 160), (160, 90))):  # a portrait and a landscape photo
        exif = make_exif(taken_at=datetime(2023, 3, 1 + 10 * i, 12), gps=LISBON)
        write_jpeg(folder / f"p{i}.jpg", size=size, color=(200, 30, 30), exif=exif)
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    _state, page, _history = open_timeline(qtbot, library)
    model = page.event_model
    assert model.rowCount() == 2
    qtbot.waitUntil(lambda: len(page.snapshot.covers) == 2, timeout=5000)

    def covers():
        return [model.data(model.index(r), Qt.ItemDataRole.DecorationRole) for r in range(2)]

    def red(c) -> bool:  # the photo, not the grey placeholder
        colour = c.pixelColor(c.width() // 2, c.height() // 2)
        return colour.red() > 150 and colour.green() < 100

    qtbot.waitUntil(lambda: all(red(c) for c in covers()), timeout=10000)
    assert [(c.width(), c.height()) for c in covers()] == [(72, 72), (72, 72)]


def test_enter_on_an_events_photo_opens_the_viewer_over_the_events_photos(qtbot, trips):
    state, page, _history = open_timeline(qtbot, trips)
    requests = page_requests(qtbot, state)
    page.select_row(1)  # Lisbon
    qtbot.waitUntil(lambda: page.photo_model.rowCount() == 3, timeout=5000)
    page.photos.setFocus()
    page.photos.setCurrentIndex(page.photo_model.index(1))
    QTest.keyClick(page.photos, Qt.Key.Key_Return)
    ids = page.photo_model.photo_ids()
    assert requests == [("viewer", {"photo_id": ids[1], "photo_ids": ids, "back": "timeline"})]
