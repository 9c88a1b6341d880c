"""The review page: the questions whose answers teach photoclust the most, one at a time, each
showing what it is about at a size a person can decide from.

- a photo question shows the photo beside the typical photos of its suggested cluster;
- a merge shows samples of both clusters side by side;
- a split shows both parts;
- after them, the people questions (``core/faces/questions.py``): "Is this Anna?" shows the face
  large beside Anna's typical faces, "Are these the same person?" faces of both people, "Are
  these one person?" faces of the two parts of a person (no splits the second off), "Who is
  this?" the face (``review_faces.FaceSide``: faces cut from their photos off the GUI thread).

One key per answer: Y (yes), N (no), B ("No, it belongs in…": a cluster picker; for a face
"No, it is…" / "Who is it?…": a person picker with "A new person"), S (skip);
Left/Right go back and forth between questions, F5 asks afresh. Answers are edits
(``core.learning.review_queue.answer_question`` through ``state.run_edit``), undoable like any
other. The queue is computed off the GUI thread by ``core.learning.review_queue.ReviewJob``; while
it runs the page says so ("Looking for…"), which is not the same as "Nothing to review".

The shell registers it like every page: ``ReviewPage(state)`` in its page stack under
``ReviewPage.name``; ``actions()`` (the answers) go in its toolbar, ``view_actions()``
(previous/next question, ask again) in its View menu. Double-clicking a
photo opens it in the viewer (``state.show_page("viewer", ..., back="review")``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from photoclust.core.faces.questions import (
    IS_THIS,
    ONE_PERSON,
    SAME_PERSON,
    WHO,
    PeopleQuestion,
)
from photoclust.core.learning.questions import Question
from photoclust.core.learning.review_queue import (
    ELSEWHERE,
    MERGE,
    NO,
    PHOTO,
    SKIP,
    YES,
    FacesView,
    QuestionView,
    ReviewJob,
    ReviewQueue,
    answer_question,
    question_text,
)
from photoclust.gui.models.face_crops import FaceCropLoader
from photoclust.gui.models.photo_refs import PhotoRefModel, PhotoStrip, RefRow
from photoclust.gui.models.thumbnails import ThumbnailLoader
from photoclust.gui.pages.actions import LiveWhileShown, page_action
from photoclust.gui.pages.base import JobPage
from photoclust.gui.pages.cluster_picker import ClusterPicker, NamePicker, PersonPicker
from photoclust.gui.pages.review_faces import FaceSide
from photoclust.gui.pages.widgets import action_button, busy_panel, message_label

#: Thumbnails of a question, in pixels (the issue's floor is 160).
QUESTION_THUMB = 168
#: The face a people question asks about ("Is this Anna?"), in pixels.
QUESTION_FACE = 240
ELSEWHERE_TEXT = "No, it belongs in…"


class _Side(QWidget):
    """A caption over a strip of photos."""

    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setObjectName("reviewCaption")
        self.caption.setWordWrap(True)
        self.model = PhotoRefModel(thumbnails, self)
        self.strip = PhotoStrip(self.model, QUESTION_THUMB)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.strip, 1)


class ReviewPage(LiveWhileShown, JobPage):
    name = "review"
    title = "Review"
    failed_text = "No questions could be made: {error}"
    stopped_text = "Stopped. Press F5 to look for questions again."

    queueReady = Signal()  # a fresh queue is shown
    answered = Signal(str)  # the answer just given (yes, no, elsewhere, skip)

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.queue: ReviewQueue | None = None
        self.current = 0
        self.answered_count = 0
        self.stale = True
        self._own_edits = 0
        #: Photos the answers since the queue was made took out of their cluster: no longer
        #: shown among a cluster's typical photos.
        self._taken_out: set[int] = set()
        self.picker: NamePicker | None = None
        self.thumbnails = ThumbnailLoader(state.library, icon_size=QUESTION_THUMB, parent=self)
        # Faces of the people questions: the one asked about large, the others as thumbnails.
        self.face_large = FaceCropLoader(state.library, QUESTION_FACE, self)
        self.face_small = FaceCropLoader(state.library, QUESTION_THUMB, self)

        title = QLabel("Review")
        title.setObjectName("paneTitle")
        self.progress_label = QLabel()
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.progress_label)

        # the states: loading / nothing to review / could not compute / a question
        self.loading, self.loading_label = busy_panel(
            "Looking for the questions that teach photoclust the most…")
        self.loading_label.setWordWrap(True)
        self.message = message_label()
        self.message.setObjectName("reviewMessage")

        self.question = QWidget()
        self.question_label = QLabel()
        self.question_label.setObjectName("reviewQuestion")
        self.question_label.setWordWrap(True)
        self.question_label.setStyleSheet("font-size: 12pt;")
        self.left = _Side(self.thumbnails)
        self.right = _Side(self.thumbnails)
        self.photo_sides = QWidget()
        sides = QHBoxLayout(self.photo_sides)
        sides.setContentsMargins(0, 0, 0, 0)
        sides.addWidget(self.left, 1)
        sides.addWidget(self.right, 1)
        self.sides = sides
        # a people question: faces instead of photos
        loaders = [self.face_small, self.face_large]
        self.face_left = FaceSide(loaders)
        self.face_right = FaceSide(loaders)
        self.face_sides = QWidget()
        faces = QHBoxLayout(self.face_sides)
        faces.setContentsMargins(0, 0, 0, 0)
        faces.addWidget(self.face_left, 1)
        faces.addWidget(self.face_right, 1)
        faces.addStretch(0)  # takes the room of a right side left empty ("Who is this?")
        self.faces_layout = faces
        self.content = QStackedWidget()
        self.content.addWidget(self.photo_sides)
        self.content.addWidget(self.face_sides)
        q = QVBoxLayout(self.question)
        q.setContentsMargins(0, 0, 0, 0)
        q.addWidget(self.question_label)
        q.addWidget(self.content, 1)

        self.stack = QStackedWidget()
        for w in (self.loading, self.message, self.question):
            self.stack.addWidget(w)

        a = page_action
        self.yes_action = a(self, "Yes", ["Y"], lambda: self.answer(YES),
                            "Yes: the suggestion is right")
        self.no_action = a(self, "No", ["N"], lambda: self.answer(NO),
                           "No: the suggestion is wrong")
        self.elsewhere_action = a(self, ELSEWHERE_TEXT, ["B"], self.pick_cluster,
                                  "No: choose the cluster (or person) it belongs to")
        self.skip_action = a(self, "Skip", ["S"], lambda: self.answer(SKIP),
                             "Skip this question for now")
        self.prev_action = a(self, "Previous question", ["Left"], lambda: self.go(-1),
                             "The previous question")
        self.next_action = a(self, "Next question", ["Right"], lambda: self.go(1),
                             "The next question")
        self.refresh_action = a(self, "Ask again", ["F5"], self.refresh,
                                "Compute the questions afresh")
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for action in (self.yes_action, self.no_action, self.elsewhere_action,
                       self.skip_action):
            key = action.shortcut().toString()
            button = action_button(action, f"{action.text()}  ({key})")
            buttons.addWidget(button)
            self.buttons[action.text()] = button
        self.elsewhere_button = self.buttons[ELSEWHERE_TEXT]
        buttons.addStretch(1)
        refresh = QPushButton(f"{self.refresh_action.text()}  (F5)")
        refresh.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        refresh.clicked.connect(self.refresh_action.trigger)
        buttons.addWidget(refresh)
        self.hint = QLabel("Answers are saved at once and can be undone. After a few, Learn "
                           "re-sorts the photos you have not placed.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)

        for side in (self.left, self.right, self.face_left, self.face_right):
            side.strip.photoActivated.connect(
                lambda pid, s=side: self.state.show_page("viewer", photo_id=pid,
                                                         photo_ids=s.model.photo_ids(),
                                                         back="review"))
        state.photosChanged.connect(self._on_photos_changed)
        self._show()
        self.set_actions_live(self.isVisible())

    def actions(self) -> list[QAction]:
        return [self.yes_action, self.no_action, self.elsewhere_action, self.skip_action]

    def view_actions(self) -> list[QAction]:
        return [self.prev_action, self.next_action, self.refresh_action]

    # --- page interface -----------------------------------------------------------------------
    def activate(self, **_kwargs) -> None:
        if self.stale and not self.job_running():
            self.refresh()
        self.setFocus()

    # --- the queue ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute the questions afresh in the background (the page shows it is looking)."""
        if self.job_running():
            return
        self.stale = False
        self.loading_label.setText("Looking for the questions that teach photoclust the most…")
        self.start_job(ReviewJob(self.state.library), self._on_queue)
        self._show()

    def _on_queue(self, queue: ReviewQueue) -> None:
        self.queue = queue
        self.current = 0
        self._taken_out.clear()
        self._show()
        self.queueReady.emit()

    def job_failed(self, error) -> None:
        self.queue = None
        super().job_failed(error)

    def job_cancelled(self) -> None:
        self.stale = True
        super().job_cancelled()

    def show_message(self, text: str) -> None:
        self._show(text)

    def _on_photos_changed(self) -> None:
        if self._own_edits == 0:
            self.stale = True  # edited elsewhere: ask afresh the next time the page is shown

    # --- showing ------------------------------------------------------------------------------
    def current_question(self) -> Question | PeopleQuestion | None:
        """The question shown: a photo or cluster question, or after them a people question."""
        if self.queue is None:
            return None
        items = self.queue.items
        return items[self.current] if 0 <= self.current < len(items) else None

    def _count(self) -> int:
        return 0 if self.queue is None else len(self.queue.questions) + len(self.queue.people)

    def _show(self, message: str | None = None) -> None:
        q = self.current_question()
        if self.job_running():
            self.stack.setCurrentWidget(self.loading)
            self.progress_label.clear()
        elif message is not None or q is None:
            if message is None:
                message = ("Nothing to review: photoclust has no question for you right now. "
                           "Correct a few photos, then press F5 to ask again."
                           if self.queue is not None else "Press F5 to look for questions.")
            self.message.setText(message)
            self.stack.setCurrentWidget(self.message)
            self.progress_label.setText(f"{self.answered_count:,} answered"
                                        if self.answered_count else "")
        else:
            self._show_question(q)
        has_question = not self.job_running() and q is not None and message is None
        for action in (self.yes_action, self.no_action, self.elsewhere_action,
                       self.skip_action):
            action.setEnabled(has_question)
        if has_question and isinstance(q, PeopleQuestion):
            # "Same person?" and "One person?" are yes or no; "Who is this?" is answered by
            # naming the person.
            self.elsewhere_action.setEnabled(q.kind not in (SAME_PERSON, ONE_PERSON))
            self.yes_action.setEnabled(q.kind != WHO)
            self.no_action.setEnabled(q.kind != WHO)
        elsewhere = (ELSEWHERE_TEXT if not isinstance(q, PeopleQuestion)
                     else "Who is it?…" if q.kind == WHO else "No, it is…")
        self.elsewhere_action.setText(elsewhere)
        self.elsewhere_button.setText(f"{elsewhere}  (B)")
        n = self._count()
        self.prev_action.setEnabled(has_question and self.current > 0)
        self.next_action.setEnabled(has_question and self.current < n - 1)
        self.refresh_action.setEnabled(not self.job_running())
        if has_question:
            self._take_focus()

    def _take_focus(self) -> None:
        """The page's keys (Left, Right, Y, N, ...) work while the focus is inside the page.
        A strip that had it is hidden while questions are computed, and Qt hands the focus to
        the next widget of the window (the nav bar, Cancel): take it back for each question."""
        focus = QApplication.focusWidget()
        inside = focus is not None and (focus is self or self.isAncestorOf(focus)) \
            and focus.isVisible()
        if self.isVisible() and not inside:
            self.setFocus()

    def _show_question(self, q) -> None:
        if self.queue is None:
            return
        view = self.queue.view(self.current)
        self.question_label.setText(question_text(q))
        if isinstance(view, FacesView):
            self._show_faces(q, view)
        else:
            self._show_photos(q, view)
        total = self._count()
        done = f" · {self.answered_count:,} answered" if self.answered_count else ""
        self.progress_label.setText(f"Question {self.current + 1:,} of {total:,}{done}")
        self.stack.setCurrentWidget(self.question)

    def _show_faces(self, q: PeopleQuestion, view: FacesView) -> None:
        """The face asked about large (with the person's typical faces beside it), faces of
        both people side by side, or the two parts of one person in two rows."""
        assert self.queue is not None
        crops = self.queue.faces
        one_face = q.kind not in (SAME_PERSON, ONE_PERSON)
        # "Are these one person?": the two parts of the person as two rows, one above the other.
        self.faces_layout.setDirection(QBoxLayout.Direction.TopToBottom if q.kind == ONE_PERSON
                                       else QBoxLayout.Direction.LeftToRight)
        self.face_left.show_faces(view.left_caption,
                                  [crops[f] for f in view.left if f in crops],
                                  self.face_large if one_face else self.face_small)
        self.face_right.show_faces(view.right_caption,
                                   [crops[f] for f in view.right if f in crops], self.face_small)
        self.faces_layout.setStretch(0, 1)
        self.faces_layout.setStretch(1, 2 if one_face else 1)
        self.faces_layout.setStretch(2, 0 if view.right else 2)
        self.face_left.setMinimumWidth(QUESTION_FACE + 40 if one_face else 0)
        self.face_left.setMaximumWidth(QUESTION_FACE + 60 if one_face else 16777215)
        self.content.setCurrentWidget(self.face_sides)

    def _show_photos(self, q: Question, view: QuestionView) -> None:
        assert self.queue is not None
        right = view.right
        if q.kind == PHOTO:  # a cluster's typical photos, less those answered out of it
            right = tuple(p for p in right if p not in self._taken_out)
        for side, caption, ids in ((self.left, view.left_caption, view.left),
                                   (self.right, view.right_caption, right)):
            side.caption.setText(caption)
            side.model.set_rows(RefRow(p, self.queue.photos[p].content_hash,
                                       self.queue.photos[p].path)
                                for p in ids if p in self.queue.photos)
            side.setVisible(bool(ids) or bool(caption))
        # a single photo needs one column; the rest of the width goes to its cluster
        photo = q.kind == PHOTO
        self.sides.setStretch(0, 1)
        self.sides.setStretch(1, 3 if photo else 1)
        self.left.setMinimumWidth(QUESTION_THUMB + 40 if photo else 0)
        self.left.setMaximumWidth(QUESTION_THUMB + 60 if photo else 16777215)
        self.content.setCurrentWidget(self.photo_sides)

    def go(self, step: int) -> None:
        if self.queue is not None and 0 <= self.current + step < self._count():
            self.current += step
            self._show()

    # --- answering ----------------------------------------------------------------------------
    def answer(self, answer: str, cluster_id: int | None = None, name: str = "") -> None:
        """Answer the question shown (``cluster_id``: for ``elsewhere``, the cluster, or for a
        face the person, ``None`` a new one, named ``name`` when given); the answer is saved as
        an edit off the GUI thread and the next question is shown at once."""
        q = self.current_question()
        if q is None or self.queue is None:
            return
        if answer == SKIP:
            if self.current < self._count() - 1:
                self.current += 1
            else:
                self.current = 0
        else:
            self._own_edits += 1
            if not isinstance(q, PeopleQuestion) and q.kind == PHOTO and \
                    answer in (NO, ELSEWHERE):
                self._taken_out.add(q.photo_id)
            library = self.state.library
            worker = self.state.run_edit(lambda: answer_question(library, q, answer, cluster_id,
                                                                 name),
                                         on_done=lambda _r: self._edit_done(),
                                         title="Saving your answer")
            worker.failed.connect(self._edit_failed)
            worker.cancelled.connect(self._edit_failed)
            self.queue.remove(q)
            self.answered_count += 1
            self.current = min(self.current, max(0, self._count() - 1))
        self._show()
        self.answered.emit(answer)

    def _edit_done(self) -> None:
        self._own_edits = max(0, self._own_edits - 1)

    def _edit_failed(self, *_args) -> None:
        self._own_edits = max(0, self._own_edits - 1)
        self.stale = True

    def pick_cluster(self) -> NamePicker | None:
        """Open the cluster picker for "No, it belongs in…" (for a face the person picker of
        "No, it is…"); the pick answers the question."""
        q = self.current_question()
        if q is None:
            return None
        if isinstance(q, PeopleQuestion):
            return self._pick_person(q)
        if q.kind == PHOTO:
            prompt, exclude = "Which cluster does this photo belong in?", {q.suggested_cluster_id}
        elif q.kind == MERGE:
            prompt = f"Which cluster do the photos of “{q.other_cluster_name}” belong in?"
            exclude = {c for c in (q.cluster_id, q.other_cluster_id) if c is not None}
        else:
            prompt, exclude = "Which cluster do these photos belong in?", {q.cluster_id}
        self.picker = ClusterPicker(self.state.library, prompt, exclude, self)
        self.picker.picked.connect(lambda cid: self.answer(ELSEWHERE, cid))
        self.picker.open()
        self.picker.filter.setFocus()
        return self.picker

    def _pick_person(self, q: PeopleQuestion) -> PersonPicker | None:
        if q.kind not in (IS_THIS, WHO):
            return None  # "Are these the same person?" is yes or no
        from photoclust.core.faces.read import display_name

        prompt = ("Who is it?" if q.kind == WHO or q.person_id is None else
                  f"Not {display_name(q.person_id, q.person_name)}: who is it?")
        exclude = {q.person_id} if q.person_id is not None else set()
        picker = PersonPicker(self.state.library, prompt, exclude, self)
        picker.picked.connect(
            lambda pid: self.answer(ELSEWHERE, pid, picker.new_name if pid is None else ""))
        self.picker = picker
        picker.open()
        picker.filter.setFocus()
        return picker
