"""The drag-and-drop format for photos: a JSON list of photo ids under our own MIME type."""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData

PHOTO_IDS_MIME = "application/x-photoclust-photo-ids"


def photo_ids_to_mime(photo_ids: list[int]) -> QMimeData:
    mime = QMimeData()
    mime.setData(PHOTO_IDS_MIME, json.dumps([int(p) for p in photo_ids]).encode("ascii"))
    return mime


def photo_ids_from_mime(mime: QMimeData | None) -> list[int]:
    """The photo ids in ``mime``; an empty list for foreign or damaged data."""
    if mime is None or not mime.hasFormat(PHOTO_IDS_MIME):
        return []
    try:
        values = json.loads(bytes(mime.data(PHOTO_IDS_MIME).data()).decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int)]
