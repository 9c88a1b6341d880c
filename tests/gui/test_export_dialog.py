"""The export dialog driven offscreen: each test checks what is on disk afterwards."""
from __future__ import annotations

import json
import os
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QToolBar

from photoclust.core.export.albums import ExportJob


def _open_dialog(window, qtbot):
    window.export_action.trigger()
    dialog = window.export_dialog
    qtbot.waitExposed(dialog)
    return dialog


def _export(dialog, qtbot, expected: str = "done") -> None:
    with qtbot.waitSignal(dialog.exportEnded, timeout=20000) as ended:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert ended.args == [expected]


def _album_files(outdir) -> dict[str, list[str]]:
    return {d.name: sorted(f.name for f in d.iterdir()) for d in sorted(outdir.iterdir())
            if d.is_dir()}


def _originals(root) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_through_the_dialog_writes_albums_and_a_manifest(window, qtbot, gui_library,
                                                                tmp_path):
    photos = tmp_path / "photos"
    before = _originals(photos)
    outdir = tmp_path / "albums"
    dialog = _open_dialog(window, qtbot)
    assert dialog.all_radio.isChecked() and dialog.cluster_list.count() == 3
    dialog.outdir_edit.setText(str(outdir))
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("copy"))
    dialog.xmp_check.setChecked(True)
    _export(dialog, qtbot)

    albums = _album_files(outdir)
    assert sorted(albums) == ["Group A", "Group B", "Group C"]
    assert [len([n for n in names if n.endswith(".jpg")]) for names in albums.values()] == \
        [6, 4, 3]
    assert all(f"{n}.xmp" in names for names in albums.values() for n in names
               if n.endswith(".jpg"))
    assert (outdir / "Group B" / "photo000.jpg").read_bytes() == \
        (photos / "cluster1" / "photo000.jpg").read_bytes()
    assert "<rdf:li>Group B</rdf:li>" in \
        (outdir / "Group B" / "photo000.jpg.xmp").read_text(encoding="utf-8")
    entries = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["entries"]
    assert len(entries) == 13
    assert {e["cluster_name"] for e in entries} == {"Group A", "Group B", "Group C"}
    assert len((outdir / "manifest.csv").read_text(encoding="utf-8").splitlines()) == 14
    assert _originals(photos) == before  # originals untouched

    summary = dialog.summary_view.toPlainText()
    assert "Exported 13 photos into 3 albums" in summary
    assert str(outdir / "manifest.csv") in summary
    assert dialog.summary_view.isVisible() and dialog.progress_bar.value() == 1
    assert window.messages == []

    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # "Close"
    assert not dialog.isVisible()
    assert _open_dialog(window, qtbot).outdir_edit.text() == str(outdir)  # remembered


def test_the_clusters_selected_in_the_sidebar_are_exported_as_hard_links(window, qtbot,
                                                                         gui_library, tmp_path):
    """Also: a photo whose file has gone is skipped, and the summary says which and why."""
    a, b, c = gui_library.cluster_ids
    gone = tmp_path / "photos" / "cluster1" / "photo003.jpg"
    gone.unlink()
    photos = window.page("photos")
    view, proxy, model = photos.sidebar.view, photos.sidebar.proxy, photos.cluster_model
    selection = view.selectionModel()
    selection.clearSelection()
    for cluster_id in (b, c):
        selection.select(proxy.mapFromSource(model.index(model.row_of(cluster_id))),
                         selection.SelectionFlag.Select)
    outdir = tmp_path / "albums"
    dialog = _open_dialog(window, qtbot)
    assert dialog.chosen_radio.isChecked() and dialog.chosen_cluster_ids() == [b, c]
    dialog.outdir_edit.setText(str(outdir))
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData("hardlink"))
    _export(dialog, qtbot)

    assert sorted(_album_files(outdir)) == ["Group B", "Group C"]
    assert os.path.samefile(outdir / "Group C" / "photo002.jpg",
                            tmp_path / "photos" / "cluster2" / "photo002.jpg")
    entries = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["entries"]
    assert sorted(e["cluster_id"] for e in entries) == [b] * 3 + [c] * 3
    assert "photo003.jpg" not in _album_files(outdir)["Group B"]
    summary = dialog.summary_view.toPlainText()
    assert "Exported 6 photos into 2 albums" in summary and "(hardlink)" in summary
    assert f"1 could not be exported:\n  {gone}: file not found" in summary


def test_no_chosen_cluster_or_no_folder_leaves_export_disabled(window, qtbot, tmp_path):
    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText("")
    assert not dialog.export_button.isEnabled()
    dialog.outdir_edit.setText(str(tmp_path / "albums"))
    assert dialog.export_button.isEnabled()
    dialog.chosen_radio.setChecked(True)
    for row in range(dialog.cluster_list.count()):
        dialog.cluster_list.item(row).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.export_button.isEnabled()
    dialog.cluster_list.item(1).setCheckState(Qt.CheckState.Checked)
    assert dialog.export_button.isEnabled()


def test_cancel_stops_the_export_and_a_rerun_finishes_it(window, qtbot, gui_library, tmp_path,
                                                          monkeypatch):
    exported_one = threading.Event()
    release = threading.Event()
    export_one = ExportJob._export_one

    def export_one_then_wait(job, *args):
        export_one(job, *args)
        exported_one.set()
        assert release.wait(20)

    monkeypatch.setattr(ExportJob, "_export_one", export_one_then_wait)
    outdir = tmp_path / "albums"
    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText(str(outdir))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(exported_one.is_set, timeout=20000)
    # The job is held mid-export: the dialog still takes its progress and the user's click.
    qtbot.waitUntil(lambda: dialog.progress_bar.maximum() == 13, timeout=10000)
    assert not dialog.export_button.isEnabled() and dialog.cancel_button.text() == "Cancel"
    with qtbot.waitSignal(dialog.exportEnded, timeout=20000) as ended:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        assert dialog.isVisible()  # Cancel stops the export; it does not close the dialog
        assert "Stopping" in dialog.progress_label.text()
        release.set()
    assert ended.args == ["cancelled"]
    assert "Export stopped" in dialog.progress_label.text()
    assert sum(len(names) for names in _album_files(outdir).values()) == 1
    entries = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["entries"]
    assert len(entries) == 1  # what was exported before the stop is listed

    monkeypatch.undo()
    assert dialog.export_button.isEnabled() and dialog.cancel_button.text() == "Close"
    _export(dialog, qtbot)
    assert dialog.export_result.exported == 12 and dialog.export_result.unchanged == 1
    assert sum(len(names) for names in _album_files(outdir).values()) == 13


@pytest.mark.parametrize("where, reason", [
    ("photos", "inside or contains a folder of your photos"),
    ("a file.txt", "exists and is not a folder"),
])
def test_a_bad_output_folder_shows_the_reason_in_the_dialog(window, qtbot, gui_library,
                                                            tmp_path, where, reason):
    (tmp_path / "a file.txt").write_text("not a folder")
    before = _originals(tmp_path / "photos")
    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText(str(tmp_path / where))
    _export(dialog, qtbot, expected="failed")

    assert dialog.error_label.isVisible()
    assert reason in dialog.error_label.text()
    assert "Traceback" not in dialog.error_label.text()
    assert not dialog.summary_view.isVisible() and not dialog.progress_bar.isVisible()
    assert _originals(tmp_path / "photos") == before
    assert not (tmp_path / "photos" / "manifest.json").exists()
    assert (tmp_path / "a file.txt").read_text() == "not a folder"
    assert dialog.isVisible() and dialog.export_button.isEnabled()  # fix the folder, retry


def test_export_action_is_in_the_main_window(window, gui_library):
    action = window.export_action
    assert action in window.findChild(QToolBar, "mainToolbar").actions()
    assert action.shortcut() == QKeySequence("Ctrl+E")
    assert not action.icon().isNull()
    assert action.isEnabled()
    shortcuts = [s for a in window.actions() for s in a.shortcuts()]
    assert shortcuts.count(QKeySequence("Ctrl+E")) == 1  # no ambiguous shortcut


def test_export_action_is_disabled_without_clusters(qtbot, library):
    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    create_application()
    window = MainWindow(library)
    qtbot.addWidget(window)
    assert not window.export_action.isEnabled()


def test_an_output_folder_inside_an_indexed_folder_is_refused_in_the_dialog(window, qtbot,
                                                                            gui_library,
                                                                            tmp_path):
    """photos/Albums holds no photo, but photos was indexed: the next index would take the
    copies in. The dialog refuses it through the same core check as `photoclust export`."""
    from photoclust.core.library.folders import remember_indexed_folders

    remember_indexed_folders(gui_library.library, [tmp_path / "photos"])
    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText(str(tmp_path / "photos" / "Albums"))
    _export(dialog, qtbot, expected="failed")
    assert "inside or contains a folder of your photos" in dialog.error_label.text()
    assert not (tmp_path / "photos" / "Albums").exists()


def test_albums_per_person_and_per_event_as_the_command_line_offers(window, qtbot, gui_library,
                                                                   tmp_path):
    """The dialog offers albums per cluster, per event (``export --events``) and per named
    person (``export --people``): the list shows the events or people to choose from, and the
    export writes one folder per event or person."""
    from sqlalchemy import insert

    from _face_fixtures import add_faces, centres, near
    from photoclust.core.faces.editing import move_faces
    from photoclust.core.library.models import Event, EventPhoto

    library = gui_library.library
    a, b, _c = gui_library.cluster_ids
    anna_photos, picnic = gui_library.photo_ids[a][:3], gui_library.photo_ids[b][:2]
    centre = centres(2)
    anna = add_faces(library, near(centre[0], 3, seed=1), photo_ids=anna_photos)
    someone = add_faces(library, near(centre[1], 1, seed=2), photo_ids=picnic[:1])
    move_faces(library, someone, None)  # unnamed: no album
    with library.session() as s:
        s.add(Event(id=5, name="Picnic"))
        s.flush()
        s.execute(insert(EventPhoto), [{"photo_id": p, "event_id": 5} for p in picnic])

    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText(str(tmp_path / "people"))
    assert [dialog.kind_combo.itemData(i) for i in range(dialog.kind_combo.count())] == [
        "clusters", "events", "people"]
    dialog.set_album_kind("people")  # nobody named yet: nothing to export, and why
    assert dialog.cluster_list.count() == 0 and dialog.scope_hint.isVisible()
    assert "No named people yet" in dialog.scope_hint.text()
    assert not dialog.export_button.isEnabled()
    dialog.reject()

    move_faces(library, anna, None, name="Anna")
    dialog = _open_dialog(window, qtbot)
    dialog.outdir_edit.setText(str(tmp_path / "people"))
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("people"))
    assert dialog.all_radio.text() == "All named people"
    assert dialog.scope_label.text() == "People:" and not dialog.scope_hint.isVisible()
    assert [dialog.cluster_list.item(r).text() for r in range(dialog.cluster_list.count())] == [
        "Anna (3)"]
    _export(dialog, qtbot)
    assert {k: len(v) for k, v in _album_files(tmp_path / "people").items()} == {"Anna": 3}
    manifest = json.loads((tmp_path / "people" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["albums"] == "people"

    dialog.outdir_edit.setText(str(tmp_path / "events"))
    dialog.set_album_kind("events")
    assert dialog.scope_label.text() == "Events:" and dialog.all_radio.text() == "All events"
    assert [dialog.cluster_list.item(r).text() for r in range(dialog.cluster_list.count())] == [
        "Picnic (2)"]
    dialog.chosen_radio.setChecked(True)
    assert not dialog.export_button.isEnabled()  # none checked
    dialog.cluster_list.item(0).setCheckState(Qt.CheckState.Checked)
    _export(dialog, qtbot)
    assert {k: len(v) for k, v in _album_files(tmp_path / "events").items()} == {"Picnic": 2}

    dialog.set_album_kind("clusters")  # back to the clusters, as they were
    assert dialog.cluster_list.count() == 3 and dialog.scope_label.text() == "Clusters:"
    dialog.set_album_kind("events")  # the event checked before is still checked
    assert dialog.chosen_cluster_ids() == [5]
