"""A guard against a reference-count bug of PySide6 6.12 on Python 3.11.

PySide6 6.12 returns ``None`` from every void Qt method (``label.setText``, ``widget.setVisible``,
...) and ``True`` from ``SignalInstance.emit()`` without taking a reference, so each such call
takes one reference away from ``None`` or ``True``. On Python 3.12 and later these objects are
immortal and nothing happens; on 3.11 their counts (a few thousand after start-up) reach zero after
that many calls and the interpreter aborts ("none_dealloc: deallocating None"): the app died
minutes into a session, and a benchmark that switched pages a few times.

The guard holds spare references (lists of ``None``, ``True``, ``False``) and adds more whenever a
count runs low; ``top_up()`` checks (a few microseconds), the app calls it from a timer every
second. Reproduce: ``b = sys.getrefcount(None); QLabel().clear(); sys.getrefcount(None) - b`` is
-1 on the affected versions.
"""
from __future__ import annotations

import ctypes
import sys

_BATCH = 1_000_000  # 8 MB of list slots; a second of very busy painting uses far fewer
_LOW = 500_000
_spare: dict[int, list] = {}


def needed() -> bool:
    if sys.version_info >= (3, 12):
        return False  # None, True and False are immortal
    try:
        from PySide6 import __version_info__ as version
    except ImportError:
        return False
    return tuple(version[:2]) >= (6, 12)


def top_up() -> None:
    """Keep at least ``_LOW`` spare references to None, True and False (a no-op where the bug
    cannot bite)."""
    if not _ACTIVE:
        return
    for value in (None, True, False):
        if sys.getrefcount(value) < _LOW:
            if id(value) not in _spare:
                spare: list[object] = []
                _spare[id(value)] = spare
                # Never freed, not even at exit: Qt's teardown still takes references away.
                ctypes.pythonapi.Py_IncRef(ctypes.py_object(spare))
            _spare[id(value)].extend([value] * _BATCH)


_ACTIVE = needed()
top_up()
