"""Files ``index`` refused, remembered until they change (issue #25).

A damaged or hostile file costs its reading every time it is met (a header followed by gigabytes
of zeros, a file cut short): ``index`` keeps the reason of each file it refused with the file's
size and modification time, in the library's settings (key ``refused_files``), and gives the same
reason again without opening the file while both still match. A file that changes is read again.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping

from photoclust.core.library.db import Library
from photoclust.core.library.models import Setting

REFUSED_FILES = "refused_files"

#: path -> (size, mtime_ns, reason)
Refused = dict[str, tuple[int, int, str]]


def refused_files(library: Library) -> Refused:
    """The files remembered as refused (an unreadable setting counts as none)."""
    with library.session() as s:
        row = s.get(Setting, REFUSED_FILES)
    try:
        raw = json.loads(row.value) if row is not None else {}
    except ValueError:
        return {}
    refused: Refused = {}
    if isinstance(raw, dict):
        for path, entry in raw.items():
            if (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int)
                    and isinstance(entry[1], int) and isinstance(entry[2], str)):
                refused[path] = (entry[0], entry[1], entry[2])
    return refused


def still_refused(refused: Refused, path: str, size: int, mtime_ns: int) -> str | None:
    """The remembered reason when the file at ``path`` is unchanged since it was refused."""
    entry = refused.get(path)
    if entry is not None and entry[0] == size and entry[1] == mtime_ns:
        return entry[2]
    return None


def remember_refused(library: Library, before: Refused, folders: Iterable[str],
                     now: Mapping[str, tuple[int, int, str]]) -> None:
    """Store what one index found: ``now`` replaces every entry under the scanned ``folders``
    (files that read again or vanished are forgotten); entries elsewhere are kept."""
    prefixes = tuple(f if f.endswith(os.sep) else f + os.sep for f in folders)
    kept = {p: e for p, e in before.items() if not p.startswith(prefixes)}
    kept.update(now)
    if kept == before:
        return
    value = json.dumps({p: list(e) for p, e in sorted(kept.items())})
    with library.session() as s:
        s.merge(Setting(key=REFUSED_FILES, value=value))
