"""The app's file dialogs never open the library's files: a dialog that did released the app's
SQLite locks (POSIX locks belong to the process), after which another process deleted the -wal
file and the app's next edits were lost (gui/file_dialogs.py)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import photoclust
from photoclust.core.library import open_library
from photoclust.core.library.models import Setting
from photoclust.gui.file_dialogs import NameOnlyIconProvider, folder_dialog

LOCKS = Path("/proc/locks")


def holds_lock(path: Path) -> bool:
    """Whether this process holds a POSIX lock on ``path`` (Linux's /proc/locks)."""
    inode = os.stat(path).st_ino
    pid = str(os.getpid())
    for line in LOCKS.read_text().splitlines():
        fields = line.split()
        if "POSIX" in fields and pid in fields and any(f.endswith(f":{inode}") for f in fields):
            return True
    return False


@pytest.mark.skipif(not LOCKS.exists(), reason="needs Linux's /proc/locks")
def test_a_folder_dialog_on_the_librarys_folder_keeps_its_locks_and_its_edits(qtbot, tmp_path):
    path = tmp_path / "library.sqlite"
    library = open_library(path)
    with library.session() as s:
        s.add(Setting(key="probe", value="before"))
    assert holds_lock(path)
    dialog = folder_dialog(None, "Add a folder of photos", str(tmp_path))
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QFileSystemModel

    loaded: list[str] = []
    dialog.findChild(QFileSystemModel).directoryLoaded.connect(loaded.append)
    dialog.show()
    # The dialog lists the folder (on a thread of Qt's) and then gathers its entries' icons.
    qtbot.waitUntil(lambda: str(tmp_path) in loaded, timeout=10000)
    qtbot.wait(1000)
    assert holds_lock(path), "listing the library's folder released the app's SQLite locks"
    assert isinstance(dialog.iconProvider(), NameOnlyIconProvider)
    dialog.close()
    # Another process opens and closes the library (a command line run)...
    subprocess.run([sys.executable, "-m", "photoclust", "status", "--library", str(path)],
                   check=True, capture_output=True, cwd=Path(photoclust.__file__).parent.parent)
    assert Path(str(path) + "-wal").exists()
    # ...and an edit the app makes afterwards is in the library for everyone.
    with library.session() as s:
        s.get(Setting, "probe").value = "after"
    seen = subprocess.run(
        [sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("
         "\"SELECT value FROM settings WHERE key='probe'\").fetchone()[0])", str(path)],
        check=True, capture_output=True, text=True).stdout.strip()
    assert seen == "after"
    library.close()


def test_the_app_shows_no_file_dialog_but_the_safe_ones():
    """QFileDialog's static functions may use a native dialog or Qt's default icons, both of
    which read the files they list: the app goes through gui/file_dialogs.py."""
    gui = Path(photoclust.__file__).parent / "gui"
    offenders = []
    for source in gui.rglob("*.py"):
        if source.name == "file_dialogs.py":
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id == "QFileDialog":
                offenders.append(f"{source.relative_to(gui)}: QFileDialog.{node.attr}")
            if isinstance(node, ast.Name) and node.id == "QFileDialog":
                offenders.append(f"{source.relative_to(gui)}: QFileDialog")
    assert offenders == []


def test_choose_folder_returns_the_folder_chosen_and_nothing_when_cancelled(qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog

    from photoclust.gui.file_dialogs import choose_folder

    target = tmp_path / "holiday"
    target.mkdir()

    def answer(accept: bool) -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QFileDialog)
        if accept:
            dialog.setDirectory(str(target))
            dialog.accept()
        else:
            dialog.reject()

    QTimer.singleShot(300, lambda: answer(True))
    assert Path(choose_folder(None, "Add a folder of photos", str(tmp_path))) == target
    QTimer.singleShot(300, lambda: answer(False))
    assert choose_folder(None, "Add a folder of photos", str(tmp_path)) == ""
