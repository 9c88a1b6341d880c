"""The preview pane: the selected photo decoded off the GUI thread, scaled to the pane, and its
metadata (file, size, date, camera, cluster, how sure the program is)."""
from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from photoclust.core.imaging import ImageError, load_rgb
from photoclust.core.library import Library
from photoclust.core.library.queries import PhotoDetails, photo_details
from photoclust.core.library.viewing import details_rows
from photoclust.gui.views.who_where import who_and_where_rows
from photoclust.gui.workers import run_in_background

PREVIEW_MIN_SIDE = 720
TEXT_HEIGHT = 160  # the image area while it shows a message instead of a photo


def decode_preview(path: str) -> QImage | str:
    """The photo at ``path`` decoded for the pane (off the GUI thread), or why it cannot be."""
    try:
        image = load_rgb(path, min_side=PREVIEW_MIN_SIDE)
        image.thumbnail((PREVIEW_MIN_SIDE * 2, PREVIEW_MIN_SIDE * 2))
        data = image.tobytes()
        return QImage(data, image.width, image.height, 3 * image.width,
                      QImage.Format.Format_RGB888).copy()
    except (ImageError, OSError) as exc:
        return str(exc)


class PreviewPane(QWidget):
    photoShown = Signal(int)  # the decoded photo is on screen

    def __init__(self, library: Library, parent=None):
        super().__init__(parent)
        self.library = library
        self.photo_id: int | None = None
        self._image: QImage | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

        self.image_label = QLabel("Select a photo to see it here.")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumWidth(200)
        self.image_label.setFixedHeight(TEXT_HEIGHT)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.metadata_label = QLabel()
        self.metadata_label.setObjectName("metadata")
        self.metadata_label.setWordWrap(True)
        self.metadata_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metadata_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label)
        layout.addWidget(self.metadata_label)
        layout.addStretch(1)
        self.setMinimumWidth(220)

    def show_photo(self, photo_id: int | None) -> None:
        """Show ``photo_id`` (None: the hint). The photo shown already is not decoded again:
        only its details are re-read (its cluster may have been renamed, or changed)."""
        if photo_id is not None and photo_id == self.photo_id and self._image is not None:
            self.refresh()
            return
        self.photo_id = photo_id
        self._image = None
        self.image_label.setPixmap(QPixmap())
        self.image_label.setFixedHeight(TEXT_HEIGHT)
        if photo_id is None:
            self.image_label.setText("Select a photo to see it here.")
            self.metadata_label.clear()
            return
        details = photo_details(self.library, photo_id)
        if details is None:
            self.image_label.setText("This photo is no longer in the library.")
            self.metadata_label.clear()
            return
        self.image_label.setText("Loading…")
        self.metadata_label.setText(details_html(details,
                                                 who_and_where_rows(self.library, photo_id)))
        path = details.path
        run_in_background(lambda: decode_preview(path),
                          lambda result: self._on_decoded(photo_id, result),
                          pool=self._pool, owner=self)

    def refresh(self) -> None:
        """Re-read the shown photo's details (its cluster's name after a rename, say)."""
        if self.photo_id is None:
            return
        details = photo_details(self.library, self.photo_id)
        if details is None:
            self.show_photo(None)
            self.image_label.setText("This photo is no longer in the library.")
            return
        self.metadata_label.setText(details_html(details,
                                                 who_and_where_rows(self.library,
                                                                    self.photo_id)))

    def _on_decoded(self, photo_id: int, result) -> None:
        if photo_id != self.photo_id:
            return  # the user moved on
        if isinstance(result, str):
            self.image_label.setText(f"Cannot show this photo:\n{result}")
            return
        self._image = result
        self._rescale()
        self.photoShown.emit(photo_id)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        """Fit the photo to the pane's width and at most 60% of its height, at the top."""
        if self._image is None:
            return
        box = QSize(self.image_label.width(), int(self.height() * 0.6))
        scaled = self._image.scaled(box, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        self.image_label.setFixedHeight(scaled.height())
        self.image_label.setPixmap(QPixmap.fromImage(scaled))


def details_html(d: PhotoDetails, extra: list[tuple[str, str]] | None = None) -> str:
    """A photo's details as a two-column table (the preview pane and the viewer); ``extra``
    rows (people, place, event) after them; an extra row with a label the details have
    replaces that row in its place (a guessed time says so)."""
    rows = dict(details_rows(d))
    for key, value in extra or []:
        rows[key] = value
    return "<table>" + "".join(
        f"<tr><td style='color:#78909c;padding-right:8px'>{html.escape(k)}</td>"
        f"<td>{html.escape(v)}</td></tr>" for k, v in rows.items()
    ) + "</table>"
