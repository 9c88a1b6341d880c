"""The world map of where photos were taken: country outlines (Natural Earth, shipped with
photoclust) and a dot per place, sized by its number of photos. A thin widget over
``core/events/world_map.py``, which projects, bins the photos per zoom level and finds the dot
under a click.

Mouse: drag to pan, the wheel zooms at the pointer, a double-click zooms in there, a click on a
dot selects its photos (``placeClicked(photo_ids)``). Keys: + and - zoom, the arrows pan, 0 shows
all the photos.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from photoclust.core.events.world_map import (
    Clusters,
    MapDataError,
    PositionIndex,
    Viewport,
    detail_for,
    dot_radius,
    level_for,
    load_outlines,
    project,
)
from photoclust.gui.views.map_view import _polygon

SEA = QColor("#dbe7f0")
LAND = QColor("#f6f4ee")
BORDER = QColor("#a9b4bd")
DOT = QColor("#e8590c")
DOT_EDGE = QColor("#ffffff")
SELECTED = QColor("#1864ab")
TEXT = QColor("#263238")
CREDIT = "Natural Earth"
#: Fitting the photos zooms in at most this far (pixels per degree: a region, not a street).
FIT_MAX_SCALE = 400.0
CLICK_MOVE_PX = 4


class WorldMapView(QWidget):
    placeClicked = Signal(list)  # the photo ids of the dot clicked
    painted = Signal()  # after each paint (the benchmark's first paint)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("worldMap")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.view = Viewport(1.0, 1.0)
        self.index = PositionIndex([], [], [])
        self.error: str | None = None
        # The photos of the dot clicked (a flag per photo of the index): the dots holding any
        # of them are ringed at every zoom.
        self.selected: np.ndarray | None = None
        self._paths: dict[str, list[tuple[tuple[float, float, float, float], QPainterPath]]] = {}
        self._fit_pending = True
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._moved = False

    # --- data ------------------------------------------------------------------------------
    def set_positions(self, index: PositionIndex, fit: bool = False) -> None:
        """Show these photos' positions; the view fits them the first time (or with ``fit``)."""
        if self.selected is not None:  # the same photos stay ringed (those still there)
            kept = self.index.photo_ids[self.selected]
            self.selected = np.isin(index.photo_ids, kept)
        self.index = index
        if fit or self._fit_pending:
            self._fit_pending = True
            self._fit_if_sized()
        self.update()

    def fit_photos(self) -> None:
        self._fit_pending = True
        self._fit_if_sized()
        self.update()

    def _fit_if_sized(self) -> None:
        if not self._fit_pending or not self.isVisible() or self.width() < 2 \
                or self.height() < 2:
            return
        self._fit_pending = False
        self.view.resize(self.width(), self.height())
        bounds = self.index.bounds()
        if bounds is None:
            self.view.fit_world()
        else:
            self.view.fit(*bounds, margin_px=60, max_scale=FIT_MAX_SCALE)

    def clusters(self) -> Clusters:
        """The dots at the present zoom."""
        return self.index.clusters(level_for(self.view.scale))

    def _outline_paths(self, detail: str):
        paths = self._paths.get(detail)
        if paths is None:
            try:
                countries = load_outlines(detail)
            except MapDataError as exc:
                self.error = str(exc)
                countries = ()
            paths = []
            for country in countries:
                path = QPainterPath()
                path.setFillRule(Qt.FillRule.OddEvenFill)
                for ring in country.rings:
                    path.addPolygon(_polygon(ring))
                    path.closeSubpath()
                paths.append((country.bounds, path))
            self._paths[detail] = paths
        return paths

    # --- drawing ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        self._fit_if_sized()
        painter = QPainter(self)
        painter.fillRect(self.rect(), SEA)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        v = self.view
        x0, y0, x1, y1 = v.visible()
        s = v.scale
        painter.save()
        painter.setTransform(QTransform(s, 0, 0, -s, v.width / 2 - v.cx * s,
                                        v.height / 2 + v.cy * s))
        pen = QPen(BORDER, 0.8)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QBrush(LAND))
        painter.setClipRect(QRectF(-180, -180, 360, 360))  # the copies across the date line
        for (bx0, by0, bx1, by1), path in self._outline_paths(detail_for(s)):
            if bx1 >= x0 and bx0 <= x1 and by1 >= y0 and by0 <= y1:
                painter.drawPath(path)
        painter.restore()
        self._draw_dots(painter)
        painter.setPen(QColor("#78909c"))
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        painter.setFont(small)
        painter.drawText(self.rect().adjusted(0, 0, -6, -3),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom), CREDIT)
        if self.error:
            painter.setPen(TEXT)
            painter.setFont(self.font())
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                                 | Qt.TextFlag.TextWordWrap), self.error)
        painter.end()
        self.painted.emit()

    def _draw_dots(self, painter: QPainter) -> None:
        clusters = self.clusters()
        if not len(clusters):
            return
        x0, y0, x1, y1 = self.view.visible()
        shown = clusters.in_view(x0, y0, x1, y1, margin=30 / self.view.scale)
        if not len(shown):
            return
        sx, sy = self.view.to_screen(clusters.x[shown], clusters.y[shown])
        counts = clusters.count[shown]
        radii = dot_radius(counts)
        fill = QColor(DOT)
        fill.setAlpha(215)
        painter.setPen(QPen(DOT_EDGE, 1.5))
        painter.setBrush(fill)
        # Largest first, so a small place beside a big one stays visible on top.
        order = np.argsort(-counts, kind="stable")
        for i in order:
            r = float(radii[i])
            painter.drawEllipse(QPointF(float(sx[i]), float(sy[i])), r, r)
        painter.setPen(QColor("#ffffff"))
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        for i in order:
            n = int(counts[i])
            text = f"{n:,}" if n < 10000 else f"{n // 1000}k"
            if n < 2 or metrics.horizontalAdvance(text) > 2 * radii[i] - 2:
                continue
            painter.drawText(QRectF(float(sx[i] - radii[i]), float(sy[i] - radii[i]),
                                    float(2 * radii[i]), float(2 * radii[i])),
                             int(Qt.AlignmentFlag.AlignCenter), text)
        ringed = self.selected_dots(clusters)[shown]
        if ringed.any():
            painter.setPen(QPen(SELECTED, 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for i in np.flatnonzero(ringed):
                r = float(radii[i]) + 3
                painter.drawEllipse(QPointF(float(sx[i]), float(sy[i])), r, r)

    def selected_dots(self, clusters: Clusters) -> np.ndarray:
        """Which dots hold photos of the dot clicked (all False when none was)."""
        if self.selected is None or not len(clusters):
            return np.zeros(len(clusters), dtype=bool)
        return np.add.reduceat(self.selected[clusters.order].astype(np.int64),
                               clusters.start) > 0

    # --- moving ----------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.view.resize(self.width(), self.height())
        self._fit_if_sized()

    def zoom(self, factor: float, at: QPointF | None = None) -> None:
        self._fit_pending = False
        p = at if at is not None else QPointF(self.width() / 2, self.height() / 2)
        self.view.zoom_at(p.x(), p.y(), factor)
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(2 ** (steps / 2), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = self._last = event.position()
            self._moved = False
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._press is not None and self._last is not None:
            pos = event.position()
            if (pos - self._press).manhattanLength() > CLICK_MOVE_PX:
                self._moved = True
            if self._moved:
                self._fit_pending = False
                self.view.pan(pos.x() - self._last.x(), pos.y() - self._last.y())
                self._last = pos
                self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            if not self._moved:
                self.click_at(event.position().x(), event.position().y())
            self._press = self._last = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.zoom(2.0, event.position())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        step = 0.25
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(2.0)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.5)
        elif key == Qt.Key.Key_0:
            self.fit_photos()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            dx = {Qt.Key.Key_Left: 1, Qt.Key.Key_Right: -1}.get(Qt.Key(key), 0)
            dy = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}.get(Qt.Key(key), 0)
            self._fit_pending = False
            self.view.pan(dx * step * self.width(), dy * step * self.height())
            self.update()
        else:
            super().keyPressEvent(event)

    # --- choosing --------------------------------------------------------------------------
    def click_at(self, sx: float, sy: float) -> list[int]:
        """Select the dot under the pixel ``sx``, ``sy``: its photos (``placeClicked``), or
        nothing when there is no dot there."""
        clusters = self.clusters()
        hit = self.index.hit(clusters, self.view, sx, sy)
        if hit is None:
            return []
        ids = self.index.photos_in(clusters, hit)
        s = int(clusters.start[hit])
        self.selected = np.zeros(len(self.index), dtype=bool)
        self.selected[clusters.order[s:s + int(clusters.count[hit])]] = True
        self.update()
        self.placeClicked.emit(ids)
        return ids

    def screen_point(self, lat: float, lon: float) -> QPointF:
        """Where a position is on the widget (tests, and the dot of a place)."""
        x, y = project(lon, lat)
        sx, sy = self.view.to_screen(x, y)
        return QPointF(float(sx), float(sy))
