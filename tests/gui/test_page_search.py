"""The search page: a word finds photos, Ctrl+F and the toolbar box bring it up, Show similar,
and the results act like a cluster (move, new cluster, export)."""
from __future__ import annotations

import json

import pytest
from _pages import open_page, page_requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import insert, select, update

from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo
from photoclust.core.search import index as search_index_module
from photoclust.gui.pages.search import SearchBox, SearchPage

TOP = {0: [["beagle", 0.8], ["basset", 0.1]], 1: [["cowboy hat", 0.6], ["sombrero", 0.3]],
       2: [["seashore", 0.7], ["sandbar", 0.2]]}


@pytest.fixture
def searchable(gui_library):
    """``gui_library`` whose embeddings say: cluster A shows dogs, B hats, C a beach."""
    library = gui_library.library
    with library.session() as s:
        for c, cid in enumerate(gui_library.cluster_ids):
            hashes = s.scalars(select(Photo.content_hash)
                               .where(Photo.id.in_(gui_library.photo_ids[cid])))
            s.execute(update(Embedding).where(Embedding.content_hash.in_(list(hashes)))
                      .values(top_classes=json.dumps(TOP[c])))
    yield gui_library
    search_index_module.forget(library)


def _open(qtbot, gui_library):
    return open_page(qtbot, SearchPage, gui_library.library)


def _search(qtbot, page, text):
    page.field.setFocus()
    page.field.setText(text)
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        qtbot.keyClick(page.field, Qt.Key.Key_Return)


def _export_hats(qtbot, gui_library):
    """Search "hat", select every result and "Export as album…": the app state and the export
    dialog it opened."""
    state, page = _open(qtbot, gui_library)
    _search(qtbot, page, "hat")
    page.results.selectAll()
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        page.export_action.trigger()
    qtbot.waitUntil(lambda: page.export_dialog is not None and page.export_dialog.isVisible())
    return state, page.export_dialog


def _dogs(gui_library):
    return gui_library.photo_ids[gui_library.cluster_ids[0]]


def test_typing_a_word_finds_the_photos_that_show_it(qtbot, searchable):
    _state, page = _open(qtbot, searchable)
    _search(qtbot, page, "dog")
    assert sorted(page.model.photo_ids()) == sorted(_dogs(searchable))
    assert page.status.text().startswith(f"{len(_dogs(searchable))} photos for “dog”")
    assert page.results.iconSize().width() >= 160
    assert "dog" in page.model.data(page.model.index(0), Qt.ItemDataRole.ToolTipRole)


def test_an_unknown_word_gives_a_hint_not_an_error(qtbot, searchable):
    _state, page = _open(qtbot, searchable)
    _search(qtbot, page, "xqzzv")
    assert page.model.rowCount() == 0 and page.status.text() == "No results"
    assert "is not a word photoclust knows" in page.hint.text() and page.hint.isVisible()
    assert not page.move_action.isEnabled()


def test_an_empty_query_shows_what_can_be_typed(qtbot, searchable):
    _state, page = _open(qtbot, searchable)
    page.search("   ")
    assert page.model.rowCount() == 0
    assert page.hint.text().startswith("Type what the photos show")


def test_the_toolbar_box_and_ctrl_f_bring_up_the_page_ready_to_type(qtbot, searchable):
    state, page = _open(qtbot, searchable)
    requests = page_requests(qtbot, state)
    box = SearchBox(state)
    qtbot.addWidget(box)
    box.setText("hat")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert requests[-1] == ("search", {"text": "hat"})
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        page.activate(**requests[-1][1])
    hats = searchable.photo_ids[searchable.cluster_ids[1]]
    assert sorted(page.model.photo_ids()) == sorted(hats)
    page.results.setFocus()
    page.activate()  # what the shell's Ctrl+F does
    assert QApplication.focusWidget() is page.field and page.field.selectedText() == "hat"


def test_show_similar_lists_the_nearest_photos_without_the_photo_itself(qtbot, searchable):
    state, page = _open(qtbot, searchable)
    start = _dogs(searchable)[0]
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        page.activate(similar_to=start)
    ids = page.model.photo_ids()
    assert start not in ids and len(ids) == 12
    assert set(ids[:5]) == set(_dogs(searchable)) - {start}  # its own group first
    assert page.status.text() == "12 photos like photo000.jpg"
    page.results.setCurrentIndex(page.model.index(5))
    other = page.results.current_photo_id()
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        qtbot.keyClick(page.results, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert page.similar_to == other and other not in page.model.photo_ids()


def test_similar_for_a_photo_without_an_embedding_is_one_sentence(qtbot, searchable):
    library = searchable.library
    with library.session() as s:
        s.execute(insert(Photo), [{"path": "/elsewhere/new.jpg", "content_hash": "e" * 64,
                                   "file_size": 1, "mtime_ns": 1, "status": "present"}])
        new = s.scalar(select(Photo.id).where(Photo.path == "/elsewhere/new.jpg"))
    _state, page = _open(qtbot, searchable)
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        page.activate(similar_to=new)
    assert page.model.rowCount() == 0
    assert page.hint.text().startswith(f"Photo {new} has no embedding")


def test_move_selected_results_to_a_cluster(qtbot, searchable):
    library = searchable.library
    state, page = _open(qtbot, searchable)
    _search(qtbot, page, "dog")
    page.results.selectAll()
    target = searchable.cluster_ids[2]
    qtbot.keyClick(page.results, Qt.Key.Key_M)
    assert page.picker is not None and page.picker.isVisible()
    qtbot.keyClicks(page.picker.filter, "Group C")
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        qtbot.keyClick(page.picker.filter, Qt.Key.Key_Return)
    with library.session() as s:
        placed = s.execute(select(Assignment.cluster_id, Assignment.source)
                           .where(Assignment.photo_id.in_(_dogs(searchable)))).all()
    assert set(placed) == {(target, "user")}


def test_new_cluster_from_selected_results_is_named_after_the_query(qtbot, searchable):
    library = searchable.library
    state, page = _open(qtbot, searchable)
    _search(qtbot, page, "dog")
    chosen = page.model.photo_ids()[:3]
    page.results.clearSelection()
    for pid in chosen:
        page.results.selectionModel().select(
            page.model.index(page.model.row_of(pid)),
            page.results.selectionModel().SelectionFlag.Select)
    assert page.results.selected_photo_ids() == sorted(chosen, key=page.model.row_of)
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        qtbot.keyClick(page.results, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    with library.session() as s:
        cluster = s.scalar(select(Cluster).where(Cluster.name == "dog"))
        members = set(s.scalars(select(Assignment.photo_id)
                                .where(Assignment.cluster_id == cluster.id)))
    assert members == set(chosen)


def test_export_as_album_makes_the_cluster_and_opens_the_export_dialog_on_it(qtbot, searchable):
    _state, dialog = _export_hats(qtbot, searchable)
    checked = [dialog.cluster_list.item(i).data(Qt.ItemDataRole.UserRole)
               for i in range(dialog.cluster_list.count())
               if dialog.cluster_list.item(i).checkState() == Qt.CheckState.Checked]
    with searchable.library.session() as s:
        hat_cluster = s.scalar(select(Cluster.id).where(Cluster.name == "hat"))
    assert checked == [hat_cluster] and dialog.chosen_radio.isChecked()
    dialog.reject()


def test_the_album_made_from_results_is_exported_on_the_app_s_job_queue(qtbot, searchable,
                                                                      tmp_path):
    """Found by type-checking the GUI: the page gave the dialog the queue's thread pool, so
    Export raised AttributeError instead of exporting."""
    state, dialog = _export_hats(qtbot, searchable)
    assert dialog.queue is state.queue
    dialog.outdir_edit.setText(str(tmp_path / "albums"))
    with qtbot.waitSignal(state.queue.jobEnded, timeout=30000):
        worker = dialog.start_export()
    assert worker is not None and worker.outcome == "done"
    assert (tmp_path / "albums" / "manifest.csv").is_file()
    dialog.reject()


def test_enter_on_a_result_opens_the_viewer_over_the_results(qtbot, searchable):
    state, page = _open(qtbot, searchable)
    _search(qtbot, page, "seashore")
    requests = page_requests(qtbot, state)
    qtbot.keyClick(page.field, Qt.Key.Key_Down)  # from the field into the results
    assert QApplication.focusWidget() is page.results
    qtbot.keyClick(page.results, Qt.Key.Key_Return)
    ids = page.model.photo_ids()
    assert requests == [("viewer", {"photo_id": ids[0], "photo_ids": ids, "back": "search"})]
    page.activate(photo_id=ids[2])  # back from the viewer
    assert page.results.current_photo_id() == ids[2]


def test_an_older_answer_never_replaces_a_newer_query(qtbot, searchable):
    _state, page = _open(qtbot, searchable)
    page.search("hat")
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        page.search("dog")
    qtbot.wait(200)
    assert sorted(page.model.photo_ids()) == sorted(_dogs(searchable))


def test_typing_a_query_never_triggers_the_pages_letter_keys(qtbot, searchable):
    _state, page = _open(qtbot, searchable)
    _search(qtbot, page, "dog")
    page.results.selectAll()
    page.field.setFocus()
    page.field.clear()
    qtbot.keyClicks(page.field, "mouse")  # M is "Move to…" on the results
    assert page.picker is None and page.field.text() == "mouse"


def test_the_page_says_it_is_getting_ready_until_search_is_loaded(qtbot, searchable):
    """The constructor loads core.search on the page's worker (never on the GUI thread): until
    then the page says so, then it shows what can be typed."""
    from photoclust.gui.app import create_application
    from photoclust.gui.state import AppState

    create_application()
    page = SearchPage(AppState(searchable.library))
    qtbot.addWidget(page)
    assert page.status.text() == "Getting search ready…" and page.hint.isHidden()
    with qtbot.waitSignal(page.hintShown, timeout=30000):
        pass
    assert page.status.text() == "Search your photos"
    assert page.hint.text().startswith("Type what the photos show")


def test_a_query_typed_while_search_loads_is_not_overwritten_by_the_hint(qtbot, searchable):
    from photoclust.gui.app import create_application
    from photoclust.gui.state import AppState

    create_application()
    page = SearchPage(AppState(searchable.library))
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.resultsShown, timeout=30000):
        page.search("dog")
    qtbot.wait(50)
    assert sorted(page.model.photo_ids()) == sorted(_dogs(searchable))
    assert page.status.text().startswith(f"{len(_dogs(searchable))} photos for “dog”")
