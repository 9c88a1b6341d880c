"""The app's merge says what it will keep before doing it (issue 24, point 5)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from qt_helpers import select_clusters, settled

from photoclust.core.clustering import editing
from photoclust.core.library.queries import list_clusters


def _names(library) -> dict[int, tuple[str, str]]:
    return {c.id: (c.name, c.name_source) for c in list_clusters(library)}


def test_merge_asks_naming_the_kept_cluster_and_the_users_name(window, photos, qtbot,
                                                                 gui_library):
    library = gui_library.library
    a, b, _c = gui_library.cluster_ids
    with settled(window, qtbot):
        photos.rename_cluster_to(b, "Hats")  # the user's name on B; A's is suggested
    select_clusters(photos, [a, b])  # A clicked last: the target
    qtbot.keyClick(photos.sidebar.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    box = photos.merge_box
    qtbot.waitUntil(lambda: box.isVisible())
    assert box.text() == "Merge “Hats” into “Group A”?"
    assert box.informativeText().startswith(
        "One cluster of 10 photos stays, named “Hats” (the name you gave).")
    assert a in _names(library) and b in _names(library)  # nothing done while it asks
    with settled(window, qtbot):
        next(btn for btn in box.buttons() if btn.text() == "Merge").click()
    assert _names(library)[a] == ("Hats", "user") and b not in _names(library)
    assert photos.grid_title.text() == "Hats  ·  10 photos"


def test_cancelling_the_merge_changes_nothing(window, photos, qtbot, gui_library):
    library = gui_library.library
    a, b, _c = gui_library.cluster_ids
    before = _names(library)
    select_clusters(photos, [a, b])
    box = photos.merge_selected_clusters()
    qtbot.waitUntil(lambda: box.isVisible())
    assert box.informativeText().startswith("One cluster of 10 photos stays, named “Group A”.")
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(100)
    assert not window.queue.is_busy("edits")
    assert _names(library) == before
    assert editing.merge_keeps(library, a, [b]) == (a, "Group A")
