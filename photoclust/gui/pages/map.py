"""The map page: every photo as a dot at its place on a 2-D map of likeness, coloured by cluster.

The layout is computed off the GUI thread by ``core.search.map_layout.MapLayoutJob`` (cached beside
the library, so a second visit is quick); colours follow every edit. A click (or the arrow keys,
which move to the nearest dot in that direction) picks a photo: its name and cluster show above the
map, the photo itself and its details beside it, and its cluster becomes the current one; a
double-click or Enter opens it in the viewer with the photos of its cluster (``back="map"``).
+ and - zoom, 0 fits, F5 lays the map out again.

The shell registers it like every page: ``MapPage(state)`` in its page stack under
``MapPage.name``; ``view_actions()`` (fit, lay out again) go in its View menu.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
)

from photoclust.core.library.queries import list_clusters, photo_details
from photoclust.core.search.map_layout import MapLayout, MapLayoutJob, cluster_of_photos
from photoclust.gui.pages.actions import LiveWhileShown, page_action
from photoclust.gui.pages.base import JobPage
from photoclust.gui.pages.widgets import busy_panel, message_label
from photoclust.gui.views.map_view import MapView
from photoclust.gui.views.preview import PreviewPane
from photoclust.gui.workers import run_in_background


def read_colours(library, photo_ids) -> tuple:
    """Each photo's cluster now, and the clusters' names (one read each; for 50,000 photos
    tens of milliseconds, kept off the GUI thread)."""
    return cluster_of_photos(library, photo_ids), {c.id: c.name for c in list_clusters(library)}


class MapPage(LiveWhileShown, JobPage):
    name = "map"
    title = "Map"
    failed_text = "The map cannot be drawn yet: {error}"
    stopped_text = "Stopped. Press F5 to lay out the map."

    mapReady = Signal()  # the layout is drawn

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.layout_data: MapLayout | None = None
        self._recolor_needed = False
        self._colour_request = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.view = MapView()
        self.info = QLabel("Click a dot to see its photo; double-click or Enter opens it.")
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        self.loading, self.loading_label = busy_panel("Laying out the map…")
        self.message = message_label()
        self.stack = QStackedWidget()
        for w in (self.loading, self.message, self.view):
            self.stack.addWidget(w)
        title = QLabel("Map of your photos")
        title.setObjectName("paneTitle")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.info, 1)
        # The clicked dot's photo, beside the map (its room kept from the start: the map does
        # not move under the mouse when the first photo shows).
        self.preview = PreviewPane(state.library)
        self.preview.setObjectName("mapPreview")
        self.preview.setFixedWidth(240)
        self.preview.image_label.setText("Click a dot to see its photo here.")
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.stack, 1)
        body.addWidget(self.preview)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addLayout(body, 1)

        a = page_action
        self.fit_action = a(self, "Fit the map", ["0"], self.view.fit_all, "Show the whole map")
        self.relayout_action = a(self, "Lay out again", ["F5"], self.relayout,
                                 "Compute the map afresh")
        self.view.photoClicked.connect(self._on_photo_clicked)
        self.view.photoActivated.connect(self.open_photo)
        state.photosChanged.connect(self._on_photos_changed)
        self._show("Open this page to lay out the map.")
        self.set_actions_live(self.isVisible())

    def view_actions(self) -> list[QAction]:
        return [self.fit_action, self.relayout_action]

    # --- page interface -----------------------------------------------------------------------
    def activate(self, photo_id: int | None = None, **_kwargs) -> None:
        if self.layout_data is None:
            self.compute()
        elif self._recolor_needed:
            self.recolor()
        if photo_id is not None:
            self.view.highlight_photo(int(photo_id))
        self.view.setFocus()

    def compute(self) -> None:
        if self.job_running():
            return
        from photoclust.core.embedding.store import library_model

        job = MapLayoutJob(self.state.library, library_model(self.state.library))
        self.start_job(job, self._on_layout)
        self.stack.setCurrentWidget(self.loading)

    def relayout(self) -> None:
        self.layout_data = None
        self.compute()

    def _on_layout(self, layout: MapLayout) -> None:
        self.layout_data = layout
        self.recolor()  # the names are read off the GUI thread too

    def show_message(self, message: str) -> None:
        self._show(message)

    def _show(self, message: str) -> None:
        self.message.setText(message)
        self.stack.setCurrentWidget(self.message)

    def set_layout(self, layout: MapLayout, names: dict[int, str] | None = None) -> None:
        """Draw ``layout`` coloured by its ``cluster_ids``; ``names`` (cluster id -> name)
        make the legend (read from the library when not given)."""
        self.layout_data = layout
        self._recolor_needed = False
        if names is None:
            names = {c.id: c.name for c in list_clusters(self.state.library)}
        highlighted = self.view.highlighted_photo()
        self.view.set_layout(layout.photo_ids, layout.xy, layout.cluster_ids, names)
        if highlighted is not None:
            self.view.highlight_photo(highlighted)
        self.stack.setCurrentWidget(self.view)
        self.mapReady.emit()

    def recolor(self) -> None:
        """Colour the map with the clusters as they are now (read on a worker thread)."""
        if self.layout_data is None:
            return
        self._colour_request += 1
        self._recolor_needed = False
        library, photo_ids = self.state.library, self.layout_data.photo_ids.copy()
        request = self._colour_request
        run_in_background(lambda: read_colours(library, photo_ids),
                          lambda read: self._on_coloured(request, *read),
                          pool=self._pool, owner=self)

    def _on_coloured(self, request: int, cluster_ids, names: dict) -> None:
        if request != self._colour_request or self.layout_data is None:
            return  # an older read: a newer edit's colours are on their way
        self.layout_data.cluster_ids = cluster_ids
        self.set_layout(self.layout_data, names)

    def _on_photos_changed(self) -> None:
        if self.preview.photo_id is not None:
            self.preview.refresh()  # its cluster may have been renamed or changed
        if self.isVisible():
            self.recolor()
        else:
            self._recolor_needed = True

    # --- photos -------------------------------------------------------------------------------
    def _on_photo_clicked(self, photo_id: int) -> None:
        details = photo_details(self.state.library, photo_id)
        if details is None:
            return
        cluster = details.cluster_name if details.cluster_name is not None else "no cluster"
        self.info.setText(f"{Path(details.path).name} · {cluster} · double-click or Enter opens "
                          "it")
        self.preview.show_photo(photo_id)  # the photo the hint promised
        if details.cluster_id is not None:
            self.state.set_current_cluster(details.cluster_id)

    def open_photo(self, photo_id: int) -> None:
        """The viewer on this photo, stepping through the photos of its cluster on the map."""
        ids = [int(photo_id)]
        if self.layout_data is not None:
            rows = np.nonzero(self.layout_data.photo_ids == photo_id)[0]
            if len(rows):
                cluster = self.layout_data.cluster_ids[rows[0]]
                ids = [int(p) for p in self.layout_data.photo_ids[
                    self.layout_data.cluster_ids == cluster]]
        self.state.show_page("viewer", photo_id=int(photo_id), photo_ids=ids, back="map")
