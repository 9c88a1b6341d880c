"""A library's own settings: its folders, the image model, the device, the number of clusters,
and how the app shows it (thumbnail size, sort order). One source for the CLI and the app.

They live in the library's ``settings`` table as JSON values, one row per key, so the CLI's
``organize`` and ``cluster`` and the app's Organize work the same way on the same library. A key
that was never written falls back to its default; a damaged value too (it is never an error).
Per-user window state (geometry, which library to open) is not here: the app keeps it in
QSettings.

Removing a folder (``remove_folder``) does not delete anything: the photos under it that no
remaining folder covers are marked missing, so they leave the clusters, the counts and the
albums, but their placements and corrections stay in the library; adding the folder again brings
them back where they were.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select, update

from photoclust.core.clustering import MIN_K
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Photo, PhotoStatus, Setting

#: The grid's thumbnail sizes in pixels (the slider's range).
THUMBNAIL_MIN, THUMBNAIL_MAX, THUMBNAIL_DEFAULT = 64, 320, 160
#: Sort orders of the photo grid (``core.library.queries.PHOTO_ORDERS``).
PHOTO_ORDERS = ("path", "taken_at", "confidence")

#: Image models in words, fastest first: (label, what it means for the user).
MODEL_LABELS: dict[str, tuple[str, str]] = {
    "efficientnet_lite0": ("Fast", "About twice as fast as Balanced; groups a little less well"),
    "efficientnet_lite1": ("Fast+", "Between Fast and Balanced; needs an extra package"),
    "efficientnet_lite2": ("Balanced", "The default: good groups at a moderate speed"),
    "resnet50": ("ResNet-50", "A larger classic model; downloads its weights once"),
}
DEVICE_LABELS = {"auto": "Automatic (a GPU when there is one)", "cpu": "Processor (CPU)",
                 "cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (MPS)"}


def model_label(name: str) -> str:
    """``"Balanced"`` for ``efficientnet_lite2``; an unknown model keeps its technical name."""
    return MODEL_LABELS.get(name, (name, ""))[0]


@dataclass(frozen=True)
class LibrarySettings:
    folders: tuple[str, ...] = ()
    model: str | None = None  # None: the library's own (``embedding.store.library_model``)
    device: str = "auto"
    k: int | str = "auto"  # "auto" or a fixed number of clusters (>= 2)
    thumbnail_size: int = THUMBNAIL_DEFAULT
    photo_order: str = "path"
    faces: bool = True  # Organize finds faces and groups them into people (docs/people.md)

    def to_json(self) -> dict:
        return {f.name: (list(getattr(self, f.name)) if f.name == "folders"
                         else getattr(self, f.name)) for f in fields(self)}


_KEYS = tuple(f.name for f in fields(LibrarySettings))


def _valid(key: str, value) -> bool:
    if key == "folders":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key == "model":
        return value is None or (isinstance(value, str) and bool(value))
    if key == "device":
        return isinstance(value, str) and bool(value)
    if key == "k":  # the one rule of photoclust.core.clustering.check_k
        return value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                                   and value >= MIN_K)
    if key == "thumbnail_size":
        return isinstance(value, int) and THUMBNAIL_MIN <= value <= THUMBNAIL_MAX
    if key == "photo_order":
        return value in PHOTO_ORDERS
    if key == "faces":
        return isinstance(value, bool)
    return False


def load_settings(library: Library) -> LibrarySettings:
    """The library's settings; keys never written (or damaged) have their defaults."""
    values: dict[str, Any] = {}
    with library.session() as s:
        for key, raw in s.execute(select(Setting.key, Setting.value)
                                  .where(Setting.key.in_(_KEYS))):
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if _valid(key, value):
                values[key] = tuple(value) if key == "folders" else value
    return LibrarySettings(**values)


def save_settings(library: Library, **values) -> LibrarySettings:
    """Write the given keys (e.g. ``k=12``, ``folders=[...]``) and return the settings after.
    Raises ``ValueError`` with a sentence for an unknown key or a value out of range."""
    for key, value in values.items():
        if key not in _KEYS:
            raise ValueError(f"{key!r} is not a library setting; choose one of {', '.join(_KEYS)}")
        stored = list(value) if key == "folders" else value
        if not _valid(key, stored):
            raise ValueError(f"{value!r} is not a valid value for the setting {key!r}")
    with library.session() as s:
        for key, value in values.items():
            s.merge(Setting(key=key, value=json.dumps(list(value) if key == "folders" else value)))
    return load_settings(library)


def effective_model(library: Library, settings: LibrarySettings | None = None) -> str:
    """The model Organize uses: the one chosen in the settings, else the library's own."""
    from photoclust.core.embedding.store import library_model

    settings = settings or load_settings(library)
    return settings.model or library_model(library)


def _folder(folder: str | os.PathLike) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(folder)))


def add_folder(library: Library, folder: str | os.PathLike) -> LibrarySettings:
    """Add ``folder`` to the library's folders (no change when it is already there)."""
    settings = load_settings(library)
    path = _folder(folder)
    if path in settings.folders:
        return settings
    return save_settings(library, folders=[*settings.folders, path])


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def remove_folder(library: Library, folder: str | os.PathLike) -> int:
    """Take ``folder`` off the library's folders; its photos that no remaining folder covers are
    marked missing (see the module docstring). Returns how many photos were marked."""
    settings = load_settings(library)
    path = _folder(folder)
    remaining = [f for f in settings.folders if f != path]
    save_settings(library, folders=remaining)
    with library.session() as s:
        rows = s.execute(select(Photo.id, Photo.path)
                         .where(Photo.status == PhotoStatus.PRESENT)).all()
        hidden = [pid for pid, p in rows
                  if _under(p, path) and not any(_under(p, f) for f in remaining)]
        for part in chunks(hidden):
            s.execute(update(Photo).where(Photo.id.in_(part)).values(status=PhotoStatus.MISSING))
    return len(hidden)


def folder_photo_count(library: Library, folder: str | os.PathLike) -> int:
    """How many present photos the library holds under ``folder`` (for the settings list)."""
    path = _folder(folder)
    with library.session() as s:
        paths = s.scalars(select(Photo.path).where(Photo.status == PhotoStatus.PRESENT,
                                                   Photo.path.like(path.rstrip(os.sep) + "%")))
        return sum(_under(p, path) for p in paths)

