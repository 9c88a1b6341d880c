from datetime import datetime

import pytest
from sqlalchemy import event, update

from _edit_fixtures import add_photos, cluster_of
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.library import queries
from photoclust.core.library.models import Photo


@pytest.fixture
def clustered(library):
    """10 photos: 5 / 3 / 2 in three clusters, with confidences."""
    ids = add_photos(library, 10)
    conf = [0.5, 0.9, 0.2, 0.1, 0.3, 0.8, 0.4, 0.6, 0.7, 0.95]
    apply_clustering(library, "m", "kmeans", ids, [0] * 5 + [1] * 3 + [2] * 2, confidences=conf,
                     suggested_names=["five", "three", "two"])
    clusters = [cluster_of(library)[ids[i]] for i in (0, 5, 8)]
    return library, ids, clusters


def _statements(library):
    seen = []
    event.listen(library.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: seen.append(statement))
    return seen


def test_list_clusters_sizes_covers_and_order_in_one_query(clustered):
    library, ids, (five, three, two) = clustered
    seen = _statements(library)
    infos = queries.list_clusters(library)
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1
    assert [(c.id, c.name, c.size, c.name_source) for c in infos] == [
        (five, "five", 5, "auto"), (three, "three", 3, "auto"), (two, "two", 2, "auto")]
    assert [c.cover_photo_id for c in infos] == [ids[1], ids[5], ids[9]]


def test_list_clusters_hides_inactive_empty_and_missing(clustered):
    library, ids, (five, three, two) = clustered
    editing.merge_clusters(library, five, [three])
    editing.remove_photos_from_cluster(library, ids[8:10])  # "two" is now empty
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == ids[0]).values(status="missing"))
    infos = queries.list_clusters(library)
    assert [(c.id, c.size) for c in infos] == [(five, 7)]
    assert queries.cluster_info(library, two).size == 0
    assert queries.cluster_info(library, three) is None
    assert queries.count_photos_in_cluster(library, five) == 7


def test_photos_in_cluster_pages_and_orders(clustered):
    library, ids, (five, _, _) = clustered
    page = queries.photos_in_cluster(library, five, offset=1, limit=2)
    assert [p.id for p in page] == ids[1:3]
    first = page[0]
    assert (first.path, first.width, first.height, first.confidence, first.source,
            first.cluster_id) == ("/photos/p00001.jpg", 640, 480, pytest.approx(0.9), "auto", five)
    by_conf = queries.photos_in_cluster(library, five, order="confidence")
    assert [p.id for p in by_conf] == [ids[3], ids[2], ids[4], ids[0], ids[1]]
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == ids[4]).values(taken_at=datetime(2020, 1, 1)))
    assert queries.photos_in_cluster(library, five, order="taken_at")[0].id == ids[4]
    with pytest.raises(ValueError, match="order"):
        queries.photos_in_cluster(library, five, order="size")


def test_photo_by_path_finds_absolute_and_relative_paths(library, tmp_path, monkeypatch):
    photo = tmp_path / "a.jpg"
    with library.session() as s:
        s.add(Photo(path=str(photo), content_hash="x", file_size=1, mtime_ns=1))
    monkeypatch.chdir(tmp_path)
    assert queries.photo_by_path(library, str(photo)).path == str(photo)
    assert queries.photo_by_path(library, "a.jpg").path == str(photo)
    assert queries.photo_by_path(library, "b.jpg") is None
    assert queries.photo_by_path(library, "a.jpg").cluster_id is None


def test_unassigned_photos_lists_removed_and_new_ones(clustered):
    library, ids, _ = clustered
    editing.remove_photos_from_cluster(library, [ids[3]])
    (new,) = add_photos(library, 1, prefix="/photos/z")
    assert [p.id for p in queries.unassigned_photos(library)] == [ids[3], new]
    assert queries.count_unassigned_photos(library) == 2
    assert queries.unassigned_photos(library, offset=1, limit=5)[0].source is None


def test_list_clusters_cover_without_confidences_is_lowest_id(library):
    ids = add_photos(library, 4)
    apply_clustering(library, "m", "kmeans", ids[::-1], [0, 0, 0, 0])
    assert queries.list_clusters(library)[0].cover_photo_id == ids[0]
    editing.confirm_photos(library, [ids[2]])  # a confirmed photo (confidence 1) wins
    assert queries.list_clusters(library)[0].cover_photo_id == ids[2]


def test_cluster_sizes_agree_with_list_clusters_and_the_counts(clustered):
    library, ids, (five, three, two) = clustered
    editing.merge_clusters(library, two, [three])  # "three" inactive, "two" of 5
    editing.remove_photos_from_cluster(library, [ids[3]])
    add_photos(library, 2, prefix="/photos/new")  # in no cluster
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == ids[0]).values(status="missing"))
        s.execute(update(Photo).where(Photo.id == ids[8]).values(status="unreadable"))
        s.execute(update(Photo).where(Photo.id == ids[3]).values(status="missing"))
    sizes = queries.cluster_sizes(library)
    full = queries.list_clusters(library)
    assert [(c.id, c.name, c.size, c.name_source) for c in sizes.clusters] == \
        [(c.id, c.name, c.size, c.name_source) for c in full] == \
        [(two, "two", 4, "auto"), (five, "five", 3, "auto")]
    assert all(c.cover_photo_id is None for c in sizes.clusters)
    assert sizes.present == queries.count_present_photos(library) == 9
    assert sizes.unassigned == queries.count_unassigned_photos(library) == 2


def test_cluster_sizes_visit_no_photo_row_per_assignment(clustered):
    """The plans (alike for 10 photos and a million: SQLite keeps no statistics here): the
    assignments are counted from their cluster index alone, and photos are found through the
    status index, never one photo row per assignment as list_clusters visits them."""
    library, _ids, _clusters = clustered
    seen = []
    event.listen(library.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, *a: seen.append((statement, params)))
    queries.cluster_sizes(library)
    con = library.engine.raw_connection()
    try:
        steps = [row[3] for statement, params in seen
                 if statement.lstrip().upper().startswith("SELECT")
                 for row in con.execute("EXPLAIN QUERY PLAN " + statement, params)]
    finally:
        con.close()
    assert "SCAN assignments USING COVERING INDEX ix_assignments_cluster_id" in steps
    assert [s for s in steps if s.startswith(("SCAN photos", "SEARCH photos USING INTEGER"))] \
        == []
    assert [s for s in steps if "photos" in s] and \
        all("COVERING INDEX ix_photos_status" in s for s in steps if "photos" in s)
