"""Writing files so that a crash never leaves a half-written one under its final name."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: File names of the manifest an export writes into its output folder. ``core/export.py`` writes
#: them and indexing leaves out a folder that holds one; they live here, below both.
EXPORT_MANIFEST_JSON = "manifest.json"
EXPORT_MANIFEST_CSV = "manifest.csv"


def remove_quietly(path: str | os.PathLike) -> None:
    """Delete ``path`` if it can be deleted; cleaning up must not hide the error being handled."""
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def replaced_atomically(dest: Path, prefix: str = ".tmp-", suffix: str = "") -> Iterator[str]:
    """A temporary file beside ``dest`` to write; when the block ends it is renamed to ``dest``
    in one step. On any error, or if the process dies first, ``dest`` is untouched and the
    temporary file is removed (or, after a kill, left with ``prefix`` for a later sweep)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dest.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        remove_quietly(tmp)
        raise
