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
