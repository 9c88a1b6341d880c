"""Long ``IN (...)`` lists in pieces: every query over a list of ids or paths goes through
``chunks``, so no statement binds more variables than SQLite allows (999 in builds before 3.32).
"""
from __future__ import annotations

from typing import Iterator, Sequence, TypeVar

T = TypeVar("T")

#: Bound variables per ``IN (...)`` list, below SQLite's oldest limit of 999 with room for the
#: statement's other parameters.
MAX_IN_LIST = 900


def chunks(items: Sequence[T], size: int = MAX_IN_LIST) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
