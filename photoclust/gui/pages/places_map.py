"""The Timeline page's "World map" tab: where the photos were taken, on a map of the world's
countries drawn offline (``gui/views/world_map.py``), a dot per place sized by its number of
photos. A click on a dot shows its photos on the right, with the places they were taken at;
"Show its events" goes back to the events of the place, as the Places list does; a double-click
on a photo opens it in the viewer (``back="timeline"``).

The positions are read off the GUI thread (``core/events/world_map.read_positions``) once the
page's events and covers are read (or at once when the tab is chosen first), and again at each
change of the library.
"""
from __future__ import annotations

from typing import cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from photoclust.core.events.queries import PlaceCount
from photoclust.core.events.world_map import (
    MapDataError,
    PositionIndex,
    describe_places,
    in_time_order,
    load_outlines,
    places_of_photos,
    read_positions,
)
from photoclust.core.library.queries import photo_files
from photoclust.gui.models.photo_refs import PhotoRefModel, PhotoStrip, RefRow
from photoclust.gui.models.reads import Reads
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.views.world_map import WorldMapView

HINT = ("Click a dot to see the photos taken there. Drag to move the map, the wheel or + and - "
        "zoom, 0 shows all the photos.")


def read_map(library) -> PositionIndex:
    """The photos' positions, with the world's outlines loaded (once per process), so that the
    first paint only bins and draws."""
    index = read_positions(library)
    warm_outlines("110m")
    return index


def warm_outlines(detail: str) -> None:
    """Load the outlines off the GUI thread (the widget shows the error when they are
    missing or damaged)."""
    try:
        load_outlines(detail)
    except MapDataError:
        pass


def read_place_photos(library, photo_ids: list[int]) -> tuple[list[RefRow], list[PlaceCount]]:
    photo_ids = in_time_order(library, photo_ids)
    files = photo_files(library, photo_ids)
    rows = [RefRow(pid, files[pid][0], files[pid][1]) for pid in photo_ids if pid in files]
    return rows, places_of_photos(library, photo_ids)


class PlacesMapPanel(QWidget):
    positionsShown = Signal()  # the photos' positions are on the map
    placeShown = Signal()  # the photos of the dot clicked are on the right
    showEvents = Signal(str)  # "Show its events": the place's name (as the Places list gives)

    def __init__(self, state, reads: Reads, thumbnails: ThumbnailLoader, thumb_size: int,
                 parent=None):
        super().__init__(parent)
        self.state = state
        self.reads = reads
        self.read_once = False  # the positions were asked for (the tab was shown)
        self.places: list[PlaceCount] = []
        self.map = WorldMapView()
        self.summary = QLabel("Reading where the photos were taken…")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.place_title = QLabel(HINT)
        self.place_title.setObjectName("mapPlaceTitle")
        self.place_title.setWordWrap(True)
        self.photo_model = PhotoRefModel(thumbnails, self)
        self.photos = PhotoStrip(self.photo_model, thumb_size, multi_select=True)
        self.photos.setObjectName("mapPlacePhotos")
        self.events_button = QPushButton("Show its events")
        self.events_button.setObjectName("mapPlaceEvents")
        self.events_button.setToolTip("The events of this place, on the Events tab")
        self.events_button.setEnabled(False)
        self.events_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(6, 0, 0, 0)
        rbox.addWidget(self.place_title)
        rbox.addWidget(self.photos, 1)
        rbox.addWidget(self.events_button)
        left = QWidget()
        lbox = QVBoxLayout(left)
        lbox.setContentsMargins(0, 0, 0, 0)
        lbox.addWidget(self.map, 1)
        lbox.addWidget(self.summary)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([640, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.splitter)

        self.map.placeClicked.connect(self.show_photos)
        self.events_button.clicked.connect(self._show_events)
        self.photos.photoActivated.connect(
            lambda pid: state.show_page("viewer", photo_id=pid,
                                        photo_ids=self.photo_model.photo_ids(), back="timeline"))

    def read(self) -> None:
        self.read_once = True
        library = self.state.library
        self.reads.read("positions", lambda: read_map(library), self._on_positions,
                        self._on_failed)
        # The finer outlines for zooming in, read next (a few tenths of a second).
        self.reads.read("outlines", lambda: warm_outlines("50m"), lambda _r: None)

    def prefetch(self) -> None:
        """Read the positions now unless they were read (and are read again at each change)."""
        if not self.read_once:
            self.read()

    def _on_failed(self, text: str) -> None:
        self.summary.setText(f"The photos' positions could not be read: {text}")

    def _on_positions(self, index: object) -> None:
        assert isinstance(index, PositionIndex)
        first = not len(self.map.index)
        self.map.set_positions(index, fit=first)
        n = len(index)
        self.summary.setText(
            f"{n:,} photo{'s' if n != 1 else ''} with a GPS position. Map data: Natural Earth."
            if n else "No photo has a GPS position: phones and some cameras write one into "
                      "each photo (the map shows those).")
        self.positionsShown.emit()

    def show_photos(self, photo_ids: list[int]) -> None:
        """The photos of a dot, on the right (read off the GUI thread)."""
        n = len(photo_ids)
        self.place_title.setText(f"{n:,} photo{'s' if n != 1 else ''}")
        self.events_button.setEnabled(False)
        library, ids = self.state.library, list(photo_ids)
        self.reads.read("map place", lambda: read_place_photos(library, ids), self._on_photos,
                        self._on_failed)

    def _on_photos(self, result: object) -> None:
        rows, self.places = cast(tuple[list[RefRow], list[PlaceCount]], result)
        n = len(rows)
        where = describe_places(self.places)
        self.place_title.setText(f"{n:,} photo{'s' if n != 1 else ''}"
                                 + (f" taken in {where}" if where else ""))
        self.photo_model.set_rows(rows)
        self.events_button.setEnabled(bool(self.places))
        self.placeShown.emit()

    def _show_events(self) -> None:
        if self.places:
            self.showEvents.emit(self.places[0].name)
