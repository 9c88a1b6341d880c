"""The preview pane says why a photo that is not present cannot be shown."""
from __future__ import annotations

import html

from conftest import build_library
from sqlalchemy import update

from photoclust.core.library.models import Photo, PhotoStatus
from photoclust.gui.views.preview import PreviewPane


def _set_status(library, photo_id: int, status: str) -> None:
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == photo_id).values(status=status))


def test_preview_tells_unreadable_from_missing(qtbot, library, tmp_path):
    built = build_library(library, tmp_path / "photos", sizes=(3,))
    first, second, third = built.photo_ids[built.cluster_ids[0]]
    _set_status(library, first, PhotoStatus.UNREADABLE)
    _set_status(library, second, PhotoStatus.MISSING)
    pane = PreviewPane(library)
    qtbot.addWidget(pane)

    pane.show_photo(first)
    assert "can't be read" in html.unescape(pane.metadata_label.text())
    assert "file missing" not in html.unescape(pane.metadata_label.text())
    pane.show_photo(second)
    assert "file missing" in html.unescape(pane.metadata_label.text())
    assert "can't be read" not in html.unescape(pane.metadata_label.text())
    pane.show_photo(third)
    assert "Status" not in html.unescape(pane.metadata_label.text())
