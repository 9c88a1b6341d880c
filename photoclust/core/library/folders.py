"""The folders the user indexed, remembered in the library's settings: export refuses an output
folder inside (or containing) one of them, since the next index would take the copies in."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable

from photoclust.core.library.db import Library
from photoclust.core.library.models import Setting

INDEXED_FOLDERS = "indexed_folders"


def indexed_folders(library: Library) -> list[str]:
    """Every folder ever given to ``index`` (or Organize) for this library, as the scanner
    stores paths (absolute, not resolved); empty for a library indexed before they were kept."""
    with library.session() as s:
        row = s.get(Setting, INDEXED_FOLDERS)
    try:
        folders = json.loads(row.value) if row is not None else []
    except ValueError:
        return []
    return [f for f in folders if isinstance(f, str)]


def remember_indexed_folders(library: Library, folders: Iterable[str | os.PathLike]) -> None:
    known = indexed_folders(library)
    new = [os.fspath(f) for f in folders if os.fspath(f) not in known]
    if not new:
        return
    with library.session() as s:
        s.merge(Setting(key=INDEXED_FOLDERS, value=json.dumps(sorted(known + new))))
