"""The map: every photo as a dot at its 2-D t-SNE position, coloured by its cluster.

All points are one ``QGraphicsItem`` that paints them in a single pass (50,000 separate items
would make the scene slow); clicks are resolved with a vectorised nearest-point search.
"""
from __future__ import annotations

import struct

import numpy as np
from PySide6.QtCore import (
    QByteArray,
    QDataStream,
    QIODevice,
    QPointF,
    QRect,
    QRectF,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF, QWheelEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

SCENE_EXTENT = 1000.0
CLICK_RADIUS_PX = 8.0
LEGEND_MAX = 20
SMOOTH_POINTS_MAX = 5000


def point_radius(n_points: int) -> float:
    """Dots in pixels at 1:1 zoom: big when there are few photos, small for tens of thousands."""
    return 6.0 if n_points < 500 else 4.0 if n_points < 5000 else 2.5

_PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
    "#008080", "#9a6324", "#800000", "#808000", "#000075", "#e6beff", "#ffe119", "#aaffc3",
    "#fabebe", "#808080", "#ffd8b1", "#000000",
]


def cluster_color(cluster_id: int) -> QColor:
    """A stable colour per cluster id (the same in the sidebar and on the map)."""
    if cluster_id < 0:
        return QColor("#b0bec5")
    return QColor(_PALETTE[cluster_id % len(_PALETTE)])


def _polygon(xy: np.ndarray) -> QPolygonF:
    """A QPolygonF of the points, built from its QDataStream form (count, then big-endian
    doubles): 50,000 points in milliseconds, where creating QPointFs one by one takes 250 ms."""
    data = struct.pack(">I", len(xy)) + np.ascontiguousarray(xy, dtype=">f8").tobytes()
    buffer = QByteArray(data)  # must outlive the stream that reads it
    stream = QDataStream(buffer, QIODevice.OpenModeFlag.ReadOnly)
    polygon = QPolygonF()
    stream >> polygon
    return polygon


class _PointCloudItem(QGraphicsItem):
    def __init__(self, xy: np.ndarray, cluster_ids: np.ndarray):
        super().__init__()
        self.xy = xy
        self.cluster_ids = cluster_ids
        self.highlight: int | None = None  # row index
        self.radius = point_radius(len(xy))
        # Panning blits the cached rendering instead of drawing every dot again.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._groups = [(cluster_color(int(cid)), _polygon(xy[cluster_ids == cid]))
                        for cid in np.unique(cluster_ids)]

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        margin = SCENE_EXTENT * 0.04
        return QRectF(-margin, -margin, SCENE_EXTENT + 2 * margin, SCENE_EXTENT + 2 * margin)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        scale = painter.worldTransform().m11() or 1.0
        # Round antialiased dots cost ~6 µs each: fine for a few thousand photos; beyond that
        # plain squares keep a repaint of 50,000 photos fast.
        smooth = len(self.xy) <= SMOOTH_POINTS_MAX
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, smooth)
        pen = QPen()
        pen.setCapStyle(Qt.PenCapStyle.RoundCap if smooth else Qt.PenCapStyle.SquareCap)
        pen.setWidthF(2 * self.radius / scale ** 0.5)
        for color, points in self._groups:
            pen.setColor(color)
            painter.setPen(pen)
            painter.drawPoints(points)
        if self.highlight is not None:
            x, y = self.xy[self.highlight]
            painter.setPen(QPen(QColor("#102a43"), 2.0 / scale))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(float(x), float(y)), 7 / scale, 7 / scale)


class MapView(QGraphicsView):
    """Scatter of the photos; ``photoClicked(photo_id)`` when the user clicks a dot (or moves to
    it with the arrow keys), ``photoActivated(photo_id)`` on a double-click or Enter.

    Keys: arrows move to the nearest dot in that direction, + and - zoom, 0 fits the map."""

    photoClicked = Signal(int)
    photoActivated = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("mapView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor("#ffffff")))
        self.photo_ids = np.empty(0, dtype=np.int64)
        self._item: _PointCloudItem | None = None
        self._legend: list[tuple[QColor, str]] = []

    def set_layout(self, photo_ids: np.ndarray, xy: np.ndarray, cluster_ids: np.ndarray,
                   names: dict[int, str] | None = None) -> None:
        """Show ``photo_ids`` at ``xy`` (any scale; normalised here), coloured by ``cluster_ids``
        (-1 for unassigned); ``names`` (cluster id -> name, largest first) make the legend."""
        self._legend = [(cluster_color(cid), name) for cid, name in (names or {}).items()]
        self.scene().clear()
        self.photo_ids = np.asarray(photo_ids, dtype=np.int64)
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(xy):
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            xy = (xy - lo) / np.maximum(hi - lo, 1e-9) * SCENE_EXTENT
        self._item = _PointCloudItem(xy, np.asarray(cluster_ids, dtype=np.int64))
        self.scene().addItem(self._item)
        self.scene().setSceneRect(self._item.boundingRect())
        self._auto_fit = True  # keep fitting as the view is resized, until the user zooms
        self.fit()

    def drawForeground(self, painter: QPainter,  # noqa: N802 - Qt override
                       rect: QRectF | QRect) -> None:
        """The legend, fixed in the top-left corner of the view."""
        if not self._legend:
            return
        painter.save()
        painter.resetTransform()
        metrics = painter.fontMetrics()
        line = metrics.height() + 4
        shown = self._legend[:LEGEND_MAX]
        width = max(metrics.horizontalAdvance(name) for _c, name in shown) + 34
        height = line * len(shown) + 10 + (line if len(self._legend) > LEGEND_MAX else 0)
        painter.setPen(QPen(QColor("#dde1e6")))
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(QRectF(8, 8, width, height), 6, 6)
        for n, (color, name) in enumerate(shown):
            y = 13 + n * line
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(QRectF(16, y + line / 2 - 6, 10, 10))
            painter.setPen(QColor("#263238"))
            painter.drawText(QPointF(34, y + metrics.ascent()), name)
        if len(self._legend) > LEGEND_MAX:
            painter.setPen(QColor("#78909c"))
            painter.drawText(QPointF(34, 13 + len(shown) * line + metrics.ascent()),
                             f"and {len(self._legend) - LEGEND_MAX} more")
        painter.restore()

    _auto_fit = True

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def zoom(self, factor: float) -> None:
        self._auto_fit = False
        self.scale(factor, factor)

    def fit_all(self) -> None:
        """Show the whole map, and keep doing so as the view is resized."""
        self._auto_fit = True
        self.fit()

    def fit(self) -> None:
        if self._item is not None:
            self.fitInView(self._item.boundingRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def point_position(self, photo_id: int) -> QPointF | None:
        """Scene position of a photo's dot (tests and keyboard navigation)."""
        if self._item is None:
            return None
        rows = np.nonzero(self.photo_ids == photo_id)[0]
        if not len(rows):
            return None
        x, y = self._item.xy[rows[0]]
        return QPointF(float(x), float(y))

    def photo_at(self, scene_pos: QPointF, radius: float) -> int | None:
        if self._item is None or not len(self.photo_ids):
            return None
        d2 = ((self._item.xy - (scene_pos.x(), scene_pos.y())) ** 2).sum(axis=1)
        row = int(np.argmin(d2))
        if d2[row] > radius ** 2:
            return None
        return row

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        moved = (event.position() - self._press_pos).manhattanLength() if self._press_pos else 0
        if moved > 4:
            return  # that was a pan, not a click
        scale = self.transform().m11() or 1.0
        row = self.photo_at(self.mapToScene(event.position().toPoint()), CLICK_RADIUS_PX / scale)
        if row is not None and self._item is not None:
            self._item.highlight = row
            self._item.update()
            self.photoClicked.emit(int(self.photo_ids[row]))

    _press_pos = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._press_pos = event.position()
        super().mousePressEvent(event)

    def highlighted_photo(self) -> int | None:
        if self._item is None or self._item.highlight is None:
            return None
        return int(self.photo_ids[self._item.highlight])

    def highlight_photo(self, photo_id: int) -> bool:
        """Ring a photo's dot and bring it into view; False if it is not on the map."""
        if self._item is None:
            return False
        rows = np.nonzero(self.photo_ids == photo_id)[0]
        if not len(rows):
            return False
        self._item.highlight = int(rows[0])
        self._item.update()
        x, y = self._item.xy[rows[0]]
        self.ensureVisible(QRectF(float(x) - 20, float(y) - 20, 40, 40))
        return True

    def step(self, dx: float, dy: float) -> int | None:
        """The nearest dot from the highlighted one in direction (dx, dy) (within 60 degrees of
        it), highlighted; the first photo when none is highlighted yet."""
        if self._item is None or not len(self.photo_ids):
            return None
        row = self._item.highlight
        if row is None:
            target = 0
        else:
            d = self._item.xy - self._item.xy[row]
            along = d @ np.array([dx, dy])
            dist = np.hypot(d[:, 0], d[:, 1])
            ok = (along > 0.5 * dist) & (dist > 0)
            if not ok.any():
                return None
            target = int(np.flatnonzero(ok)[np.argmin(dist[ok])])
        photo_id = int(self.photo_ids[target])
        self.highlight_photo(photo_id)
        self.photoClicked.emit(photo_id)
        return photo_id

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key = event.key()
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
                 Qt.Key.Key_Down: (0, 1)}
        if key in steps:
            self.step(*steps[key])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self.highlighted_photo() is not None:
                self.photoActivated.emit(self.highlighted_photo())
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.8)
        elif key == Qt.Key.Key_0:
            self.fit_all()
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt override
        scale = self.transform().m11() or 1.0
        row = self.photo_at(self.mapToScene(event.position().toPoint()), CLICK_RADIUS_PX / scale)
        if row is not None:
            self.photoActivated.emit(int(self.photo_ids[row]))
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)
