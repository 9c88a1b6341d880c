"""Which copy of a duplicate group stands for it in the albums: suggested, chosen by the user,
kept in the library, honoured by export.

Groups come from ``photoclust.core.clustering.duplicates``. For each group the program suggests
the copy to keep in albums: the largest (most pixels), then the sharpest (variance of the
Laplacian of its thumbnail, all measured at the same size), then the largest file. The user's
choice is stored in the library's ``settings`` table (key ``SETTING``) as a JSON list of
``{"keep": photo id, "copies": [photo ids of the group]}``, so it survives restarts and the CLI
sees it. ``left_out_of_albums`` gives the copies an export leaves out: the other copies of each
group whose chosen photo is still present. Files are never deleted, moved or changed: the copies
stay in the library, in their folders and in their clusters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import func, select

from photoclust.core.imaging import ImageError, load_model_input
from photoclust.core.jobs import Job, JobContext
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Photo, PhotoStatus, Setting

SETTING = "duplicates.representatives"
#: Side of the square the sharpness of every copy is measured in (so sizes compare fairly).
SHARPNESS_SIDE = 256


class DuplicateChoiceError(ValueError):
    """A choice cannot be stored (the photo is not in the group, unknown photos); the message is
    for the user. Nothing was changed."""


@dataclass(frozen=True)
class Copy:
    """One photo of a duplicate group, with what the suggestion weighs."""

    id: int
    path: str
    content_hash: str
    width: int | None
    height: int | None
    file_size: int
    sharpness: float | None  # None: the photo could not be read

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass(frozen=True)
class Choice:
    keep: int
    copies: tuple[int, ...]


@dataclass
class GroupForReview:
    """A duplicate group as the app shows it: its copies, the suggested one, the chosen one."""

    kind: str
    similarity: float
    copies: list[Copy]
    suggested: int
    chosen: int | None


def sharpness(image) -> float:
    """Variance of the 4-neighbour Laplacian of ``image`` (a PIL image) in grey, measured at
    ``SHARPNESS_SIDE`` px on the longer side: higher is sharper."""
    grey = image.convert("L")
    grey.thumbnail((SHARPNESS_SIDE, SHARPNESS_SIDE))
    g = np.asarray(grey, dtype=np.float32)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = (4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    return float(lap.var())


def _photo_sharpness(library: Library, path: str, content_hash: str) -> float | None:
    try:
        return sharpness(load_model_input(library, content_hash, [path], SHARPNESS_SIDE))
    except (ImageError, OSError, ValueError):
        return None


def suggest(copies: Sequence[Copy]) -> int:
    """The copy to keep: largest, then sharpest, then largest file, then the first added."""
    best = max(copies, key=lambda c: (c.pixels, c.sharpness if c.sharpness is not None else -1.0,
                                      c.file_size, -c.id))
    return best.id


def read_copies(library: Library, photo_ids: Iterable[int]) -> list[Copy]:
    """The copies' facts, sharpness included (decodes each thumbnail: run off the GUI thread)."""
    ids = sorted({int(p) for p in photo_ids})
    rows: list = []
    with library.session() as s:
        for part in chunks(ids):
            rows += s.execute(select(Photo.id, Photo.path, Photo.content_hash, Photo.width,
                                     Photo.height, Photo.file_size)
                              .where(Photo.id.in_(part))).all()
    return [Copy(pid, path, h, w, ht, size, _photo_sharpness(library, path, h))
            for pid, path, h, w, ht, size in sorted(rows)]


def _load(s) -> list[Choice]:
    row = s.get(Setting, SETTING)
    try:
        entries = json.loads(row.value) if row is not None else []
    except ValueError:
        return []  # a damaged value counts as no choice: every copy is exported
    choices = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and isinstance(e.get("keep"), int) and \
                isinstance(e.get("copies"), list) and all(isinstance(c, int) for c in e["copies"]):
            choices.append(Choice(e["keep"], tuple(e["copies"])))
    return choices


def _save(s, choices: list[Choice]) -> None:
    value = json.dumps([{"keep": c.keep, "copies": list(c.copies)} for c in choices])
    row = s.get(Setting, SETTING)
    if row is None:
        s.add(Setting(key=SETTING, value=value))
    else:
        row.value = value


def choices(library: Library) -> list[Choice]:
    """The user's choices, as stored."""
    with library.session() as s:
        return _load(s)


def choose(library: Library, group_photo_ids: Iterable[int], keep: int) -> Choice:
    """Store ``keep`` as the copy that stands for the group in albums (replacing any earlier
    choice that shares a photo with the group)."""
    copies = tuple(sorted({int(p) for p in group_photo_ids}))
    keep = int(keep)
    if keep not in copies:
        raise DuplicateChoiceError(f"photo {keep} is not one of the group's copies")
    if len(copies) < 2:
        raise DuplicateChoiceError("a duplicate group has at least two photos")
    with library.session() as s:
        known = set(s.scalars(select(Photo.id).where(Photo.id.in_(copies))))
        unknown = [p for p in copies if p not in known]
        if unknown:
            raise DuplicateChoiceError(f"no photo with id {', '.join(map(str, unknown))}")
        kept = [c for c in _load(s) if not set(c.copies) & set(copies)]
        choice = Choice(keep, copies)
        _save(s, [*kept, choice])
    return choice


def forget(library: Library, group_photo_ids: Iterable[int]) -> None:
    """Drop the choice for a group: all its copies go to the albums again."""
    ids = {int(p) for p in group_photo_ids}
    with library.session() as s:
        _save(s, [c for c in _load(s) if not set(c.copies) & ids])


def chosen_in(stored: Iterable[Choice], group_photo_ids: Iterable[int]) -> int | None:
    """The chosen copy of a group, if a stored choice covers one of its photos."""
    ids = set(group_photo_ids)
    for c in stored:
        if c.keep in ids:
            return c.keep
    return None


def left_out_of_albums(library: Library) -> set[int]:
    """Photo ids an export leaves out: the other copies of each group whose chosen photo is
    present (a chosen photo that went missing never costs the group its place in the albums)."""
    with library.session() as s:
        stored = _load(s)
        keeps = {c.keep for c in stored}
        present = set(s.scalars(select(Photo.id).where(Photo.id.in_(keeps),
                                                       Photo.status == PhotoStatus.PRESENT)))
    out: set[int] = set()
    for c in stored:
        if c.keep in present:
            out.update(p for p in c.copies if p != c.keep)
    return out - present  # a copy chosen for one group stays in the albums


def photos_key(library: Library) -> tuple[int, int]:
    """Changes when photos are added, removed or go missing (not when they change cluster):
    whether duplicate groups found earlier still hold. One indexed query."""
    with library.session() as s:
        n, last = s.execute(select(func.count(Photo.id), func.max(Photo.id))
                            .where(Photo.status == PhotoStatus.PRESENT)).one()
    return int(n or 0), int(last or 0)


class DuplicatesJob(Job[list[GroupForReview]]):
    """The library's duplicate groups with each copy's facts, the suggestion and the user's
    choice (reads every grouped photo's thumbnail: run off the GUI thread)."""

    title = "Finding duplicates"

    def __init__(self, library: Library, model: str | None = None):
        self.library, self.model = library, model

    def run(self, ctx: JobContext) -> list[GroupForReview]:
        from photoclust.core.clustering.duplicates import library_duplicate_groups

        ctx.report(0, 1, "Comparing photos")
        groups, _paths = library_duplicate_groups(self.library, model=self.model)
        stored = choices(self.library)
        out = []
        for done, g in enumerate(groups):
            ctx.raise_if_cancelled()
            ctx.report(done, len(groups), "Measuring sharpness")
            copies = read_copies(self.library, g.photo_ids)
            out.append(GroupForReview(g.kind, g.similarity, copies, suggest(copies),
                                      chosen_in(stored, g.photo_ids)))
        ctx.report(len(groups), len(groups), "")
        return out
