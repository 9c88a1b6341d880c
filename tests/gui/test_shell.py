"""The main window as a shell: toolbar and menus at small sizes, undo from the library's history,
the job queue and the status area, Organize/Learn/Re-cluster, settings, start-up and close."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QToolBar, QToolButton
from qt_helpers import settled
from sqlalchemy import select

from photoclust.core.clustering import editing
from photoclust.core.jobs import Job, Progress
from photoclust.core.library import open_library
from photoclust.core.library.models import Assignment, Cluster, Photo, Setting
from photoclust.core.organize.settings import load_settings, save_settings
from photoclust.gui.views.job_status import describe_progress, format_time_left

REPO_ROOT = Path(__file__).resolve().parents[2]


def _names(library) -> dict[int, str]:
    with library.session() as s:
        return {c.id: c.name for c in s.scalars(select(Cluster))}


class _GateJob(Job):
    """Reports progress until cancelled or its gate opens; writes a settings row per step."""

    def __init__(self, library, title="Slow job", total=1000, message="", stage=""):
        self.library, self.title, self.total, self.message = library, title, total, message
        self.stage = stage
        self.gate = threading.Event()
        self.started = threading.Event()

    def run(self, ctx):
        for step in range(self.total):
            ctx.raise_if_cancelled()
            if self.gate.is_set():
                return "finished"
            with self.library.session() as s:
                s.merge(Setting(key="gate_job_step", value=str(step)))
            ctx.report(step + 1, self.total, self.message or f"step {step}", stage=self.stage)
            self.started.set()
            time.sleep(0.01)
        return "finished"


# --- toolbar, menus, pages ----------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
def test_every_toolbar_action_is_visible_without_an_overflow_chevron(window, qtbot, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    toolbar = window.findChild(QToolBar, "mainToolbar")
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert extension is None or not extension.isVisible()
    for action in toolbar.actions():
        if action.isSeparator():
            continue
        button = toolbar.widgetForAction(action)
        assert button is not None and button.isVisible(), action.text()
        assert button.geometry().right() <= toolbar.width()
    labels = {a.iconText() for a in toolbar.actions() if not a.isSeparator()}
    assert {"Add folder", "Organize", "Undo", "Redo", "Rename", "Merge", "Split", "New",
            "Remove", "Learn", "Export", "Settings"} <= labels


def test_undo_label_stays_short_while_its_tooltip_and_menu_say_what_it_undoes(
        window, photos, qtbot, gui_library):
    a = gui_library.cluster_ids[0]
    with qtbot.waitSignal(window.history.changed):
        photos.rename_cluster_to(a, "A much longer name for the hats and knee pads")
    assert window.undo_action.text() == "Undo"
    assert "A much longer name" in window.undo_action.toolTip()
    assert window.undo_menu_action.text().startswith("Undo: Renamed")
    assert window.undo_menu_action in window.edit_menu.actions()
    toolbar = window.findChild(QToolBar, "mainToolbar")
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    assert extension is None or not extension.isVisible()


def test_the_menu_bar_reaches_every_action_with_its_shortcut(window):
    menus = {m.title().replace("&", ""): m for m in
             (a.menu() for a in window.menuBar().actions()) if m is not None}
    assert {"File", "Edit", "View", "Tools", "Help"} <= set(menus)
    window._fill_edit_menu()  # what opening the menu does
    window._fill_view_menu()
    in_menus = {a.objectName() for m in menus.values() for a in m.actions()}
    assert {"addFolder", "organize", "recluster", "export", "settings", "quit", "undoMenu",
            "redoMenu", "rename", "merge", "split", "newCluster", "remove", "learn",
            "show_photos", "show_map", "show_review", "biggerThumbnails"} <= in_menus
    keys = {a.objectName(): a.shortcut().toString() for m in menus.values() for a in m.actions()}
    assert keys["undoMenu"] == "Ctrl+Z" and keys["merge"] == "Ctrl+M" and keys["rename"] == "F2"


def test_pages_are_registered_by_name_and_shown_with_tabs_and_keys(window, qtbot):
    assert {"photos", "viewer", "map", "review", "duplicates", "search"} <= set(window.page_classes)
    assert set(window.pages) == {"photos"}  # the others are built when first shown
    assert window.current_page.name == "photos"
    jobs = []
    window.queue.jobQueued.connect(jobs.append)  # the map page computes its layout
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page.name == "map"
    assert window.nav_bar.tabData(window.nav_bar.currentIndex()) == "map"
    window.nav_bar.setCurrentIndex(0)
    assert window.current_page.name == "photos"
    window.queue.cancel_all()


def test_pages_are_found_by_name_and_a_missing_module_is_left_out(monkeypatch):
    from photoclust.gui import main_window

    for name in main_window.PAGE_MODULES:
        cls = main_window.page_class(name)
        assert cls is not None and cls.name == name
    monkeypatch.setitem(main_window.PAGE_MODULES, "map", "photoclust.gui.pages.no_such_module")
    assert main_window.page_class("map") is None
    assert main_window.page_class("no-such-page") is None


def test_page_titles_are_those_of_the_page_classes():
    from photoclust.gui import main_window

    assert set(main_window.PAGE_TITLES) == set(main_window.PAGE_MODULES)
    for name in main_window.PAGE_MODULES:
        assert main_window.PAGE_TITLES[name] == main_window.page_class(name).title


def _window_script(script: str, library_path, keys: tuple[str, ...]) -> dict[str, str]:
    """Run ``script`` in a new Python process (offscreen Qt, the library's path as its argument,
    so that no other test has imported the pages) and return its printed lines that start with
    one of ``keys``, as ``{first word: the rest}``."""
    done = subprocess.run([sys.executable, "-c", script, str(library_path)],
                          capture_output=True, text=True, timeout=180, cwd=REPO_ROOT,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                               "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines()
                if line.startswith(keys))


_LAZY_PAGES = """
import sys
from photoclust.core.library import open_library
from photoclust.gui.app import create_application
from photoclust.gui.main_window import PAGE_MODULES, MainWindow

create_application()
window = MainWindow(open_library(sys.argv[1]))
window.show()
print("opened", sorted(n for n, m in PAGE_MODULES.items() if m in sys.modules))
print("tabs", window.nav_bar.count(), window.nav_bar.tabText(1))
window.show_page("map")
print("after map", sorted(n for n, m in PAGE_MODULES.items() if m in sys.modules))
window.queue.cancel_all()
window.queue.wait_for_done(10000)
"""


def test_opening_the_window_imports_only_the_photos_page(gui_library):
    """A new process, so that no other test has imported the pages: opening the window imports
    the Photos page's module only, the others on their first visit (their tabs are there)."""
    lines = _window_script(_LAZY_PAGES, gui_library.library.path, ("opened", "tabs", "after"))
    assert lines["opened"] == "['photos']"
    assert lines["tabs"] == "7 Map"
    assert lines["after"] == "map ['map', 'photos']"


_PREFETCH = """
import sys
from PySide6.QtCore import QEventLoop, QTimer
from photoclust.core.library import open_library
from photoclust.gui import main_window
from photoclust.gui.app import create_application

main_window.PREFETCH_PAGES_AFTER_MS = 50
create_application()
window = main_window.MainWindow(open_library(sys.argv[1]))
window.show()
print("opened", sorted(n for n, m in main_window.PAGE_MODULES.items() if m in sys.modules))
loop = QEventLoop()
QTimer.singleShot(500, loop.quit)
loop.exec()
started = window.page_classes.prefetching
print("started", started is not None)
if started is not None:
    started.join(120)
print("later", sorted(n for n, m in main_window.PAGE_MODULES.items() if m in sys.modules))
print("built", sorted(window.pages))
window.show_page("map")
print("map shown", window.current_page.name)
window.queue.cancel_all()
window.queue.wait_for_done(10000)
"""


def test_the_other_pages_modules_are_imported_in_the_background_after_the_window_opens(
        gui_library):
    """A new process: the window opens with the Photos page's module only; a moment later the
    other pages' modules are imported on a background thread (their first opening then pays no
    import on the GUI thread), while no page but Photos is built until it is shown."""
    lines = _window_script(_PREFETCH, gui_library.library.path,
                           ("opened", "started", "later", "built", "map"))
    assert lines["opened"] == "['photos']"
    assert lines["started"] == "True"
    assert lines["later"] == str(sorted(main_window_pages()))
    assert lines["built"] == "['photos']"
    assert lines["map"] == "shown map"


def main_window_pages() -> list[str]:
    from photoclust.gui.main_window import PAGE_MODULES, page_module_exists

    return [name for name in PAGE_MODULES if page_module_exists(name)]


def test_review_and_map_are_disabled_on_an_empty_library(qtbot, library, monkeypatch):
    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    create_application()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    photos = window.page("photos")
    assert photos.stack.currentWidget() is photos.welcome
    assert not window.nav_actions["map"].isEnabled()
    assert not window.nav_actions["review"].isEnabled()
    assert not window.learn_action.isEnabled() and not window.export_action.isEnabled()
    tab = [i for i in range(window.nav_bar.count()) if window.nav_bar.tabData(i) == "review"][0]
    assert not window.nav_bar.isTabEnabled(tab)
    (text,) = [w for w in photos.welcome.findChildren(QLabel) if "library is empty" in w.text()]
    assert text.height() >= text.heightForWidth(text.width())  # no line of it is cut off
    window.close()


def test_first_run_organize_adds_the_folder_to_the_library_settings(
        qtbot, library, tmp_path, monkeypatch):
    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    create_application()
    window = MainWindow(library)
    qtbot.addWidget(window)
    started = []
    monkeypatch.setattr(window, "organize", lambda: started.append(True))
    folder = tmp_path / "my photos"
    folder.mkdir()
    photos = window.page("photos")
    photos.welcome.folder_edit.setText(str(folder))
    qtbot.mouseClick(photos.welcome.organize_button, Qt.MouseButton.LeftButton)
    assert started == [True]
    assert load_settings(library).folders == (str(folder),)
    window.close()


# --- undo from the library's history ------------------------------------------------------------
def test_ctrl_z_undoes_the_edit_it_names_and_ctrl_y_redoes_it(window, photos, qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    with qtbot.waitSignal(window.history.changed):
        photos.rename_cluster_to(a, "Beach")
    assert "Beach" in window.undo_action.toolTip()
    with settled(window, qtbot):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _names(library)[a] == "Group A"
    assert "Beach" in window.redo_action.toolTip()
    with settled(window, qtbot):
        qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert _names(library)[a] == "Beach"


def test_an_edit_made_elsewhere_is_never_undone_by_surprise(window, photos, qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    with qtbot.waitSignal(window.history.changed):
        photos.rename_cluster_to(a, "Beach")
    shown = window.history.next_undo
    # The command line renames B through its own connection; the window has not looked yet.
    other = open_library(library.path)
    editing.rename_cluster(other, b, "Renamed from the CLI")
    other.close()
    with qtbot.waitSignal(window.state.editFailed) as failed:
        window.undo_action.trigger()  # still says "Undo: Renamed ... to 'Beach'"
    assert "can no longer be undone" in failed.args[0]
    assert "Renamed from the CLI" in failed.args[0]
    names = _names(library)
    assert names[a] == "Beach" and names[b] == "Renamed from the CLI"  # nothing undone
    # The window now shows the other edit as the next undo, marked as made elsewhere.
    assert window.history.next_undo.event_id != shown.event_id
    assert "made elsewhere" in window.undo_action.toolTip()


def test_a_change_from_elsewhere_is_noticed_and_shown(window, photos, qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    other = open_library(library.path)
    editing.merge_clusters(other, a, [b])
    other.close()
    with settled(window, qtbot, 5000):
        assert window.history.check_outside_changes()
    assert photos.cluster_model.rowCount() == 2
    assert "changed outside this window" in window.statusBar().currentMessage()


def test_the_history_is_there_after_a_restart(qtbot, gui_library):
    from photoclust.gui.main_window import MainWindow

    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    editing.rename_cluster(library, a, "Hats")
    editing.merge_clusters(library, a, [b])
    window = MainWindow(library)  # a new window: a restart
    qtbot.addWidget(window)
    assert window.undo_action.isEnabled()
    assert window.undo_menu_action.text().startswith("Undo: Merged")
    window._fill_history_menu()  # what opening the menu does
    texts = [x.text() for x in window.history_menu.actions()]
    assert len(texts) == 2 and texts[0].startswith("Undo ▸ Merged") and "Hats" in texts[1]
    assert "made elsewhere" not in " ".join(texts)  # the library's past, not someone else's
    with settled(window, qtbot):
        window.undo_menu_action.trigger()
    with library.session() as s:
        assert s.get(Cluster, b).active
    window.close()
    window.queue.wait_for_done(5000)


# --- jobs and the status area -------------------------------------------------------------------
def test_a_second_job_waits_its_turn_in_the_status_area(window, qtbot, gui_library):
    first = _GateJob(gui_library.library, "First job")
    second = _GateJob(gui_library.library, "Second job")
    w1 = window.run_job(first)
    w2 = window.run_job(second)
    assert window.queue.waiting() == [w2] and not window.organize_action.isEnabled()
    with qtbot.waitSignal(w1.progressed, timeout=10000):
        pass
    assert window.job_status.worker is w1
    second.gate.set()
    with qtbot.waitSignal(w2.finished, timeout=10000):
        first.gate.set()
    assert w1.outcome == w2.outcome == "done"
    qtbot.waitUntil(lambda: window.organize_action.isEnabled())


def test_cancel_stays_put_while_the_progress_text_changes(window, qtbot, gui_library):
    library = gui_library.library
    job = _GateJob(library, "Organizing photos", message="a-very-long-file-name-" * 4,
                   stage="embed")
    worker = window.run_job(job)
    status = window.job_status
    with qtbot.waitSignal(worker.progressed, timeout=10000):
        pass
    positions = set()
    for stage, message in (("index", "found 3 photos"), ("embed", "x.jpg"),
                           ("cluster", "naming clusters")):
        status._on_progress(Progress(5, 300, message, stage))  # what a report does
        positions.add(status.cancel_button.mapTo(window, status.cancel_button.rect().topLeft())
                      .toTuple())
        assert status.label.text().split(":")[0] in ("Reading photos", "Looking at photos",
                                                     "Grouping photos…", "Grouping photos")
    assert len(positions) == 1
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    with library.session() as s:
        assert int(s.get(Setting, "gate_job_step").value) < 999  # stopped early, steps saved
    assert not status.cancel_button.isVisible() and window.organize_action.isEnabled()
    # How the job ended is said where its progress was.
    qtbot.waitUntil(lambda: "stopped" in status.label.toolTip(), timeout=5000)
    assert status.label.text().startswith("Organizing photos: stopped")


def test_organize_rate_counts_photos_looked_at_not_photos_read(window, qtbot, gui_library):
    """Reading runs ahead of the model: its bursts (a batch of 32 at once) are not the job's
    speed; the rate counts the photos looked at, and runs on into the looking-at stage."""
    job = _GateJob(gui_library.library, "Organizing photos", message="a.jpg", stage="index")
    worker = window.run_job(job)
    status = window.job_status
    with qtbot.waitSignal(worker.progressed, timeout=10000):
        pass
    status._rate.reset()
    status._on_progress(Progress(0, 60, "IMG_0.jpg", "index", 0))  # the model still loading
    status._on_progress(Progress(32, 60, "IMG_31.jpg", "index", 0))
    assert "photos/s" not in status.label.text()  # not 32 photos in a blink
    status._on_progress(Progress(60, 60, "IMG_59.jpg", "index", 24))
    assert status._rate._samples[-1][1] == 24  # counted, not the 60 read
    assert status.bar.value() == 24
    status._on_progress(Progress(30, 60, "IMG_30.jpg", "embed"))  # looking at only: no restart
    assert len(status._rate._samples) >= 2
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)


def test_photos_found_appear_while_indexing_goes_on(window, qtbot, gui_library, monkeypatch):
    """Indexing a large folder is one long stage: the pages re-read the library every few
    seconds within it, not only when the stage changes (the welcome page stayed empty)."""
    from photoclust.gui import main_window

    monkeypatch.setattr(main_window, "REREAD_WHILE_RUNNING_S", 0.2)
    job = _GateJob(gui_library.library, "Organizing photos", message="a.jpg", stage="index")
    rereads: list[int] = []
    window.state.photosChanged.connect(lambda: rereads.append(1))
    worker = window.run_job(job, reread=True)
    qtbot.waitUntil(lambda: len(rereads) >= 2, timeout=10000)  # all within "index"
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)


def test_progress_is_said_in_words():
    def say(title, done, total, message, stage="", embedded=None, rate=None, eta=None):
        return describe_progress(title, Progress(done, total, message, stage, embedded), rate,
                                 eta)

    assert say("Organizing photos", 120, 300, "552bd3bb.jpg", "embed", rate=4.0, eta=60) == \
        "Looking at photos: 120 of 300 · 4.0 photos/s · about 1 min left"
    assert say("Organizing photos", 0, 0, "silhouette of k=3", "cluster") == "Grouping photos…"
    assert say("Organizing photos", 10, 50, "x.jpg", "index") == "Reading photos: 10 of 50"
    # A file name that looks like the old text ("(12 embedded)") is only a name now.
    assert say("Organizing photos", 10, 50, "x (12 embedded).jpg", "index", 0) == \
        "Reading photos: 10 of 50"
    assert say("Organizing photos", 40, 60, "x (2).jpg", "index", 12, 6.0, 8) == \
        "Looking at photos: 12 of 60 (40 read) · 6.0 photos/s · about 10 s left"
    assert say("Organizing photos", 60, 60, "", "index", 48, 6.0, 2) == \
        "Looking at photos: 48 of 60 (60 read) · 6.0 photos/s · a few seconds left"
    assert say("Learning from your corrections", 1, 3, "learning") == \
        "Learning from your corrections: 1 of 3"
    assert format_time_left(3 * 3600 + 600) == "about 3 h 10 min left"
    assert format_time_left(42) == "about 40 s left"
    assert format_time_left(3) == "a few seconds left"
    assert say("Organizing photos", 0, 9, "silhouette of k=3", "cluster") == "Grouping photos…"


def test_cancelled_organize_shows_the_photos_it_found_not_an_empty_library(
        qtbot, library, tmp_path):
    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    class IndexThenWait(_GateJob):
        def run(self, ctx):
            with self.library.session() as s:
                s.add(Photo(path=str(tmp_path / "a.jpg"), content_hash="ab" * 32, file_size=1,
                            mtime_ns=1, status="present"))
            return super().run(ctx)

    create_application()
    window = MainWindow(library)
    qtbot.addWidget(window)
    photos = window.page("photos")
    assert photos.stack.currentWidget() is photos.welcome
    job = IndexThenWait(library, "Organizing photos")
    worker = window.run_job(job, reread=True)
    qtbot.waitUntil(job.started.is_set, timeout=10000)
    with qtbot.waitSignal(window.jobEnded, timeout=10000):
        window.queue.cancel(worker)
    qtbot.waitUntil(photos.is_up_to_date)  # the library is re-read off the GUI thread
    assert photos.stack.currentWidget() is photos.splitter
    assert photos.cluster_model.rowCount() == 1  # "Not in a cluster": the photo found so far
    assert window.nav_actions["review"].isEnabled()
    window.close()


def test_organize_builds_its_job_off_the_gui_thread_and_says_what_it_did(
        window, qtbot, gui_library, tmp_path, monkeypatch):
    import photoclust.core.organize.pipeline as pipeline

    built = []

    class FakeOrganize(Job):
        title = "Organizing photos"

        def __init__(self, library, folders, model, device, k):
            built.append((threading.current_thread() is threading.main_thread(),
                          [str(f) for f in folders], model, device, k))

        def run(self, ctx):
            ctx.report(1, 1, "cluster: done")
            return None

    monkeypatch.setattr(pipeline, "OrganizeJob", FakeOrganize)
    save_settings(gui_library.library, k=5, device="cpu")
    window.state.settings = load_settings(gui_library.library)
    folder = tmp_path / "holiday"
    folder.mkdir()
    with qtbot.waitSignal(window.jobEnded, timeout=10000) as ended:
        window.organize_folder(str(folder))
    assert built == [(False, [str(folder)], "efficientnet_lite0", "cpu", 5)]
    assert ended.args == ["Done: 13 photos in 3 groups."]
    assert load_settings(gui_library.library).folders == (str(folder),)
    window.organize_folder(str(tmp_path / "no such folder"))
    assert len(built) == 1 and "is not a folder" in window.messages[-1]


def test_recluster_everything_says_what_it_does_and_runs_the_cluster_job(
        window, qtbot, gui_library, monkeypatch):
    import photoclust.core.clustering.job as cluster_job

    built = []

    class FakeCluster(Job):
        title = "Clustering photos"

        def __init__(self, library, model, k, **kwargs):
            built.append((model, k, kwargs))

        def run(self, ctx):
            return None

    monkeypatch.setattr(cluster_job, "ClusterJob", FakeCluster)
    assert "from scratch" in window.recluster_action.statusTip()
    assert "stay" in window.recluster_action.statusTip()
    with qtbot.waitSignal(window.jobEnded, timeout=10000):
        window.recluster(confirm=False)
    assert built == [("efficientnet_lite0", "auto", {"fresh": True})]


def test_many_photo_edits_run_off_the_gui_thread_and_show_they_are_in_flight(
        window, qtbot, gui_library):
    gate = threading.Event()
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]

    def slow_merge():
        gate.wait(10)
        return editing.merge_clusters(library, a, [b])

    window.state.run_edit(slow_merge)
    qtbot.waitUntil(lambda: "saving 1 edit" in window.summary_label.text())
    with settled(window, qtbot, 10000):
        gate.set()
    assert "saving" not in window.summary_label.text()
    assert window.summary_label.text() == "13 photos in 2 clusters"


def test_the_window_closes_at_once_even_with_a_job_running(qtbot, gui_library):
    from photoclust.gui.main_window import MainWindow

    window = MainWindow(gui_library.library)
    qtbot.addWidget(window)
    window.show()
    job = _GateJob(gui_library.library, total=100_000)
    worker = window.run_job(job)
    qtbot.waitUntil(job.started.is_set, timeout=10000)
    start = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0 and not window.isVisible()
    assert window.queue.wait_for_done(10000) and worker.outcome in (None, "cancelled")


# --- settings -----------------------------------------------------------------------------------
def test_settings_dialog_shows_models_in_words_and_stores_choices_in_the_library(
        window, qtbot, gui_library):
    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    # The fixture library was organised with Lite0: it keeps its model, shown as "Fast".
    assert dialog.model_combo.currentText() == "Fast"
    assert "efficientnet_lite0" in dialog.model_detail.text()
    labels = [dialog.model_combo.itemText(i) for i in range(dialog.model_combo.count())]
    assert {"Fast", "Balanced", "ResNet-50"} <= set(labels)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.k_fixed.setChecked(True)
    dialog.k_spin.setValue(12)
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("efficientnet_lite2"))
    assert "technical name: efficientnet_lite2" in dialog.model_detail.text()
    dialog.accept()
    window.apply_settings(dialog)
    saved = load_settings(gui_library.library)
    assert (saved.model, saved.device, saved.k) == ("efficientnet_lite2", "cpu", 12)


def test_settings_lists_the_folders_and_removing_one_takes_its_photos_out(
        window, photos, qtbot, gui_library, tmp_path):
    library = gui_library.library
    root = Path(library.path).parent.parent / "photos"
    cluster0, cluster1 = str(root / "cluster0"), str(root / "cluster1")
    save_settings(library, folders=[cluster0, cluster1])
    window.state.settings = load_settings(library)
    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    assert dialog.folders() == [cluster0, cluster1]
    assert "(6 photos)" in dialog.folder_list.item(0).text()
    assert "adding the folder again brings them back" in dialog.remove_note.text()
    dialog.folder_list.setCurrentRow(0)
    qtbot.mouseClick(dialog.remove_folder_button, Qt.MouseButton.LeftButton)
    assert dialog.folders() == [cluster1] and dialog.removed_folders() == [cluster0]
    dialog.accept()
    with settled(window, qtbot):
        window.apply_settings(dialog)
    assert load_settings(library).folders == (cluster1,)
    a = gui_library.cluster_ids[0]
    with library.session() as s:
        statuses = {p.status for p in s.scalars(select(Photo).where(Photo.path.like(
            cluster0 + "%")))}
        kept = s.scalars(select(Assignment.cluster_id).where(
            Assignment.photo_id.in_(gui_library.photo_ids[a]))).all()
    assert statuses == {"missing"} and set(kept) == {a}  # placements kept for a comeback
    assert photos.cluster_model.row_of(a) == -1  # gone from the sidebar
    assert "6 photos of the removed folder" in window.statusBar().currentMessage()


def test_the_cli_organizes_with_the_library_settings(gui_library, monkeypatch):
    """One source: a k and device chosen in the app are what `photoclust organize` uses."""
    import photoclust.core.organize.pipeline as pipeline
    from photoclust.cli import main

    library = gui_library.library
    save_settings(library, k=7, device="cpu", folders=[str(Path(library.path).parent)])
    seen = []

    class FakeOrganize(Job):
        def __init__(self, library, folders, model=None, k="auto", method="kmeans",
                     device="auto", batch_size=None, weights=None, runtime=None):
            seen.append(([str(f) for f in folders], model, k, device))

        def run(self, ctx):
            raise SystemExit(0)

    monkeypatch.setattr(pipeline, "OrganizeJob", FakeOrganize)
    with pytest.raises(SystemExit):
        main(["organize", "--library", str(library.path)])
    assert seen == [([str(Path(library.path).parent)], "efficientnet_lite0", 7, "cpu")]


# --- start-up -----------------------------------------------------------------------------------
def test_missing_qt_libraries_are_named_in_one_sentence(monkeypatch):
    from photoclust.gui import app

    ldd = ("\tlibxcb-cursor.so.0 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
           "\tlibxkbcommon-x11.so.0 => not found\n")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(app.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, ldd, ""))
    message = app.qt_startup_problem("xcb")
    assert "libxcb-cursor.so.0" in message and "libxkbcommon-x11.so.0" in message
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in message
    assert app.qt_startup_problem("offscreen") is None
    assert app.debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"


def test_gui_that_cannot_start_qt_says_why_and_creates_no_library(tmp_path, monkeypatch, capsys):
    from photoclust.cli import main
    from photoclust.gui import app

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(app, "qt_startup_problem",
                        lambda platform=None: "photoclust cannot open its window: missing X.")
    target = tmp_path / "new.sqlite"
    assert main(["gui", "--library", str(target)]) == 2
    assert "missing X" in capsys.readouterr().err
    assert not target.exists()


def test_gui_without_a_display_explains_instead_of_aborting(library, monkeypatch, capsys):
    from photoclust.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["--library", str(library.path)]) == 2  # no command: the desktop application
    assert "no display" in capsys.readouterr().err


def _screenshot(library_path, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "photoclust", "gui", "--library", str(library_path),
         "--screenshot", str(out), *extra], capture_output=True, text=True, timeout=180,
        cwd=REPO_ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                            "PYTHONPATH": str(REPO_ROOT)})


def test_screenshot_command_draws_the_page_at_the_size_asked(gui_library, tmp_path):
    import numpy as np
    from PIL import Image

    out = tmp_path / "shot.png"
    library_path = gui_library.library.path
    gui_library.library.close()
    proc = _screenshot(library_path, out, "--size", "1024x700")
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as image:
        assert image.size == (1024, 700)
        # Cluster B's cover (green) is drawn in the sidebar: the thumbnails were loaded.
        sidebar = np.asarray(image.convert("RGB").crop((0, 100, 220, 400))).reshape(-1, 3)
    r, g, b = sidebar[:, 0], sidebar[:, 1], sidebar[:, 2]
    assert np.count_nonzero((g > 120) & (r < 90) & (b < 110)) > 500
    bad = _screenshot(library_path, tmp_path / "x.png", "--size", "big")
    assert bad.returncode == 2 and "not a window size" in bad.stderr


def test_screenshot_of_a_file_that_is_not_a_library_fails_cleanly(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("not a database")
    out = tmp_path / "shot.png"
    proc = _screenshot(bad, out)
    assert proc.returncode == 2 and "not a photoclust library" in proc.stderr
    assert not out.exists() and bad.read_text() == "not a database"


def test_export_waits_for_a_running_job_instead_of_racing_it(window, qtbot, gui_library,
                                                             tmp_path):
    job = _GateJob(gui_library.library, "Organizing photos")
    running = window.run_job(job)
    qtbot.waitUntil(job.started.is_set, timeout=10000)
    dialog = window.open_export_dialog()
    dialog.outdir_edit.setText(str(tmp_path / "albums"))
    worker = dialog.start_export()
    assert worker is not None and window.queue.waiting() == [worker]
    assert dialog.progress_label.text() == "Waiting for the current job to finish…"
    with qtbot.waitSignal(dialog.exportEnded, timeout=30000) as ended:
        job.gate.set()
    assert ended.args == ["done"] and running.outcome == "done"
    assert (tmp_path / "albums").is_dir()
    dialog.close()


def test_organize_says_where_the_new_photos_went(window, gui_library):
    from photoclust.core.clustering.job import ClusterResult

    a, b, c = gui_library.cluster_ids
    placed = ClusterResult(run_id=1, model="m", method="place", k=3, k_auto=False, n=5,
                           seconds=0.1, mode="place", new_photos=5, placed=5,
                           founded_cluster_ids=[c])
    text = window.library_summary(gui_library.library, placed)
    # cluster c (3 photos) stands for the founded one: 2 of the 5 joined old groups.
    assert text == "5 new photos: 2 joined their groups, 3 started a new group (Group C)."
    placed.founded_cluster_ids = []
    assert window.library_summary(gui_library.library, placed) == \
        "5 new photos, each in the group it resembles."
    placed.mode = "first"
    assert window.library_summary(gui_library.library, placed) == "Done: 13 photos in 3 groups."


def test_learn_says_what_it_moved(window, qtbot, gui_library, monkeypatch):
    import photoclust.core.learning.job as learning_job

    class FakeLearn(Job):
        title = "Learning"

        def __init__(self, library):
            pass

        def run(self, ctx):
            return type("R", (), {"n_labelled": 4, "n_reassigned": 2, "event_id": None,
                                  "description": "Learned from 4 answers: moved 2 photos "
                                                 "(2 from Beach to Forest)"})()

    monkeypatch.setattr(learning_job, "LearnJob", FakeLearn)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: None))
    with qtbot.waitSignal(window.jobEnded, timeout=10000) as ended:
        window.learn_action.trigger()
    assert ended.args == ["Learned from 4 answers: moved 2 photos (2 from Beach to Forest). "
                          "Edit > Undo takes it back."]


def test_a_long_status_message_is_cut_to_its_room_and_kept_whole_in_the_tooltip(window):
    window.resize(1024, 700)
    text = "Learned from 40 answers: moved 2,345 photos (" + ", ".join(
        f"{n} from cluster {n} to cluster {n + 1}" for n in range(30)) + ")"
    window.show_status(text, 5000)
    shown = window.statusBar().currentMessage()
    # Where the job status begins; with no job running it is hidden and the bar is the room.
    assert not window.job_status.isVisible()
    room = window.statusBar().width()
    assert shown.endswith("…") and len(shown) < len(text)
    assert window.statusBar().fontMetrics().horizontalAdvance(shown) <= room - 12
    assert window.statusBar().toolTip() == text
    window.show_status("Done.", 5000)
    assert window.statusBar().currentMessage() == "Done." and window.statusBar().toolTip() == ""


def test_window_opens_no_larger_than_the_screen(window):
    """On a screen smaller than the default size, the window is shrunk to fit (on a 1024x700
    laptop the default 1320x820 hid the status area and the right edge)."""
    available = window.screen().availableGeometry()
    window.resize(available.width() + 300, available.height() + 200)
    window.restore_state()
    # As far as the layout allows (the offscreen screen is 800x600, narrower than the toolbar).
    smallest = window.minimumSizeHint()
    assert window.width() <= max(available.width(), smallest.width())
    assert window.height() <= max(available.height(), smallest.height())
    assert window.width() < available.width() + 300


def test_menu_label_shortens_long_history_text_and_keeps_made_elsewhere():
    from photoclust.gui.main_window import menu_label

    learn = ("Learned from 4 answers: moved 4 photos (2 from building to building / vault, "
             "1 from machine to English springer, 1 from machine to chain saw)")
    assert menu_label("Renamed 'A' to 'B'") == "Renamed 'A' to 'B'"
    short = menu_label(learn + " (made elsewhere)")
    assert len(short) <= 70 and short.endswith("… (made elsewhere)")
    assert short.startswith("Learned from 4 answers")
    assert len(menu_label(learn)) == 70


def test_a_job_outcome_shows_where_its_progress_was_until_the_next_job(window, qtbot,
                                                                       gui_library):
    status = window.job_status
    status.show_outcome("49 new photos: 25 joined their groups, 24 started a new group "
                        "(parachute).", 60000)
    assert status.label.text().startswith("49 new photos: 25 joined their groups")
    assert status.label.toolTip().endswith("(parachute).")
    job = _GateJob(gui_library.library, "Organizing photos", message="index: a.jpg")
    worker = window.run_job(job)
    qtbot.waitUntil(lambda: status.worker is worker, timeout=10000)
    assert "parachute" not in status.label.text()  # the running job owns the place
    status.show_outcome("not now", 60000)
    assert "not now" not in status.label.text()
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "stopped" in status.label.toolTip(), timeout=5000)
    status._outcome_timer.start(1)  # its time is up: the place is empty again
    qtbot.waitUntil(lambda: status.label.text() == "", timeout=5000)


def test_the_app_receives_progress_as_numbers_with_a_stage(window, qtbot, gui_library):
    """The worker hands on the core's ``Progress`` (no text to parse back): the status says the
    stage in words from ``stage``, whatever the detail text holds."""
    job = _GateJob(gui_library.library, "Organizing photos", message="cluster: x (3 embedded)",
                   stage="embed")
    worker = window.run_job(job)
    with qtbot.waitSignal(worker.progressed, timeout=10000) as blocker:
        pass
    progress = blocker.args[0]
    assert isinstance(progress, Progress)
    assert (progress.stage, progress.total, progress.embedded) == ("embed", 1000, None)
    qtbot.waitUntil(lambda: window.job_status.label.text().startswith("Looking at photos: "))
    with qtbot.waitSignal(worker.cancelled, timeout=10000):
        qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
