"""Thumbnails for item models: placeholder first, cached files decoded off the GUI thread.

Models ask ``ThumbnailLoader.image(content_hash, path)`` while painting. A hit returns the cached
``QImage``; a miss returns ``None`` and queues the request. Queued requests are handed to a small
thread pool in batches; each batch comes back as one ``loaded`` signal, so a model emits one
``dataChanged`` per batch instead of one per photo. Only the newest requests are kept: when the
user scrolls fast past thousands of photos, the ones no longer on screen are never decoded.
A thumbnail file that is missing is made from the original (core ``create_thumbnail``) in the
worker; a photo whose thumbnail cannot be made is remembered as broken and not retried.
"""
from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from photoclust.core.imaging import ImageError, create_thumbnail, thumbnail_path
from photoclust.core.library import Library
from photoclust.gui.workers import run_in_background

log = logging.getLogger(__name__)

BATCH_SIZE = 24
MAX_QUEUED = 600
CACHE_ENTRIES = 1500
SCALED_CACHE_ENTRIES = 500


def load_batch(library: Library, requests: list[tuple[str, str | None]],
               size: QSize) -> list[tuple[str, QImage | None]]:
    """Decode one batch of thumbnail files into QImages scaled to the view's icon size (off the
    GUI thread); ``None`` for a photo without a readable thumbnail."""
    return [(content_hash, _load_one(library, content_hash, original, size))
            for content_hash, original in requests]


def _load_one(library: Library, content_hash: str, original: str | None,
              size: QSize) -> QImage | None:
    try:
        path = thumbnail_path(library, content_hash)
    except ValueError:
        return None
    if not path.is_file() and original:
        try:
            create_thumbnail(library, original, content_hash)
        except (ImageError, OSError) as exc:
            log.info("no thumbnail for %s: %s", original, exc)
            return None
    reader = QImageReader(str(path))
    reader.setAutoTransform(False)  # thumbnails are written upright
    source = reader.size()
    if source.isValid():
        # Decode straight at the target size: cheaper than decode then scale for JPEG.
        reader.setScaledSize(source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else image


class ThumbnailLoader(QObject):
    """Shared thumbnail cache and loader for all views of one library."""

    loaded = Signal(list)  # content hashes whose image (or broken mark) just became available
    idle = Signal()  # nothing queued or in flight

    def __init__(self, library: Library, icon_size: int = 160, threads: int = 2,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self._size = QSize(icon_size, icon_size)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._cache: OrderedDict[str, QImage] = OrderedDict()
        self._broken: set[str] = set()
        self._scaled: OrderedDict[tuple, QImage] = OrderedDict()
        self._queued: OrderedDict[str, str | None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._batches_in_flight = 0
        self._dispatch_timer = QTimer(self)
        self._dispatch_timer.setSingleShot(True)
        self._dispatch_timer.setInterval(0)
        self._dispatch_timer.timeout.connect(self._dispatch)
        self.placeholder = self._make_placeholder(self._size, broken=False)
        self.broken_placeholder = self._make_placeholder(self._size, broken=True)

    @property
    def icon_size(self) -> QSize:
        return QSize(self._size)

    def set_icon_size(self, icon_size: int) -> None:
        """Decode at a new size from now on; views show placeholders, then the new images."""
        self._size = QSize(icon_size, icon_size)
        self._cache.clear()
        self._scaled.clear()
        self._queued.clear()
        self.placeholder = self._make_placeholder(self._size, broken=False)
        self.broken_placeholder = self._make_placeholder(self._size, broken=True)

    def image(self, content_hash: str, original_path: str | None = None) -> QImage | None:
        """The cached thumbnail, or None after queueing it (``loaded`` fires when it is ready)."""
        cached = self._cache.get(content_hash)
        if cached is not None:
            self._cache.move_to_end(content_hash)
            return cached
        if content_hash in self._broken or content_hash in self._in_flight:
            return None
        self._queued[content_hash] = original_path
        self._queued.move_to_end(content_hash)
        while len(self._queued) > MAX_QUEUED:
            self._queued.popitem(last=False)  # scrolled past long ago
        if not self._dispatch_timer.isActive():
            self._dispatch_timer.start()
        return None

    def image_at(self, content_hash: str | None, original_path: str | None, size: QSize) -> QImage:
        """The thumbnail scaled down to ``size`` (a decoration image is drawn at its own size),
        or a placeholder of that size while it loads. Scaled copies are cached too."""
        key = (content_hash, size.width(), size.height())
        cached = self._scaled.get(key)
        if cached is not None:
            return cached
        image = self.image(content_hash, original_path) if content_hash else None
        if image is None:
            broken = content_hash is not None and content_hash in self._broken
            return (self.broken_placeholder if broken else self.placeholder).scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio)
        scaled = image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        self._scaled[key] = scaled
        while len(self._scaled) > SCALED_CACHE_ENTRIES:
            self._scaled.popitem(last=False)
        return scaled

    def image_or_placeholder(self, content_hash: str, original_path: str | None = None) -> QImage:
        image = self.image(content_hash, original_path)
        if image is not None:
            return image
        return self.broken_placeholder if content_hash in self._broken else self.placeholder

    def is_idle(self) -> bool:
        return not self._queued and not self._in_flight

    def _dispatch(self) -> None:
        # Newest requests first: they are what is on screen now.
        while self._queued and self._batches_in_flight < self._pool.maxThreadCount() * 2:
            batch: list[tuple[str, str | None]] = []
            while self._queued and len(batch) < BATCH_SIZE:
                content_hash, original = self._queued.popitem(last=True)
                self._in_flight.add(content_hash)
                batch.append((content_hash, original))
            self._batches_in_flight += 1
            library, size = self.library, QSize(self._size)
            run_in_background(lambda b=batch, lib=library, s=size: load_batch(lib, b, s),
                              self._on_batch_done, pool=self._pool, owner=self)

    def _on_batch_done(self, results: list) -> None:
        self._batches_in_flight -= 1
        hashes = []
        for content_hash, image in results:
            self._in_flight.discard(content_hash)
            if image is None:
                self._broken.add(content_hash)
            else:
                self._cache[content_hash] = image
            hashes.append(content_hash)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        if self._queued and not self._dispatch_timer.isActive():
            self._dispatch_timer.start()
        self.loaded.emit(hashes)
        if self.is_idle():
            self.idle.emit()

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the pool is empty (shutdown and benchmarks only)."""
        return self._pool.waitForDone(msecs)

    @staticmethod
    def _make_placeholder(size: QSize, broken: bool) -> QImage:
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = size.width(), size.height()
        painter.setBrush(QColor("#fdecea") if broken else QColor("#eceff1"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(int(w * 0.08), int(h * 0.16), int(w * 0.84), int(h * 0.68), 8, 8)
        if broken:
            painter.setPen(QColor("#e57373"))
            painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, "unreadable")
        painter.end()
        return image
