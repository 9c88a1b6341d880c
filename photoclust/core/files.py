"""Writing files so that a crash never leaves a half-written one under its final name."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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
