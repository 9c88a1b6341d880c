"""Exports that were killed: their temporary files are removed at the next export's start (any
export, into any folder) or by ``check --repair`` (issue #25).

An export records its output folder and process id in the library's settings while it runs
(``running_exports``); an entry whose process is gone is an export that was killed, and its
temporary files (``EXPORT_TEMP_PREFIX``) are removed from its output folder and album folders.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from photoclust.core.files import EXPORT_TEMP_PREFIX
from photoclust.core.library.db import Library
from photoclust.core.library.models import Setting

log = logging.getLogger(__name__)

#: Settings key: the output folders of the exports running now, with their process ids. An entry
#: whose process is gone is an export that was killed: the next export (or ``check --repair``)
#: removes its temporary files, wherever it wrote.
RUNNING_EXPORTS = "running_exports"


def remove_export_temp_files(outdir: Path) -> int:
    """Remove an export's temporary files (our prefix only) from ``outdir`` and its album
    folders; returns how many were removed."""
    removed = 0
    folders = [outdir]
    try:
        folders += [Path(e.path) for e in os.scandir(outdir) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for folder in folders:
        try:
            leftovers = [e.path for e in os.scandir(folder) if e.name.startswith(
                EXPORT_TEMP_PREFIX) and e.is_file(follow_symlinks=False)]
        except OSError:
            continue
        for path in leftovers:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
    return removed


def _running_exports(library: Library) -> dict[str, int]:
    with library.session() as s:
        row = s.get(Setting, RUNNING_EXPORTS)
    try:
        value = json.loads(row.value) if row is not None else {}
    except ValueError:
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, int)} \
        if isinstance(value, dict) else {}


def _save_running_exports(library: Library, running: dict[str, int]) -> bool:
    try:
        with library.session() as s:
            s.merge(Setting(key=RUNNING_EXPORTS, value=json.dumps(running, sort_keys=True)))
    except Exception as exc:  # noqa: BLE001 - a read-only library exports all the same
        log.info("running exports not recorded: %s", exc)
        return False
    return True


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def register_export(library: Library, outdir: Path) -> bool:
    if library.read_only:
        return False
    running = _running_exports(library)
    running[str(outdir)] = os.getpid()
    return _save_running_exports(library, running)


def unregister_export(library: Library, outdir: Path) -> None:
    running = _running_exports(library)
    if running.pop(str(outdir), None) is not None:
        _save_running_exports(library, running)


def sweep_killed_exports(library: Library) -> int:
    """Remove the temporary files of exports that were killed (their process is gone), in
    whichever folder they wrote; returns how many files were removed."""
    running = _running_exports(library)
    dead = {folder: pid for folder, pid in running.items() if not _process_alive(pid)}
    if not dead:
        return 0
    removed = sum(remove_export_temp_files(Path(folder)) for folder in dead)
    if not library.read_only:
        _save_running_exports(library, {f: p for f, p in running.items() if f not in dead})
    if removed:
        log.info("removed %d temporary files of killed exports in %s", removed, sorted(dead))
    return removed
