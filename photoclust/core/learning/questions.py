"""The review question: one type, told apart by its ``kind``.

A question is ``photo`` (is this photo in the suggested cluster? a ``PhotoSuggestion``), ``merge``
(does ``other_cluster_id`` belong in ``cluster_id``?) or ``split`` (are ``photo_ids`` a group of
their own, out of ``cluster_id``?), the last two a ``ClusterSuggestion``. Callers switch on
``question.kind`` (``PHOTO``, ``MERGE``, ``SPLIT``); a type checker then knows the parts each
kind has. Plain data with no heavy imports, so the CLI and the app can hold questions without
loading the learner.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal

PHOTO: Final = "photo"
MERGE: Final = "merge"
SPLIT: Final = "split"

QuestionKind = Literal["photo", "merge", "split"]


@dataclass(frozen=True)
class PhotoSuggestion:
    """Is this photo in the suggested cluster? Confirm, or move it. ``confidence``: the
    probability that the suggested cluster is right, on the scale the library stores
    (``clustering.calibration``; the stored number itself when the photo is already there), ``None``
    where no honest number exists."""

    # A class attribute, not a field: the CLI's JSON lists photo items apart and has no "kind".
    kind: ClassVar[Literal["photo"]] = PHOTO
    rank: int
    photo_id: int
    path: str
    suggested_cluster_id: int
    suggested_cluster_name: str
    confidence: float | None
    reason: str
    explanation: str


@dataclass(frozen=True)
class ClusterSuggestion:
    """``merge``: does ``other_cluster_id`` belong in ``cluster_id``? ``split``: are ``photo_ids``
    a group of their own, out of ``cluster_id``?"""

    rank: int
    kind: Literal["merge", "split"]
    cluster_id: int
    cluster_name: str
    reason: str
    explanation: str
    other_cluster_id: int | None = None
    other_cluster_name: str | None = None
    photo_ids: list[int] = field(default_factory=list)


#: One review question; ``kind`` says which of the two shapes it has.
Question = PhotoSuggestion | ClusterSuggestion
