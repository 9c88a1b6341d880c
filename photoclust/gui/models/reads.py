"""Reads of the library off the GUI thread for the People and Timeline pages: ``read(key, fn,
on_done)`` runs ``fn()`` on one reader thread and calls ``on_done(result)`` on the GUI thread,
only for the newest read of each ``key`` (a read the user has moved past is dropped)."""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Run(QRunnable):
    def __init__(self, reads: Reads, n: int, fn: Callable[[], object]):
        super().__init__()
        self._reads, self._n, self._fn = reads, n, fn

    def run(self) -> None:
        try:
            result: object = self._fn()
        except Exception as exc:  # noqa: BLE001 - a sentence for the user, never a crash
            log.warning("a read of the library failed: %s", exc)
            result = _Failed(exc)
        self._reads._results[self._n] = result
        self._reads._done.emit(self._n)  # an int only: the result waits in ``_results``


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class Reads(QObject):
    _done = Signal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._results: dict[int, object] = {}
        self._waiting: dict[int, tuple[str, Callable, Callable | None]] = {}
        self._latest: dict[str, int] = {}
        self._n = 0
        self._done.connect(self._deliver)

    def read(self, key: str, fn: Callable[[], object], on_done: Callable[[object], None],
             on_failed: Callable[[str], None] | None = None) -> None:
        self._n += 1
        self._latest[key] = self._n
        self._waiting[self._n] = (key, on_done, on_failed)
        self._pool.start(_Run(self, self._n, fn))

    def _deliver(self, n: int) -> None:
        result = self._results.pop(n, None)
        key, on_done, on_failed = self._waiting.pop(n)
        if self._latest.get(key) != n:
            return
        if isinstance(result, _Failed):
            if on_failed is not None:
                on_failed(str(result.error) or type(result.error).__name__)
            return
        on_done(result)

    def is_idle(self) -> bool:
        return not self._waiting

    def wait_for_done(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)
