"""What each review question shows, and each answer as a library edit
(core/learning/review_queue.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from _export_fixtures import add_cluster, add_photo, assign, draw_photo
from photoclust.core.clustering import editing
from photoclust.core.learning.constraints import derive_constraints
from photoclust.core.learning.questions import MERGE, PHOTO, SPLIT
from photoclust.core.learning.review_queue import (
    ELSEWHERE,
    NO,
    SKIP,
    YES,
    answer_question,
    question_views,
)
from photoclust.core.learning.suggestions import (
    ClusterSuggestion,
    PhotoSuggestion,
    ReviewSuggestions,
)
from photoclust.core.library.models import Assignment, Cluster, Photo


@pytest.fixture
def two_clusters(library, tmp_path):
    """Beach (5 photos, confidences 0.5..0.9) and Forest (3 photos)."""
    beach, forest = add_cluster(library, "Beach"), add_cluster(library, "Forest")
    ids = {beach: [], forest: []}
    for n in range(8):
        pid = add_photo(library, draw_photo(tmp_path / f"p{n}.jpg", n))
        cluster = beach if n < 5 else forest
        assign(library, pid, cluster)
        with library.session() as s:
            s.execute(update(Assignment).where(Assignment.photo_id == pid)
                      .values(confidence=0.5 + 0.1 * (n % 5)))
        ids[cluster].append(pid)
    return library, beach, forest, ids


def _photo_q(pid, cluster, name="Beach"):
    return PhotoSuggestion(rank=1, photo_id=pid, path="", suggested_cluster_id=cluster,
                           suggested_cluster_name=name, confidence=0.6, reason="uncertain",
                           explanation="among the photos nearest to another cluster")


def _merge_q(target, source):
    return ClusterSuggestion(rank=2, kind="merge", cluster_id=target, cluster_name="Beach",
                             reason="merge", explanation="you moved photos",
                             other_cluster_id=source, other_cluster_name="Forest")


def _split_q(cluster, part):
    return ClusterSuggestion(rank=3, kind="split", cluster_id=cluster, cluster_name="Beach",
                             reason="split", explanation="two groups", photo_ids=list(part))


def test_views_show_the_photo_beside_the_most_typical_photos_of_its_cluster(two_clusters):
    library, beach, forest, ids = two_clusters
    views, photos = question_views(library, [_photo_q(ids[beach][0], beach)], per_side=3)
    view = views[0]
    assert view.left == (ids[beach][0],) and view.left_caption == "This photo"
    assert view.right == tuple(reversed(ids[beach][1:]))[:3]  # most confident first
    assert view.right_caption == "Typical photos of “Beach”" and view.right_total == 4
    assert set(photos) == {*view.left, *view.right}
    assert all(photos[p].content_hash for p in photos)


def test_views_of_a_merge_and_a_split(two_clusters):
    library, beach, forest, ids = two_clusters
    part = ids[beach][:2]
    views, _ = question_views(library, [_merge_q(beach, forest), _split_q(beach, part)])
    merge, split = views
    assert set(merge.left) == set(ids[beach]) and set(merge.right) == set(ids[forest])
    assert merge.left_caption == "“Beach” · 5 photos"
    assert merge.right_caption == "“Forest” · 3 photos"
    assert split.left == tuple(part) and set(split.right) == set(ids[beach][2:])
    assert (split.left_caption, split.right_caption) == \
        ("These 2 photos", "The other 3 photos of “Beach”")


def test_missing_photos_are_not_shown(two_clusters):
    library, beach, _forest, ids = two_clusters
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == ids[beach][4]).values(status="missing"))
    views, _ = question_views(library, [_photo_q(ids[beach][0], beach)])
    assert ids[beach][4] not in views[0].right


def _where(library, pid):
    with library.session() as s:
        a = s.get(Assignment, pid)
        return (a.cluster_id, a.source) if a is not None else None


def test_photo_answers(two_clusters):
    library, beach, forest, ids = two_clusters
    p0, p1, p2 = ids[beach][:3]
    assert answer_question(library, _photo_q(p0, beach), YES).kind == "confirm"
    assert _where(library, p0) == (beach, "user")
    assert answer_question(library, _photo_q(p1, beach), NO).kind == "remove"
    assert _where(library, p1) is None
    assert answer_question(library, _photo_q(p2, beach), ELSEWHERE, forest).kind == "move"
    assert _where(library, p2) == (forest, "user")
    # yes to a photo suggested for a cluster it is not in moves it there
    assert answer_question(library, _photo_q(ids[forest][0], beach), YES).kind == "move"
    assert _where(library, ids[forest][0]) == (beach, "user")
    # no to a cluster the photo is not in leaves it where it is, and remembers the answer
    result = answer_question(library, _photo_q(ids[forest][1], beach), NO)
    assert result.kind == "not_in_cluster" and result.event_id is not None
    assert _where(library, ids[forest][1]) == (forest, "auto")
    assert (ids[forest][1], beach) in derive_constraints(library).cannot_link
    assert answer_question(library, _photo_q(ids[forest][2], beach), SKIP) is None
    assert editing.undo(library).kind == "not_in_cluster"  # every answer is an undoable edit
    assert (ids[forest][1], beach) not in derive_constraints(library).cannot_link
    assert editing.undo(library).kind == "move"


def test_merge_and_split_answers(two_clusters):
    library, beach, forest, ids = two_clusters
    refusal = answer_question(library, _merge_q(beach, forest), NO)
    assert refusal.kind == "refuse_suggestion" and refusal.event_id is not None
    assert derive_constraints(library).refused == {("merge", beach, forest)}
    third = add_cluster(library, "Sea")
    assert answer_question(library, _merge_q(beach, forest), ELSEWHERE, third).kind == "merge"
    assert {_where(library, p)[0] for p in ids[forest]} == {third}
    part = ids[beach][:2]
    result = answer_question(library, _split_q(beach, part), YES)
    assert result.kind == "new_cluster"
    with library.session() as s:
        new = s.get(Cluster, result.created_cluster_ids[0])
        assert new.active and {_where(library, p)[0] for p in part} == {new.id}


def test_question_text_says_how_sure_only_when_there_is_an_honest_number():
    from photoclust.core.learning.review_queue import question_text

    def ask(reason, confidence):
        return question_text(PhotoSuggestion(1, 1, "/p/cat.jpg", 2, "Cats", confidence, reason,
                                             "among the photos nearest to another cluster"))

    assert ask("uncertain", 0.55).endswith("(55% sure).")
    assert ask("uncertain", None).endswith("another cluster.")  # no number rather than a wrong one
    assert "sure" not in ask("representative", 0.9)


def test_elsewhere_without_a_cluster_is_refused(two_clusters):
    library, beach, _forest, ids = two_clusters
    with pytest.raises(editing.EditError, match="choose the cluster"):
        answer_question(library, _photo_q(ids[beach][0], beach), ELSEWHERE)


def test_exact_copies_are_shown_once_among_the_typical_photos(two_clusters, tmp_path):
    import shutil

    library, beach, _forest, ids = two_clusters
    with library.session() as s:
        first = s.get(Photo, ids[beach][4])  # the most confident photo of Beach
        copy_path = tmp_path / "copy.jpg"
        shutil.copy(first.path, copy_path)
        copy = Photo(path=str(copy_path), content_hash=first.content_hash,
                     file_size=first.file_size, mtime_ns=0)
        s.add(copy)
        s.flush()
        s.add(Assignment(photo_id=copy.id, cluster_id=beach, source="auto", confidence=0.95))
    views, photos = question_views(library, [_photo_q(ids[beach][0], beach)])
    shown = views[0].right
    assert len({photos[p].content_hash for p in shown}) == len(shown) == 4
    assert views[0].right_total == 5  # every photo but the one asked about, copies counted


def test_every_question_has_a_kind_and_the_json_keys_are_unchanged():
    photo, merge, split = _photo_q(1, 2), _merge_q(2, 3), _split_q(2, [4, 5])
    assert [q.kind for q in (photo, merge, split)] == [PHOTO, MERGE, SPLIT]
    # The CLI's JSON (docs/cli-json.md): photo items carry no "kind", cluster suggestions do.
    review = ReviewSuggestions([photo], [merge, split]).as_json()
    assert set(review["items"][0]) == {"rank", "photo_id", "path", "suggested_cluster_id",
                                       "suggested_cluster_name", "confidence", "reason",
                                       "explanation"}
    assert [s["kind"] for s in review["suggestions"]] == ["merge", "split"]
    assert json.loads(json.dumps(review)) == review
