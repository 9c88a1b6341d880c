"""Per-user state of the app, kept in QSettings: which library to open, the window's geometry.

The library's own settings (folders, model, device, k, thumbnail size, sort order) are data of
the library, shared with the CLI: see ``photoclust.core.organize.settings``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings


def _qsettings() -> QSettings:
    return QSettings("photoclust", "photoclust")


def remembered_library_path() -> Path | None:
    value = _qsettings().value("library_path")
    return Path(value) if value else None


def remember_library_path(path: Path) -> None:
    _qsettings().setValue("library_path", str(path))


def window_state(key: str) -> QByteArray | None:
    value = _qsettings().value(f"window/{key}")
    return value if isinstance(value, QByteArray) else None


def save_window_state(key: str, value: QByteArray) -> None:
    _qsettings().setValue(f"window/{key}", value)
