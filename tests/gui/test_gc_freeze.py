"""Objects of modules loaded after start-up leave the collector's scans (full collections walk
every tracked object holding the interpreter lock: the GUI thread stalled during big edits)."""
from __future__ import annotations

import gc
import sys
import types

from photoclust.gui.gc_freeze import freeze_new_modules, freeze_startup_objects


def test_new_modules_are_frozen_once_and_only_when_there_are_new_ones():
    freeze_startup_objects()
    assert freeze_new_modules() is False  # nothing loaded since
    module = types.ModuleType("photoclust_test_loaded_late")
    module.functions = [lambda i=i: i for i in range(1000)]  # tracked objects, like a module's
    sys.modules[module.__name__] = module
    try:
        frozen = gc.get_freeze_count()
        assert freeze_new_modules() is True
        assert gc.get_freeze_count() >= frozen + 1000
        assert not any(f is module.functions[0] for f in gc.get_objects())  # out of the scans
        assert freeze_new_modules() is False
    finally:
        del sys.modules[module.__name__]
        gc.unfreeze()
