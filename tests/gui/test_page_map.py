"""The map page: the layout computed in the background and cached, colours that follow edits,
clicks and keys that pick and open photos."""
from __future__ import annotations

import numpy as np
from _pages import message_of, open_page, page_requests
from PySide6.QtCore import Qt

from photoclust.core.clustering import editing
from photoclust.core.search.map_layout import MapLayout, cluster_of_photos
from photoclust.gui.pages.map import MapPage


def _layout_by_cluster(gui_library) -> MapLayout:
    """A hand-made layout: each cluster's photos on their own row of dots."""
    ids, xy = [], []
    for row, cid in enumerate(gui_library.cluster_ids):
        for col, pid in enumerate(gui_library.photo_ids[cid]):
            ids.append(pid)
            xy.append((col * 10.0, row * 10.0))
    ids = np.array(ids, dtype=np.int64)
    return MapLayout(ids, np.array(xy, dtype=np.float32),
                     cluster_of_photos(gui_library.library, ids))


def _page_with_layout(qtbot, gui_library):
    state, page = open_page(qtbot, MapPage, gui_library.library)
    with qtbot.waitSignal(page.mapReady):
        page.set_layout(_layout_by_cluster(gui_library))
    page.view.setFocus()
    return state, page


def test_the_map_is_laid_out_in_the_background_and_cached(qtbot, gui_library):
    library = gui_library.library
    state, page = open_page(qtbot, MapPage, library)
    with qtbot.waitSignal(page.mapReady, timeout=120000):
        page.activate()
        assert page.stack.currentWidget() is page.loading
    all_ids = sorted(i for ids in gui_library.photo_ids.values() for i in ids)
    assert sorted(page.view.photo_ids.tolist()) == all_ids
    with np.load(library.data_dir / "map-efficientnet_lite0.npz") as data:
        assert sorted(data["photo_ids"].tolist()) == all_ids
    colours = dict(zip(page.layout_data.photo_ids.tolist(), page.layout_data.cluster_ids))
    assert all(colours[p] == c for c, ids in gui_library.photo_ids.items() for p in ids)


def test_a_click_picks_the_photo_and_its_cluster(qtbot, gui_library):
    state, page = _page_with_layout(qtbot, gui_library)
    c = gui_library.cluster_ids[2]
    target = gui_library.photo_ids[c][1]
    point = page.view.mapFromScene(page.view.point_position(target))
    with qtbot.waitSignal(page.view.photoClicked) as clicked:
        qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert clicked.args == [target]
    assert state.current_cluster_id == c
    assert page.info.text().startswith("photo001.jpg · Group C")


def test_double_click_opens_the_photo_with_its_cluster_in_the_viewer(qtbot, gui_library):
    state, page = _page_with_layout(qtbot, gui_library)
    requests = page_requests(qtbot, state)
    c = gui_library.cluster_ids[1]
    target = gui_library.photo_ids[c][2]
    point = page.view.mapFromScene(page.view.point_position(target))
    qtbot.mouseDClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert requests[-1] == ("viewer", {"photo_id": target, "photo_ids": gui_library.photo_ids[c],
                                       "back": "map"})


def test_arrow_keys_walk_the_dots_and_enter_opens_one(qtbot, gui_library):
    state, page = _page_with_layout(qtbot, gui_library)
    requests = page_requests(qtbot, state)
    a, b = gui_library.cluster_ids[:2]
    qtbot.keyClick(page.view, Qt.Key.Key_Right)  # nothing chosen yet: the first photo
    assert page.view.highlighted_photo() == gui_library.photo_ids[a][0]
    qtbot.keyClick(page.view, Qt.Key.Key_Right)
    assert page.view.highlighted_photo() == gui_library.photo_ids[a][1]
    qtbot.keyClick(page.view, Qt.Key.Key_Down)  # the row below is the next cluster
    assert page.view.highlighted_photo() == gui_library.photo_ids[b][1]
    assert state.current_cluster_id == b
    qtbot.keyClick(page.view, Qt.Key.Key_Return)
    assert requests[-1][0] == "viewer" and requests[-1][1]["photo_id"] == \
        gui_library.photo_ids[b][1]


def test_colours_follow_edits(qtbot, gui_library):
    state, page = _page_with_layout(qtbot, gui_library)
    a, b = gui_library.cluster_ids[:2]
    with qtbot.waitSignal(page.mapReady, timeout=10000):
        state.run_edit(lambda: editing.merge_clusters(gui_library.library, a, [b]))
    colours = dict(zip(page.layout_data.photo_ids.tolist(), page.layout_data.cluster_ids))
    assert {colours[p] for p in gui_library.photo_ids[b]} == {a}


def test_a_library_without_embeddings_gets_a_sentence(qtbot, library):
    message = message_of(qtbot, MapPage, library)
    assert message.startswith("The map cannot be drawn yet: The map needs at least")


def test_zoom_keys(qtbot, gui_library):
    _state, page = _page_with_layout(qtbot, gui_library)
    fitted = page.view.transform().m11()
    qtbot.keyClick(page.view, Qt.Key.Key_Plus)
    assert page.view.transform().m11() > fitted
    qtbot.keyClick(page.view, Qt.Key.Key_0)
    assert abs(page.view.transform().m11() - fitted) < 1e-6
