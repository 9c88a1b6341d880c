"""Waiting for the app in GUI tests."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def settled(window, qtbot, timeout: int = 20000):
    """Run the block (an edit, undo, redo or job), then wait until its edits are saved and the
    Photos page shows the library as it is after them."""
    yield
    qtbot.wait(20)  # an item editor commits its text on a queued call
    photos = window.page("photos")
    qtbot.waitUntil(lambda: not window.queue.is_busy("edits") and photos.is_up_to_date(),
                    timeout=timeout)
