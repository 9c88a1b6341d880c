"""The review queue: each question with the photos it is about, and its answers as library edits
(the one module of that name; ``learning/review.py`` chooses the questions and
``learning/suggestions.py`` names them).

``ReviewJob`` (run off the GUI thread) asks the learning core for the questions
(``photoclust.core.learning.suggestions.review_suggestions``) and reads, for each one, what a
person needs to see to decide at a glance (``QuestionView``):

- a photo question ("is this photo in Beach?"): the photo, and the typical photos of Beach;
- a merge ("does Sand belong in Beach?"): samples of both clusters side by side;
- a split ("are these photos a group of their own?"): samples of both parts;
- a people question (``core/faces/questions.py``; ``FacesView``): "Is this Anna?" shows the
  face and Anna's typical faces, "Are these the same person?" faces of both people, "Are
  these one person?" faces of both parts of the person, "Who is this?" the face; the faces are
  cut from their photos (``FaceCrop``).

A cluster's typical photos are its most confident ones (photos the user placed or confirmed
first). ``answer_question`` turns one key press into one edit through
``photoclust.core.clustering.editing``, undoable like every other edit; a "no" to a merge or split
too (``editing.refuse_suggestion``: not suggested again unless undone).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from photoclust.core.clustering import editing
from photoclust.core.edits.history import EditResult
from photoclust.core.faces.questions import IS_THIS, ONE_PERSON, SAME_PERSON, PeopleQuestion
from photoclust.core.faces.read import FaceCrop, display_name, face_crops, typical_faces
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.learning.questions import MERGE, PHOTO, ClusterSuggestion, Question
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Assignment, Cluster, Photo, PhotoStatus

#: Photos shown per side of a question.
SAMPLES_PER_SIDE = 6

YES, NO, ELSEWHERE, SKIP = "yes", "no", "elsewhere", "skip"


@dataclass(frozen=True)
class PhotoRef:
    """What a view needs to draw a photo: its id, file and thumbnail key."""

    id: int
    path: str
    content_hash: str


@dataclass(frozen=True)
class QuestionView:
    """What a question is about, as two captioned rows of photos (``right`` may be empty)."""

    left_caption: str
    left: tuple[int, ...]
    right_caption: str = ""
    right: tuple[int, ...] = ()
    left_total: int = 0  # photos the left side stands for (the samples are the first few)
    right_total: int = 0


@dataclass(frozen=True)
class FacesView:
    """What a people question is about, as two captioned rows of faces (face ids; ``right``
    may be empty). ``left_total``/``right_total``: the faces each side stands for."""

    left_caption: str
    left: tuple[int, ...]
    right_caption: str = ""
    right: tuple[int, ...] = ()
    left_total: int = 0
    right_total: int = 0


@dataclass
class ReviewQueue:
    questions: list[Question]
    views: list[QuestionView] = field(default_factory=list)  # one per question
    photos: dict[int, PhotoRef] = field(default_factory=dict)  # every photo a view shows
    # The people questions ("Is this Anna?", "Are these the same person?"; core/faces/questions),
    # asked among the photo questions by what each answer is expected to fix (``items``);
    # ``answer_question`` answers them too.
    people: list[PeopleQuestion] = field(default_factory=list)
    people_views: list[FacesView] = field(default_factory=list)  # one per people question
    faces: dict[int, FaceCrop] = field(default_factory=dict)  # every face a people view shows

    def _order(self) -> list[tuple[bool, int]]:
        """``(is a people question, index)`` of every question in the order asked: the photo
        questions in their order and the people questions in theirs, merged by how much each
        answer is expected to fix (``expected_fix``; the photos' first on a tie)."""
        photo = [expected_fix(q, self.views[k] if k < len(self.views) else None)
                 for k, q in enumerate(self.questions)]
        people = [q.expected for q in self.people]
        order: list[tuple[bool, int]] = []
        i = j = 0
        while i < len(photo) or j < len(people):
            if j >= len(people) or (i < len(photo) and photo[i] >= people[j]):
                order.append((False, i))
                i += 1
            else:
                order.append((True, j))
                j += 1
        return order

    @property
    def items(self) -> list[Question | PeopleQuestion]:
        """Every question in the order asked (``_order``)."""
        return [self.people[k] if is_people else self.questions[k]
                for is_people, k in self._order()]

    def view(self, row: int) -> QuestionView | FacesView:
        """The view of ``items[row]``."""
        is_people, k = self._order()[row]
        return self.people_views[k] if is_people else self.views[k]

    def remove(self, question: Question | PeopleQuestion) -> None:
        """Drop an answered question (found by identity)."""
        for questions, views in ((self.questions, self.views),
                                 (self.people, self.people_views)):
            for row, q in enumerate(questions):
                if q is question:
                    del questions[row]
                    if row < len(views):
                        del views[row]
                    return


#: The chance that a merge or split suggested without a probability is right: as likely as not.
UNKNOWN_CHANCE = 0.5


def expected_fix(q: Question, view: QuestionView | None = None) -> float:
    """How many photos an answer to a photo or cluster question is expected to fix, on the scale
    of the people questions' ``expected`` (faces): the chance that the photos it is about are
    placed wrong times how many the answer places. A doubtful photo: 1 - its confidence. A
    cluster's representative: that times the cluster's photos (one answer names the cluster, or
    moving it reveals a split or merge). A merge: the other cluster's photos, a split: its
    part's, each at ``UNKNOWN_CHANCE``. A confidence that is not known counts as
    ``UNKNOWN_CHANCE``."""
    if q.kind == PHOTO:
        wrong = UNKNOWN_CHANCE if q.confidence is None else 1.0 - float(q.confidence)
        if q.reason == "representative":
            return wrong * (1 + (view.right_total if view is not None else 0))
        return wrong
    if q.kind == MERGE:
        return UNKNOWN_CHANCE * (view.right_total if view is not None else 1)
    return UNKNOWN_CHANCE * len(q.photo_ids)


def _merged(q: ClusterSuggestion) -> int:
    """The cluster a merge question folds in (a merge always names one)."""
    assert q.other_cluster_id is not None, "a merge question without its other cluster"
    return q.other_cluster_id


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _typical(s, cluster_id: int, exclude: set[int], n: int) -> tuple[list[int], int]:
    """The ``n`` most confident present photos of a cluster (none in ``exclude``, one per
    content: exact copies are shown once), and how many photos the cluster has besides
    ``exclude``. Two short queries however large the cluster."""
    in_cluster = (Assignment.cluster_id == cluster_id, Photo.status == PhotoStatus.PRESENT)
    total = s.scalar(select(func.count()).select_from(Assignment)
                     .join(Photo, Photo.id == Assignment.photo_id).where(*in_cluster)) or 0
    for part in chunks(sorted(exclude)):
        total -= s.scalar(select(func.count()).select_from(Assignment)
                          .join(Photo, Photo.id == Assignment.photo_id)
                          .where(*in_cluster, Assignment.photo_id.in_(part))) or 0
    rows = s.execute(select(Assignment.photo_id, Photo.content_hash)
                     .join(Photo, Photo.id == Assignment.photo_id).where(*in_cluster)
                     .order_by(Assignment.confidence.desc(), Assignment.photo_id)
                     .limit(len(exclude) + 4 * n)).all()
    ids: list[int] = []
    seen: set[str] = set()
    for pid, content_hash in rows:
        if pid not in exclude and content_hash not in seen and len(ids) < n:
            ids.append(pid)
            seen.add(content_hash)
    return ids, total


def question_views(library: Library, questions: list[Question],
                   per_side: int = SAMPLES_PER_SIDE) -> tuple[list[QuestionView],
                                                              dict[int, PhotoRef]]:
    """The view of each question and the photos they show (one short read per question)."""
    views: list[QuestionView] = []
    with library.session() as s:
        names = dict(s.execute(select(Cluster.id, Cluster.name)).all())
        for q in questions:
            if q.kind == PHOTO:
                typical, total = _typical(s, q.suggested_cluster_id, {q.photo_id}, per_side)
                name = names.get(q.suggested_cluster_id) or q.suggested_cluster_name
                views.append(QuestionView("This photo", (q.photo_id,),
                                          f"Typical photos of “{name}”", tuple(typical), 1, total))
            elif q.kind == MERGE:
                left, n_left = _typical(s, q.cluster_id, set(), per_side)
                right, n_right = _typical(s, _merged(q), set(), per_side)
                views.append(QuestionView(
                    f"“{names.get(q.cluster_id) or q.cluster_name}” · {_plural(n_left, 'photo')}",
                    tuple(left),
                    f"“{names.get(_merged(q)) or q.other_cluster_name}” · "
                    f"{_plural(n_right, 'photo')}", tuple(right), n_left, n_right))
            else:
                part = list(q.photo_ids)
                rest, n_rest = _typical(s, q.cluster_id, set(part), per_side)
                name = names.get(q.cluster_id) or q.cluster_name
                views.append(QuestionView(
                    f"These {_plural(len(part), 'photo')}", tuple(part[:per_side]),
                    f"The other {_plural(n_rest, 'photo')} of “{name}”", tuple(rest),
                    len(part), n_rest))
        shown = sorted({pid for v in views for pid in (*v.left, *v.right)})
        photos = {}
        for part in chunks(shown):
            for pid, path, content_hash in s.execute(
                    select(Photo.id, Photo.path, Photo.content_hash).where(Photo.id.in_(part))):
                photos[pid] = PhotoRef(pid, path, content_hash)
    return views, photos


def faces_views(library: Library, people: list[PeopleQuestion],
                per_side: int = SAMPLES_PER_SIDE) -> tuple[list[FacesView], dict[int, FaceCrop]]:
    """The view of each people question and where to cut the faces they show from."""
    views: list[FacesView] = []
    for q in people:
        if q.kind == SAME_PERSON:
            assert q.person_id is not None and q.other_person_id is not None
            sides = []
            for pid, name, ids in ((q.person_id, q.person_name, q.face_ids),
                                   (q.other_person_id, q.other_person_name, q.other_face_ids)):
                _ids, total = typical_faces(library, pid, n=0)
                sides.append((f"“{display_name(pid, name)}” · {_plural(total, 'face')}",
                              tuple(ids[:per_side]), total))
            (lc, left, lt), (rc, right, rt) = sides
            views.append(FacesView(lc, left, rc, right, lt, rt))
        elif q.kind == ONE_PERSON and q.person_id is not None:
            name = display_name(q.person_id, q.person_name)
            n_part, n_other = q.part_sizes
            views.append(FacesView(
                f"{_plural(n_part, 'face')} of “{name}”", tuple(q.face_ids[:per_side]),
                f"and {_plural(n_other, 'face')} of “{name}” that look like someone else",
                tuple(q.other_face_ids[:per_side]), n_part, n_other))
        elif q.kind == IS_THIS and q.person_id is not None and q.face_id is not None:
            typical, total = typical_faces(library, q.person_id, {q.face_id}, per_side)
            views.append(FacesView(
                "This face", (q.face_id,),
                f"Faces of “{display_name(q.person_id, q.person_name)}” · "
                f"{_plural(total, 'face')}", tuple(typical), 1, total))
        else:  # who is this?
            views.append(FacesView("This face", () if q.face_id is None else (q.face_id,),
                                   left_total=1))
    shown = sorted({f for v in views for f in (*v.left, *v.right)})
    return views, face_crops(library, shown)


class ReviewJob(Job[ReviewQueue]):
    """The review questions with what each one shows, computed off the GUI thread."""

    title = "Finding what to review"

    def __init__(self, library: Library, model: str | None = None, limit: int = 50):
        self.library, self.model, self.limit = library, model, limit

    def run(self, ctx: JobContext) -> ReviewQueue:
        from photoclust.core.faces.questions import people_questions
        from photoclust.core.learning.suggestions import review_suggestions

        ctx.report(0, 3, "Learning from your corrections")
        questions: list[Question] = []
        try:
            review = review_suggestions(self.library, limit=self.limit, model=self.model)
            questions = sorted([*review.items, *review.suggestions], key=lambda q: q.rank)
        except JobError as no_clusters:
            # No clusters yet (faces found, Organize not finished): the people questions are
            # asked all the same; with none either, the page says why there is nothing.
            not_clustered: JobError | None = no_clusters
        else:
            not_clustered = None
        ctx.raise_if_cancelled()
        ctx.report(1, 3, "Choosing photos to show")
        views, photos = question_views(self.library, questions)
        ctx.raise_if_cancelled()
        ctx.report(2, 3, "Choosing faces to show")
        people = people_questions(self.library, limit=self.limit)
        if not_clustered is not None and not people:
            raise not_clustered
        people_views, faces = faces_views(self.library, people)
        ctx.report(3, 3, "")
        return ReviewQueue(questions, views, photos, people, people_views, faces)


def question_text(q: Question | PeopleQuestion) -> str:
    """The question in one line, and why it is asked in a second."""
    if isinstance(q, PeopleQuestion):
        if q.kind == SAME_PERSON:
            return f"{q.text}\nAsked because their faces look much alike."
        if q.kind == ONE_PERSON:
            return (f"{q.text}\nAsked because its faces fall in two groups. Yes keeps them "
                    "together; no makes the second row a person of its own.")
        if q.kind == IS_THIS:
            return (f"{q.text}\nAsked because you have not checked this face yet (the least "
                    "sure first). “No, it is…” says who it is.")
        return f"{q.text}\nThis face is with no one yet: “Who is it?…” says who it is."
    if q.kind == PHOTO:
        # How sure the program is matters for a doubtful photo; a cluster's most typical photo is
        # asked to check the cluster, and "100 % sure" there would only puzzle.
        sure = f" ({q.confidence:.0%} sure)" if q.reason != "representative" and \
            q.confidence is not None else ""
        return f"Is this photo in “{q.suggested_cluster_name}”?\nIt is {q.explanation}{sure}."
    if q.kind == MERGE:
        return (f"Do the photos of “{q.other_cluster_name}” belong in “{q.cluster_name}”?\n"
                f"Asked because {q.explanation}.")
    return (f"Are these {len(q.photo_ids):,} photos a group of their own, out of "
            f"“{q.cluster_name}”?\nAsked because {q.explanation}.")


def answer_question(library: Library, q: Question | PeopleQuestion, answer: str,
                    cluster_id: int | None = None, name: str = "") -> EditResult | None:
    """Apply one answer; returns the edit made (``None`` when nothing was edited).

    ``yes``: a photo is confirmed in (or moved to) its suggested cluster, a merge is made, a split
    part becomes a new cluster. ``no``: a photo is taken out of the suggested cluster when it is
    there (Learn places it elsewhere); when it is elsewhere it stays there and is never put in the
    suggested cluster automatically (``editing.photos_not_in_cluster``); a merge or split is
    refused and not suggested again (``editing.refuse_suggestion``, undoable). ``elsewhere``
    with ``cluster_id``: the photo (a split's part, a merge's other cluster) goes to that
    cluster instead. ``skip``: nothing.
    A people question (``core/faces/questions.PeopleQuestion``) is answered by
    ``answer_people_question`` (``cluster_id`` is then the person, ``None`` with ``elsewhere`` a
    new one named ``name`` when given; a "no" to "Are these the same person?" is remembered as
    an undoable edit).
    Raises ``editing.EditError`` (a message for the user) when an edit cannot be made.
    """
    if answer == SKIP:
        return None
    from photoclust.core.faces.questions import answer_people_question

    if isinstance(q, PeopleQuestion):  # cluster_id is then the person the face goes to
        return answer_people_question(library, q, answer, cluster_id, name)
    if answer == ELSEWHERE:
        if cluster_id is None:
            raise editing.EditError("choose the cluster the photos belong in")
        if q.kind == PHOTO:
            return editing.move_photos(library, [q.photo_id], cluster_id)
        if q.kind == MERGE:
            return editing.merge_clusters(library, cluster_id, [_merged(q)])
        return editing.move_photos(library, list(q.photo_ids), cluster_id)
    if q.kind == PHOTO:
        with library.session() as s:
            current = s.scalar(select(Assignment.cluster_id)
                               .where(Assignment.photo_id == q.photo_id))
        if answer == YES:
            if current == q.suggested_cluster_id:
                return editing.confirm_photos(library, [q.photo_id])
            return editing.move_photos(library, [q.photo_id], q.suggested_cluster_id)
        if answer == NO:
            if current == q.suggested_cluster_id:
                return editing.remove_photos_from_cluster(library, [q.photo_id])
            return editing.photos_not_in_cluster(library, [q.photo_id], q.suggested_cluster_id)
    elif answer == YES:
        if q.kind == MERGE:
            return editing.merge_clusters(library, q.cluster_id, [_merged(q)])
        return editing.new_cluster_from_photos(library, list(q.photo_ids))
    elif answer == NO:
        return editing.refuse_suggestion(library, q.kind, q.cluster_id, q.other_cluster_id)
    raise ValueError(f"unknown answer {answer!r}")
