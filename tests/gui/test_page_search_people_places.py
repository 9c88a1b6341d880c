"""The app's search page finds photos by a person's name, a place, and a place with a year
("Lisbon 2023"), through the core's search (people and places are looked up with the words)."""
from __future__ import annotations

from datetime import datetime

import pytest
from _pages import open_page
from PySide6.QtCore import Qt
from sqlalchemy import insert, update

from _face_fixtures import add_faces, centres, near
from photoclust.core.faces import editing
from photoclust.core.faces.grouping import group_faces
from photoclust.core.faces.read import person_names
from photoclust.core.library.models import Photo, PhotoWhenWhere
from photoclust.core.search import index as search_index_module
from photoclust.gui.pages.search import SearchPage


@pytest.fixture
def people_and_places(gui_library):
    """Cluster A's first three photos were taken in Lisbon in 2023, its next two in Lisbon in
    2022; Ana's face is in two photos of cluster B."""
    library = gui_library.library
    a = gui_library.photo_ids[gui_library.cluster_ids[0]]
    b = gui_library.photo_ids[gui_library.cluster_ids[1]]
    with library.session() as s:
        for pid, year in zip(a[:5], (2023, 2023, 2023, 2022, 2022)):
            s.execute(update(Photo).where(Photo.id == pid)
                      .values(taken_at=datetime(year, 7, 14, 12)))
        s.execute(insert(PhotoWhenWhere), [
            {"photo_id": pid, "taken_source": "exif", "time_shift_s": 0,
             "place_city": "Lisbon", "place_country": "Portugal", "place_country_code": "PT"}
            for pid in a[:5]])
    faces = add_faces(library, near(centres(1)[0], 2), photo_ids=b[:2])
    group_faces(library)
    yield gui_library, a, b, faces
    search_index_module.forget(library)


def _search(qtbot, page, text):
    page.field.setFocus()
    page.field.setText(text)
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        qtbot.keyClick(page.field, Qt.Key.Key_Return)
    return sorted(page.model.photo_ids())


def test_search_by_person_place_and_place_with_year(qtbot, people_and_places):
    gui_library, a, b, faces = people_and_places
    library = gui_library.library
    _state, page = open_page(qtbot, SearchPage, library)
    from photoclust.core.faces.read import list_faces

    person = list_faces(library)[0].person_id
    editing.name_person(library, person, "Ana")
    assert person_names(library) == ["Ana"]
    assert _search(qtbot, page, "Ana") == sorted(b[:2])
    assert _search(qtbot, page, "lisbon") == sorted(a[:5])
    assert _search(qtbot, page, "Lisbon 2023") == sorted(a[:3])
    assert _search(qtbot, page, "Portugal 2022") == sorted(a[3:5])
