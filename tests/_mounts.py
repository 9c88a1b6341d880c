"""Small real file systems for the full-disk and read-only tests: a tmpfs of a few MB mounted
under the test's folder. Mounting needs root (or CAP_SYS_ADMIN); elsewhere the tests that need
one are skipped with that reason."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Iterator


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def small_tmpfs(folder: Path, size_kb: int = 2048) -> Iterator[Path | None]:
    """``folder`` as a tmpfs of ``size_kb``; yields None where mounting is not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name != "posix" or os.geteuid() != 0:
        yield None
        return
    done = _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder))
    if done.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_read_only(folder: Path) -> bool:
    return _mount("-o", "remount,ro", str(folder)).returncode == 0


def fill_disk(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system has no space left."""
    filler = folder / "filler.bin"
    with open(filler, "wb") as fh:
        chunk = b"\0" * 65536
        try:
            while True:
                fh.write(chunk)
                fh.flush()
        except OSError:
            pass
    # A last small write can still fit in the final partial block.
    try:
        with open(filler, "ab") as fh:
            while True:
                fh.write(b"\0" * 512)
                fh.flush()
    except OSError:
        pass
    return filler


NO_MOUNT = "mounting a small tmpfs needs root (CAP_SYS_ADMIN), which this test run lacks"
