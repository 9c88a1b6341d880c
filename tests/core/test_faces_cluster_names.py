"""Clusters of photos of people are named for them (core/faces/cluster_names.py): found in the
new-user walk, where a cluster of portraits was named "Windsor tie" after what the people wore."""
from __future__ import annotations

from sqlalchemy import insert, literal, select

from _edit_fixtures import add_photos
from _export_fixtures import add_cluster, assign
from _face_fixtures import add_faces, centres, near
from photoclust.core.faces.cluster_names import PEOPLE, name_clusters_of_people
from photoclust.core.faces.detect import DETECTOR_VERSION
from photoclust.core.faces.editing import move_faces
from photoclust.core.faces.grouping import group_faces
from photoclust.core.faces.job import FacesJob
from photoclust.core.jobs import JobContext
from photoclust.core.library.models import Cluster, FaceScan, Photo


def cluster_with(library, name, n, faces_in, source="auto", descriptors=None, unsure=False):
    """A cluster of ``n`` photos, the first ``faces_in`` of which show a face."""
    cluster = add_cluster(library, name, name_source=source)
    photos = add_photos(library, n)
    for p in photos:
        assign(library, p, cluster)
    if faces_in:
        vectors = descriptors if descriptors is not None else near(centres(1, seed=n)[0],
                                                                   faces_in, seed=n)
        faces = add_faces(library, vectors[:faces_in], photo_ids=photos[:faces_in],
                          unsure=unsure)
    else:
        faces = []
    return cluster, faces


def names(library):
    with library.session() as s:
        return dict(s.execute(select(Cluster.id, Cluster.name)).all())


def rename(library):
    with library.session() as s:
        return name_clusters_of_people(s)


def test_clusters_mostly_of_people_are_named_for_them_and_nothing_else_changes(library):
    c = centres(2, seed=7)
    anna, anna_faces = cluster_with(library, "Windsor tie", 4, 3, descriptors=near(c[0], 3))
    crowd, _ = cluster_with(library, "suit", 4, 3, descriptors=centres(3, seed=3))  # 3 people
    beach, _ = cluster_with(library, "seashore", 4, 1)  # one portrait among beach photos
    family, _ = cluster_with(library, "Family", 3, 3, source="user")  # the user's name stays
    blurred, _ = cluster_with(library, "bonnet", 2, 2, unsure=True)  # faces too small to judge
    group_faces(library)
    move_faces(library, anna_faces, None, name="Anna")
    before = names(library)
    assert rename(library) == {anna: "Anna", crowd: PEOPLE}
    after = names(library)
    assert after[anna] == "Anna" and after[crowd] == PEOPLE
    assert {k: v for k, v in after.items() if k not in (anna, crowd)} == \
        {k: v for k, v in before.items() if k not in (anna, crowd)}
    assert after[beach] == "seashore" and after[family] == "Family" and after[blurred] == "bonnet"
    assert rename(library) == {}  # named already: nothing to do again


def test_a_cluster_of_one_unnamed_person_takes_the_people_pages_label(library):
    """Found in a real window: two clusters of two sisters were "people" and "people (2)", and
    the review offered to merge them for their names alone."""
    c = centres(2, seed=5)
    serena, _ = cluster_with(library, "tennis ball", 4, 4, descriptors=near(c[0], 4, seed=1))
    venus, _ = cluster_with(library, "racket", 4, 4, descriptors=near(c[1], 4, seed=2))
    group_faces(library)
    renamed = rename(library)
    assert sorted(renamed) == [serena, venus]
    assert all(name.startswith("Person ") for name in renamed.values())
    assert len(set(renamed.values())) == 2  # one person each: told apart by who is in them


def test_clusters_named_for_one_person_are_not_offered_for_merging_for_that(library):
    """The face grouping took two sisters for one person while the content told them apart: the
    clusters became "Person 1" and "Person 1 (2)", and must not be offered for merging for it."""
    from photoclust.core.learning.suggestions import twin_merges

    one = near(centres(1, seed=4)[0], 6, seed=4)
    first, _ = cluster_with(library, "tennis ball", 3, 3, descriptors=one[:3])
    second, _ = cluster_with(library, "racket", 3, 3, descriptors=one[3:])
    group_faces(library)
    renamed = rename(library)
    assert renamed[second] == f"{renamed[first]} (2)"
    assert twin_merges(library, set(), set(), set()) == []


def test_clusters_of_mixed_people_are_told_apart_and_not_offered_for_merging(library):
    from photoclust.core.learning.suggestions import twin_merges

    first, _ = cluster_with(library, "suit", 3, 3)  # faces in no person: mixed people
    second, _ = cluster_with(library, "Windsor tie", 3, 2)
    assert rename(library) == {first: PEOPLE, second: f"{PEOPLE} (2)"}
    assert rename(library) == {}
    assert twin_merges(library, set(), set(), set()) == []
    dress = add_cluster(library, "dress")
    twin = add_cluster(library, "dress (2)")
    assert [(q.cluster, q.other_cluster) for q in twin_merges(library, set(), set(), set())] \
        == [(dress, twin)]  # the rule still holds for names the content gave


def test_organizes_faces_stage_names_the_clusters(library):
    cluster, _ = cluster_with(library, "Windsor tie", 2, 2, descriptors=centres(2, seed=9))

    with library.session() as s:  # the faces were found by an earlier run: group and name only
        s.execute(insert(FaceScan).from_select(
            ["photo_id", "content_hash", "version", "faces"],
            select(Photo.id, Photo.content_hash, literal(DETECTOR_VERSION), literal(1))))
    result = FacesJob(library).run(JobContext())
    assert result.clusters_named == {cluster: PEOPLE}
    assert result.to_json()["clusters_named"] == [{"cluster_id": cluster, "name": PEOPLE}]
    assert names(library)[cluster] == PEOPLE
