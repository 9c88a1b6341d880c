"""Reads of the library off the GUI thread for the People and Timeline pages: ``read(key, fn,
on_done)`` runs ``fn()`` on one reader thread and calls ``on_done(result)`` on the GUI thread,
only for the newest read of each ``key`` (a read the user has moved past is dropped)."""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QThreadPool

from photoclust.gui.workers import run_in_background

log = logging.getLogger(__name__)


class Reads(QObject):

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._waiting: dict[int, tuple[str, Callable, Callable | None]] = {}
        self._latest: dict[str, int] = {}
        self._n = 0

    def read(self, key: str, fn: Callable[[], object], on_done: Callable[[object], None],
             on_failed: Callable[[str], None] | None = None) -> None:
        self._n += 1
        self._latest[key] = self._n
        self._waiting[self._n] = (key, on_done, on_failed)
        n = self._n
        run_in_background(fn, lambda result: self._deliver(n, result), pool=self._pool,
                          owner=self, on_failed=lambda error: self._failed(n, error))

    def _deliver(self, n: int, result: object) -> None:
        key, on_done, _on_failed = self._waiting.pop(n)
        if self._latest.get(key) == n:
            on_done(result)

    def _failed(self, n: int, error: BaseException) -> None:
        key, _on_done, on_failed = self._waiting.pop(n)
        log.warning("a read of the library failed: %s", error)
        if self._latest.get(key) == n and on_failed is not None:
            on_failed(str(error) or type(error).__name__)

    def is_idle(self) -> bool:
        return not self._waiting

    def wait_for_done(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)
