"""What the user's corrections say, read back from the library.

Every correction is an edit in the library's history, typed by
``photoclust.core.edits.corrections``; this module turns them into what the learner and the review
queue honour:

- ``labels``: a photo the user moved to or confirmed in a cluster (``Move``, ``Confirm``,
  ``NewCluster``, ``Merge``: ``Assignment.source == 'user'``) stays there and steers that
  cluster (``CorrectionLearner`` keeps it fixed).
- ``cannot_link``: a photo the user moved out of or removed from a cluster (``Move``, ``Remove``,
  ``NotInCluster``: a ``CannotLink`` row) is never put back there (the learner excludes it).
- ``refused``: review suggestions not to make again (the review queue leaves them out): a merge
  or split the user answered no (``RefuseSuggestion``, until undone), a merge the user undid,
  and merging the parts of a split the user made.

The labels and cannot-links are read from the rows the edits keep up to date (one query each,
however many edits made them); the rest from the edits themselves. ``corrections`` holds every
correction not undone, for rules a new kind brings (``of_type``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import select

from photoclust.core.edits.corrections import (
    Correction,
    Merge,
    RecordedCorrection,
    RefuseSuggestion,
    Split,
    read_corrections,
)
from photoclust.core.learning.review import MERGE, SPLIT, merge_key, split_key
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, CannotLink, Cluster, Source

C = TypeVar("C", bound=Correction)


@dataclass
class Constraints:
    """Everything the learner and the review queue honour, keyed by photo and cluster ids.

    ``refused`` holds keys as ``photoclust.core.learning.review.merge_key`` / ``split_key`` make.
    """

    labels: dict[int, int] = field(default_factory=dict)
    cannot_link: set[tuple[int, int]] = field(default_factory=set)
    refused: set[tuple[str, int, int]] = field(default_factory=set)
    corrections: list[RecordedCorrection] = field(default_factory=list)

    def of_type(self, kind: type[C]) -> list[C]:
        """The corrections of one type that are not undone, oldest first."""
        return [r.correction for r in self.corrections
                if isinstance(r.correction, kind) and not r.undone]


def derive_constraints(library: Library) -> Constraints:
    """Read labels, cannot-links and refused suggestions from ``library``."""
    constraints = Constraints()
    with library.session() as s:
        constraints.labels = {
            int(pid): int(cid) for pid, cid in s.execute(
                select(Assignment.photo_id, Assignment.cluster_id)
                .join(Cluster, Cluster.id == Assignment.cluster_id)
                .where(Assignment.source == Source.USER, Cluster.active.is_(True)))}
        constraints.cannot_link = {(int(p), int(c)) for p, c in s.execute(
            select(CannotLink.photo_id, CannotLink.cluster_id))}
        constraints.corrections = read_corrections(s)
    for recorded in constraints.corrections:
        constraints.refused.update(_refused_by(recorded))
    return constraints


def _refused_by(recorded: RecordedCorrection) -> set[tuple[str, int, int]]:
    """The suggestion keys one correction rules out."""
    c = recorded.correction
    if isinstance(c, RefuseSuggestion) and not recorded.undone:
        if c.suggestion == MERGE and c.other_cluster_id is not None:
            return {merge_key(c.cluster_id, c.other_cluster_id)}
        if c.suggestion == SPLIT:
            return {split_key(c.cluster_id)}
    if isinstance(c, Merge) and recorded.undone:
        return {merge_key(c.target_id, source) for source in c.source_ids}
    if isinstance(c, Split) and not recorded.undone and len(c.parts) >= 2:
        ids = [cid for cid, _photos in c.parts]
        return {merge_key(a, b) for a in ids for b in ids if a != b}
    return set()

