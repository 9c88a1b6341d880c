"""Keep the garbage collector's full scans short, so that they never stall the GUI thread.

A full collection walks every object the collector tracks, holding the interpreter lock, whichever
thread it runs on. Modules hold many of those objects and live as long as the app: once torch,
scipy and scikit-learn had been loaded by jobs after start-up, every full collection took 50-110 ms
on a 2-core machine, and an edit of 5,000 photos triggers one or two. Frozen objects are
skipped by the scans (``gc.freeze``), so the app freezes what exists after start-up and again
whenever new modules have been loaded. See docs/gui.md ("Measured").
"""
from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules_seen = 0


def freeze_startup_objects() -> None:
    """Collect once, then move everything allocated so far (Qt wrappers, SQLAlchemy, numpy) out
    of the collector's scans."""
    global _modules_seen
    with _lock:
        gc.collect()
        gc.freeze()
        _modules_seen = len(sys.modules)


def freeze_new_modules() -> bool:
    """When modules were loaded since the last freeze, freeze again (after a cheap collection of
    the young generations, so that little garbage is frozen with them); True when it did. Cheap
    otherwise: call it after any work that may import (a job, a page's first load). Modules are
    loaded once each, so the freezes, and what garbage they keep, are bounded."""
    global _modules_seen
    with _lock:
        if len(sys.modules) <= _modules_seen:
            return False
        gc.collect(1)
        gc.freeze()
        _modules_seen = len(sys.modules)
        return True
