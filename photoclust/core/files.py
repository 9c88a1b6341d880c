"""Writing files so that a crash never leaves a half-written one under its final name."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: File names of the manifest an export writes into its output folder. ``core/export/albums.py``
#: writes them and indexing leaves out a folder that holds one; they live here, below both.
EXPORT_MANIFEST_JSON = "manifest.json"
EXPORT_MANIFEST_CSV = "manifest.csv"
#: Prefix of the temporary files an export writes through (``core/export/albums.py``); a leftover
#: one is never a finished photo (``core/library/exports.py`` removes those of killed exports).
EXPORT_TEMP_PREFIX = ".photoclust-part-"


def remove_quietly(path: str | os.PathLike) -> None:
    """Delete ``path`` if it can be deleted; cleaning up must not hide the error being handled."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _new_file(folder: Path, prefix: str, suffix: str) -> str:
    """Create an empty file with a random name in ``folder``, with the permissions the user's
    umask gives new files (``mkstemp`` would make it 600, unreadable to a share or a group)."""
    while True:
        path = os.path.join(folder, f"{prefix}{secrets.token_hex(8)}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path


@contextmanager
def replaced_atomically(dest: Path, prefix: str = ".tmp-", suffix: str = "") -> Iterator[str]:
    """A temporary file beside ``dest`` to write; when the block ends it is renamed to ``dest``
    in one step. On any error, or if the process dies first, ``dest`` is untouched and the
    temporary file is removed (or, after a kill, left with ``prefix`` for a later sweep)."""
    tmp = _new_file(dest.parent, prefix, suffix)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        remove_quietly(tmp)
        raise
