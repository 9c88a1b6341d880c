"""The review page: loading is not "nothing to review", questions show their photos large, one
key per answer, answers are library edits."""
from __future__ import annotations

from _pages import message_of, open_page, page_requests
from PySide6.QtCore import Qt
from sqlalchemy import select

from photoclust.core.clustering import editing
from photoclust.core.edits import history as edit_history
from photoclust.core.learning.constraints import derive_constraints
from photoclust.core.learning.review_queue import ReviewQueue, question_views
from photoclust.core.learning.suggestions import ClusterSuggestion, PhotoSuggestion
from photoclust.core.library.models import Assignment, Cluster
from photoclust.gui.pages.review import QUESTION_THUMB, ReviewPage


def _open_review(qtbot, gui_library, size=(1024, 700)):
    state, page = open_page(qtbot, ReviewPage, gui_library.library, size)
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.activate()
        assert page.stack.currentWidget() is page.loading  # looking, not "nothing to review"
        assert "Looking for" in page.loading_label.text()
        assert not page.yes_action.isEnabled()
    return state, page


def _show_queue(page, library, questions):
    views, photos = question_views(library, questions)
    page._on_queue(ReviewQueue(list(questions), views, photos))


def _show_first(page, predicate):
    """Show the first question of the queue for which ``predicate`` holds; that question."""
    page.current = next(i for i, q in enumerate(page.queue.questions) if predicate(q))
    page._show()
    return page.current_question()


def _key(qtbot, page, key):
    qtbot.keyClick(page, key)


def test_a_photo_question_shows_the_photo_beside_its_clusters_typical_photos(qtbot,
                                                                            gui_library):
    _state, page = _open_review(qtbot, gui_library)
    assert page.stack.currentWidget() is page.question
    q = _show_first(page, lambda q: isinstance(q, PhotoSuggestion))
    assert page.left.model.photo_ids() == [q.photo_id]
    typical = page.right.model.photo_ids()
    members = gui_library.photo_ids[q.suggested_cluster_id]
    assert typical and set(typical) <= set(members) and q.photo_id not in typical
    assert page.left.strip.iconSize().width() >= 160 and QUESTION_THUMB >= 160
    assert page.question_label.text().startswith("Is this photo in “")
    assert "Typical photos of “" in page.right.caption.text()


def test_yes_key_places_the_photo_as_the_user_and_moves_on(qtbot, gui_library):
    library = gui_library.library
    state, page = _open_review(qtbot, gui_library)
    q = _show_first(page, lambda q: isinstance(q, PhotoSuggestion))
    before = len(page.queue.questions)
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_Y)
    with library.session() as s:
        placed = s.get(Assignment, q.photo_id)
        assert (placed.cluster_id, placed.source) == (q.suggested_cluster_id, "user")
    assert len(page.queue.questions) == before - 1 and q not in page.queue.questions
    assert "1 answered" in page.progress_label.text()
    assert editing.can_undo(library)


def test_no_key_takes_a_photo_out_of_the_suggested_cluster(qtbot, gui_library):
    library = gui_library.library
    state, page = _open_review(qtbot, gui_library)
    q = _show_first(page, lambda q: isinstance(q, PhotoSuggestion))
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_N)
    with library.session() as s:
        assert s.get(Assignment, q.photo_id) is None  # unassigned, with a cannot-link


def test_no_to_a_cluster_the_photo_is_not_in_is_remembered_and_undoable(qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    photo = gui_library.photo_ids[b][0]
    state, page = _open_review(qtbot, gui_library)
    question = PhotoSuggestion(rank=1, photo_id=photo, path="", suggested_cluster_id=a,
                               suggested_cluster_name="Group A", confidence=0.4,
                               reason="uncertain", explanation="near another cluster")
    _show_queue(page, library, [question])
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_N)
    with library.session() as s:
        assert s.get(Assignment, photo).cluster_id == b  # it stays where it is
    assert (photo, a) in derive_constraints(library).cannot_link  # never put in A by Learn
    assert edit_history.next_undo(library).kind == "not_in_cluster"


def test_a_photo_answered_out_of_a_cluster_is_no_longer_among_its_typical_photos(qtbot,
                                                                                gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    first, second = gui_library.photo_ids[a][:2]

    def asked(pid):
        return PhotoSuggestion(rank=1, photo_id=pid, path="", suggested_cluster_id=a,
                               suggested_cluster_name="Group A", confidence=0.4,
                               reason="uncertain", explanation="near another cluster")

    state, page = _open_review(qtbot, gui_library)
    _show_queue(page, library, [asked(first), asked(second)])
    page.current = 1
    page._show()
    assert first in page.right.model.photo_ids()  # a typical photo of A, for now
    page.current = 0
    page._show()
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_N)  # not in A
    assert page.current_question().photo_id == second
    assert first not in page.right.model.photo_ids()


def test_a_merge_shows_both_clusters_and_no_is_remembered(qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    editing.move_photos(library, gui_library.photo_ids[b][:3], a)  # evidence for "merge b into a"
    state, page = _open_review(qtbot, gui_library)
    q = _show_first(page, lambda q: getattr(q, "kind", None) == "merge")
    assert set(page.left.model.photo_ids()) <= set(gui_library.photo_ids[a]) | \
        set(gui_library.photo_ids[b])
    with library.session() as s:
        right_clusters = {s.get(Assignment, p).cluster_id for p in page.right.model.photo_ids()}
    assert right_clusters == {q.other_cluster_id}
    assert page.left.caption.text().startswith("“Group A”")
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_N)
    assert ("merge", q.cluster_id, q.other_cluster_id) in derive_constraints(library).refused
    # The answer is in the undo history like every other answer: undone, it is asked again.
    entry = edit_history.next_undo(library)
    assert entry is not None and entry.kind == "refuse_suggestion"
    assert entry.description.startswith("Not merging")
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        state.run_edit(lambda: editing.undo(library, entry.event_id), title="Undo")
    assert ("merge", q.cluster_id, q.other_cluster_id) not in derive_constraints(library).refused
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.refresh()
    assert any(getattr(x, "kind", None) == "merge" and x.cluster_id == q.cluster_id
               and x.other_cluster_id == q.other_cluster_id for x in page.queue.questions)


def test_a_split_shows_both_parts_and_yes_makes_the_new_cluster(qtbot, gui_library):
    library = gui_library.library
    a = gui_library.cluster_ids[0]
    part = gui_library.photo_ids[a][::2]
    split = ClusterSuggestion(rank=1, kind="split", cluster_id=a, cluster_name="Group A",
                              reason="split", explanation="this cluster looks like two groups",
                              photo_ids=part)
    state, page = open_page(qtbot, ReviewPage, library)
    _show_queue(page, library, [split])
    assert page.left.model.photo_ids() == part
    assert set(page.right.model.photo_ids()) == set(gui_library.photo_ids[a]) - set(part)
    assert page.left.caption.text() == f"These {len(part)} photos"
    assert page.right.caption.text().startswith(f"The other {6 - len(part)} photos of")
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        _key(qtbot, page, Qt.Key.Key_Y)
    with library.session() as s:
        clusters = {s.get(Assignment, p).cluster_id for p in part}
    assert len(clusters) == 1 and clusters != {a}
    assert page.stack.currentWidget() is page.message
    assert page.message.text().startswith("Nothing to review")


def test_belongs_in_picks_a_cluster_by_typing_its_name(qtbot, gui_library):
    library = gui_library.library
    state, page = _open_review(qtbot, gui_library)
    q = _show_first(page, lambda q: isinstance(q, PhotoSuggestion))
    target_name = next(n for n, cid in zip(("Group A", "Group B", "Group C"),
                                           gui_library.cluster_ids)
                       if cid != q.suggested_cluster_id)
    target = gui_library.cluster_ids[("Group A", "Group B", "Group C").index(target_name)]
    _key(qtbot, page, Qt.Key.Key_B)
    picker = page.picker
    assert picker is not None and picker.isVisible()
    assert q.suggested_cluster_id not in picker.cluster_ids()
    qtbot.keyClicks(picker.filter, target_name)
    assert picker.cluster_ids() == [target]
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    with library.session() as s:
        placed = s.get(Assignment, q.photo_id)
        assert (placed.cluster_id, placed.source) == (target, "user")


def test_skip_moves_on_without_editing(qtbot, gui_library):
    library = gui_library.library
    _state, page = _open_review(qtbot, gui_library)
    first = page.current_question()
    with library.session() as s:
        before = s.execute(select(Assignment.photo_id, Assignment.cluster_id,
                                  Assignment.source)).all()
    _key(qtbot, page, Qt.Key.Key_S)
    assert page.current == 1 and first in page.queue.questions
    _key(qtbot, page, Qt.Key.Key_Left)
    assert page.current_question() is first
    with library.session() as s:
        assert s.execute(select(Assignment.photo_id, Assignment.cluster_id,
                                Assignment.source)).all() == before
    assert not editing.can_undo(library)


def test_nothing_to_review_is_said_only_once_the_queue_is_known(qtbot, gui_library):
    state, page = open_page(qtbot, ReviewPage, gui_library.library)
    assert "Nothing to review" not in page.message.text()
    _show_queue(page, gui_library.library, [])
    assert page.stack.currentWidget() is page.message
    assert page.message.text().startswith("Nothing to review")
    assert not page.yes_action.isEnabled() and page.refresh_action.isEnabled()


def test_a_library_without_clusters_gets_a_sentence_not_a_crash(qtbot, library):
    message = message_of(qtbot, ReviewPage, library)
    assert message.startswith("No questions could be made:")
    assert "no clusters yet" in message


def test_nothing_is_cut_off_at_1024_pixels(qtbot, gui_library):
    _state, page = _open_review(qtbot, gui_library, size=(1024, 620))
    for i in range(len(page.queue.questions)):
        page.current = i
        page._show()
        qtbot.wait(1)
        label = page.question_label
        assert label.heightForWidth(label.width()) <= label.height()
        for side in (page.left, page.right):
            caption = side.caption
            if side.isVisible():
                assert caption.heightForWidth(caption.width()) <= caption.height()
                assert side.strip.width() >= QUESTION_THUMB + 16
    for button in page.buttons.values():
        assert button.width() >= button.sizeHint().width()
        assert button.geometry().right() <= page.width()


def test_double_click_on_a_photo_opens_the_viewer(qtbot, gui_library):
    state, page = _open_review(qtbot, gui_library)
    requests = page_requests(qtbot, state)
    strip = page.right.strip if page.right.model.rowCount() else page.left.strip
    index = strip.model().index(0)
    strip.doubleClicked.emit(index)
    name, kwargs = requests[-1]
    assert name == "viewer" and kwargs["back"] == "review"
    assert kwargs["photo_id"] == strip.model().photo_ids()[0]
    assert kwargs["photo_ids"] == strip.model().photo_ids()


def test_an_edit_elsewhere_makes_the_next_visit_ask_afresh(qtbot, gui_library):
    state, page = _open_review(qtbot, gui_library)
    assert not page.stale
    a, c = gui_library.cluster_ids[0], gui_library.cluster_ids[2]
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        state.run_edit(lambda: editing.move_photos(gui_library.library,
                                                   [gui_library.photo_ids[a][0]], c))
    assert page.stale
    with qtbot.waitSignal(page.queueReady, timeout=60000):
        page.activate()
    with gui_library.library.session() as s:
        assert s.scalar(select(Cluster.name).where(Cluster.id == c)) == "Group C"
