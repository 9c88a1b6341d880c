"""Learn in the window (the review page's answers: test_page_review.py)."""
from __future__ import annotations

from qt_helpers import settled
from sqlalchemy import select

from photoclust.core.clustering import editing
from photoclust.core.learning.suggestions import PhotoSuggestion
from photoclust.core.library.models import Assignment, ClusteringRun


def test_learn_runs_in_the_background_and_keeps_user_placements(window, qtbot, gui_library):
    library = gui_library.library
    a, c = gui_library.cluster_ids[0], gui_library.cluster_ids[2]
    moved = gui_library.photo_ids[a][0]
    with settled(window, qtbot):
        window.page("photos").move_photos([moved], c)
    with qtbot.waitSignal(window.jobEnded, timeout=60000) as ended:
        window.learn_action.trigger()
    assert ended.args[0].startswith("Learned from 1 answer: moved ")
    assert ended.args[0].endswith("Edit > Undo takes it back.")
    # Learn is this window's edit: Undo names it, not as "made elsewhere".
    qtbot.waitUntil(lambda: window.history.next_undo is not None
                    and window.history.next_undo.kind == "learn", timeout=10000)
    assert window.undo_action.toolTip().startswith("Undo: Learned from 1 answer")
    assert "made elsewhere" not in window.undo_action.toolTip()
    with library.session() as s:
        assert s.scalar(select(ClusteringRun.method).order_by(ClusteringRun.id.desc())) == "learn"
        assert s.get(Assignment, moved).cluster_id == c


def test_learning_ends_the_redo_branch_in_the_window_as_in_the_library(window, qtbot, gui_library):
    a, c = gui_library.cluster_ids[0], gui_library.cluster_ids[2]
    photos = window.page("photos")
    photos.move_photos([gui_library.photo_ids[a][0]], c)
    photos.move_photos([gui_library.photo_ids[a][1]], c)
    assert not window.undo_action.isEnabled()  # waits while the edits are saved
    qtbot.waitUntil(lambda: window.undo_action.isEnabled())
    with settled(window, qtbot):
        window.undo_action.trigger()
    assert window.messages == []
    assert window.redo_action.isEnabled() and editing.can_redo(gui_library.library)
    with qtbot.waitSignal(window.jobEnded, timeout=60000):
        window.learn_action.trigger()
    assert not editing.can_redo(gui_library.library)
    qtbot.waitUntil(window.history.is_up_to_date)  # the history is re-read off the GUI thread
    assert not window.redo_action.isEnabled()


def test_question_text_says_how_sure_only_for_doubtful_photos():
    from photoclust.core.learning.review_queue import question_text

    def ask(reason, confidence):
        return question_text(PhotoSuggestion(
            rank=0, photo_id=1, path="/photos/cat.jpg", suggested_cluster_id=2,
            suggested_cluster_name="Cats", confidence=confidence, reason=reason,
            explanation="why"))

    assert ask("uncertain", 0.55) == "Is this photo in “Cats”?\nIt is why (55% sure)."
    assert ask("representative", 1.0) == "Is this photo in “Cats”?\nIt is why."
    assert ask("uncertain", None) == "Is this photo in “Cats”?\nIt is why."


def test_learn_also_resorts_the_faces_nobody_placed_and_undo_takes_each_edit_back(
        window, qtbot, gui_library):
    """The window's Learn does what ``photoclust learn`` does: the photos, then the faces the
    user did not place (two of Anna's faces the grouping put with Bob go back to her), each an
    edit of this window that Undo takes back."""
    from _face_fixtures import people_with_a_mistake, person_of
    from photoclust.core.edits import history as edit_history

    library = gui_library.library
    photo_ids = sorted(p for ids in gui_library.photo_ids.values() for p in ids)
    anna, bob, a, b = people_with_a_mistake(library, photo_ids)
    first, c3 = gui_library.photo_ids[gui_library.cluster_ids[0]][0], gui_library.cluster_ids[2]
    with settled(window, qtbot):
        window.page("photos").move_photos([first], c3)
    with qtbot.waitSignal(window.jobEnded, timeout=60000) as ended:
        window.learn_action.trigger()
    assert person_of(library, anna) == [a] * 6 and person_of(library, bob) == [b] * 6
    assert ended.args[0].startswith("Learned from 1 answer: moved ")
    assert "People: Re-sorted 2 faces you did not place." in ended.args[0]
    assert ended.args[0].endswith("Edit > Undo takes them back, one at a time.")
    # Both edits are this window's: the faces' is the next undo, not "made elsewhere".
    qtbot.waitUntil(lambda: window.history.next_undo is not None
                    and window.history.next_undo.kind == "learn_people", timeout=10000)
    assert "made elsewhere" not in window.undo_action.toolTip()
    with settled(window, qtbot):
        window.undo_action.trigger()
    assert person_of(library, anna[:2]) == [b, b]
    assert edit_history.next_undo(library).kind == "learn"
    qtbot.waitUntil(lambda: window.history.next_undo is not None
                    and window.history.next_undo.kind == "learn", timeout=10000)
    assert "made elsewhere" not in window.undo_action.toolTip()


def test_learn_summary_names_each_edit_and_says_nothing_changed_when_nothing_did():
    from photoclust.core.edits.history import EditResult
    from photoclust.core.learning.job import LearnResult
    from photoclust.gui.main_window import learn_summary

    faces = EditResult(8, "learn_people", "Re-sorted 2 faces you did not place")
    photos = LearnResult(1, 30, 2, 3, 7, "Learned from 2 answers: moved 3 photos")
    still = LearnResult(1, 30, 0, 0, None, "Learned from 0 answers: moved 0 photos")
    assert learn_summary(still) == "Learned from your corrections: nothing changed."
    assert learn_summary(photos) == ("Learned from 2 answers: moved 3 photos. Edit > Undo takes "
                                     "it back.")
    still.people = faces
    assert learn_summary(still) == ("Learned from your corrections: no photo moved. People: "
                                    "Re-sorted 2 faces you did not place. Edit > Undo takes it "
                                    "back.")
    photos.people = faces
    assert learn_summary(photos).endswith("moved 3 photos. People: Re-sorted 2 faces you did not "
                                          "place. Edit > Undo takes them back, one at a time.")
    # Faces but no clusters yet: only the faces were re-sorted, and the summary says so.
    faces_only = LearnResult(None, 0, 0, 0, people=faces,
                             photos_skipped="the library has no clusters yet")
    assert learn_summary(faces_only) == ("No clusters yet, so no photo was re-sorted. People: "
                                         "Re-sorted 2 faces you did not place. Edit > Undo takes "
                                         "it back.")
    faces_only.people = None
    assert learn_summary(faces_only).endswith("no face you did not place had to move.")
