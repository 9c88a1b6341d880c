"""The clustering's space kept beside a large library: placing new photos reads only them.

Every run of ``ClusterJob`` works in the space of the photos' embeddings normalised, projected on
a PCA and normalised again (``preprocess``). Fitting that PCA and projecting every photo means
reading every embedding: 2.5 GB of vectors at a million photos, most of the time of placing
10,000 new ones (docs/performance.md, "A million photos"). From ``KEEP_FROM`` photos, where the
PCA is fitted on a sample of ``PCA_FIT_SAMPLE`` photos anyway, the space of the last run is kept
in the library's data folder (``cluster-space-<model>.npz``: the photo ids, which embedding each
had and the basis; it names the file of projected rows, ``cluster-space-<model>.<n>.npy``, which is
mapped into memory, not read whole), and the next placement reuses it: only the photos it does
not hold (new ones, re-embedded ones) are read and projected on the kept basis. New photos are
then placed in the very space the clusters were made or last placed in.

The basis is fitted again (every embedding read and projected, as below ``KEEP_FROM``) when the
library has grown ``REFIT_GROWTH`` times since it was fitted (the sample it was fitted on then
stands for less than half of the photos), when more than half of the photos are not in the kept
space, and when the file is missing, was written for another model, preprocessing or number of
dimensions, or is damaged (then one log sentence says so). A first or fresh clustering always fits
the basis again.
"""
from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoclust.core.clustering.preprocess import PCA_FIT_SAMPLE, project_rows
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.embedding.store import iter_embeddings
from photoclust.core.library.db import Library

log = logging.getLogger(__name__)

#: Libraries of at least this many photos keep their clustering space: above ``PCA_FIT_SAMPLE``
#: the basis is an estimate from a sample already, and above ``placement.NEIGHBOUR_SAMPLE``
#: (the same 50,000) the neighbour test is too. Smaller libraries are projected whole every time.
KEEP_FROM = 50_000
#: The basis is fitted again when the library has grown this many times since it was fitted
#: (the space of "similar" follows the same rule: ``search.index.REFIT_GROWTH``).
REFIT_GROWTH = 2
#: ... or when more than this share of the photos are not in the kept space.
REFIT_SHARE = 0.5
#: Changes when what this module writes changes.
SPACE_VERSION = 1

assert KEEP_FROM > PCA_FIT_SAMPLE


def _path(library: Library, model: str) -> Path:
    """The description (ids, basis, and the name of the file of rows, mapped into memory)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    return library.data_dir / f"cluster-space-{safe}.npz"


def _rows_files(library: Library, model: str) -> list[Path]:
    path = _path(library, model)
    return sorted(path.parent.glob(f"{path.stem}.*.npy"))


def _key(model: str, n_components: int) -> str:
    return json.dumps([SPACE_VERSION, model, PREPROCESS_VERSION, n_components])


@dataclass
class KeptSpace:
    """The space of the last clustering run: row ``i`` is photo ``photo_ids[i]`` (sorted), whose
    embedding was row ``embedding_rows[i]``, projected as ``space[i]`` on ``(components,
    shift)`` fitted when the library had ``fit_n`` photos."""

    photo_ids: np.ndarray
    embedding_rows: np.ndarray
    space: np.ndarray
    components: np.ndarray
    shift: np.ndarray
    fit_n: int

    def usable_for(self, photo_ids: np.ndarray, embedding_rows: np.ndarray) -> np.ndarray | None:
        """Per photo of ``photo_ids``, its row in the kept space (-1: not kept, to project),
        or None when the basis should be fitted again (the library grew ``REFIT_GROWTH``
        times, or most photos are not kept)."""
        n, m = len(photo_ids), len(self.photo_ids)
        if m == 0 or n >= REFIT_GROWTH * max(self.fit_n, 1):
            return None
        at = np.minimum(np.searchsorted(self.photo_ids, photo_ids), m - 1)
        same = (self.photo_ids[at] == photo_ids) & (self.embedding_rows[at] == embedding_rows)
        if n - int(same.sum()) > REFIT_SHARE * n:
            return None
        return np.where(same, at, -1)


def load(library: Library, model: str, n_components: int) -> KeptSpace | None:
    """The kept space of ``model``; None when there is none, or it was written for another model,
    preprocessing or width, or is damaged (then one log sentence: the space is fitted again)."""
    path = _path(library, model)
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            if str(data["key"]) != _key(model, n_components):
                return None
            rows_file = path.parent / Path(str(data["rows_file"])).name
            kept: KeptSpace | None = KeptSpace(np.asarray(data["photo_ids"], np.int64),
                np.asarray(data["embedding_rows"], np.int64),
                np.load(rows_file, mmap_mode="r"),  # read as the rows are copied
                np.asarray(data["components"], np.float32),
                np.asarray(data["shift"], np.float32), int(data["fit_n"]))
            if kept is not None and kept.space.dtype != np.float32:
                kept = None
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile):
        kept = None
    rows = 0 if kept is None else len(kept.photo_ids)
    if kept is None or kept.space.shape != (rows, n_components) \
            or len(kept.embedding_rows) != rows or kept.shift.shape != (n_components,) \
            or kept.components.ndim != 2 or kept.components.shape[1] != n_components \
            or np.any(np.diff(kept.photo_ids) <= 0):
        log.warning("The kept clustering space %s is damaged; every photo is projected again.",
                    path)
        return None
    return kept


def save(library: Library, model: str, kept: KeptSpace) -> None:
    """Keep ``kept`` for the next run (written beside, then renamed: never half a file); a
    library that cannot be written keeps none, and a smaller one keeps none either (a space kept
    when it was large is removed: it would be stale)."""
    path = _path(library, model)
    if library.read_only:
        return
    if len(kept.photo_ids) < KEEP_FROM:
        forget(library, model)
        return
    # the rows under a new name, then the description naming them (written beside, then
    # renamed): a reader finds the old pair or the new one, never half of one
    rows_file = path.with_name(f"{path.stem}.{os.getpid()}-{time.time_ns()}.npy")
    tmp_rows = rows_file.with_name(f".{rows_file.name}.tmp")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp_rows, "wb") as f:
            np.save(f, np.asarray(kept.space, dtype=np.float32))
        os.replace(tmp_rows, rows_file)
        np.savez(tmp, key=np.array(_key(model, kept.space.shape[1])), photo_ids=kept.photo_ids,
                 embedding_rows=kept.embedding_rows, rows_file=np.array(rows_file.name),
                 components=kept.components, shift=kept.shift, fit_n=np.array(kept.fit_n))
        os.replace(tmp, path)
    except OSError as exc:
        log.info("the clustering space is not kept on disk: %s", exc)
        for leftover in (tmp_rows, tmp, rows_file):
            leftover.unlink(missing_ok=True)
        return
    for old in _rows_files(library, model):
        if old != rows_file:
            old.unlink(missing_ok=True)


def forget(library: Library, model: str) -> None:
    """Remove the kept space of ``model`` (a run whose space is not the one kept)."""
    if not library.read_only:
        try:
            for path in [_path(library, model), *_rows_files(library, model)]:
                path.unlink(missing_ok=True)
        except OSError as exc:  # pragma: no cover - a folder that cannot be written
            log.info("the kept clustering space could not be removed: %s", exc)


def project_with(library: Library, model: str, kept: KeptSpace, rows: np.ndarray,
                 photo_ids: np.ndarray, keep_raw: np.ndarray, ctx=None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``project_embeddings``' ``(kept, Z, X_raw)`` from the kept space: the rows it holds
    (``rows[i] >= 0``, from ``KeptSpace.usable_for``) copied, the others read by id and projected
    on the kept basis; the float16 vectors of the photos ``keep_raw`` marks read by id too. Only
    those photos' embeddings are read."""
    n = len(photo_ids)
    keep_raw = np.asarray(keep_raw, dtype=bool)
    Z = np.empty((n, kept.space.shape[1]), dtype=np.float32)
    held = rows >= 0
    at_held = np.flatnonzero(held)
    m = at_held.size
    if m and at_held[-1] == m - 1 and np.array_equal(rows[:m], np.arange(m)):
        Z[:m] = kept.space[:m]  # the usual case (photos only added): one copy of the mapped rows
    else:
        Z[at_held] = kept.space[rows[at_held]]
    seen = held.copy()
    X_raw = np.zeros((int(keep_raw.sum()), kept.components.shape[0]), dtype=np.float16)
    slot = np.cumsum(keep_raw) - 1
    raw_read = ~keep_raw  # a photo whose vector is wanted and not read has gone meanwhile
    wanted = photo_ids[~held | keep_raw]
    for ids, block in iter_embeddings(library, model, wanted.tolist()):
        at = np.minimum(np.searchsorted(photo_ids, ids), n - 1)
        known = photo_ids[at] == ids
        at, block = at[known], block[known]
        if not at.size or block.shape[1] != kept.components.shape[0]:
            continue
        new = ~held[at]
        if new.any():
            Z[at[new]] = project_rows(block[new], kept.components, kept.shift)
            seen[at[new]] = True
        raw = keep_raw[at]
        X_raw[slot[at[raw]]] = block[raw]
        raw_read[at[raw]] = True
        if ctx is not None:
            ctx.raise_if_cancelled()
    seen &= raw_read
    if seen.all():
        return seen, Z, X_raw
    return seen, Z[seen], X_raw[seen[keep_raw]]
