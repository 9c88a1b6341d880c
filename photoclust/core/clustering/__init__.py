"""Clustering photos by their embeddings: preprocessing, choice of k, algorithms, refinement,
naming, duplicates, and cluster identity across runs.

What a caller may ask for (a method, a number of clusters) is declared here once, free of heavy
imports, and checked by ``check_method`` and ``check_k`` for the command line, the app's settings
and the jobs alike.
"""
from __future__ import annotations

from photoclust.core.jobs import JobError

#: The clustering methods ``photoclust cluster --method`` accepts. Kept here, free of heavy
#: imports, so that building the command line does not load torch or scikit-learn.
METHODS = ("kmeans", "agglomerative", "hdbscan", "scan")

#: The fewest clusters one may ask for: a single cluster organises nothing (a split makes at
#: least two parts too). With ``"auto"`` the program may still find one group in a tiny library.
MIN_K = 2

#: A photo in no cluster, in arrays of cluster ids or labels (noise, removed, not placed).
NO_CLUSTER = -1


def check_method(method: str) -> str:
    """``method`` if it is one of ``METHODS``, else ``JobError`` with one sentence."""
    if method not in METHODS:
        raise JobError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def check_k(value: int | float | str | None) -> int | str:
    """``"auto"``, or the number of clusters as an int of at least ``MIN_K``; else ``JobError``
    with one sentence."""
    if value == "auto":
        return "auto"
    if isinstance(value, float) and not value.is_integer():
        value = str(value)  # not a count: refused below
    try:
        k = int(value)  # type: ignore[arg-type]  # None is refused here with the others
    except (TypeError, ValueError):
        raise JobError(f"the number of clusters must be 'auto' or a whole number, "
                       f"not {value!r}") from None
    if k < MIN_K:
        raise JobError(f"the number of clusters must be at least {MIN_K}, not {k}")
    return k


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``(3)``... when a cluster already has it ("" stays "")."""
    if not name or name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def name_told_apart(name: str) -> str | None:
    """The name ``unique_name`` told ``name`` apart from ("dress" for "dress (2)"), or None."""
    base, sep, rest = (name or "").rpartition(" (")
    if sep and base and rest.endswith(")") and rest[:-1].isdigit():
        return base
    return None
