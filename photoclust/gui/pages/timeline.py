"""The Timeline page: when and where the photos were taken.

On the left, the years and months with their number of photos (click one to go to its events)
and the places with theirs (click one to see its events only); a field finds events by name or
place ("Lisbon"), and "Go to" jumps to a date. In the middle, the events, oldest first, each
with a cover, its dates, place and number of photos. On the right, the event opened: its name
(type a new one and press Enter) and its photos (a double-click opens one in the viewer,
``back="timeline"``). The events selected in the middle can be merged into one. A second tab,
"World map", shows where the photos were taken (``gui/pages/places_map.py``).

Renames and merges are edits of the library's history (``core/events/editing.py``): the
window's Undo takes them back. Everything is read off the GUI thread in one pass through the
core's grouped queries (``core/events/queries.py``), so the page opens at once on 100,000 photos
(``bench/gui_timeline.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import (
    QAbstractListModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.events import editing
from photoclust.core.events.queries import (
    EventInfo,
    PlaceCount,
    event_photo_ids,
    list_events,
    list_places,
    timeline_months,
)
from photoclust.core.library.queries import photo_files
from photoclust.gui.models.photo_refs import PhotoRefModel, PhotoStrip, RefRow
from photoclust.gui.models.reads import Reads
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.pages.actions import LiveWhileShown, ReadWhenShown, page_action
from photoclust.gui.pages.base import Page
from photoclust.gui.pages.places_map import PlacesMapPanel
from photoclust.gui.pages.widgets import action_button, message_label

COVER = QSize(72, 72)
PHOTO_THUMB = 140
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class TimelineSnapshot:
    months: list[tuple[int, int, int]]  # (year, month, photos)
    events: list[EventInfo]
    places: list[PlaceCount]
    covers: dict[int, tuple[str, str]]  # cover photo id -> (content hash, path)


def read_when(library) -> tuple[list[tuple[int, int, int]], list[PlaceCount]]:
    """The months and the places: read first, shown while the events are read."""
    return timeline_months(library), list_places(library)


def read_events(library) -> list[EventInfo]:
    """The events without their covers' files (read next: a quarter of the time on 6,000
    events)."""
    return list_events(library)


def read_covers(library, events: list[EventInfo]) -> dict[int, tuple[str, str]]:
    return photo_files(library, [e.cover_photo_id for e in events if e.cover_photo_id])


def read_event_photos(library, event_id: int) -> list[RefRow]:
    ids = event_photo_ids(library, event_id)
    files = photo_files(library, ids)
    return [RefRow(pid, files[pid][0], files[pid][1]) for pid in ids if pid in files]


def date_range_text(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "no date"
    if end is None or start.date() == end.date():
        return start.strftime("%a %d %b %Y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {start.strftime('%b %Y')}"
    if start.year == end.year:
        return f"{start.strftime('%d %b')} – {end.strftime('%d %b %Y')}"
    return f"{start.strftime('%d %b %Y')} – {end.strftime('%d %b %Y')}"


def event_text(e: EventInfo) -> str:
    """The name, then the count first (the line is cut on the right when narrow)."""
    parts = [f"{e.photos:,} photo{'s' if e.photos != 1 else ''}",
             date_range_text(e.start, e.end)]
    if e.place:
        parts.append(e.place)
    return f"{e.name or 'Event'}\n{'  ·  '.join(parts)}"


def matches(e: EventInfo, text: str, place: str | None) -> bool:
    if place is not None and place.casefold() not in (e.place or "").casefold():
        return False
    words = text.casefold().split()
    haystack = f"{e.name} {e.place or ''}".casefold()
    return all(w in haystack for w in words)


class EventModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.events: list[EventInfo] = []
        self.covers: dict[int, tuple[str, str]] = {}
        self._squares: dict[str, QImage] = {}
        thumbnails.loaded.connect(self._on_loaded)

    def set_events(self, events: list[EventInfo], covers: dict[int, tuple[str, str]]) -> None:
        self.beginResetModel()
        self.events, self.covers = list(events), covers
        self.endResetModel()

    def row_of(self, event_id: int | None) -> int:
        return next((n for n, e in enumerate(self.events) if e.id == event_id), -1)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008 - Qt override
        return 0 if parent.isValid() else len(self.events)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.events):
            return None
        e = self.events[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return event_text(e)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._cover(e.cover_photo_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            named = "named by you" if e.source == "user" else "named by photoclust"
            return f"{e.name} ({named})"
        if role == Qt.ItemDataRole.UserRole:
            return e.id
        return None

    def _cover(self, photo_id: int | None) -> QImage:
        """The cover cut to a square (every event's text then starts at the same place)."""
        content_hash, path = self.covers.get(photo_id or -1, (None, None))
        if content_hash is None:
            return self.thumbnails.image_at(None, None, COVER)
        square = self._squares.get(content_hash)
        if square is None:
            image = self.thumbnails.image(content_hash, path)
            if image is None:
                return self.thumbnails.image_at(content_hash, path, COVER)
            side = min(image.width(), image.height())
            square = image.copy((image.width() - side) // 2, (image.height() - side) // 2,
                                side, side).scaled(COVER, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation)
            self._squares[content_hash] = square
            while len(self._squares) > 2000:
                self._squares.pop(next(iter(self._squares)))
        return square

    def _on_loaded(self, _hashes: list) -> None:
        if self.events:
            self.dataChanged.emit(self.index(0), self.index(len(self.events) - 1),
                                  [Qt.ItemDataRole.DecorationRole])


class TimelinePage(ReadWhenShown, LiveWhileShown, Page):
    name = "timeline"
    title = "Timeline"

    whenShown = Signal()  # years, months and places are on screen (the events are read next)
    timelineShown = Signal()  # years, months, events and places are on screen
    eventShown = Signal()  # the photos of the opened event are on screen

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.reads = Reads(self)
        self.thumbnails = ThumbnailLoader(state.library, icon_size=PHOTO_THUMB, parent=self)
        self.snapshot: TimelineSnapshot | None = None
        self._when: tuple[list, list] = ([], [])
        self.current_event_id: int | None = None
        self.place_filter: str | None = None

        title = QLabel("Timeline")
        title.setObjectName("paneTitle")
        self.summary = QLabel()
        self.find_field = QLineEdit()
        self.find_field.setObjectName("findEvent")
        self.find_field.setPlaceholderText("Find an event or a place")
        self.find_field.setClearButtonEnabled(True)
        self.find_field.setMinimumWidth(200)
        self.find_field.setMaximumWidth(260)
        self.jump_date = QDateEdit()
        self.jump_date.setCalendarPopup(True)
        self.jump_date.setDisplayFormat("yyyy-MM-dd")
        self.jump_button = QPushButton("Go to date")
        self.jump_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.summary, 1)
        header.addWidget(self.find_field)
        header.addWidget(self.jump_date)
        header.addWidget(self.jump_button)

        self.when = QTreeWidget()
        self.when.setObjectName("timelineMonths")
        self.when.setHeaderLabels(["When", "Photos"])
        self.when.setRootIsDecorated(True)
        self.when.setUniformRowHeights(True)
        self.places = QTreeWidget()
        self.places.setObjectName("timelinePlaces")
        self.places.setHeaderLabels(["Place", "Photos"])
        self.places.setRootIsDecorated(False)
        self.places.setUniformRowHeights(True)
        for tree in (self.when, self.places):  # the counts always show; long names are cut
            tree.header().setStretchLastSection(False)
            tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.side = QTabWidget()
        self.side.addTab(self.when, "When")
        self.side.addTab(self.places, "Places")
        self.side.setMinimumWidth(170)

        self.event_model = EventModel(self.thumbnails, self)
        self.events = QListView()
        self.events.setObjectName("timelineEvents")
        self.events.setModel(self.event_model)
        self.events.setIconSize(COVER)
        self.events.setUniformItemSizes(True)
        self.events.setSpacing(2)
        self.events.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.events.setMinimumWidth(240)
        # Long names are cut with "…" at the pane's width instead of scrolling sideways.
        self.events.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.events.setTextElideMode(Qt.TextElideMode.ElideRight)

        self.event_name = QLineEdit()
        self.event_name.setObjectName("eventName")
        self.event_name.setPlaceholderText("Type a name for this event and press Enter")
        self.event_line = QLabel()
        self.event_line.setObjectName("hint")
        self.photo_model = PhotoRefModel(self.thumbnails, self)
        self.photos = PhotoStrip(self.photo_model, PHOTO_THUMB, multi_select=True)
        self.photos.setObjectName("eventPhotos")

        a = page_action
        self.merge_action = a(self, "Merge events", [], self.merge_selected,
                              "The events selected in the list become one event")
        self.rename_action = a(self, "Rename event…", ["F2"], self.focus_name,
                               "Type a new name for the event")
        self.all_places_action = a(self, "All places", [], lambda: self.show_place(None),
                                   "Show the events of every place")
        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(6, 0, 0, 0)
        rbox.addWidget(self.event_name)
        rbox.addWidget(self.event_line)
        rbox.addWidget(self.photos, 1)
        middle = QWidget()
        mbox = QVBoxLayout(middle)
        mbox.setContentsMargins(0, 0, 0, 0)
        self.filter_label = QLabel()
        self.filter_label.setObjectName("hint")
        mbox.addWidget(self.filter_label)
        mbox.addWidget(self.events, 1)
        mbox.addWidget(action_button(self.merge_action))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.side, middle, right):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([180, 300, 530])
        self.map_panel = PlacesMapPanel(state, self.reads, self.thumbnails, PHOTO_THUMB)
        self.views = QTabWidget()
        self.views.setObjectName("timelineViews")
        self.views.setDocumentMode(True)
        self.views.addTab(self.splitter, "Events")
        self.views.addTab(self.map_panel, "World map")
        self.views.setTabToolTip(1, "Where the photos were taken, on a map of the world")

        self.message = message_label()
        self.message.setText("Reading the timeline…")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.views)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)

        self.events.selectionModel().currentChanged.connect(
            lambda current, _prev: self.open_event(current.data(Qt.ItemDataRole.UserRole)))
        self.events.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.when.itemClicked.connect(self._on_when_clicked)
        self.places.itemClicked.connect(
            lambda item, _column: self.show_place(item.data(0, Qt.ItemDataRole.UserRole)))
        self.find_field.textChanged.connect(lambda _t: self._apply_filter())
        self.jump_button.clicked.connect(lambda: self.jump_to(self.jump_date.date().toPython()))
        self.event_name.returnPressed.connect(self.rename_current)
        self.photos.photoActivated.connect(
            lambda pid: self.state.show_page("viewer", photo_id=pid,
                                             photo_ids=self.photo_model.photo_ids(),
                                             back="timeline"))
        self.views.currentChanged.connect(self._on_view_changed)
        self.map_panel.showEvents.connect(self._show_events_of)
        state.photosChanged.connect(self._on_library_changed)
        self._update_actions()
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.merge_action]

    def view_actions(self) -> list[QAction]:
        return [self.rename_action, self.all_places_action]

    # --- reading --------------------------------------------------------------------------
    def activate(self, event_id: int | None = None, **_kwargs) -> None:
        if event_id is not None:
            self.current_event_id = event_id
        self.refresh_if_stale(moved=event_id is not None)
        self.events.setFocus()

    def read_library(self) -> None:
        library = self.state.library
        # One reader thread, in this order: the months and places (a few tenths of a second on
        # 100,000 photos) are on screen while the events are read.
        self.reads.read("when", lambda: read_when(library), self._on_when, self._on_failed)
        self.reads.read("timeline", lambda: read_events(library), self._on_events,
                        self._on_failed)
        if self.views.currentWidget() is self.map_panel or self.map_panel.read_once:
            self.map_panel.read()

    def _on_view_changed(self, _index: int) -> None:
        if self.views.currentWidget() is self.map_panel:
            if not self.map_panel.read_once:
                self.map_panel.read()
            self.map_panel.map.setFocus()

    def show_map(self) -> None:
        """The World map tab."""
        self.views.setCurrentWidget(self.map_panel)

    def _show_events_of(self, place: str) -> None:
        self.views.setCurrentWidget(self.splitter)
        self.show_place(place)

    def is_idle(self) -> bool:
        return self.reads.is_idle() and self.thumbnails.is_idle()

    def _on_failed(self, text: str) -> None:
        self.message.setText(f"The timeline could not be read: {text}")
        self.stack.setCurrentWidget(self.message)

    def _on_when(self, when: tuple[list[tuple[int, int, int]], list[PlaceCount]]) -> None:
        self._when = months, places = when
        dated = sum(n for _y, _m, n in months)
        self.summary.setText(f"{dated:,} photos with a date  ·  {len(places):,} places")
        self._fill_when(months)
        self._fill_places(places)
        if months:
            first, last = months[0], months[-1]
            end = QDate(last[0], last[1], 1).addMonths(1).addDays(-1)
            self.jump_date.setDateRange(QDate(first[0], first[1], 1), end)
            self.jump_date.setDate(end)
        if self.snapshot is None and months:
            self.filter_label.setText("Reading the events…")
            self.stack.setCurrentWidget(self.views)
        self.whenShown.emit()

    def _on_events(self, events: list[EventInfo]) -> None:
        months, places = self._when
        self._on_timeline(TimelineSnapshot(months, events, places, {}))

    def _on_timeline(self, snapshot: TimelineSnapshot) -> None:
        self.snapshot = snapshot
        dated = sum(n for _y, _m, n in snapshot.months)
        self.summary.setText(f"{dated:,} photos with a date  ·  {len(snapshot.events):,} events"
                             f"  ·  {len(snapshot.places):,} places")
        if not snapshot.events and snapshot.places:
            # Photos with a place but no date of their own (scans, downloads, a camera that
            # writes only GPS) join no event: the World map still shows where they were taken.
            self.stack.setCurrentWidget(self.views)
            self.filter_label.setText("No events yet: photos without a date of their own join "
                                      "none. The World map shows where they were taken.")
            self.show_map()
            self.timelineShown.emit()
            return
        if not snapshot.events:
            self.message.setText("No events yet. Organize reads when and where each photo was "
                                 "taken and groups them into events; photos without a date "
                                 "have none.")
            self.stack.setCurrentWidget(self.message)
            self.timelineShown.emit()
            return
        self.stack.setCurrentWidget(self.views)
        self._apply_filter()
        self.timelineShown.emit()
        library, events = self.state.library, snapshot.events
        self.reads.read("covers", lambda: read_covers(library, events), self._on_covers)

    def _on_covers(self, covers: dict[int, tuple[str, str]]) -> None:
        if self.snapshot is not None:
            self.snapshot.covers.update(covers)
            self.event_model.covers = self.snapshot.covers
            self.event_model._on_loaded([])
        # The World map's positions next, while the user looks at the events (0.5-1 s on
        # 100,000 photos): the tab then opens with its dots.
        self.map_panel.prefetch()

    def _fill_when(self, months: list[tuple[int, int, int]]) -> None:
        self.when.clear()
        years: dict[int, QTreeWidgetItem] = {}
        totals: dict[int, int] = {}
        for year, month, n in months:
            if year not in years:
                years[year] = QTreeWidgetItem(self.when, [str(year), ""])
                years[year].setData(0, Qt.ItemDataRole.UserRole, (year, None))
                totals[year] = 0
            item = QTreeWidgetItem(years[year], [MONTHS[month - 1], f"{n:,}"])
            item.setData(0, Qt.ItemDataRole.UserRole, (year, month))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            totals[year] += n
        for year, item in years.items():
            item.setText(1, f"{totals[year]:,}")
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        if years:
            list(years.values())[-1].setExpanded(True)  # the newest year open

    def _fill_places(self, places: list[PlaceCount]) -> None:
        self.places.clear()
        for p in places:
            where = f"{p.name}, {p.country}" if p.country else p.name
            item = QTreeWidgetItem(self.places, [where, f"{p.photos:,}"])
            item.setData(0, Qt.ItemDataRole.UserRole, p.name)
            item.setToolTip(0, where)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        if not places:
            item = QTreeWidgetItem(self.places, ["No photo has a GPS position.", ""])
            item.setFlags(Qt.ItemFlag.NoItemFlags)

    # --- finding --------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        if self.snapshot is None:
            return
        text = self.find_field.text()
        shown = [e for e in self.snapshot.events if matches(e, text, self.place_filter)]
        keep = self.current_event_id
        self.event_model.set_events(shown, self.snapshot.covers)
        what = []
        if self.place_filter:
            what.append(f"in {self.place_filter}")
        if text.strip():
            what.append(f"matching “{text.strip()}”")
        self.filter_label.setText(
            f"{len(shown):,} event{'s' if len(shown) != 1 else ''} " + " ".join(what)
            if what else f"{len(shown):,} events, oldest first")
        row = self.event_model.row_of(keep)
        if row < 0 and shown:
            row = len(shown) - 1  # the newest event
        if row >= 0:
            self.select_row(row)
        else:
            self.current_event_id = None
            self.photo_model.set_rows([])
            self.event_name.clear()
            self.event_line.clear()
        self._update_actions()

    def select_row(self, row: int) -> None:
        index = self.event_model.index(row)
        self.events.setCurrentIndex(index)
        self.events.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.open_event(self.event_model.events[row].id, force=True)

    def show_place(self, place: str | None) -> None:
        self.place_filter = place
        self._apply_filter()

    def _on_when_clicked(self, item: QTreeWidgetItem) -> None:
        year, month = item.data(0, Qt.ItemDataRole.UserRole)
        self.jump_to(date(year, month or 1, 1))

    def jump_to(self, day: date) -> int:
        """Open the first event that ends on or after ``day`` (the last one when none does);
        returns its row."""
        if self.place_filter is not None or self.find_field.text():
            self.place_filter = None
            self.find_field.blockSignals(True)
            self.find_field.clear()
            self.find_field.blockSignals(False)
            self._apply_filter()
        events = self.event_model.events
        if not events:
            return -1
        row = next((n for n, e in enumerate(events) if e.end is not None
                    and e.end.date() >= day), len(events) - 1)
        self.events.clearSelection()
        self.select_row(row)
        return row

    # --- the event ------------------------------------------------------------------------
    def current_event(self) -> EventInfo | None:
        row = self.event_model.row_of(self.current_event_id)
        return self.event_model.events[row] if row >= 0 else None

    def open_event(self, event_id: int | None, force: bool = False) -> None:
        if event_id is None or (event_id == self.current_event_id and not force):
            return
        self.current_event_id = event_id
        e = self.current_event()
        if e is not None:
            self.event_name.setText(e.name)
            self.event_line.setText(event_text(e).split("\n", 1)[1])
        library = self.state.library
        self.reads.read("event", lambda: read_event_photos(library, event_id), self._on_photos,
                        self._on_failed)
        self._update_actions()

    def _on_photos(self, rows: list[RefRow]) -> None:
        self.photo_model.set_rows(rows)
        self.eventShown.emit()

    def selected_event_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.events.selectionModel().selectedIndexes()})
        return [self.event_model.events[r].id for r in rows if r < len(self.event_model.events)]

    def _update_actions(self) -> None:
        self.merge_action.setEnabled(len(self.selected_event_ids()) >= 2)
        self.rename_action.setEnabled(self.current_event() is not None)
        self.all_places_action.setEnabled(self.place_filter is not None)

    def focus_name(self) -> None:
        self.event_name.setFocus()
        self.event_name.selectAll()

    def rename_current(self) -> None:
        e = self.current_event()
        name = " ".join(self.event_name.text().split())
        if e is None or not name or name == e.name:
            return
        library, event_id = self.state.library, e.id
        self.state.run_edit(lambda: editing.rename_event(library, event_id, name),
                            title="Renaming an event")

    def merge_selected(self) -> None:
        ids = self.selected_event_ids()
        if len(ids) < 2:
            return
        target = self.current_event_id if self.current_event_id in ids else ids[0]
        library = self.state.library
        self.current_event_id = target
        self.state.run_edit(lambda: editing.merge_events(library, target,
                                                         [i for i in ids if i != target]),
                            title="Merging events")
