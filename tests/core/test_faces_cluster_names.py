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
    crowd, _ = cluster_with(library, "suit", 4, 3, descriptors=near(c[1], 3, seed=3))
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


def test_two_clusters_of_people_are_told_apart(library):
    first, _ = cluster_with(library, "suit", 3, 3)
    second, _ = cluster_with(library, "Windsor tie", 3, 2)
    assert rename(library) == {first: PEOPLE, second: f"{PEOPLE} (2)"}
    assert rename(library) == {}


def test_organizes_faces_stage_names_the_clusters(library):
    cluster, _ = cluster_with(library, "Windsor tie", 2, 2)

    with library.session() as s:  # the faces were found by an earlier run: group and name only
        s.execute(insert(FaceScan).from_select(
            ["photo_id", "content_hash", "version", "faces"],
            select(Photo.id, Photo.content_hash, literal(DETECTOR_VERSION), literal(1))))
    result = FacesJob(library).run(JobContext())
    assert result.clusters_named == {cluster: PEOPLE}
    assert result.to_json()["clusters_named"] == [{"cluster_id": cluster, "name": PEOPLE}]
    assert names(library)[cluster] == PEOPLE
