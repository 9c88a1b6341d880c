"""Clusters of photos of people named for the people in them.

A cluster's automatic name comes from the objects an ImageNet network sees in its photos
(``clustering/naming.py``), and ImageNet has no class for a person: a cluster of portraits was
named "Windsor tie" or "suit" by what the people wear. Once the faces are found (Organize's faces
stage), a cluster whose automatic name it is and most of whose photos show a face the detector is
sure of is named for them instead: after the person in most of its photos (their name, or
"Person 12" as the People page shows one not named yet: naming them there renames the cluster at
the next Organize), else "people". A name the user gave a cluster is never touched, and a cluster
where faces are the minority keeps the name its content gives it. Two clusters of one person are
"Anna" and "Anna (2)" and several clusters of mixed people "people", "people (2)"; the review
does not offer such clusters for merging for their names alone (``is_people_name``): the content
may tell apart what the faces did not (two sisters the face grouping took for one person).
"""
from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from photoclust.core.clustering import name_told_apart, unique_name
from photoclust.core.faces.read import display_name
from photoclust.core.library.models import Assignment, Cluster, Face, Person, Source

#: The name of a cluster of photos of people when no one named person is in most of them.
PEOPLE = "people"


def names_for_people(s: Session) -> dict[int, str]:
    """``{cluster_id: new name}`` for the automatically named clusters whose photos are mostly of
    people (see the module's docstring); clusters already so named are left out."""
    sizes: Counter[int] = Counter()
    members: dict[int, int] = {}
    auto = {cid: name for cid, name in s.execute(
        select(Cluster.id, Cluster.name).where(Cluster.active.is_(True),
                                               Cluster.name_source == Source.AUTO))}
    if not auto:
        return {}
    for photo_id, cluster_id in s.execute(select(Assignment.photo_id, Assignment.cluster_id)):
        sizes[cluster_id] += 1
        members[photo_id] = cluster_id
    with_face: dict[int, set[int]] = defaultdict(set)  # cluster -> photos showing a sure face
    person_photos: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    people_names = _person_labels(s)
    for photo_id, person_id in s.execute(select(Face.photo_id, Face.person_id)
                                         .where(Face.removed.is_(False),
                                                Face.unsure.is_(False))):
        in_cluster = members.get(photo_id)
        if in_cluster is None or in_cluster not in auto:
            continue
        with_face[in_cluster].add(photo_id)
        if person_id in people_names:
            person_photos[in_cluster][person_id].add(photo_id)
    taken = {name for name in s.scalars(select(Cluster.name).where(Cluster.active.is_(True)))}
    renamed = {}
    for cluster_id, photos in sorted(with_face.items()):
        if 2 * len(photos) <= sizes[cluster_id]:
            continue
        people = person_photos.get(cluster_id, {})
        top = max(people, key=lambda p: (len(people[p]), -p), default=None)
        name = people_names[top] if top is not None and 2 * len(people[top]) > sizes[cluster_id] \
            else PEOPLE
        current = auto[cluster_id]
        if current == name or name_told_apart(current) == name:
            continue
        new = unique_name(name, taken - {current})
        taken.discard(current)
        taken.add(new)
        renamed[cluster_id] = new
    return renamed


def _person_labels(s: Session) -> dict[int, str]:
    """Each active person's label as the People page shows it: the user's name, else
    "Person 12"."""
    return {pid: display_name(pid, name if source == Source.USER else "")
            for pid, name, source in s.execute(
                select(Person.id, Person.name, Person.name_source)
                .where(Person.active.is_(True)))}


def people_base_names(s: Session) -> set[str]:
    """The names this step gives clusters: "people" and each active person's label."""
    return {PEOPLE} | set(_person_labels(s).values())


def is_people_name(name: str, base_names: set[str]) -> bool:
    """Whether ``name`` is one this step gives ("people (2)", "Anna", "Person 3 (2)"), given
    ``people_base_names``."""
    return name in base_names or name_told_apart(name) in base_names


def name_clusters_of_people(s: Session) -> dict[int, str]:
    """Rename the clusters ``names_for_people`` finds (automatic names only; not an edit of the
    user's: the next clustering run names them afresh and this step again). Returns them."""
    renamed = names_for_people(s)
    for cluster_id, name in renamed.items():
        cluster = s.get(Cluster, cluster_id)
        if cluster is not None and cluster.name_source == Source.AUTO:
            cluster.name = name
    return renamed
