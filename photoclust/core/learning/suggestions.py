"""The review questions of a library, named: for ``photoclust review`` and the app's review queue
(``core/learning/review_queue.py``); the questions are chosen by ``learning/review.py``.

``review_suggestions(library)`` refits the learner on the library (about a second for a few
thousand photos; run it off the GUI thread) and returns the questions in the order to ask them:
photo items (confirm the suggested cluster or move the photo) and cluster suggestions (merge two
clusters, split a group out of one). Answering: ``editing.confirm_photos`` / ``move_photos`` /
``merge_clusters`` / ``new_cluster_from_photos`` for yes, ``editing.refuse_suggestion`` (an undoable
edit) for a no to a merge or split.

Besides the learner's questions, a cluster whose automatic name had to be told apart from another
one's ("dress (2)" beside "dress") is offered for merging into it ("twin"): Organize founds a
cluster for a tight set of new photos, and a set of a known kind (one shoot, one outfit) looks like
a new kind in the features (docs/learning.md); the names say what the features cannot, and one
answer settles it. Asked once: a no is remembered like any refused merge.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import select

from photoclust.core.clustering import name_told_apart
from photoclust.core.clustering.calibration import calibrated_confidences
from photoclust.core.faces.cluster_names import is_people_name, people_base_names
from photoclust.core.learning.job import fit_learner, load_learning_data
from photoclust.core.learning.questions import MERGE, PHOTO, ClusterSuggestion, PhotoSuggestion
from photoclust.core.learning.review import (
    ReviewItem,
    build_review_queue,
    merge_key,
    review_policy,
)
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Cluster, Photo, Source

REASON_TEXT = {
    "representative": "the most typical photo of a cluster nobody has checked yet",
    "uncertain": "among the photos nearest to another cluster",
    "merge": "you moved photos from this cluster into the other one",
    "split": "this cluster looks like two groups",
    "twin": "its photos were named like the other cluster's: they may be more of the same",
}


@dataclass
class ReviewSuggestions:
    items: list[PhotoSuggestion]
    suggestions: list[ClusterSuggestion]

    def as_json(self) -> dict:
        return {"items": [asdict(i) for i in self.items],
                "suggestions": [asdict(s) for s in self.suggestions]}


def review_suggestions(library: Library, limit: int = 50,
                       model: str | None = None) -> ReviewSuggestions:
    """The ``limit`` questions that would clean the library fastest, most useful first."""
    data = load_learning_data(library, model)
    learner = fit_learner(data)
    queue = build_review_queue(data.X, learner, data.user, max(0, int(limit)), data.cannot_link,
                               data.constraints.refused, review_policy(data.model))
    twins = twin_merges(library, data.constraints.refused, set(data.user[data.user >= 0].tolist()),
                        {(i.cluster, i.other_cluster) for i in queue if i.kind == MERGE})
    if twins and limit > 0:  # after the merges the user's moves back, before the rest
        evidence = sum(1 for i in queue if i.kind == MERGE and i.reason == "merge")
        queue = (queue[:evidence] + twins + queue[evidence:])[:int(limit)]
    photo_ids = [int(data.photo_ids[i.photo]) for i in queue if i.kind == PHOTO]
    with library.session() as s:
        names = {cid: name for cid, name in s.execute(select(Cluster.id, Cluster.name))}
        paths = {pid: path for pid, path in
                 s.execute(select(Photo.id, Photo.path).where(Photo.id.in_(photo_ids)))}
        stored = {pid: conf for pid, conf in s.execute(
            select(Assignment.photo_id, Assignment.confidence)
            .where(Assignment.photo_id.in_(photo_ids)))}
    targets = data.current.copy()
    for item in queue:
        if item.kind == PHOTO:
            targets[item.photo] = item.cluster
    fresh = calibrated_confidences(data.X, data.current, data.user, data.model, targets)
    items, suggestions = [], []
    for rank, item in enumerate(queue, 1):
        explanation = REASON_TEXT.get(item.reason, item.reason)
        if item.kind == PHOTO:
            pid = int(data.photo_ids[item.photo])
            if item.cluster == data.current[item.photo]:
                confidence = stored.get(pid)
            else:
                value = float(fresh[item.photo])
                confidence = None if np.isnan(value) else value
            items.append(PhotoSuggestion(
                rank, pid, paths.get(pid, ""), item.cluster, names.get(item.cluster, ""),
                None if confidence is None else round(float(confidence), 4), item.reason,
                explanation))
        else:
            other = item.other_cluster if item.kind == MERGE else None
            suggestions.append(ClusterSuggestion(
                rank, item.kind, item.cluster, names.get(item.cluster, ""), item.reason,
                explanation, other, names.get(other) if other is not None else None,
                [int(data.photo_ids[i]) for i in item.photos]))
    return ReviewSuggestions(items, suggestions)


def twin_merges(library: Library, refused, placed_in: set[int],
                asked: set) -> list[ReviewItem]:
    """Merge questions for clusters named automatically like another active cluster ("dress (2)"
    beside "dress"), unless the user answered no before, placed photos in the twin (they keep it
    apart on purpose), or the learner asks the same already."""
    with library.session() as s:
        rows = s.execute(select(Cluster.id, Cluster.name, Cluster.name_source)
                         .where(Cluster.active.is_(True))).all()
        named_for_people = people_base_names(s)
    by_name = {name: cid for cid, name, _source in rows}
    items = []
    for cid, name, source in rows:
        told_apart = name_told_apart(name)
        if source == Source.USER or told_apart is None or cid in placed_in \
                or is_people_name(name, named_for_people):  # named for its people
            continue
        base = by_name.get(told_apart)
        if base is None or base == cid or merge_key(base, cid) in refused \
                or (base, cid) in asked:
            continue
        items.append(ReviewItem(MERGE, "twin", cluster=int(base), other_cluster=int(cid)))
    return items
