"""The map: every photo as a dot coloured by cluster; a click opens the photo."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from photoclust.gui.map_layout import MapLayout, cluster_of_photos


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


def test_map_click_opens_the_photo_in_its_cluster(window, qtbot, gui_library):
    layout = _layout_by_cluster(gui_library)
    window.center.setCurrentWidget(window.map_view)
    with qtbot.waitSignal(window.mapReady):
        window._on_map_layout(layout)  # what the layout job delivers
    c = gui_library.cluster_ids[2]
    target = gui_library.photo_ids[c][1]
    point = window.map_view.mapFromScene(window.map_view.point_position(target))
    with qtbot.waitSignal(window.map_view.photoClicked) as clicked:
        qtbot.mouseClick(window.map_view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert clicked.args == [target]
    assert window.sidebar.current_cluster_id() == c
    assert window.preview.photo_id == target


def test_map_colours_follow_edits(window, qtbot, gui_library):
    from photoclust.core import editing

    layout = _layout_by_cluster(gui_library)
    window.center.setCurrentWidget(window.map_view)
    window._on_map_layout(layout)
    a, b = gui_library.cluster_ids[:2]
    with qtbot.waitSignal(window.libraryChanged):
        window.run_edit(lambda: editing.merge_clusters(gui_library.library, a, [b]))
    colours = dict(zip(window.map_layout.photo_ids.tolist(), window.map_layout.cluster_ids))
    assert {colours[p] for p in gui_library.photo_ids[b]} == {a}


def test_map_action_computes_the_layout_in_the_background_and_caches_it(window, qtbot,
                                                                         gui_library):
    library = gui_library.library
    with qtbot.waitSignal(window.jobEnded, timeout=120000) as ended:
        window.map_action.trigger()
    assert ended.args == ["Computing the map: done."] and window.messages == []
    assert window.center.currentWidget() is window.map_view
    all_ids = sorted(i for ids in gui_library.photo_ids.values() for i in ids)
    assert sorted(window.map_view.photo_ids.tolist()) == all_ids
    cache = library.data_dir / "map-efficientnet_lite0.npz"
    with np.load(cache) as data:
        assert sorted(data["photo_ids"].tolist()) == all_ids and data["xy"].shape == (13, 2)
    colours = dict(zip(window.map_layout.photo_ids.tolist(), window.map_layout.cluster_ids))
    assert all(colours[p] == c for c, ids in gui_library.photo_ids.items() for p in ids)


def test_layout_places_photos_beyond_the_fitted_sample_near_their_neighbours():
    from photoclust.gui.map_layout import tsne_layout

    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 32)) * 10
    labels = np.repeat(np.arange(3), 40)
    X = (centers[labels] + rng.normal(size=(120, 32))).astype(np.float32)
    Y = tsne_layout(X, max_fit=60)
    assert Y.shape == (120, 2) and np.isfinite(Y).all()
    # every photo lies closer to its own group's centre on the map than to any other group's
    means = np.array([Y[labels == g].mean(0) for g in range(3)])
    nearest = np.argmin(((Y[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).all()
