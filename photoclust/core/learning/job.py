"""Learning on a library: load what the learner needs, retrain as a job, store the result.

``LearnJob`` refits ``CorrectionLearner`` on the library's embeddings and the user's corrections and
stores the new automatic assignments and confidences through ``apply_clustering`` (a run with
method ``learn``), which never touches photos the user placed. The run is one undoable edit
(kind ``learn``, written in the same transaction: an interrupted Learn leaves the library as
before it), whose params hold ``moves``: ``[{"from_cluster_id", "to_cluster_id", "photos"}]``.
Undoing it restores the placements and confidences it changed, and only where the library still
holds what Learn left (photos organised since keep their place). For a few thousand photos on a
CPU it takes about a second.

Then (``people=True``, the default: what ``photoclust learn`` and the app's Learn do) the faces
the user did not place are re-sorted after the user's corrections of people
(``faces.editing.learn_people``): a second undoable edit (kind ``learn_people``), in
``LearnResult.people``. A library with faces but no clusters yet (Organize stopped before
grouping the photos, or ``cluster`` never run) still has its faces re-sorted: the photos' part is
skipped and ``LearnResult.photos_skipped`` says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from photoclust.core.clustering.calibration import calibrated_confidences
from photoclust.core.clustering.identity import apply_clustering_as_edit
from photoclust.core.clustering.job import project_embeddings
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.edits.history import ChangeSet, EditResult, cluster_moves
from photoclust.core.embedding.store import (
    embedded_photo_ids,
    newest_clustering_model,
)
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.learning.constraints import Constraints, derive_constraints
from photoclust.core.learning.learner import NO_CLUSTER, CorrectionLearner, class_columns
from photoclust.core.library import Library
from photoclust.core.library.models import Assignment, Cluster, Face

#: PCA dimension of the space the learner works in (the clustering's preprocessing).
LEARNING_COMPONENTS = 128


@dataclass
class LearningData:
    """The library as arrays: row ``i`` is photo ``photo_ids[i]``."""

    model: str
    photo_ids: np.ndarray
    X: np.ndarray
    current: np.ndarray
    user: np.ndarray
    cannot_link: list[tuple[int, int]]
    constraints: Constraints

    @property
    def n_labelled(self) -> int:
        return int(np.sum(self.user != NO_CLUSTER))


def load_learning_data(library: Library, model: str | None = None) -> LearningData:
    """Embeddings (preprocessed), current clusters, labels and cannot-links as aligned arrays.

    Raises ``JobError`` when there is nothing to learn from: no clustering yet, or no embeddings.
    """
    model = model or newest_clustering_model(library)
    if model is None:
        raise JobError("the library has no clusters yet: run `photoclust cluster` first")
    # every embedding read a block at a time and projected as it comes (``project_embeddings``:
    # the same space as projecting them all at once): 128 numbers a photo are held, not 1,280
    # (0.5 GB instead of 5.1 GB of float32 and its copies at a million photos)
    photo_ids = embedded_photo_ids(library, model)
    n_components = LEARNING_COMPONENTS if len(photo_ids) > LEARNING_COMPONENTS + 1 else None
    kept, Z, _ = project_embeddings(library, model,
                                    EmbeddingPreprocessor(n_components=n_components,
                                                          random_state=0),
                                    photo_ids, np.zeros(len(photo_ids), dtype=bool))
    photo_ids = photo_ids[kept]
    if len(photo_ids) == 0:
        raise JobError(f"no photo has a {model} embedding: run `photoclust embed` first")
    row = {int(pid): i for i, pid in enumerate(photo_ids.tolist())}
    current = np.full(len(photo_ids), NO_CLUSTER, dtype=np.int64)
    with library.session() as s:
        for pid, cid in s.execute(select(Assignment.photo_id, Assignment.cluster_id)
                                  .join(Cluster, Cluster.id == Assignment.cluster_id)
                                  .where(Cluster.active.is_(True))):
            if int(pid) in row:
                current[row[int(pid)]] = int(cid)
    if not np.any(current != NO_CLUSTER):
        raise JobError("the library has no clusters yet: run `photoclust cluster` first")
    constraints = derive_constraints(library)
    user = np.full(len(photo_ids), NO_CLUSTER, dtype=np.int64)
    for pid, cid in constraints.labels.items():
        if pid in row:
            user[row[pid]] = cid
    cannot_link = [(row[p], c) for p, c in constraints.cannot_link if p in row]
    return LearningData(model, photo_ids, Z, current, user, cannot_link, constraints)


def fit_learner(data: LearningData, random_state: int = 0) -> CorrectionLearner:
    return CorrectionLearner(random_state=random_state).fit(
        data.X, data.current, data.user, data.cannot_link)


#: Cluster-to-cluster moves named in a Learn description; the rest are counted.
MOVES_DESCRIBED = 3


@dataclass
class LearnResult:
    """What Learn did. ``event_id`` is its edit (``None`` when nothing changed); ``moves`` says
    how many photos went from which cluster to which, most first."""

    run_id: int | None  # ``None`` when the photos were skipped (``photos_skipped``)
    n_photos: int
    n_labelled: int
    n_reassigned: int
    event_id: int | None = None
    description: str = ""
    moves: list[dict] = field(default_factory=list)
    #: The faces re-sorted after (``learn_people``, its own edit); ``None`` when none moved.
    people: EditResult | None = None
    #: Why the photos were not re-sorted ("" when they were): a library with faces and no
    #: clusters yet has only its faces re-sorted.
    photos_skipped: str = ""

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "photos": self.n_photos, "labelled": self.n_labelled,
                "reassigned": self.n_reassigned, "event_id": self.event_id,
                "description": self.description, "moves": self.moves,
                "people": None if self.people is None else self.people.to_json(),
                "photos_skipped": self.photos_skipped or None}


def has_faces(library: Library) -> bool:
    """Whether the library holds a face (not removed): Learn then has faces to re-sort."""
    with library.session() as s:
        return s.scalar(select(Face.id).where(Face.removed.is_(False)).limit(1)) is not None


def describe_moves(names: dict[int, str], moves: list[dict], limit: int = MOVES_DESCRIBED) -> str:
    """"12 from hat to golf ball, 3 from ... and 2 more" for a list of ``cluster_moves``."""
    def name(cid):
        return "no cluster" if cid is None else names.get(cid) or f"cluster {cid}"

    parts = [f"{m['photos']} from {name(m['from_cluster_id'])} to {name(m['to_cluster_id'])}"
             for m in moves[:limit]]
    rest = sum(m["photos"] for m in moves[limit:])
    return ", ".join(parts) + (f" and {rest} more" if rest else "")


class LearnJob(Job[LearnResult]):
    """Retrain on the user's corrections and reassign the photos the user did not place; with
    ``people``, then re-sort the faces the user did not place (a second edit)."""

    title = "Learning from your corrections"

    def __init__(self, library: Library, model: str | None = None, random_state: int = 0,
                 people: bool = True):
        self.library = library
        self.model = model
        self.random_state = random_state
        self.people = people

    def prepare(self) -> None:
        self.model = self.model or newest_clustering_model(self.library)
        if self.model is None and not (self.people and has_faces(self.library)):
            raise JobError("the library has no clusters yet: run `photoclust cluster` first")

    def run(self, ctx: JobContext) -> LearnResult:
        steps = 4 if self.people else 3
        ctx.report(0, steps, "loading embeddings and corrections")
        try:
            data = load_learning_data(self.library, self.model)
        except JobError as nothing:
            # No clusters (or no embeddings) yet: with faces, they are re-sorted all the same.
            if not (self.people and has_faces(self.library)):
                raise
            return self._faces_only(ctx, steps, str(nothing))
        ctx.raise_if_cancelled()
        ctx.report(1, steps, "learning")
        learner = fit_learner(data, self.random_state)
        ctx.raise_if_cancelled()
        ctx.report(2, steps, "saving clusters")
        labels, label_clusters = self._labels_for_storage(learner)
        confidences = calibrated_confidences(data.X, learner.labels_, data.user, data.model)
        ctx.raise_if_cancelled()
        summary: dict = {}

        def describe(s, changes: ChangeSet) -> tuple[str, dict]:
            moves = cluster_moves(changes)
            names = {cid: name for cid, name in s.execute(select(Cluster.id, Cluster.name))}
            moved = sum(m["photos"] for m in moves)
            text = (f"Learned from {data.n_labelled} answer{'' if data.n_labelled == 1 else 's'}: "
                    f"moved {moved} photo{'' if moved == 1 else 's'}")
            if moves:
                text += f" ({describe_moves(names, moves)})"
            summary.update(moves=moves, moved=moved, description=text)
            return text, {"moves": moves, "labelled": data.n_labelled}

        run_id, edit = apply_clustering_as_edit(
            self.library, "learn", describe, data.model, "learn", data.photo_ids, labels,
            confidences=confidences, label_clusters=label_clusters,
            params={"learner": learner.get_params(), "labelled": data.n_labelled})
        people = None
        if self.people:
            from photoclust.core.faces.editing import learn_people

            ctx.report(3, steps, "re-sorting faces")
            people = learn_people(self.library)
        ctx.report(steps, steps, "done")
        return LearnResult(run_id, len(data.photo_ids), data.n_labelled, summary["moved"],
                           edit.event_id, summary["description"], summary["moves"], people)

    def _faces_only(self, ctx: JobContext, steps: int, reason: str) -> LearnResult:
        """Only the faces re-sorted (``learn_people``): the photos cannot be (``reason``)."""
        from photoclust.core.faces.editing import learn_people

        ctx.report(3, steps, "re-sorting faces")
        people = learn_people(self.library)
        ctx.report(steps, steps, "done")
        return LearnResult(None, 0, 0, 0, people=people, photos_skipped=reason)

    def _labels_for_storage(self, learner: CorrectionLearner) -> tuple[np.ndarray, dict[int, int]]:
        """Label indices into ``classes_`` (-1 for a photo the learner could not place), and the
        clusters those indices stand for, so that ``apply_clustering`` keeps every learned class
        in its own cluster instead of matching it by overlap (a class made only of moved photos
        would otherwise become a new cluster)."""
        classes = learner.classes_
        labels = class_columns(classes, learner.labels_)
        with self.library.session() as s:
            active = set(s.scalars(select(Cluster.id).where(Cluster.active)))
        label_clusters = {j: int(c) for j, c in enumerate(classes) if int(c) in active}
        return labels, label_clusters
