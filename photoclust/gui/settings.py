"""Where the application keeps its settings.

Per-library choices (model, device, k, thumbnail size) go in the library's ``settings`` table as
JSON values, so the CLI and the GUI organise a library the same way. Which library to open is a
per-user choice and lives in ``QSettings``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from sqlalchemy import select

from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.embedding.store import library_model
from photoclust.core.library import Library
from photoclust.core.library.models import Setting

THUMBNAIL_SIZES = (96, 128, 160, 200)


@dataclass
class LibrarySettings:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    k: str | int = "auto"  # "auto" or a fixed number of clusters
    thumbnail_size: int = 160
    folders: tuple[str, ...] = ()

    @classmethod
    def load(cls, library: Library) -> LibrarySettings:
        values = {}
        with library.session() as s:
            for row in s.scalars(select(Setting).where(Setting.key.in_(cls.__dataclass_fields__))):
                try:
                    values[row.key] = json.loads(row.value)
                except ValueError:
                    continue  # a damaged value falls back to its default
        settings = cls(model=library_model(library))
        for key, value in values.items():
            setattr(settings, key, tuple(value) if key == "folders" else value)
        if settings.thumbnail_size not in THUMBNAIL_SIZES:
            settings.thumbnail_size = cls.thumbnail_size
        if settings.k != "auto" and not (isinstance(settings.k, int) and settings.k >= 2):
            settings.k = "auto"
        return settings

    def save(self, library: Library) -> None:
        with library.session() as s:
            for key, value in asdict(self).items():
                s.merge(Setting(key=key, value=json.dumps(list(value) if key == "folders"
                                                          else value)))


def _qsettings() -> QSettings:
    return QSettings("photoclust", "photoclust")


def remembered_library_path() -> Path | None:
    value = _qsettings().value("library_path")
    return Path(value) if value else None


def remember_library_path(path: Path) -> None:
    _qsettings().setValue("library_path", str(path))
