"""The Timeline page's World map tab over a real library (photos with EXIF times and GPS
written by the test, indexed and named by the core): the map draws the countries and a dot per
place, a click on a dot shows its photos and leads to its events, the map zooms and pans, and
missing outline data is one sentence on the map."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from _pages import open_page, page_requests
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from helpers import make_exif, write_jpeg
from photoclust.core.events import world_map as core_map
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library.scan import ScanJob
from photoclust.gui.pages.timeline import TimelinePage
from photoclust.gui.views import world_map as view_module

LISBON = (38.7223, -9.1393)
KOLN = (50.9375, 6.9603)


@pytest.fixture
def trips(library, tmp_path):
    """Köln at Christmas 2022 (2 photos), Lisbon in July 2023 (3), home without GPS (1)."""
    folder = tmp_path / "photos"
    shots = [(f"koln{i}.jpg", datetime(2022, 12, 24, 15) + timedelta(hours=i),
               (KOLN[0], KOLN[1] + 0.003 * i)) for i in range(2)]  # a few hundred metres apart
    shots += [(f"lisbon{i}.jpg", datetime(2023, 7, 14, 10) + timedelta(hours=2 * i),
               (LISBON[0] + 0.003 * i, LISBON[1])) for i in range(3)]
    shots += [("home.jpg", datetime(2023, 9, 3, 16), None)]
    for n, (name, when, gps) in enumerate(shots):
        write_jpeg(folder / name, color=(40 * n, 200 - 20 * n, 90),
                   exif=make_exif(taken_at=when, gps=gps))
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    return library


def open_map(qtbot, library):
    state, page = open_page(qtbot, TimelinePage, library)
    with qtbot.waitSignal(page.timelineShown, timeout=10000):
        page.activate()
    with qtbot.waitSignal(page.map_panel.positionsShown, timeout=10000):
        page.show_map()
    qtbot.waitUntil(page.is_idle, timeout=10000)
    return state, page, page.map_panel


def colour_near(image, point: QPointF, colour: QColor, radius: int = 3) -> bool:
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            c = image.pixelColor(int(point.x()) + dx, int(point.y()) + dy)
            if max(abs(c.red() - colour.red()), abs(c.green() - colour.green()),
                   abs(c.blue() - colour.blue())) <= 40:
                return True
    return False


def test_the_map_draws_countries_and_a_dot_per_place(qtbot, trips):
    _state, page, panel = open_map(qtbot, trips)
    view = panel.map
    assert page.views.tabText(page.views.currentIndex()) == "World map"
    assert panel.summary.text().startswith("5 photos with a GPS position")
    clusters = view.clusters()
    assert sorted(clusters.count.tolist()) == [2, 3]  # Köln and Lisbon, the photo at home none
    image = view.grab().toImage()
    lisbon, koln = view.screen_point(*LISBON), view.screen_point(*KOLN)
    for city in (lisbon, koln):
        assert 0 < city.x() < view.width() and 0 < city.y() < view.height()
        assert colour_near(image, city, view_module.DOT, radius=1)
    # Land between them (France, inland), sea between them (the Bay of Biscay).
    assert colour_near(image, view.screen_point(46.5, 2.5), view_module.LAND, radius=0)
    assert colour_near(image, view.screen_point(45.0, -4.0), view_module.SEA, radius=0)
    assert view.error is None


def test_a_click_on_a_dot_shows_its_photos_and_leads_to_its_events(qtbot, trips):
    state, page, panel = open_map(qtbot, trips)
    view = panel.map
    with qtbot.waitSignal(panel.placeShown, timeout=10000):
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.screen_point(*KOLN).toPoint())
    assert panel.photo_model.rowCount() == 2
    assert panel.place_title.text() == "2 photos taken in Köln, Germany"
    assert all(r.path.split("/")[-1].startswith("koln") for r in panel.photo_model.rows())
    koln_ids = set(panel.photo_model.photo_ids())
    assert view.selected_dots(view.clusters()).sum() == 1  # Köln's dot is ringed
    view.zoom(4096.0, view.screen_point(*KOLN))  # its photos apart: each one's dot is ringed
    clusters = view.clusters()
    ringed = view.selected_dots(clusters)
    assert len(clusters) == 5 and ringed.sum() == 2
    assert {pid for i in ringed.nonzero()[0] for pid in view.index.photos_in(clusters, i)} \
        == koln_ids
    QTest.keyClick(view, Qt.Key.Key_0)
    # A click on the sea selects nothing new.
    QTest.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=view.screen_point(45.0, -4.0).toPoint())
    assert panel.photo_model.rowCount() == 2
    # A double-click on a photo opens it in the viewer over the place's photos.
    seen = page_requests(qtbot, state)
    first = panel.photo_model.index(0)
    panel.photos.doubleClicked.emit(first)
    assert seen[-1][0] == "viewer" and seen[-1][1]["back"] == "timeline"
    assert seen[-1][1]["photo_ids"] == panel.photo_model.photo_ids()
    # Its events, on the Events tab (as the Places list shows them).
    assert panel.events_button.isEnabled()
    QTest.mouseClick(panel.events_button, Qt.MouseButton.LeftButton)
    assert page.views.currentWidget() is page.splitter
    assert page.place_filter == "Köln"
    assert [e.photos for e in page.event_model.events] == [2]


def test_the_map_zooms_and_pans_and_dots_split_when_zoomed_in(qtbot, trips):
    _state, _page, panel = open_map(qtbot, trips)
    view = panel.map
    view.setFocus()
    scale = view.view.scale
    QTest.keyClick(view, Qt.Key.Key_Minus)
    QTest.keyClick(view, Qt.Key.Key_Minus)
    QTest.keyClick(view, Qt.Key.Key_Minus)
    assert view.view.scale < scale
    while view.view.scale > view.view.min_scale():
        QTest.keyClick(view, Qt.Key.Key_Minus)
    assert view.view.scale == pytest.approx(view.view.min_scale())  # the whole world
    assert sum(view.clusters().count.tolist()) == 5
    QTest.keyClick(view, Qt.Key.Key_0)  # all the photos again
    assert view.view.scale == pytest.approx(scale)
    assert len(view.clusters()) == 2
    # Dragging moves the map with the pointer.
    before = view.screen_point(*LISBON)
    start = QPoint(300, 300)
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        QTest.mouseMove(view, start + QPoint(10 * step, 6 * step))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(50, 30))
    after = view.screen_point(*LISBON)
    assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx((50, 30), abs=1)
    assert panel.photo_model.rowCount() == 0  # a drag is no click
    # Zooming in at Lisbon keeps it under the pointer, until its photos are dots of their own.
    for _ in range(16):
        point = view.screen_point(*LISBON)
        view.zoom(2.0, point)
        assert view.screen_point(*LISBON).x() == pytest.approx(point.x(), abs=0.5)
    assert view.view.scale > 10_000
    assert len(view.clusters()) == 5


def test_missing_outline_data_is_one_sentence_on_the_map(qtbot, trips, monkeypatch):
    def missing(detail="110m", folder=None):
        raise core_map.MapDataError("The world map's outline data is missing (/x): reinstall "
                                    "photoclust to get it back.")

    monkeypatch.setattr(view_module, "load_outlines", missing)
    _state, _page, panel = open_map(qtbot, trips)
    view = panel.map
    view.grab()
    assert view.error == ("The world map's outline data is missing (/x): reinstall photoclust "
                          "to get it back.")
    # The dots are still there to click.
    with qtbot.waitSignal(panel.placeShown, timeout=10000):
        QTest.mouseClick(view, Qt.MouseButton.LeftButton,
                         pos=view.screen_point(*LISBON).toPoint())
    assert panel.photo_model.rowCount() == 3


def test_the_map_reads_again_when_the_library_changes(qtbot, trips, tmp_path):
    state, _page, panel = open_map(qtbot, trips)
    folder = tmp_path / "more"
    write_jpeg(folder / "porto.jpg", exif=make_exif(taken_at=datetime(2024, 5, 1, 12),
                                                     gps=(41.1579, -8.6291)))
    ScanJob(trips, [folder]).run(JobContext())
    view = panel.map
    with qtbot.waitSignal(panel.placeShown, timeout=10000):
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.screen_point(*KOLN).toPoint())
    with qtbot.waitSignal(panel.positionsShown, timeout=10000):
        state.photosChanged.emit()
    assert len(view.index) == 6
    clusters = view.clusters()
    ringed = view.selected_dots(clusters)
    assert ringed.sum() == 1  # Köln's photos are still the ones ringed
    assert set(view.index.photos_in(clusters, int(ringed.argmax()))) == \
        set(panel.photo_model.photo_ids())


def test_the_positions_are_read_while_the_events_are_looked_at(qtbot, trips):
    _state, page = open_page(qtbot, TimelinePage, trips)
    with qtbot.waitSignal(page.map_panel.positionsShown, timeout=10000):
        page.activate()
    qtbot.waitUntil(page.is_idle, timeout=10000)
    assert page.views.currentWidget() is page.splitter
    page.show_map()  # no read: the dots are there at once, fitted to the photos
    assert page.reads.is_idle()
    page.map_panel.map.grab()
    assert sorted(page.map_panel.map.clusters().count.tolist()) == [2, 3]


def test_photos_with_a_place_but_no_date_are_on_the_map_without_events(qtbot, library,
                                                                        tmp_path):
    """A library whose photos carry GPS but no time of their own has no events: the page opens
    on the World map instead of only saying "No events yet", so their places can be seen."""
    folder = tmp_path / "scans"
    for i in range(2):
        write_jpeg(folder / f"gps{i}.jpg", color=(60 * i, 90, 200),
                   exif=make_exif(gps=(LISBON[0] + 0.002 * i, LISBON[1])))
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    state, page = open_page(qtbot, TimelinePage, library)
    with qtbot.waitSignal(page.timelineShown, timeout=10000):
        page.activate()
    assert page.stack.currentWidget() is page.views
    assert page.views.currentWidget() is page.map_panel
    assert "No events yet" in page.filter_label.text()
    qtbot.waitUntil(lambda: len(page.map_panel.map.index) == 2, timeout=10000)
    assert page.map_panel.summary.text().startswith("2 photos with a GPS position")
    qtbot.waitUntil(page.is_idle, timeout=10000)
