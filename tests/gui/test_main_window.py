"""The main window driven offscreen like a user would: each test checks what the library holds."""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from sqlalchemy import select

from photoclust.core.jobs import Job
from photoclust.core.library.models import Assignment, Cluster, Setting
from photoclust.gui.models.cluster_model import ClusterRole
from photoclust.gui.models.photo_model import PhotoRole

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _clusters(library) -> dict[int, tuple[str, str, bool]]:
    with library.session() as s:
        return {c.id: (c.name, c.name_source, c.active) for c in s.scalars(select(Cluster))}


def _members(library, cluster_id) -> list[int]:
    with library.session() as s:
        return sorted(s.scalars(select(Assignment.photo_id)
                                .where(Assignment.cluster_id == cluster_id)))


def _select_photos(window, rows) -> None:
    selection = window.grid.selectionModel()
    selection.clearSelection()
    for r in rows:
        selection.select(window.photo_model.index(r), QItemSelectionModel.SelectionFlag.Select)


def _select_clusters(window, cluster_ids) -> None:
    """Current = the first id (the merge target); all of them selected."""
    view, proxy, model = window.sidebar.view, window.sidebar.proxy, window.cluster_model
    indexes = [proxy.mapFromSource(model.index(model.row_of(c))) for c in cluster_ids]
    view.selectionModel().setCurrentIndex(indexes[0],
                                          QItemSelectionModel.SelectionFlag.ClearAndSelect)
    for index in indexes[1:]:
        view.selectionModel().select(index, QItemSelectionModel.SelectionFlag.Select)


def test_selecting_a_cluster_shows_its_photos(window, gui_library):
    second = gui_library.cluster_ids[1]
    assert window.sidebar.current_cluster_id() == gui_library.cluster_ids[0]
    _select_clusters(window, [second])
    shown = [window.photo_model.index(r).data(PhotoRole.PhotoId)
             for r in range(window.photo_model.rowCount())]
    assert shown == gui_library.photo_ids[second] == _members(gui_library.library, second)
    assert window.summary_label.text() == "13 photos in 3 clusters"


def test_preview_shows_the_photo_and_its_metadata(window, qtbot, gui_library):
    with qtbot.waitSignal(window.preview.photoShown, timeout=10000) as shown:
        window.grid.setCurrentIndex(window.photo_model.index(2))
    assert shown.args == [gui_library.photo_ids[gui_library.cluster_ids[0]][2]]
    assert not window.preview.image_label.pixmap().isNull()
    assert "photo002.jpg" in window.preview.metadata_label.text()
    assert "Group A (90% sure)" in window.preview.metadata_label.text()


def test_drop_on_sidebar_moves_photos_and_undo_brings_them_back(window, qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[0], gui_library.cluster_ids[1]
    mime = window.photo_model.mimeData([window.photo_model.index(0), window.photo_model.index(1)])
    target = window.sidebar.proxy.mapFromSource(window.cluster_model.index(
        window.cluster_model.row_of(b)))
    with qtbot.waitSignal(window.libraryChanged):
        window.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    moved = gui_library.photo_ids[a][:2]
    assert set(moved) <= set(_members(library, b))
    assert window.photo_model.rowCount() == 4  # the grid of cluster A lost them
    with qtbot.waitSignal(window.libraryChanged):
        window.undo_action.trigger()
    assert set(moved) <= set(_members(library, a))
    with qtbot.waitSignal(window.libraryChanged):
        window.redo_action.trigger()
    assert set(moved) <= set(_members(library, b))


def test_merge_selected_clusters_with_ctrl_m(window, qtbot, gui_library):
    library = gui_library.library
    a, b, c = gui_library.cluster_ids
    _select_clusters(window, [b, c])
    assert window.merge_action.isEnabled()
    with qtbot.waitSignal(window.libraryChanged):
        qtbot.keyClick(window.sidebar.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert _members(library, b) == sorted(gui_library.photo_ids[b] + gui_library.photo_ids[c])
    assert _clusters(library)[c][2] is False  # merged away, id kept for undo
    assert window.cluster_model.rowCount() == 2
    assert window.sidebar.current_cluster_id() == b


def test_split_cluster_makes_a_new_cluster_from_part_of_it(window, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    before = set(_clusters(library))
    with qtbot.waitSignal(window.libraryChanged, timeout=20000):
        window.split_action.trigger()
    new = set(_clusters(library)) - before
    assert len(new) == 1
    (new_id,) = new
    parts = [set(_members(library, a)), set(_members(library, new_id))]
    assert parts[0] | parts[1] == set(gui_library.photo_ids[a]) and all(parts)
    assert window.cluster_model.rowCount() == 4


def test_rename_inline_with_f2(window, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    window.activateWindow()
    window.sidebar.view.setFocus()
    qtbot.keyClick(window.sidebar.view, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "Group A"
    editor.selectAll()
    qtbot.keyClicks(editor, "Beach days")
    with qtbot.waitSignal(window.libraryChanged):
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert _clusters(library)[a][:2] == ("Beach days", "user")
    assert window.cluster_model.index(window.cluster_model.row_of(a)).data(
        ClusterRole.Name) == "Beach days"
    with qtbot.waitSignal(window.libraryChanged):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _clusters(library)[a][:2] == ("Group A", "auto")
    with qtbot.waitSignal(window.libraryChanged):
        qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert _clusters(library)[a][:2] == ("Beach days", "user")


def test_refused_rename_changes_nothing_and_is_not_undoable(window, gui_library):
    a = gui_library.cluster_ids[0]
    window.rename_cluster_to(a, "   ")
    assert _clusters(gui_library.library)[a][0] == "Group A"
    assert window.edits.count() == 0 and window.messages == ["a cluster name cannot be empty"]


def test_new_cluster_from_selection(window, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    _select_photos(window, [0, 2, 4])
    with qtbot.waitSignal(window.libraryChanged):
        window.new_cluster_action.trigger()
    new_id = window.sidebar.current_cluster_id()
    assert new_id not in gui_library.cluster_ids
    chosen = [gui_library.photo_ids[a][r] for r in (0, 2, 4)]
    assert _members(library, new_id) == chosen
    assert window.photo_model.rowCount() == 3  # the new cluster is shown


def test_delete_key_removes_photos_from_their_cluster(window, qtbot, gui_library):
    library = gui_library.library
    c = gui_library.cluster_ids[2]
    _select_clusters(window, [c])
    _select_photos(window, [0])
    window.grid.setFocus()
    with qtbot.waitSignal(window.libraryChanged):
        qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    assert _members(library, c) == gui_library.photo_ids[c][1:]
    with library.session() as s:
        assert s.get(Assignment, gui_library.photo_ids[c][0]) is None


class _SlowJob(Job):
    """Writes one settings row per step until cancelled; ``started`` is set after step 0."""

    title = "Slow job"

    def __init__(self, library):
        self.library = library
        self.started = threading.Event()

    def run(self, ctx):
        for step in range(10_000):
            ctx.raise_if_cancelled()
            with self.library.session() as s:
                s.merge(Setting(key="slow_job_step", value=str(step)))
            ctx.report(step + 1, 10_000, f"step {step}")
            self.started.set()
            threading.Event().wait(0.005)
        return "finished"


def test_cancel_a_running_job_from_the_status_bar(window, qtbot, gui_library):
    library = gui_library.library
    job = _SlowJob(library)
    worker = window.start_job(job)
    with qtbot.waitSignal(worker.progressed, timeout=10000):
        pass
    assert window.job_status.isVisible() and not window.organize_action.isEnabled()
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    with library.session() as s:
        last_step = int(s.get(Setting, "slow_job_step").value)
    assert last_step < 9_999  # stopped early; the steps done so far are saved
    assert not window.job_status.isVisible() and window.organize_action.isEnabled()


def test_first_run_invites_to_add_a_folder(qtbot, library, tmp_path, monkeypatch):
    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow
    from photoclust.gui.settings import LibrarySettings

    create_application()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    assert window.pages.currentWidget() is window.welcome
    assert window.welcome.organize_button.isEnabled()
    (text,) = [w for w in window.welcome.findChildren(QLabel) if "library is empty" in w.text()]
    assert text.height() >= text.heightForWidth(text.width())  # no line of it is cut off
    started = []
    monkeypatch.setattr(window, "organize", lambda: started.append(True))
    folder = tmp_path / "my photos"
    folder.mkdir()
    window.welcome.folder_edit.setText(str(folder))
    qtbot.mouseClick(window.welcome.organize_button, Qt.MouseButton.LeftButton)
    assert started == [True]
    assert LibrarySettings.load(library).folders == (str(folder),)


def test_settings_dialog_stores_choices_in_the_library(window, qtbot, gui_library):
    from photoclust.gui.settings import LibrarySettings

    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    # The fixture library was organised with Lite0: it keeps its model, not today's default.
    assert dialog.model_combo.currentText() == "efficientnet_lite0"
    dialog.device_combo.setCurrentText("cpu")
    dialog.k_fixed.setChecked(True)
    dialog.k_spin.setValue(12)
    dialog.thumb_combo.setCurrentIndex(dialog.thumb_combo.findData(128))
    dialog.accept()
    window.apply_settings(dialog)
    saved = LibrarySettings.load(gui_library.library)
    assert (saved.model, saved.device, saved.k, saved.thumbnail_size) == (
        "efficientnet_lite0", "cpu", 12, 128)
    assert window.grid.iconSize().width() == 128


def test_screenshot_command_saves_a_png_of_the_drawn_window(gui_library, tmp_path):
    from PIL import Image

    out = tmp_path / "shot.png"
    library_path = gui_library.library.path
    gui_library.library.close()
    proc = subprocess.run(
        [sys.executable, "-m", "photoclust", "gui", "--library", str(library_path),
         "--screenshot", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as image:
        assert image.size == (1320, 820)
        # Cluster B's cover (green) is drawn in the sidebar: the thumbnails were loaded.
        sidebar = np.asarray(image.convert("RGB").crop((0, 60, 250, 400))).reshape(-1, 3)
    r, g, b = sidebar[:, 0], sidebar[:, 1], sidebar[:, 2]
    assert np.count_nonzero((g > 120) & (r < 90) & (b < 110)) > 500


def test_removed_photos_are_listed_under_not_in_a_cluster_and_can_be_dropped_back(
        window, qtbot, gui_library):
    from photoclust.gui.models.cluster_model import UNASSIGNED_ID

    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    assert window.cluster_model.row_of(UNASSIGNED_ID) == -1  # every photo is in a cluster
    _select_photos(window, [0, 1])
    with qtbot.waitSignal(window.libraryChanged):
        window.remove_action.trigger()
    removed = gui_library.photo_ids[a][:2]
    unassigned_row = window.cluster_model.row_of(UNASSIGNED_ID)
    assert window.cluster_model.cluster(unassigned_row).size == 2
    assert window.sidebar.proxy.mapFromSource(
        window.cluster_model.index(unassigned_row)).row() == 3  # listed last
    _select_clusters(window, [UNASSIGNED_ID])
    shown = [window.photo_model.index(r).data(PhotoRole.PhotoId)
             for r in range(window.photo_model.rowCount())]
    assert shown == removed
    assert not window.split_action.isEnabled() and not window.rename_action.isEnabled()
    mime = window.photo_model.mimeData([window.photo_model.index(0)])
    target = window.sidebar.proxy.mapFromSource(window.cluster_model.index(
        window.cluster_model.row_of(b)))
    with qtbot.waitSignal(window.libraryChanged):
        window.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    assert removed[0] in _members(library, b)
    with library.session() as s:
        assert s.get(Assignment, removed[1]) is None


def test_least_sure_first_lists_the_photos_most_worth_checking_first(window, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    ids = gui_library.photo_ids[a]
    with library.session() as s:
        for confidence, pid in zip((0.8, 0.2, 0.5), ids[:3]):
            s.get(Assignment, pid).confidence = confidence
    window.reload()
    window.order_combo.setCurrentIndex(window.order_combo.findData("confidence"))
    shown = [window.photo_model.index(r).data(PhotoRole.PhotoId)
             for r in range(window.photo_model.rowCount())]
    assert shown[:3] == [ids[1], ids[2], ids[0]]


def test_organize_runs_index_embed_and_cluster_on_the_added_folders(window, tmp_path, monkeypatch):
    from photoclust.core.pipeline import OrganizeJob
    from photoclust.gui.settings import LibrarySettings

    started = []
    monkeypatch.setattr(window, "start_job", lambda job, on_finished=None: started.append(job))
    folder = tmp_path / "holiday"
    folder.mkdir()
    window.organize_folder(str(folder))
    (job,) = started
    assert isinstance(job, OrganizeJob)
    assert [str(f) for f in job.scan_job.folders] == [str(folder)]
    assert job.embed_job.model == job.cluster_job.model == "efficientnet_lite0"  # the library's
    assert LibrarySettings.load(window.library).folders == (str(folder),)
    window.organize_folder(str(tmp_path / "no such folder"))
    assert len(started) == 1 and "is not a folder" in window.messages[-1]


def test_screenshot_of_a_file_that_is_not_a_library_fails_cleanly(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("not a database")
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, "-m", "photoclust", "gui", "--library", str(bad), "--screenshot",
         str(out)], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 2 and "not a photoclust library" in proc.stderr
    assert not out.exists() and bad.read_text() == "not a database"


def test_gui_without_a_display_explains_instead_of_aborting(library, monkeypatch, capsys):
    from photoclust.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["--library", str(library.path)]) == 2  # no command: the desktop application
    assert "no display" in capsys.readouterr().err


def test_an_edit_drops_rows_in_place_keeping_the_other_photos_selected(window, qtbot, gui_library):
    a, b = gui_library.cluster_ids[:2]
    ids = gui_library.photo_ids[a]
    _select_photos(window, [3, 4])
    mime = window.photo_model.mimeData([window.photo_model.index(0)])
    target = window.sidebar.proxy.mapFromSource(window.cluster_model.index(
        window.cluster_model.row_of(b)))
    with qtbot.waitSignal(window.photo_model.rowsRemoved):
        window.sidebar.proxy.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, target)
    assert [window.photo_model.index(r).data(PhotoRole.PhotoId)
            for r in range(window.photo_model.rowCount())] == ids[1:]
    assert sorted(window.grid.selected_photo_ids()) == ids[3:5]  # selection survived
    assert window.grid_title.text() == "Group A  ·  5 photos"
    assert _members(gui_library.library, a) == ids[1:]
