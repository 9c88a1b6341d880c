"""Choosing folders and files without touching the library's own files.

SQLite's locks on a POSIX system are ``fcntl`` locks, which belong to the process: when any code
in the process closes *any* descriptor of the library file, every lock the process holds on it
is gone (https://www.sqlite.org/howtocorrupt.html, section 2.2). Qt's and GTK's file dialogs read
the first bytes of every file they list to guess its type (an icon, the "Type" column); shown on
the folder that holds the library, they opened and closed ``library.sqlite``, its ``-wal`` and
``-shm``. From then on another process (a ``photoclust`` command) believed it was the library's
last user, checkpointed and deleted the ``-wal`` file, and the app's next edits went into a
deleted file: lost when it closed.

So every dialog here is Qt's own (a native one may sniff files in-process too) with an icon
provider that answers from the name and kind alone and never opens a file. Nothing else in the
app lists folders. ``tests/gui/test_file_dialogs.py`` checks that the lock survives a dialog
shown on the library's folder.
"""
from __future__ import annotations

from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QWidget


class NameOnlyIconProvider(QFileIconProvider):
    """Icons and type names from what a file is (folder, file, drive), never from its bytes."""

    def icon(self, what) -> QIcon:
        if isinstance(what, QFileInfo):
            kind = (QFileIconProvider.IconType.Folder if what.isDir()
                    else QFileIconProvider.IconType.File)
            return super().icon(kind)
        return super().icon(what)

    def type(self, info: QFileInfo) -> str:
        return "Folder" if info.isDir() else (f"{info.suffix().upper()} file" if info.suffix()
                                             else "File")


def _dialog(parent: QWidget | None, title: str, start: str) -> QFileDialog:
    dialog = QFileDialog(parent, title, start)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    provider = NameOnlyIconProvider()
    dialog.setIconProvider(provider)
    dialog._name_only_icons = provider  # type: ignore[attr-defined]  # kept alive with it
    return dialog


def folder_dialog(parent: QWidget | None, title: str, start: str) -> QFileDialog:
    """The dialog ``choose_folder`` shows (tests show it without waiting for a person)."""
    dialog = _dialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return dialog


def choose_folder(parent: QWidget | None, title: str, start: str) -> str:
    """A folder the user chose, or "" when they cancelled."""
    dialog = folder_dialog(parent, title, start)
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return ""
    return dialog.selectedFiles()[0]


def choose_save_file(parent: QWidget | None, title: str, start: str, name_filter: str) -> str:
    """A file name to write (an existing one may be chosen without a warning), or ""."""
    dialog = _dialog(parent, title, start)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
    dialog.setNameFilter(name_filter)
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return ""
    return dialog.selectedFiles()[0]
