"""Faces cut out of their photos for the People page, off the GUI thread: from the photo's
thumbnail when the face is large enough there, else from the photo itself (decoded small).
``image(crop)`` returns the cached face or ``None`` (and queues it); ``loaded(face ids)`` when
a batch is ready."""
from __future__ import annotations

import logging
from collections import OrderedDict

from PIL import Image
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage

from photoclust.core.faces.read import FaceCrop
from photoclust.core.imaging import ImageError, load_rgb, load_thumbnail
from photoclust.gui.workers import run_in_background

log = logging.getLogger(__name__)

CACHE = 2000
BATCH = 16
MARGIN = 0.3  # room around the box, as a share of its side


def cut_face(library, crop: FaceCrop, side: int) -> Image.Image | None:
    """The face of ``crop`` as a ``side`` x ``side`` RGB image (a square around the box with a
    margin), or None when neither the thumbnail nor the photo can be read."""
    left, top, w, h = crop.box
    pw, ph = crop.photo_width, crop.photo_height
    image = None
    scale = 1.0
    try:
        image = load_thumbnail(library, crop.content_hash)
        if pw:
            scale = image.width / pw
        if max(w, h) * scale < side * 0.6:
            image = None  # too small in the thumbnail: cut it from the photo
    except (ImageError, OSError, ValueError):
        image = None
    if image is None:
        try:
            if pw and ph:
                # Decode just large enough for the face to be ``side`` pixels.
                want = max(1, int(min(pw, ph) * side / max(w, h, 1)))
                image = load_rgb(crop.path, min_side=min(want, min(pw, ph)))
                scale = image.width / pw
            else:
                image = load_rgb(crop.path)
                scale = 1.0
        except (ImageError, OSError) as exc:
            log.info("no face crop from %s: %s", crop.path, exc)
            return None
    cx, cy = (left + w / 2) * scale, (top + h / 2) * scale
    half = max(w, h) * scale * (1 + 2 * MARGIN) / 2
    box = (int(cx - half), int(cy - half), int(cx + half), int(cy + half))
    face = image.crop(box)  # outside the photo is black
    return face.resize((side, side), Image.Resampling.LANCZOS)


def to_qimage(image: Image.Image) -> QImage:
    data = image.convert("RGB").tobytes()
    return QImage(data, image.width, image.height, 3 * image.width,
                  QImage.Format.Format_RGB888).copy()


def _cut_batch(library, crops: list[FaceCrop], side: int) -> list:
    """(face id, QImage or None) for each crop (off the GUI thread)."""
    out = []
    for crop in crops:
        face = cut_face(library, crop, side)
        out.append((crop.face_id, None if face is None else to_qimage(face)))
    return out


class FaceCropLoader(QObject):
    loaded = Signal(list)  # face ids

    def __init__(self, library, side: int = 96, parent: QObject | None = None):
        super().__init__(parent)
        self.library, self.side = library, side
        self._cache: OrderedDict[int, QImage | None] = OrderedDict()
        self._queued: dict[int, FaceCrop] = {}
        self._in_flight = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._dispatch)

    def image(self, crop: FaceCrop | None) -> QImage | None:
        if crop is None:
            return None
        if crop.face_id in self._cache:
            self._cache.move_to_end(crop.face_id)
            return self._cache[crop.face_id]
        self._queued[crop.face_id] = crop
        self._timer.start()
        return None

    def forget(self) -> None:
        """Drop what is queued (a new list is shown)."""
        self._queued.clear()

    def is_idle(self) -> bool:
        return not self._queued and not self._in_flight

    def _dispatch(self) -> None:
        while self._queued:
            ids = list(self._queued)[:BATCH]
            crops = [self._queued.pop(i) for i in ids]
            self._in_flight += 1
            run_in_background(lambda crops=crops: _cut_batch(self.library, crops, self.side),
                              self._on_done, pool=self._pool, owner=self,
                              on_failed=self._on_failed)

    def _on_done(self, results: list) -> None:
        self._in_flight -= 1
        for face_id, image in results:
            self._cache[face_id] = image
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        self.loaded.emit([face_id for face_id, _ in results])

    def _on_failed(self, error) -> None:
        self._in_flight -= 1
        log.warning("face crops could not be cut: %s", error)

    def wait_for_done(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)
