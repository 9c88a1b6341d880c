"""Grouping faces into people: Chinese whispers on the graph of faces nearer than
``THRESHOLD``, incrementally.

Every run (the end of the faces stage of Organize, or ``group_faces``) takes the faces that are
in no person and are neither unsure nor removed (the new ones, and those still alone):

1. each joins the person most of its near faces (at most ``VOTERS``, nearer than ``THRESHOLD``)
   belong to, unless the user said it is not that person (a face cannot-link) or that person
   already holds a face of its photo;
2. the rest are grouped among themselves with Chinese whispers on the graph of faces nearer
   than ``THRESHOLD`` that share at least ``SHARED_MIN`` of their near faces
   (``shared_neighbour_weights``: two lookalikes are near each other, but each one's nearest faces
   are of its own person, so an edge between two people, sharing few, is left out); each group of
   at least ``MIN_PERSON_FACES`` faces becomes a new unnamed person (two such groups more than
   ``MERGE_SHARE`` of whose faces each have a kept edge to the other are one:
   ``merge_split_groups``; so are two such groups more than ``MERGE_SHARE`` of whose faces each
   are mutual near faces of the other's, under ``MERGE_NEAR``, nearer than the faces furthest
   apart in either group, their faces under ``MERGE_NEAR`` apart on average:
   ``merge_near_groups``); a face alone stays in no person and is tried again at the next run;
3. a face still alone joins the person holding more than half of its ``VOTERS`` nearest faces
   when the nearest of those is nearer than ``MAJORITY_THRESHOLD`` (dlib's 0.6;
   ``attach_by_majority``), with the same limits as in 1.

Two faces of one photo are two people (a photo shows a person once; a mirror or a photo of a
photo are the exceptions, the user's to place): the grouping never puts them in one person. Their
edge is left out of the graph, and of a group holding several faces of one photo only the face
most of whose near faces are in the group stays in it (the others wait, alone).

With ``REGROUP``, the unnamed people that faces join in 1 are taken apart before 2: their
faces are grouped again with the faces in no person, as in a first grouping (each group keeps
the id of the person holding most of its faces, largest first; a person left with none is
retired), so a person found from 3 or 4 faces of two lookalikes in an early batch is split
once more of their faces arrive (``regroupable``: never a person the user named, confirmed,
split, merged, placed a face in or took one out of). Other faces in a person never move here,
and two people made before are never merged automatically: merging is the user's (so a person
the user named or confirmed is never merged by the grouping).
Chinese whispers (Biemann 2006) is dlib's (``dlib.chinese_whispers``) when dlib is there, else
the same label propagation written here.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from photoclust.core.faces import neighbours
from photoclust.core.library import Library
from photoclust.core.library.models import Face, FaceCannotLink, FaceSource, Person

#: Two faces nearer than this (Euclidean, dlib's ResNet descriptors) are taken as one person
#: (dlib's own figure for its model is 0.6; 0.5 groups more strictly: docs/people.md).
THRESHOLD = 0.5
#: A new face looks at most this many near faces already in people to choose its person.
VOTERS = 10
#: New people start with at least this many faces; a face alone waits for more like it.
MIN_PERSON_FACES = 2
#: Chinese whispers' rounds over every face.
ITERATIONS = 100
#: Chinese whispers with edges weighted by nearness (``edge_weights``): off (docs/people.md).
WEIGHTED = False
#: Chinese whispers only on the edges of two faces that share at least this share of their near
#: faces (``shared_neighbour_weights``, each face's ``VOTERS`` nearest and itself; 0: every edge).
#: With full lists, 0.25 leaves out the edges of two faces that share no near face but each
#: other (docs/people.md: the same figures from 0.2 to 0.35).
SHARED_MIN = 0.25
#: Two groups of Chinese whispers (of this run, at least ``MIN_PERSON_FACES`` faces each) are
#: one when more than this share of the faces of each has a kept edge to the other
#: (``merge_split_groups``). ``None``: off.
MERGE_SHARE: float | None = 0.5
#: Groups of Chinese whispers are also joined by their faces' near faces at any distance under
#: this (dlib's own figure for its model: two faces further apart are not one person): two
#: groups more than ``MERGE_SHARE`` of whose faces each are among the ``VOTERS`` nearest of a
#: face of the other that has them among its own, nearer than the faces furthest apart in
#: either group, and whose faces are nearer than this on average, are one
#: (``merge_near_groups``). ``None``: off.
MERGE_NEAR: float | None = 0.6
#: A face still alone after Chinese whispers joins the person holding most of its ``VOTERS``
#: nearest faces when the nearest of them is nearer than this (dlib's own figure for its model;
#: ``attach_by_majority``). ``None``: off.
MAJORITY_THRESHOLD: float | None = 0.6
#: The unnamed people a run's new faces join in step 1 are grouped again with those faces and the
#: faces in no person, by the rules of a first grouping (``regroupable``): a person made of a few
#: faces of two lookalikes in an early batch is split once more of their faces arrive. Never a
#: person the user named, confirmed, split, merged or placed a face in, or one a "not this
#: person" points to. ``False``: off.
REGROUP = True
#: A group of Chinese whispers of at most half ``VOTERS`` faces joins the larger group every one
#: of its faces' nearest face beyond it is in, when their faces are under ``MERGE_NEAR`` apart
#: on average (``join_small_groups``). ``False``: off.
JOIN_SMALL = True


def descriptors_of(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, 128), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)


def near_pairs(a: np.ndarray, b: np.ndarray | None = None, threshold: float = THRESHOLD
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, distance)`` for every row ``i`` of ``a`` and ``j`` of ``b`` (of ``a`` itself
    when ``None``: each pair once, ``i < j``) nearer than ``threshold``: exactly for a few
    thousand faces, by cells beyond (``neighbours.near_pairs``)."""
    return neighbours.near_pairs(a, b, threshold)


def edge_weights(d: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """The weight of an edge between two faces ``d`` apart: 1 for the same descriptor, falling
    to almost 0 at ``threshold``. Near faces pull harder, so a chain of faces each just under
    the threshold (two lookalikes) holds two people together less than a clique does. Measured
    (docs/people.md, faces_lfw): BCubed F 0.955 -> 0.967, but a person with few photos whose
    faces form a chain is split in two, so the grouping uses it only with ``WEIGHTED``."""
    return (1.0 - np.asarray(d, dtype=np.float64) / threshold).clip(0.0, 1.0) + 1e-3


def near_table(n: int, i: np.ndarray, j: np.ndarray, d: np.ndarray, k: int = VOTERS
               ) -> np.ndarray:
    """``n x k``: each of ``n`` faces' at most ``k`` nearest neighbours among the pairs
    ``(i, j)`` (``d`` apart), nearest first, ``-1`` where it has fewer."""
    table = np.full((n, k), -1, dtype=np.int64)
    if len(i) == 0:
        return table
    nodes = np.concatenate([i, j]).astype(np.int64)
    others = np.concatenate([j, i]).astype(np.int64)
    order = np.lexsort((np.concatenate([d, d]), nodes))
    nodes, others = nodes[order], others[order]
    first = np.searchsorted(nodes, np.arange(n))
    rank = np.arange(len(nodes)) - first[nodes]
    keep = rank < k
    table[nodes[keep], rank[keep]] = others[keep]
    return table


def shared_neighbour_weights(n: int, i: np.ndarray, j: np.ndarray, d: np.ndarray,
                             k: int = VOTERS) -> np.ndarray:
    """For each edge ``(i, j)`` (``d`` apart) of a graph of ``n`` faces, the share of their near
    faces two faces share: each face's near faces are its at most ``k`` nearest neighbours in
    the graph and itself; the share is those in common over the most they could share (the
    smaller of the two lists), 0 to 1. Faces of one person share most of
    their near faces (near 1); two lookalikes' faces, each nearest its own person's faces, share
    few (Jarvis and Patrick's shared nearest neighbours, 1973). Measured (docs/people.md,
    faces_lfw): Chinese whispers on the edges sharing at least ``SHARED_MIN`` gives BCubed F
    0.976 instead of 0.953, better or the same on every half of the people; used as the
    edges' weights instead, a chain of few faces (a person with five photos) is cut in two."""
    if len(i) == 0:
        return np.zeros(0, dtype=np.float64)
    table = np.concatenate([np.arange(n)[:, None], near_table(n, i, j, d, k)], axis=1)
    sizes = (table >= 0).sum(axis=1)
    out = np.empty(len(i), dtype=np.float64)
    step = max(1, 2**22 // ((k + 1) ** 2))  # bounded memory on millions of edges
    for start in range(0, len(i), step):
        a, b = table[i[start:start + step]], table[j[start:start + step]]
        common = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] >= 0)).sum(axis=(1, 2))
        most = np.minimum(sizes[i[start:start + step]], sizes[j[start:start + step]])
        out[start:start + step] = common / most
    return out


def chinese_whispers(n: int, i: np.ndarray, j: np.ndarray, iterations: int = ITERATIONS,
                     seed: int = 0, weights: np.ndarray | None = None) -> np.ndarray:
    """Labels (0..) of ``n`` nodes joined by the edges ``(i[k], j[k])``, each counting
    ``weights[k]`` in a node's vote when given (else 1)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        import dlib
    except ImportError:
        dlib = None
    if dlib is not None and hasattr(dlib, "chinese_whispers"):
        # Every node once as a self-edge, so nodes without neighbours keep a label of their own
        # (weighted: so light that it never outvotes a neighbour).
        edges: list[tuple] = []
        if weights is None:
            edges = [(k, k) for k in range(n)]
            edges += list(zip(i.tolist(), j.tolist()))
        else:
            edges = [(k, k, 1e-6) for k in range(n)]
            edges += list(zip(i.tolist(), j.tolist(), np.asarray(weights, float).tolist()))
        labels = np.asarray(dlib.chinese_whispers(edges), dtype=np.int64)
        return _renumber(labels)
    w = np.ones(len(i)) if weights is None else np.asarray(weights, dtype=np.float64)
    neighbours: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for a, b, weight in zip(i.tolist(), j.tolist(), w.tolist()):
        neighbours[a].append((b, weight))
        neighbours[b].append((a, weight))
    labels = np.arange(n)
    order = list(range(n))
    rng = random.Random(seed)
    for _ in range(iterations):
        rng.shuffle(order)
        changed = False
        for node in order:
            if not neighbours[node]:
                continue
            votes: dict[int, float] = defaultdict(float)
            for m, weight in neighbours[node]:
                votes[int(labels[m])] += weight
            best = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
            if best != labels[node]:
                labels[node] = best
                changed = True
        if not changed:
            break
    return _renumber(labels)


def _renumber(labels: np.ndarray) -> np.ndarray:
    _, out = np.unique(labels, return_inverse=True)
    return out.astype(np.int64)


@dataclass
class GroupingResult:
    joined: int = 0  # faces that joined an existing person
    new_people: int = 0
    in_new_people: int = 0  # faces that founded new people
    alone: int = 0  # faces left in no person (waiting for more like them)

    def to_json(self) -> dict:
        return {"joined": self.joined, "new_people": self.new_people,
                "in_new_people": self.in_new_people, "alone": self.alone}


def group_faces(library: Library, threshold: float = THRESHOLD) -> GroupingResult:
    """Place the faces in no person (see the module docstring), in one transaction."""
    from photoclust.core.edits.history import write_session

    with write_session(library) as s:
        return group_in_session(s, threshold)


def group_in_session(s: Session, threshold: float = THRESHOLD) -> GroupingResult:
    result = GroupingResult()
    rows = s.execute(select(Face.id, Face.person_id, Face.descriptor, Face.photo_id)
                     .where(Face.removed.is_(False), Face.unsure.is_(False))
                     .order_by(Face.id)).all()
    if not rows:
        return result
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    persons = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
    if not (persons < 0).any():
        return result
    vectors = descriptors_of([r[2] for r in rows])
    photos = np.array([r[3] for r in rows], dtype=np.int64)
    links: dict[int, set[int]] = defaultdict(set)
    for fid, pid in s.execute(select(FaceCannotLink.face_id, FaceCannotLink.person_id)):
        links[fid].add(pid)
    active = set(s.scalars(select(Person.id).where(Person.active.is_(True))))
    run = _Run(s, ids, persons, vectors, photos, links, active)
    arrived = persons < 0  # the faces this run places (new ones, and those still alone)
    before = persons.copy()

    _join(run, threshold)
    owners: dict[int, int] = {}  # regrouped rows -> the person they were in
    if REGROUP:
        again = regroupable(s, {int(p["person_id"]) for p in run.pending.values()})
        if again:
            rows_again = np.flatnonzero(np.isin(persons, sorted(again)))
            owners = {int(r): int(persons[r]) for r in rows_again.tolist()}
            run.unplace(rows_again)
    rest = np.flatnonzero(persons < 0)
    created: set[int] = set()
    if len(rest):
        ri, rj, rd = near_pairs(vectors[rest], None, max(threshold, MERGE_NEAR or 0.0))
        if MERGE_NEAR is not None:  # each face's near faces (not of its photo) for the merge
            other = photos[rest][ri] != photos[rest][rj]
            near = near_table(len(rest), ri[other], rj[other], rd[other])
            ri, rj, rd = ri[rd < threshold], rj[rd < threshold], rd[rd < threshold]
        kept = (shared_neighbour_weights(len(rest), ri, rj, rd) >= SHARED_MIN if SHARED_MIN > 0
                else np.ones(len(ri), dtype=bool))
        kept &= photos[rest][ri] != photos[rest][rj]
        labels = chinese_whispers(len(rest), ri[kept], rj[kept],
                                  weights=edge_weights(rd[kept], threshold) if WEIGHTED else None)
        if MERGE_SHARE is not None:
            labels = merge_split_groups(labels, ri[kept], rj[kept], MERGE_SHARE)
        if MERGE_NEAR is not None:
            labels = merge_near_groups(labels, near, vectors[rest], MERGE_SHARE or 0.5,
                                       MERGE_NEAR)
            if JOIN_SMALL:
                labels = join_small_groups(labels, near, vectors[rest], photos[rest],
                                           MERGE_NEAR)
        ends = np.concatenate([ri, rj])
        degree = np.bincount(ends, minlength=len(rest))

        def same_label() -> np.ndarray:
            return np.bincount(ends[np.concatenate([labels[ri] == labels[rj]] * 2)],
                               minlength=len(rest))

        labels = one_face_per_photo(labels, photos[rest], same_label())
        same = same_label()
        groups = [members for label in np.unique(labels).tolist()
                  if len(members := np.flatnonzero(labels == label)) >= MIN_PERSON_FACES]
        keeps = _keep_ids(groups, [[owners.get(int(rest[m]), -1) for m in members.tolist()]
                                   for members in groups],
                          [[int(ids[rest[m]]) for m in members.tolist()] for members in groups],
                          links)
        for members, keep in zip(groups, keeps):
            if keep is None:
                person = Person(name="", name_source="auto", active=True)
                s.add(person)
                s.flush()
                active.add(person.id)
                created.add(person.id)
                keep = person.id
                result.in_new_people += len(members)
            for m in members.tolist():
                run.place(int(rest[m]), keep,
                          round(float(same[m]) / max(1, int(degree[m])), 4))
        # A face left alone by Chinese whispers may still be near a new person's faces.
        _join(run, threshold)
        if MAJORITY_THRESHOLD is not None:
            attach_by_majority(run, MAJORITY_THRESHOLD)
    placed = persons >= 0
    result.joined = int((arrived & placed & ~np.isin(persons, sorted(created))).sum())
    result.new_people = len(created)
    result.alone = int((persons < 0).sum())
    run.write(before)
    s.flush()
    emptied = set(owners.values()) - set(persons[placed].tolist())
    if emptied:  # a person regrouped into none (its faces in others, or alone): retired
        emptied -= set(s.scalars(select(Face.person_id).where(Face.person_id.in_(sorted(emptied)),
                                                              Face.removed.is_(False))))
        s.execute(update(Person).where(Person.id.in_(sorted(emptied))).values(active=False))
    refresh_covers(s)
    return result


def regroupable(s: Session, people: set[int]) -> set[int]:
    """Those of ``people`` the grouping may group again (``REGROUP``): active, unnamed, holding
    no face the user placed, and in no correction of the user's (named, merged, faces moved to
    or from, split, "not the same person", "one person") nor pointed to by a "not this person"
    (a face cannot-link)."""
    from photoclust.core.edits.corrections import (
        ConfirmPerson,
        MergePeople,
        MoveFaces,
        NamePerson,
        NotSamePerson,
        NotThisPerson,
        SplitPerson,
        read_corrections,
    )

    if not people:
        return set()
    wanted = sorted(people)
    out = set(s.scalars(select(Person.id).where(Person.id.in_(wanted), Person.active.is_(True),
                                                 Person.name_source != "user")))
    out -= set(s.scalars(select(Face.person_id).where(Face.person_id.in_(wanted),
                                                      Face.source != FaceSource.AUTO)))
    out -= set(s.scalars(select(FaceCannotLink.person_id)
                         .where(FaceCannotLink.person_id.in_(wanted))))
    if not out:
        return out
    for record in read_corrections(s, [NamePerson, MergePeople, MoveFaces, NotThisPerson,
                                       SplitPerson, NotSamePerson, ConfirmPerson]):
        c = record.correction
        named: set[int | None] = set()
        if isinstance(c, MergePeople):
            named = {c.target_id, *c.source_ids}
        elif isinstance(c, SplitPerson):
            named = {c.person_id, *(pid for pid, _faces in c.parts)}
        elif isinstance(c, NotSamePerson):
            named = {c.person_id, c.other_id}
        elif isinstance(c, (NamePerson, MoveFaces, NotThisPerson, ConfirmPerson)):
            named = {c.person_id}
        out -= named
    return out


def _keep_ids(groups: list[np.ndarray], owners: list[list[int]], face_ids: list[list[int]],
              links: dict[int, set[int]]) -> list[int | None]:
    """For each group of a run, the person whose id it keeps (``None``: a new person): of the
    people its faces were in before the run (``owners``, -1 for none), the one holding most of
    them, largest overlaps first, each person to one group only, never one a face of the group
    may not join (``links``, face id -> people)."""
    pairs = []
    for g, (mine, faces) in enumerate(zip(owners, face_ids)):
        counts: dict[int, int] = defaultdict(int)
        for owner in mine:
            if owner >= 0:
                counts[owner] += 1
        for owner, count in counts.items():
            if not any(owner in links.get(f, ()) for f in faces):
                pairs.append((-count, g, owner))
    keep: list[int | None] = [None] * len(groups)
    used: set[int] = set()
    for _count, g, owner in sorted(pairs):
        if keep[g] is None and owner not in used:
            keep[g] = owner
            used.add(owner)
    return keep


def join_small_groups(labels: np.ndarray, near: np.ndarray, vectors: np.ndarray,
                      photos: np.ndarray, limit: float = 0.6) -> np.ndarray:
    """``labels`` where a group of ``MIN_PERSON_FACES`` to ``VOTERS // 2`` faces joins a larger
    group ``H`` when the nearest face beyond the group of each of its faces (``near``: each
    face's ``k`` nearest, under ``MERGE_NEAR``, not of its photo, ``-1`` for none) is in ``H``,
    no photo has a face in both, and their faces are, pair by pair, nearer than ``limit`` on
    average (dlib's 0.6, as in ``merge_near_groups``). A group joined by one is not itself
    moved.

    One identity is often a large group and a small one of 2 or 3 faces nearer each other than
    the large group's (Rubens Barrichello in 10 and 2 faces, Lance Armstrong in 16 and 2): too
    few edges for ``merge_split_groups``, and the large group's faces have their own among
    their nearest, so ``merge_near_groups`` finds too few mutual near faces; but every face of
    the small one has its nearest face beyond it in the large one. Measured (docs/people.md,
    "Small groups joined to the group of their nearest faces", faces_lfw): BCubed F 0.9854 ->
    0.9869 with no answer, 5 batches 0.9816 -> 0.9868, 20 batches 0.9803 -> 0.9822, better or
    the same on every half and answer level. At most half ``VOTERS``: most of each face's near
    faces then lie beyond its group (with no limit, Tang Jiaxuan's group of 10 joined one of
    him and Yoriko Kawaguchi). Without the mean distance, lookalikes' groups joined when faces
    arrive a few at a time (Queen Elizabeth II's in Jiang Zemin's, Paradorn Srichaphan's in one
    of Hu Jintao, Wen Jiabao and Roh Moo-hyun). Only the groups being formed are joined: a
    person already made (named or not) is never."""
    labels = labels.copy()
    n, k = near.shape
    if not n or not k:
        return labels
    sizes = np.bincount(labels)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(sizes) + 1))

    def members(g: int) -> np.ndarray:
        return order[starts[g]:starts[g + 1]]

    targets: dict[int, int] = {}
    for g in np.flatnonzero((sizes >= MIN_PERSON_FACES) & (2 * sizes <= VOTERS)).tolist():
        mine = members(g)
        chosen: set[int] = set()
        for f in mine.tolist():
            beyond = [x for x in near[f].tolist() if x >= 0 and labels[x] != g]
            chosen.add(int(labels[beyond[0]]) if beyond else -1)
        if len(chosen) != 1:
            continue
        h = chosen.pop()
        if h < 0 or sizes[h] <= sizes[g]:
            continue
        theirs = members(h)
        if np.isin(photos[mine], photos[theirs]).any():
            continue
        if _mean_distance(vectors[mine], vectors[theirs]) < limit:
            targets[g] = h
    into = np.arange(len(sizes))
    for g, h in targets.items():
        if h not in targets:
            into[g] = h
    return _renumber(into[labels])


def merge_split_groups(labels: np.ndarray, i: np.ndarray, j: np.ndarray,
                       share: float = 0.5,
                       may_merge: Callable[[int, int], bool] | None = None) -> np.ndarray:
    """``labels`` (of Chinese whispers on the edges ``(i, j)``) where two groups of at least
    ``MIN_PERSON_FACES`` faces become one when more than ``share`` of the faces of each have an
    edge to the other. Chinese whispers can stop with one person in two groups whose faces hold
    many edges between them (a local optimum: each face votes with the side it has most edges
    to); two lookalikes' groups, once the shared-neighbour rule has left out most edges between
    them, hold a few edges from a few faces (docs/people.md, "Split identities"). Most of the
    faces, not half: with "at least half", two groups of 2 faces joined by one edge would be
    one, and faces arriving a few at a time lost 0.005 of BCubed F. Only the groups being formed
    are merged: a person already made (named or not) is never. ``may_merge(a, b)``, when given,
    must also allow the two groups' labels."""
    labels = labels.copy()
    if not len(i):
        return labels
    sizes = np.bincount(labels)
    cross = labels[i] != labels[j]
    pairs: dict[tuple[int, int], set[int]] = defaultdict(set)
    for a, b in zip(i[cross].tolist(), j[cross].tolist()):
        key = (min(labels[a], labels[b]), max(labels[a], labels[b]))
        pairs[key].update((a, b))
    parent = list(range(len(sizes)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (la, lb), faces in pairs.items():
        if min(sizes[la], sizes[lb]) < MIN_PERSON_FACES:
            continue
        on_a = sum(1 for f in faces if labels[f] == la)
        if (on_a > share * sizes[la] and len(faces) - on_a > share * sizes[lb]
                and (may_merge is None or may_merge(la, lb))):
            parent[root(la)] = root(lb)
    return _renumber(np.array([root(int(x)) for x in labels.tolist()], dtype=np.int64))


def merge_near_groups(labels: np.ndarray, near: np.ndarray, vectors: np.ndarray,
                      share: float = 0.5, limit: float = 0.6) -> np.ndarray:
    """``labels`` where two groups of at least ``MIN_PERSON_FACES`` faces are one when more
    than ``share`` of the faces of each are mutual near faces of a face of the other (each among
    the other's ``near``: its ``k`` nearest, any distance under ``MERGE_NEAR``, ``-1`` for none)
    nearer than the two faces furthest apart in either group (``vectors``: the faces'
    descriptors), and their faces are, pair by pair, nearer than ``limit`` on average (dlib's
    0.6 for one person, the review's test for "Are these the same person?"):
    ``merge_split_groups`` with those pairs for edges.

    One identity photographed in two looks (Andy Roddick in 6 and 8 faces, Lance Armstrong in
    8 and 6) falls in two groups with few edges under ``THRESHOLD`` between them, yet each
    face's nearest faces beyond its own group are in the other, no further than faces of one
    group are from each other. Two lookalikes each have their nearest faces in their own group
    when each has many (Hu Jintao and Wen Jiabao: 11 and 15 % of their faces); with few faces
    each (a fifth of the photos), their near faces are in each other's group, but further
    apart than the faces within either (Serena and Venus Williams: 0.51 on average, each
    group under 0.49). Measured (docs/people.md, "Groups joined by their near faces",
    faces_lfw): BCubed F 0.982 -> 0.985 with no answer, better or the same on every half of
    the people and with faces arriving in 5 batches; the mean distance keeps apart groups that
    chain lookalikes when people have 3 to 5 photos each (Dick Cheney's and Rudolph Giuliani's
    faces 0.67 apart on average). Only the groups being formed are joined: a person already
    made (named or not) is never."""
    n, k = near.shape
    if not n or not k:
        return labels.copy()
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = near.ravel()
    rows, cols = rows[cols >= 0], cols[cols >= 0]
    mutual = np.isin(cols * n + rows, rows * n + cols) & (labels[rows] != labels[cols])
    rows, cols = rows[mutual], cols[mutual]
    if not len(rows):
        return labels.copy()
    spread = np.zeros(int(labels.max()) + 1)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(spread) + 1))
    for label in np.unique(labels[rows]).tolist():
        spread[label] = _diameter(vectors[order[starts[label]:starts[label + 1]]])
    apart = np.sqrt(((vectors[rows].astype(np.float64) - vectors[cols]) ** 2).sum(axis=1))
    ok = apart < np.minimum(spread[labels[rows]], spread[labels[cols]])

    def one_person(a: int, b: int) -> bool:
        return _mean_distance(vectors[order[starts[a]:starts[a + 1]]],
                              vectors[order[starts[b]:starts[b + 1]]]) < limit

    return merge_split_groups(labels, rows[ok], cols[ok], share, one_person)


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The mean distance between the rows of ``a`` and those of ``b``, in blocks of rows."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    b_sq = (b64 * b64).sum(axis=1)
    total = 0.0
    step = max(1, 2**22 // max(1, len(b64)))
    for start in range(0, len(a64), step):
        total += float(np.sqrt(neighbours.sq_distances(a64[start:start + step], b64, b_sq)).sum())
    return total / max(1, len(a64) * len(b64))


def _diameter(vectors: np.ndarray) -> float:
    """The largest distance between two of ``vectors`` (0 for fewer than two); in blocks of
    rows (bounded memory on a group of 100,000 faces)."""
    if len(vectors) < 2:
        return 0.0
    v = vectors.astype(np.float64)
    sq = (v * v).sum(axis=1)
    most = 0.0
    step = max(1, 2**22 // len(v))
    for start in range(0, len(v), step):
        most = max(most, float(neighbours.sq_distances(v[start:start + step], v, sq,
                                            sq[start:start + step]).max()))
    return float(np.sqrt(most))


def one_face_per_photo(labels: np.ndarray, photos: np.ndarray, support: np.ndarray
                       ) -> np.ndarray:
    """``labels`` where no label holds two faces of one photo (``photos``): of such faces, the
    one with the most ``support`` (then the first) keeps its label, each other one gets a label
    of its own."""
    labels = labels.copy()
    order = np.lexsort((np.arange(len(labels)), -np.asarray(support), photos, labels))
    seen: set[tuple[int, int]] = set()
    fresh = int(labels.max()) + 1 if len(labels) else 0
    for k in order.tolist():
        key = (int(labels[k]), int(photos[k]))
        if key in seen:
            labels[k] = fresh
            fresh += 1
        else:
            seen.add(key)
    return labels


@dataclass
class _Run:
    """The faces of one grouping run (in id order) and what limits placing one automatically."""

    s: Session
    ids: np.ndarray
    persons: np.ndarray   # each face's person, -1 for none; updated as faces are placed
    vectors: np.ndarray
    photos: np.ndarray
    links: dict[int, set[int]]  # face id -> the people the user said it is not
    active: set[int]
    #: Placements not yet written to the library (``write``).
    pending: dict[int, dict] = field(default_factory=dict)

    def taken(self) -> set[tuple[int, int]]:
        """``(person, photo)`` of every placed face."""
        placed = self.persons >= 0
        return set(zip(self.persons[placed].tolist(), self.photos[placed].tolist()))

    def may_join(self, row: int, person: int, taken: set[tuple[int, int]]) -> bool:
        """Whether the face of ``row`` may join ``person`` automatically: an active person the
        user did not say it is not, holding no face of its photo."""
        return (person in self.active and person not in self.links.get(int(self.ids[row]), ())
                and (person, int(self.photos[row])) not in taken)

    def place(self, row: int, person: int, confidence: float,
              taken: set[tuple[int, int]] | None = None) -> None:
        """Put the face of ``row`` in ``person`` as the grouping's (``source`` auto)."""
        self.persons[row] = person
        if taken is not None:
            taken.add((person, int(self.photos[row])))
        self.pending[row] = {"id": int(self.ids[row]), "person_id": person,
                             "source": FaceSource.AUTO, "confidence": confidence}

    def unplace(self, rows: np.ndarray) -> None:
        """Take the faces of ``rows`` out of their people, to be grouped again."""
        self.persons[rows] = -1
        for row in rows.tolist():
            self.pending[row] = {"id": int(self.ids[row]), "person_id": None,
                                 "source": FaceSource.AUTO, "confidence": None}

    def write(self, before: np.ndarray | None = None) -> None:
        """Write the placements made since the last call, in one statement (one UPDATE per
        face cost 0.26 ms of CPU each: 26 s for a first grouping of 100,000 faces); with
        ``before`` (each face's person before the run), not those of faces in no person before
        and after."""
        rows = [r for r, p in self.pending.items()
                if before is None or p["person_id"] is not None or before[r] >= 0]
        if rows:
            self.s.execute(update(Face), [self.pending[r] for r in rows])
        self.pending = {}


def _join(run: _Run, threshold: float) -> int:
    """Faces in no person join the person most of their near placed faces are in, but not one
    holding a face of their photo (``run.persons`` is updated in place). Returns how many
    joined."""
    persons = run.persons
    pool = np.flatnonzero(persons < 0)
    placed = np.flatnonzero(persons >= 0)
    if not len(pool) or not len(placed):
        return 0
    taken = run.taken()
    pi, pj, pd = near_pairs(run.vectors[pool], run.vectors[placed], threshold)
    order = np.lexsort((pd, pi))
    by_face: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for k in order.tolist():
        row = int(pool[pi[k]])
        if len(by_face[row]) < VOTERS:
            by_face[row].append((int(persons[placed[pj[k]]]), float(pd[k])))
    joined = 0
    for row, near in by_face.items():
        allowed = [(p, d) for p, d in near if run.may_join(row, p, taken)]
        if not allowed:
            continue
        votes: dict[int, list[float]] = defaultdict(list)
        for p, d in allowed:
            votes[p].append(d)
        person = min(votes, key=lambda p: (-len(votes[p]), min(votes[p])))
        run.place(row, person, round(len(votes[person]) / len(near), 4), taken)
        joined += 1
    return joined


def nearest_faces(vectors: np.ndarray, rows: np.ndarray, k: int = VOTERS
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(index, distance)``, each ``len(rows) x min(k, n - 1)``: the ``k`` faces of ``vectors``
    nearest each face of ``rows`` (itself left out), nearest first (``neighbours.nearest_faces``:
    exactly for a few thousand faces, by cells beyond)."""
    return neighbours.nearest_faces(vectors, rows, k)


def attach_by_majority(run: _Run, threshold: float = 0.6) -> int:
    """Faces still in no person after ``_join`` (no placed face nearer than ``THRESHOLD``) join
    the person holding more than half of their ``VOTERS`` nearest faces when the nearest of
    those is nearer than ``threshold`` (0.6, dlib's own figure): a face a little apart from a
    person whose faces are all around it. Not a person the user said it is not, one holding a
    face of its photo, or an inactive one; the faces here are never unsure (they are not
    grouped). ``run.persons`` is updated in place. Measured (docs/people.md, "Faces alone",
    faces_lfw): 24 faces alone -> 15, BCubed F 0.977 -> 0.981 with no answer, better on every
    half of the people; every face alone there is over 0.5 from all the others. In rounds:
    every face votes with the people as they were before the round, and the faces placed in
    a round vote in the next, until a round places none (one more face of Lance Armstrong,
    whose tenth nearest face was placed in the first round: BCubed F 0.9850 -> 0.9854)."""
    joined = 0
    while True:
        placed = _attach_round(run, threshold)
        joined += placed
        if not placed:
            return joined


def _attach_round(run: _Run, threshold: float) -> int:
    persons = run.persons
    pool = np.flatnonzero(persons < 0)
    if not len(pool) or not (persons >= 0).any():
        return 0
    taken = run.taken()
    # Every face votes with the people as they were before this round.
    near, dist = nearest_faces(run.vectors, pool)
    owners = persons[near]
    voters = near.shape[1]
    joined = 0
    for k, row in enumerate(pool.tolist()):
        placed = owners[k] >= 0
        if not placed.any():
            continue
        values, counts = np.unique(owners[k][placed], return_counts=True)
        best = int(np.argmax(counts))
        person, votes = int(values[best]), int(counts[best])
        if (2 * votes <= voters or float(dist[k][owners[k] == person].min()) >= threshold
                or not run.may_join(row, person, taken)):
            continue
        run.place(row, person, round(votes / voters, 4), taken)
        joined += 1
    return joined


def refresh_covers(s: Session, person_ids: list[int] | None = None) -> None:
    """Give every active person (or those of ``person_ids``) whose cover face is not one of its
    faces its best face: the largest sure one."""
    query = select(Person).where(Person.active.is_(True))
    if person_ids is not None:
        query = query.where(Person.id.in_(person_ids))
    people = s.scalars(query).all()
    if not people:
        return
    wanted = {p.id: p for p in people}
    best: dict[int, tuple[tuple, int]] = {}
    covers: dict[int, int | None] = {p.id: p.cover_face_id for p in people}
    valid: set[int] = set()
    for fid, pid, w, h, unsure in s.execute(
            select(Face.id, Face.person_id, Face.width, Face.height, Face.unsure)
            .where(Face.person_id.in_(list(wanted)), Face.removed.is_(False))):
        if pid is None:
            continue
        if covers.get(pid) == fid:
            valid.add(pid)
        key = (not unsure, w * h, -fid)
        if pid not in best or key > best[pid][0]:
            best[pid] = (key, fid)
    for pid, person in wanted.items():
        if pid not in valid:
            person.cover_face_id = best[pid][1] if pid in best else None
