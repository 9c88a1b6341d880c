"""The viewer page: one photo large, its details and cluster beside it.

Opened by ``state.show_page("viewer", photo_id=..., photo_ids=[...], back="photos")``
(double-click, Enter or Space on a photo anywhere; ``cluster_id=`` and ``order=`` instead of
``photo_ids`` step through that cluster as the grid sorts it). Left/Right (or Page Up/Down) go to
the previous/next photo of ``photo_ids``, Esc goes back to the page named by ``back``, F fits the
photo to the window and 1 shows it at 100 %. B shows the faces found in the photo, each boxed
with the name of its person ("Person 12" for one not named yet, "?" for a face in no person;
dashed when too small or blurred to judge). Photos are decoded off the GUI thread at the
screen's size (``core.library.viewing.decode_to_fit``; 100 % decodes in full) and the neighbours are
decoded ahead, so stepping through a cluster does not wait.

The shell registers it like every page: ``ViewerPage(state)`` added to its page stack under
``ViewerPage.name``; ``actions()`` go in its toolbar, ``view_actions()`` (fit, 100 %) in its View
menu.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QRect, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.faces.read import FaceRow, display_name, list_faces
from photoclust.core.imaging import ImageError
from photoclust.core.library.queries import photo_details
from photoclust.core.library.viewing import cluster_photo_ids, decode_to_fit
from photoclust.gui.pages.actions import LiveWhileShown, page_action
from photoclust.gui.pages.base import Page
from photoclust.gui.pages.widgets import action_button
from photoclust.gui.views.preview import details_html
from photoclust.gui.views.who_where import who_and_where_rows
from photoclust.gui.workers import run_in_background

#: Decoded photos kept (the current one and its neighbours).
CACHE_SIZE = 5
SIDE_PANEL_WIDTH = 260


def decode_for_viewer(path: str, box: QSize, full: bool) -> QImage | str:
    """The photo decoded to fit ``box`` (off the GUI thread), or why it cannot be shown. The
    ids of a cluster's photos are read off the GUI thread too (``cluster_photo_ids``: 0.1 s
    for 50,000 photos)."""
    try:
        image = decode_to_fit(path, box.width(), box.height(), full=full)
        return QImage(image.tobytes(), image.width, image.height, 3 * image.width,
                      QImage.Format.Format_RGB888).copy()
    except (ImageError, OSError) as exc:
        return str(exc) or type(exc).__name__


class ViewerPage(LiveWhileShown, Page):
    name = "viewer"
    title = "Viewer"

    photoShown = Signal(int)  # the photo is decoded and on screen
    photoFailed = Signal(int, str)  # it could not be shown: the reason
    listReady = Signal()  # the photos of the cluster it was opened from are known

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.photo_ids: list[int] = []
        self.photo_id: int | None = None
        self.back_page = "photos"
        self.zoom = "fit"  # or "100"
        self._image: QImage | None = None
        self._cache: OrderedDict[tuple[int, bool], QImage] = OrderedDict()
        self._pending: set[tuple[int, bool]] = set()
        self._paths: dict[int, str] = {}
        self._sizes: dict[int, tuple[int, int]] = {}  # upright width and height, from the library
        self._faces: list[FaceRow] | None = None  # of the photo shown, read when first drawn
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._list_pool = QThreadPool(self)
        self._list_pool.setMaxThreadCount(1)
        self._list_request = 0

        self.image_label = QLabel()
        self.image_label.setObjectName("viewerImage")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("viewerScroll")
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setWidget(self.image_label)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scroll_area.setStyleSheet("QScrollArea { background: #20262b; border: none; }")
        self.image_label.setStyleSheet("color: #cfd8dc; background: #20262b;")

        self.position_label = QLabel()
        self.position_label.setObjectName("paneTitle")
        self.details_label = QLabel()
        self.details_label.setObjectName("metadata")
        self.details_label.setWordWrap(True)
        self.details_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.prev_action = page_action(self, "Previous", ["Left", "PgUp"], self.previous,
                                       "The previous photo")
        self.next_action = page_action(self, "Next", ["Right", "PgDown"], self.next,
                                       "The next photo")
        self.back_action = page_action(self, "Back", ["Esc"], self.go_back,
                                       "Back to where the photo was opened")
        self.fit_action = page_action(self, "Fit", ["F"], lambda: self.set_zoom("fit"),
                                      "Fit the photo to the window")
        self.actual_action = page_action(self, "100 %", ["1"], lambda: self.set_zoom("100"),
                                         "Show the photo at its own size (100 %)")
        self.similar_action = page_action(self, "Show similar", ["Ctrl+Shift+F"],
                                          self.show_similar,
                                          "Find the photos that look most like this one")
        self.faces_action = page_action(self, "Faces", ["B"], self._redraw,
                                        "Show the faces found in this photo and who they are")
        for action in (self.fit_action, self.actual_action, self.faces_action):
            action.setCheckable(True)
        self.fit_action.setChecked(True)

        buttons = QHBoxLayout()
        for action in (self.back_action, self.prev_action, self.next_action, self.fit_action,
                       self.actual_action, self.faces_action):
            buttons.addWidget(action_button(action))  # takes no focus: keys stay with the photo
        buttons.addStretch(1)
        similar = QPushButton(self.similar_action.text())
        similar.setToolTip(self.similar_action.toolTip())
        similar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        similar.clicked.connect(self.similar_action.trigger)

        side = QVBoxLayout()
        side.addWidget(self.position_label)
        side.addWidget(self.details_label)
        side.addWidget(similar)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(SIDE_PANEL_WIDTH)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.scroll_area, 1)
        body.addWidget(side_widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addLayout(body, 1)
        state.photosChanged.connect(self._refresh_details)
        self._update_actions()
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.back_action, self.prev_action, self.next_action, self.similar_action]

    def view_actions(self) -> list[QAction]:
        return [self.fit_action, self.actual_action, self.faces_action]

    # --- page interface -----------------------------------------------------------------------
    def activate(self, photo_id: int | None = None, photo_ids: list[int] | None = None,
                 back: str | None = None, cluster_id: int | None = None,
                 order: str = "path", **_kwargs) -> None:
        """Show ``photo_id``, stepping through ``photo_ids`` (or, without them, the photos of
        ``cluster_id`` in the grid's ``order``); Esc goes back to the page ``back``."""
        if back:
            self.back_page = back
        self._list_request += 1  # a listing still on its way is for an older opening
        if not photo_ids and cluster_id is not None and photo_id is not None:
            photo_ids = [int(photo_id)]  # until the cluster's listing arrives
            library, request = self.state.library, self._list_request
            run_in_background(lambda: cluster_photo_ids(library, cluster_id, order),
                              lambda ids: self._on_listed(request, ids),
                              pool=self._list_pool, owner=self)
        if photo_ids:
            self.photo_ids = [int(p) for p in photo_ids]
        if photo_id is not None:
            if int(photo_id) not in self.photo_ids:
                self.photo_ids = [int(photo_id)]
            self.show_photo(int(photo_id))
        self.scroll_area.setFocus()

    def _on_listed(self, request: int, photo_ids: list) -> None:
        if request == self._list_request and self.photo_id in photo_ids:
            self.photo_ids = photo_ids
            self._update_actions()
            self._prefetch()
            self.listReady.emit()

    def deactivate(self) -> None:
        self._cache.clear()  # decoded photos are large: keep none while another page shows

    # --- navigation ---------------------------------------------------------------------------
    def index(self) -> int:
        return self.photo_ids.index(self.photo_id) if self.photo_id in self.photo_ids else -1

    def previous(self) -> None:
        i = self.index()
        if i > 0:
            self.show_photo(self.photo_ids[i - 1])

    def next(self) -> None:
        i = self.index()
        if 0 <= i < len(self.photo_ids) - 1:
            self.show_photo(self.photo_ids[i + 1])

    def go_back(self) -> None:
        if self.zoom == "100":
            self.set_zoom("fit")  # Esc first leaves 100 %, as image viewers do
            return
        self.state.show_page(self.back_page, photo_id=self.photo_id)

    def show_similar(self) -> None:
        if self.photo_id is not None:
            self.state.show_page("search", similar_to=self.photo_id)

    def set_zoom(self, zoom: str) -> None:
        self.zoom = zoom
        self.fit_action.setChecked(zoom == "fit")
        self.actual_action.setChecked(zoom == "100")
        if self.photo_id is not None:
            self.show_photo(self.photo_id)

    # --- showing ------------------------------------------------------------------------------
    def show_photo(self, photo_id: int) -> None:
        self.photo_id = photo_id
        self._image = None
        self._faces = None
        details = photo_details(self.state.library, photo_id)
        self._update_actions()
        if details is None:
            self.details_label.clear()
            self._show_text("This photo is no longer in the library.")
            return
        self._paths[photo_id] = details.path
        if details.width and details.height:
            self._sizes[photo_id] = (details.width, details.height)
        self.details_label.setText(details_html(details, who_and_where_rows(self.state.library,
                                                                           photo_id)))
        cached = self._cache.get((photo_id, self.zoom == "100"))
        if cached is not None:
            self._cache.move_to_end((photo_id, self.zoom == "100"))
            self._show_image(cached)
            self.photoShown.emit(photo_id)
        else:
            self._show_text("Loading…")
            self._request(photo_id, details.path, self.zoom == "100")
        self._prefetch()

    def _box(self) -> QSize:
        """The decode size: the screen's, in device pixels, so resizing never re-decodes."""
        screen = self.screen()
        size = screen.size() if screen is not None else QSize(1920, 1080)
        ratio = screen.devicePixelRatio() if screen is not None else 1.0
        return QSize(int(size.width() * ratio), int(size.height() * ratio))

    def _request(self, photo_id: int, path: str, full: bool) -> None:
        key = (photo_id, full)
        if key in self._pending or key in self._cache:
            return
        self._pending.add(key)
        box = self._box()
        run_in_background(lambda: decode_for_viewer(path, box, full),
                          lambda result: self._on_decoded(photo_id, full, result),
                          pool=self._pool, owner=self)

    def _prefetch(self) -> None:
        i = self.index()
        if self.zoom != "fit" or i < 0:
            return
        neighbours = [self.photo_ids[j] for j in (i + 1, i - 1) if 0 <= j < len(self.photo_ids)]
        missing = [p for p in neighbours if p not in self._paths]
        for p in missing:
            details = photo_details(self.state.library, p)
            if details is not None:
                self._paths[p] = details.path
        for p in neighbours:
            if p in self._paths:
                self._request(p, self._paths[p], False)

    def _on_decoded(self, photo_id: int, full: bool, result) -> None:
        self._pending.discard((photo_id, full))
        if isinstance(result, QImage):
            self._cache[(photo_id, full)] = result
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if photo_id != self.photo_id or full != (self.zoom == "100"):
            return  # a neighbour decoded ahead, or the user moved on
        if isinstance(result, str):
            self._show_text(f"Cannot show this photo: {result}.")
            self.photoFailed.emit(photo_id, result)
            return
        self._show_image(result)
        self.photoShown.emit(photo_id)

    def _show_text(self, text: str) -> None:
        self.scroll_area.setWidgetResizable(True)
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText(text)

    def _show_image(self, image: QImage) -> None:
        self._image = image
        self.image_label.setText("")
        if self.zoom == "100":
            self.scroll_area.setWidgetResizable(False)
            self.image_label.setPixmap(QPixmap.fromImage(self._with_faces(image)))
            self.image_label.resize(image.size())
        else:
            self.scroll_area.setWidgetResizable(True)
            self._rescale()

    def shown_size(self) -> QSize:
        """The size the photo is drawn at (tests, screenshots)."""
        pixmap = self.image_label.pixmap()
        return pixmap.size() if pixmap is not None and not pixmap.isNull() else QSize()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.zoom == "fit":
            self._rescale()

    def _rescale(self) -> None:
        if self._image is None:
            return
        box = self.scroll_area.viewport().size()
        image = self._image
        if image.width() > box.width() or image.height() > box.height():
            image = image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self.image_label.setPixmap(QPixmap.fromImage(self._with_faces(image)))

    # --- faces --------------------------------------------------------------------------------
    def _redraw(self) -> None:
        if self._image is not None:
            self._show_image(self._image)

    def face_boxes(self, shown: QSize) -> list[tuple[QRect, str, bool]]:
        """The faces of the photo shown, as drawn on an image of size ``shown``: each box, its
        label and whether it is unsure. Empty while B is off."""
        if not self.faces_action.isChecked() or self.photo_id is None or shown.isEmpty():
            return []
        size = self._sizes.get(self.photo_id)
        if size is None:
            return []
        if self._faces is None:
            self._faces = list_faces(self.state.library, photo_id=self.photo_id)
        scale = shown.width() / size[0]
        boxes = []
        for face in self._faces:
            left, top, width, height = face.box
            rect = QRect(round(left * scale), round(top * scale), max(1, round(width * scale)),
                         max(1, round(height * scale)))
            label = "?" if face.person_id is None else display_name(face.person_id,
                                                                    face.person_name or "")
            boxes.append((rect, label, face.unsure))
        return boxes

    def _with_faces(self, image: QImage) -> QImage:
        """``image`` with the face boxes and names drawn on a copy (B), else ``image``."""
        boxes = self.face_boxes(image.size())
        if not boxes:
            return image
        image = image.convertToFormat(QImage.Format.Format_RGB32)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        for rect, label, unsure in boxes:
            pen = QPen(QColor("#ffd54f"), 2,
                       Qt.PenStyle.DashLine if unsure else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(rect.width(), 80))
            tag = metrics.boundingRect(text).adjusted(-4, -2, 4, 2)
            tag.moveTopLeft(rect.bottomLeft())
            if tag.bottom() > image.height():  # no room below: the name goes above the box
                tag.moveBottomLeft(rect.topLeft())
            painter.fillRect(tag, QColor(0, 0, 0, 170))
            painter.setPen(QColor("#ffffff"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return image

    def _refresh_details(self) -> None:
        if self.photo_id is not None and self.isVisible():
            if self._faces is not None:  # a person renamed or a face moved: read them again
                self._faces = None
                self._redraw()
            details = photo_details(self.state.library, self.photo_id)
            if details is not None:
                self.details_label.setText(details_html(
                    details, who_and_where_rows(self.state.library, self.photo_id)))

    def _update_actions(self) -> None:
        i = self.index()
        self.prev_action.setEnabled(i > 0)
        self.next_action.setEnabled(0 <= i < len(self.photo_ids) - 1)
        self.similar_action.setEnabled(self.photo_id is not None)
        if i >= 0:
            self.position_label.setText(f"Photo {i + 1:,} of {len(self.photo_ids):,}")
        else:
            self.position_label.clear()
