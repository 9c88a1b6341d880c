"""The world map's Qt-free half (core/events/world_map.py): the projection and the view, the
country outlines shipped with photoclust (and one sentence when they are missing or damaged),
the photos' positions binned per zoom level, hit-testing a click, read from a real library."""
from __future__ import annotations

import gzip
import json
import math
import time
from datetime import datetime, timedelta

import numpy as np
import pytest

from helpers import make_exif, write_jpeg
from photoclust.core.events import world_map as wm
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library.queries import photo_files
from photoclust.core.library.scan import ScanJob

LISBON = (38.7223, -9.1393)
KOLN = (50.9375, 6.9603)


def test_projection_is_web_mercator_in_degrees_and_inverts():
    x, y = wm.project(0.0, 0.0)
    assert (float(x), float(y)) == pytest.approx((0.0, 0.0), abs=1e-12)
    _x, top = wm.project(0.0, wm.MAX_LAT)
    assert float(top) == pytest.approx(180.0)  # the world is the square -180..180
    _x, beyond = wm.project(0.0, 89.9)
    assert float(beyond) == pytest.approx(180.0)  # clamped, as on every web map
    lon = np.array([-179.0, -9.1393, 6.9603, 151.2])
    lat = np.array([-60.0, 38.7223, 50.9375, -33.87])
    back_lon, back_lat = wm.unproject(*wm.project(lon, lat))
    np.testing.assert_allclose(back_lon, lon)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    # Conformal: a small step north is as long on the map as the same step east (times 1/cos).
    _x, y0 = wm.project(0.0, 60.0)
    _x, y1 = wm.project(0.0, 60.001)
    assert float(y1 - y0) == pytest.approx(0.001 / math.cos(math.radians(60)), rel=1e-3)


def test_viewport_zooms_about_the_pointer_pans_and_stays_on_the_world():
    v = wm.Viewport(800, 600)
    v.fit_world()
    assert v.scale == pytest.approx(v.min_scale())
    x0, y0, x1, y1 = v.visible()
    assert x0 <= -180 and x1 >= 180 and y0 <= -180 and y1 >= 180
    lx, ly = wm.project(LISBON[1], LISBON[0])
    sx, sy = v.to_screen(lx, ly)
    v.zoom_at(float(sx), float(sy), 8.0)
    sx2, sy2 = v.to_screen(lx, ly)
    assert (float(sx2), float(sy2)) == pytest.approx((float(sx), float(sy)), abs=1e-6)
    before = v.to_map(400, 300)
    v.pan(100, -50)
    after = v.to_map(400, 300)
    assert after[0] == pytest.approx(before[0] - 100 / v.scale)
    assert after[1] == pytest.approx(before[1] - 50 / v.scale)
    v.zoom_at(400, 300, 1e-6)  # never smaller than the world
    assert v.scale == pytest.approx(v.min_scale())
    v.zoom_at(400, 300, 1e12)
    assert v.scale == v.max_scale
    v.pan(1e9, 1e9)  # never off the world
    assert -180 <= v.cx <= 180 and -180 <= v.cy <= 180
    xs, ys = wm.project([LISBON[1], KOLN[1]], [LISBON[0], KOLN[0]])
    v.fit(xs.min(), ys.min(), xs.max(), ys.max(), margin_px=50)
    for x, y in zip(xs, ys):  # both cities on screen, one of them near an edge
        sx, sy = v.to_screen(x, y)
        assert 49 <= float(sx) <= 751 and 49 <= float(sy) <= 551
    assert v.scale > 10 * v.min_scale()


@pytest.mark.parametrize("detail", ["110m", "50m"])
def test_the_shipped_outlines_load_with_their_countries(detail):
    countries = {c.name: c for c in wm.load_outlines(detail)}
    assert len(countries) >= 170
    portugal = countries["Portugal"]
    assert portugal.code == "620"
    # Évora is inside Portugal's mainland outline, and its ring is closed land (even-odd).
    lx, ly = (float(v) for v in wm.project(-7.9097, 38.5714))
    x0, y0, x1, y1 = portugal.bounds
    assert x0 <= lx <= x1 and y0 <= ly <= y1
    inside = sum(_inside(ring, lx, ly) for ring in portugal.rings) % 2
    assert inside == 1
    germany = countries["Germany"]
    kx, ky = (float(v) for v in wm.project(KOLN[1], KOLN[0]))
    assert sum(_inside(r, kx, ky) for r in germany.rings) % 2 == 1
    assert sum(_inside(r, kx, ky) for r in portugal.rings) % 2 == 0


def _inside(ring: np.ndarray, x: float, y: float) -> bool:
    """Ray casting: is the point inside the ring?"""
    xs, ys = ring[:, 0], ring[:, 1]
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)
    crosses = ((ys > y) != (yj > y)) & (x < (xj - xs) * (y - ys) / (yj - ys + 1e-300) + xs)
    return bool(crosses.sum() % 2)


def test_topojson_arcs_are_decoded_with_delta_and_reversed_arcs():
    # Two squares sharing an edge (arc 1), the second walking it backwards (~1 = -2).
    topology = {
        "type": "Topology",
        "transform": {"scale": [1.0, 1.0], "translate": [0.0, 0.0]},
        "arcs": [[[0, 0], [0, 10], [10, 0]],  # (0,0) (0,10) (10,10)
                 [[10, 10], [0, -10]],        # (10,10) (10,0)
                 [[10, 0], [-10, 0]],         # (10,0) (0,0)
                 [[10, 10], [10, 0], [0, -10], [-10, 0]]],  # (10,10) (20,10) (20,0) (10,0)
        "objects": {"countries": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1, 2]], "id": "1", "properties": {"name": "A"}},
            {"type": "MultiPolygon", "arcs": [[[3, ~1]]], "id": "2",
             "properties": {"name": "B"}},
            {"type": None, "id": "3"}]}}}
    a, b = wm.decode_countries(topology)
    lon_a, lat_a = wm.unproject(a.rings[0][:, 0], a.rings[0][:, 1])
    np.testing.assert_allclose(np.column_stack([lon_a, lat_a]),
                               [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]], atol=1e-9)
    lon_b, lat_b = wm.unproject(b.rings[0][:, 0], b.rings[0][:, 1])
    np.testing.assert_allclose(np.column_stack([lon_b, lat_b]),
                               [[10, 10], [20, 10], [20, 0], [10, 0], [10, 10]], atol=1e-9)
    assert (a.name, b.name, b.code) == ("A", "B", "2")


def test_missing_or_damaged_outline_data_is_one_sentence(tmp_path):
    with pytest.raises(wm.MapDataError, match=r"^The world map's outline data is missing "
                                              r"\(.*\): reinstall photoclust to get it back\.$"):
        wm.load_outlines("110m", str(tmp_path / "nowhere"))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / wm.OUTLINE_FILES["110m"]).write_bytes(b"\x1f\x8b not gzip at all")
    with pytest.raises(wm.MapDataError, match=r"damaged \(.*\): reinstall photoclust"):
        wm.load_outlines("110m", str(damaged))
    # Cut short, and valid JSON of the wrong shape.
    cut = tmp_path / "cut"
    cut.mkdir()
    raw = gzip.decompress((wm.OUTLINES_DIR / wm.OUTLINE_FILES["110m"]).read_bytes())
    (cut / wm.OUTLINE_FILES["110m"]).write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(wm.MapDataError, match="damaged"):
        wm.load_outlines("110m", str(cut))
    shape = tmp_path / "shape"
    shape.mkdir()
    (shape / wm.OUTLINE_FILES["50m"]).write_bytes(gzip.compress(json.dumps(
        {"type": "Topology", "arcs": [], "objects": {}}).encode()))
    with pytest.raises(wm.MapDataError, match="damaged \\(KeyError\\)"):
        wm.load_outlines("50m", str(shape))
    assert wm.load_outlines("110m")  # the shipped files are untouched


def test_positions_are_binned_per_level_with_counts_means_and_photos_in_order():
    # 3 photos in Lisbon (a few metres apart), 2 in Köln, one broken (0, 0), one out of range.
    ids = [10, 11, 12, 20, 21, 30, 31]
    lat = [LISBON[0], LISBON[0] + 1e-4, LISBON[0] - 1e-4, KOLN[0], KOLN[0] + 1e-4, 0.0, 95.0]
    lon = [LISBON[1], LISBON[1], LISBON[1] + 1e-4, KOLN[1], KOLN[1], 0.0, 10.0]
    index = wm.PositionIndex(ids, lat, lon)
    assert len(index) == 5
    world = index.clusters(0)  # one cell: the whole world
    assert world.count.tolist() == [5]
    assert index.photos_in(world, 0) == [10, 11, 12, 20, 21]
    europe = index.clusters(wm.level_for(5.0))  # a continent on screen: two dots
    assert sorted(europe.count.tolist()) == [2, 3]
    lisbon = int(np.argmax(europe.count))
    assert index.photos_in(europe, lisbon) == [10, 11, 12]
    lon_c, lat_c = wm.unproject(europe.x[lisbon], europe.y[lisbon])
    assert float(lat_c) == pytest.approx(LISBON[0], abs=1e-3)
    assert float(lon_c) == pytest.approx(LISBON[1], abs=1e-3)
    street = index.clusters(wm.MAX_LEVEL)  # ten-metre cells: every photo its own dot
    assert sorted(street.count.tolist()) == [1, 1, 1, 1, 1]
    assert index.clusters(wm.MAX_LEVEL) is street  # each level binned once


def test_levels_keep_cells_between_half_and_one_cell_size_on_screen():
    for scale in (0.5, 1.0, 3.7, 40.0, 900.0, 20000.0):
        level = wm.level_for(scale)
        cell_px = 360.0 / 2 ** level * scale
        assert wm.CELL_PX / 2 <= cell_px <= wm.CELL_PX or level in (0, wm.MAX_LEVEL)
    assert wm.level_for(0) == 0


def test_a_click_finds_the_dot_under_it_and_nothing_beside_it():
    index = wm.PositionIndex([1, 2, 3], [LISBON[0], KOLN[0], KOLN[0]],
                             [LISBON[1], KOLN[1], KOLN[1]])
    v = wm.Viewport(1000, 700)
    v.fit(*index.bounds(), margin_px=100)
    clusters = index.clusters(wm.level_for(v.scale))
    kx, ky = v.to_screen(*wm.project(KOLN[1], KOLN[0]))
    hit = index.hit(clusters, v, float(kx) + 6, float(ky) - 3)  # inside Köln's dot of 2
    assert hit is not None and index.photos_in(clusters, hit) == [2, 3]
    assert index.hit(clusters, v, float(kx) + 60, float(ky)) is None
    assert float(wm.dot_radius(2)) > float(wm.dot_radius(1))
    assert index.hit(wm.PositionIndex([], [], []).clusters(3), v, 0, 0) is None


def test_binning_100000_positions_is_fast():
    rng = np.random.default_rng(1)
    n = 100_000
    index = wm.PositionIndex(np.arange(n), rng.uniform(-60, 70, n), rng.uniform(-180, 180, n))
    start = time.perf_counter()
    for level in range(0, 12):
        index.clusters(level)
    elapsed = time.perf_counter() - start
    assert sum(index.clusters(5).count) == n
    assert elapsed < 3.0  # about 0.2 s on a shared 2-core machine


def test_positions_from_a_library_and_a_dots_photos_in_time_order_with_places(library, tmp_path):
    folder = tmp_path / "photos"
    start = datetime(2023, 7, 14, 10)
    shots = [("lisbon_late.jpg", start + timedelta(hours=3), LISBON),
             ("lisbon_early.jpg", start, LISBON),
             ("koln.jpg", start - timedelta(days=200), KOLN),
             ("no_gps.jpg", start, None),
             ("broken_gps.jpg", start, (0.0, 0.0))]
    for name, when, gps in shots:
        write_jpeg(folder / name, exif=make_exif(taken_at=when, gps=gps))
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    index = wm.read_positions(library)
    assert len(index) == 3  # without GPS, or with 0, 0: not on the map
    names = {pid: p.split("/")[-1] for pid, (_h, p) in photo_files(
        library, index.photo_ids.tolist()).items()}
    ordered = wm.in_time_order(library, index.photo_ids.tolist())
    assert [names[p] for p in ordered] == ["koln.jpg", "lisbon_early.jpg", "lisbon_late.jpg"]
    places = wm.places_of_photos(library, index.photo_ids.tolist())
    assert [(p.name, p.country, p.photos) for p in places] == [
        ("Lisbon", "Portugal", 2), ("Köln", "Germany", 1)]
    assert wm.describe_places(places) == "Lisbon, Portugal and 1 other place"
    assert wm.describe_places(places[:1]) == "Lisbon, Portugal"
    assert wm.describe_places([]) == ""


@pytest.mark.parametrize("detail", ["110m", "50m"])
def test_no_outline_jumps_across_the_world_at_the_date_line(detail):
    countries = {c.name: c for c in wm.load_outlines(detail)}
    for country in countries.values():
        for ring in country.rings:
            jumps = np.abs(np.diff(ring[:, 0])) >= 180
            # Only along the world's bottom edge (south of 84 degrees), where Antarctica's ring
            # closes at the pole.
            at_pole = (ring[:-1, 1] < -170) & (ring[1:, 1] < -170)
            assert not (jumps & ~at_pole).any(), country.name
    # Chukotka (Russia, east of 180) is drawn on both sides; Antarctica spans the world once.
    assert countries["Russia"].bounds[2] > 180 and countries["Russia"].bounds[0] < -180
    x0, _y0, x1, _y1 = countries["Antarctica"].bounds
    assert x0 == pytest.approx(-180, abs=1e-6) and 179 < x1 <= 180


def test_photos_at_a_corner_of_the_grid_are_one_dot_not_four():
    level = 10
    cell = 360.0 / 2 ** level
    corner_x, corner_y = -180.0 + 700 * cell, -180.0 + 600 * cell  # a corner of four cells
    offsets = [(-0.05, -0.05), (0.05, -0.05), (-0.05, 0.05), (0.05, 0.05), (0.04, 0.04)]
    x = np.array([corner_x + dx * cell for dx, _dy in offsets])
    y = np.array([corner_y + dy * cell for _dx, dy in offsets])
    lon, lat = wm.unproject(x, y)
    index = wm.PositionIndex(range(1, 6), lat, lon)
    clusters = index.clusters(level)
    assert clusters.count.tolist() == [5]
    assert sorted(index.photos_in(clusters, 0)) == [1, 2, 3, 4, 5]
    # Photos a whole cell apart stay apart (their dots do not overlap).
    far = wm.PositionIndex([1, 2], *wm.unproject(np.array([corner_y, corner_y + 1.5 * cell]),
                                                 np.array([corner_x, corner_x]))[::-1])
    assert far.clusters(level).count.tolist() == [1, 1]
