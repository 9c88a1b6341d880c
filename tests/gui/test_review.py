"""Review suggestions and Learn in the window: answers are edits the library keeps."""
from __future__ import annotations

from qt_helpers import settled

from sqlalchemy import select

from photoclust.core import editing
from photoclust.core.learning.constraints import REFUSED_SETTING
from photoclust.core.learning.suggestions import PhotoSuggestion
from photoclust.core.library.models import Assignment, ClusteringRun, Setting


def _open_review(window, qtbot):
    page = window.page("review")
    with qtbot.waitSignal(page.model.modelReset, timeout=60000):
        window.nav_actions["review"].trigger()
    assert window.current_page is page
    assert page.model.rowCount() > 0
    return page


def test_yes_to_a_photo_question_places_the_photo_as_the_user(window, qtbot, gui_library):
    library = gui_library.library
    page = _open_review(window, qtbot)
    rows = [r for r in range(page.model.rowCount())
            if isinstance(page.model.question(r), PhotoSuggestion)]
    question = page.model.question(rows[0])
    before = page.model.rowCount()
    page.panel.view.setCurrentIndex(page.model.index(rows[0]))
    with settled(window, qtbot):
        page.panel.yes_button.click()
    with library.session() as s:
        placed = s.get(Assignment, question.photo_id)
        assert (placed.cluster_id, placed.source) == (question.suggested_cluster_id, "user")
    assert page.model.rowCount() == before - 1
    assert window.undo_action.isEnabled()


def test_no_to_a_merge_is_remembered(window, qtbot, gui_library):
    library = gui_library.library
    a, b = gui_library.cluster_ids[:2]
    # Moving photos from b to a is the evidence that makes the learner ask "merge b into a?".
    editing.move_photos(library, gui_library.photo_ids[b][:3], a)
    page = _open_review(window, qtbot)
    merges = [r for r in range(page.model.rowCount())
              if getattr(page.model.question(r), "kind", None) == "merge"]
    assert merges, "no merge suggested"
    question = page.model.question(merges[0])
    page.panel.view.setCurrentIndex(page.model.index(merges[0]))
    page.panel.no_button.click()
    with library.session() as s:
        refused = s.get(Setting, REFUSED_SETTING).value
    assert f'["merge", {question.cluster_id}, {question.other_cluster_id}]' in refused
    assert question not in [page.model.question(r) for r in range(page.model.rowCount())]


def test_learn_runs_in_the_background_and_keeps_user_placements(window, qtbot, gui_library):
    library = gui_library.library
    a, c = gui_library.cluster_ids[0], gui_library.cluster_ids[2]
    moved = gui_library.photo_ids[a][0]
    with settled(window, qtbot):
        window.page("photos").move_photos([moved], c)
    with qtbot.waitSignal(window.jobEnded, timeout=60000) as ended:
        window.learn_action.trigger()
    assert ended.args[0].startswith("Learned from 1 photos you placed")
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
    assert not window.redo_action.isEnabled()


def test_question_text_says_how_sure_only_for_doubtful_photos():
    from photoclust.gui.models.review_model import question_text

    def ask(reason, confidence):
        return question_text(PhotoSuggestion(
            rank=0, photo_id=1, path="/photos/cat.jpg", suggested_cluster_id=2,
            suggested_cluster_name="Cats", confidence=confidence, reason=reason,
            explanation="why"))

    assert ask("uncertain", 0.55) == "Is cat.jpg in “Cats”?\nwhy (55% sure)"
    assert ask("representative", 1.0) == "Is cat.jpg in “Cats”?\nwhy"
