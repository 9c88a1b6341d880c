"""The questions about people whose answers fix them fastest (for a review page, and the
simulated user of ``bench/people.py``), chosen from the library alone. Each question carries
``expected``: how many faces its answer is expected to fix, the chance that the faces it is about
are placed wrong times how many faces the answer places, so that a review can put it among the
photo questions by the same measure (``core/learning/review_queue.py``):

- ``same_person_pairs``: "Are these the same person?" only for pairs of people that might be
  one: their mean faces nearer than ``MERGE_BELOW`` (a cheap first cut) and, face by face, nearer
  on average than ``SAME_BELOW`` (dlib's own distance for "the same person"; the grouping joins
  faces only under its stricter 0.5). The chance of "yes" is the share of their pairs of faces
  nearer than ``SAME_BELOW``; a yes fixes the faces of the smaller one: ``expected`` is the
  product. Not asked for two lookalikes the grouping keeps apart (``LOOKALIKES_APART``: the
  shared-neighbour rule leaves out most of their pairs of faces nearer than its threshold; the
  answer is foreseen: no). Yes is ``merge_people``.
- ``spread_people``: the people whose faces lie farthest from their mean (the simulated user of
  ``bench/people.py`` without ``--review-order``).
- ``split_candidates``: "Are these one person?" (the one question that finds two lookalikes
  grouped as one person): a person's faces grouped again at the stricter ``SPLIT_THRESHOLD``
  of ``split_person``; the largest group is one part, the other group (of at least
  ``MIN_SPLIT_PART`` faces) whose split is expected to fix most is the other, and each
  remaining face joins the part whose mean face is nearer. The chance that they are two people
  is how clearly the parts are apart (``separation``: their mean silhouette, 0 when they are
  not; dlib's ``SAME_BELOW`` cannot tell two lookalikes apart: they are nearer than that) times,
  with ``SPLIT_KEPT``, the share of their pairs of faces nearer than the grouping's threshold
  that the shared-neighbour rule leaves out (parts whose near faces are shared are what the
  grouping keeps together: one person that the stricter threshold cut; pairs of faces each of
  which has all the faces of the person among its near faces tell nothing and are not
  counted); a "no" fixes the faces of the smaller part: ``expected`` is the product. Yes is
  remembered (``confirm_person``: not asked again unless undone), no is ``split_person`` along
  the two parts shown.
- ``faces_to_ask``: "Who is this?" for the faces in no person (not unsure; ``expected`` 1: the
  face is placed by the answer), then "Is this <person>?" for the faces the user did not place,
  least sure first; ``expected`` is 1 - how sure. How sure: the share of its near faces (at most
  ``VOTERS`` nearer than the grouping's threshold) in its person, counted now (an earlier merge
  may have settled them, a move unsettled them) for the faces the grouping was unsure of and
  those of the people the user changed; with ``SILHOUETTE`` at most ``(1 + s) / 2`` for the
  face's silhouette ``s`` against the people's mean faces (``face_silhouettes``: one half for a
  face as near another person's mean face as its own person's, less for one nearer another's;
  a face whose near faces are all in a person it does not belong to is found so). A face sure
  both ways (its person's only face, or only one person) is not asked, nor one of the faces a
  "yes" to "Are these one person?" covered while it is in that person and the answer is not
  undone (``confirmed_faces``). The answer is
  ``move_faces`` or ``faces_not_this_person``.

``people_questions`` puts them in the order to ask (most expected fixes first), with what a
review page or ``photoclust review`` shows (``PeopleQuestion``); ``answer_people_question``
turns an answer into one edit of ``core/faces/editing.py``. A "no" to "Are these the same
person?" is remembered (``people_not_same``): the pair is not asked again; so is a "yes" to
"Are these one person?" (``confirm_person``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select

from photoclust.core.edits.corrections import ConfirmPerson, read_corrections
from photoclust.core.faces.editing import SPLIT_THRESHOLD
from photoclust.core.faces.grouping import (
    SHARED_MIN,
    THRESHOLD,
    VOTERS,
    chinese_whispers,
    descriptors_of,
    near_pairs,
    nearest_faces,
)
from photoclust.core.faces.neighbours import sq_distances
from photoclust.core.library import Library
from photoclust.core.library.models import (
    EditEvent,
    Face,
    FaceCannotLink,
    Person,
    Photo,
    PhotoStatus,
)

#: People whose mean faces are nearer than this are looked at face by face (the grouping joins
#: faces nearer than 0.5; a mean of a person's faces lies nearer the others' than its faces do).
MERGE_BELOW = 0.65
#: Two faces nearer than this may be of one person: the distance dlib's face descriptor was made
#: for ("below 0.6: the same person", dlib's face recognition example). Two people are asked
#: "the same person?" only when their faces are, on average, nearer than this.
SAME_BELOW = 0.6
#: Faces of a person compared at most, per side, when two people are weighed (the first ones).
PAIR_FACES = 200
#: Faces whose doubt is counted again for a review at most (each against every face: bounded
#: time in a library of 100,000 faces).
RECOUNT = 2048
#: "Are these the same person?" is not asked for two people fewer than this share of whose
#: pairs of faces nearer than the grouping's threshold the shared-neighbour rule keeps
#: (``near_kept_share``: most are left out, two lookalikes the grouping keeps apart). ``None``:
#: asked whatever the rule says.
LOOKALIKES_APART: float | None = 0.5
#: "Are these one person?": the chance of two people is the parts' separation times the share
#: of their pairs of faces nearer than the grouping's threshold that the shared-neighbour rule
#: leaves out (``near_kept_shares``: parts whose near faces are shared are what the grouping keeps
#: together). ``False``: the separation alone (before #28's answers pass).
SPLIT_KEPT = True
#: "Is this <person>?" also for the faces nearer another person's mean face than their own
#: person's (``face_silhouettes``), not only those some of whose near faces are elsewhere.
#: ``False``: the near faces alone (before #28's answers pass).
SILHOUETTE = True
#: People with fewer faces are not asked "Is this one person?".
MIN_FACES_TO_SPLIT = 4
#: A group of fewer faces (at ``SPLIT_THRESHOLD``) is not offered as a part of its own: a pair is
#: the least that is a group at all (``split_person`` without face ids leaves single faces too).
MIN_SPLIT_PART = 2
#: Faces of a person grouped again at most (the first ones; the others join the nearer part):
#: bounded time for a person of thousands of faces.
SPLIT_FACES = 1000


@dataclass(frozen=True)
class PeopleFaces:
    """Every face in a person (not removed, in present photos) by person, with descriptors."""

    person_ids: list[int]
    face_ids: dict[int, list[int]]
    vectors: dict[int, np.ndarray]
    means: np.ndarray  # one row per person_ids entry
    placed: frozenset[int] = frozenset()  # the faces the user placed (source "user")


def people_faces(library: Library) -> PeopleFaces:
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.descriptor, Face.source)
                         .join(Photo, Photo.id == Face.photo_id)
                         .join(Person, Person.id == Face.person_id)
                         .where(Face.removed.is_(False), Person.active.is_(True),
                                Photo.status == PhotoStatus.PRESENT)
                         .order_by(Face.id)).all()
    ids: dict[int, list[int]] = defaultdict(list)
    blobs: dict[int, list[bytes]] = defaultdict(list)
    placed: set[int] = set()
    for fid, pid, blob, source in rows:
        if pid is None:  # the join keeps only faces in a person
            continue
        ids[pid].append(fid)
        blobs[pid].append(blob)
        if source == "user":
            placed.add(fid)
    people = sorted(ids)
    vectors = {p: descriptors_of(blobs[p]) for p in people}
    means = (np.stack([vectors[p].mean(axis=0) for p in people]) if people
             else np.zeros((0, 128), dtype=np.float32))
    return PeopleFaces(people, dict(ids), vectors, means, frozenset(placed))


def same_person_pairs(library: Library, limit: int = 20, data: PeopleFaces | None = None
                      ) -> list[tuple[int, int, float]]:
    """``(person, other, distance of their mean faces)`` for the pairs that might be one person,
    most expected fixes first (``same_person_candidates``)."""
    return [(a, b, dist) for a, b, dist, _share, _expected in
            same_person_candidates(library, limit, data)]


def same_person_candidates(library: Library, limit: int = 20, data: PeopleFaces | None = None
                           ) -> list[tuple[int, int, float, float, float]]:
    """``(person, other, mean-face distance, share of their face pairs nearer than SAME_BELOW,
    expected faces fixed)`` for the pairs not refused whose faces are nearer than
    ``SAME_BELOW`` on average and not two lookalikes the grouping keeps apart
    (``LOOKALIKES_APART``), most expected fixes first (then nearest)."""
    data = data or people_faces(library)
    refused = refused_pairs(library)
    pairs: list[tuple[float, float, int, int, float]] = []
    near: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for a in range(len(data.person_ids)):
        d = np.linalg.norm(data.means[a + 1:] - data.means[a], axis=1)
        for k in np.flatnonzero(d < MERGE_BELOW).tolist():
            pa, pb = data.person_ids[a], data.person_ids[a + 1 + k]
            if (pa, pb) in refused:
                continue
            va, vb = data.vectors[pa][:PAIR_FACES], data.vectors[pb][:PAIR_FACES]
            cross = _distances(va, vb)
            if float(cross.mean()) >= SAME_BELOW:
                continue  # clearly two people: not asked
            share = float((cross < SAME_BELOW).mean())
            expected = share * min(len(data.face_ids[pa]), len(data.face_ids[pb]))
            pairs.append((-expected, float(d[k]), pa, pb, share))
            if LOOKALIKES_APART is not None:
                ii, jj = np.nonzero(cross < THRESHOLD)
                near[(pa, pb)] = (ii, jj)
    if near and LOOKALIKES_APART is not None:
        # Two lookalikes the grouping keeps apart: "no" is foreseen, not asked.
        kept = near_kept_shares(data, near)
        pairs = [p for p in pairs if kept.get((p[2], p[3]), 1.0) >= LOOKALIKES_APART]
    pairs.sort()
    return [(a, b, round(dist, 4), round(share, 4), round(-neg, 4))
            for neg, dist, a, b, share in pairs[:limit]]


def near_kept_shares(data: PeopleFaces, near: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]],
                     full_only: bool = False) -> dict[tuple[int, int], float]:
    """For each pair of people ``(a, b)`` with the pairs ``(i, j)`` of their faces (the ``i``-th
    of ``a``, the ``j``-th of ``b``) nearer than the grouping's ``THRESHOLD``: the share of those
    the grouping's shared-neighbour rule keeps (``grouping.shared_neighbour_weights``: the two
    faces share at least ``SHARED_MIN`` of their near faces, each face's ``VOTERS`` nearest
    faces in people nearer than ``THRESHOLD`` and itself). Near 0: each face's nearest faces
    are of its own person (two lookalikes, kept apart by the grouping: "Are these the same
    person?" would be answered no). Pairs without such faces are left out. ``full_only``: only
    the pairs of faces that both have ``VOTERS`` near faces count (a face with fewer has every
    face near it in its list, so sharing them tells nothing: a small library's lookalikes)."""
    sizes = [len(data.vectors[p]) for p in data.person_ids]
    first = dict(zip(data.person_ids, np.cumsum([0] + sizes).tolist()))
    rows = {first[a] + int(x) for (a, b), (ii, jj) in near.items() for x in ii.tolist()}
    rows |= {first[b] + int(y) for (a, b), (ii, jj) in near.items() for y in jj.tolist()}
    if not rows:
        return {}
    everyone = np.concatenate([data.vectors[p] for p in data.person_ids]).astype(np.float32)
    wanted = np.array(sorted(rows), dtype=np.int64)
    nn, dist = nearest_faces(everyone, wanted)
    lists = {int(r): frozenset([int(r), *n_row[d_row < THRESHOLD].tolist()])
             for r, n_row, d_row in zip(wanted.tolist(), nn, dist)}
    out: dict[tuple[int, int], float] = {}
    for (a, b), (ii, jj) in near.items():
        if not len(ii):
            continue
        kept = counted = 0
        both = frozenset(range(first[a], first[a] + len(data.vectors[a]))) | frozenset(
            range(first[b], first[b] + len(data.vectors[b])))
        for x, y in zip(ii.tolist(), jj.tolist()):
            la, lb = lists[first[a] + x], lists[first[b] + y]
            if full_only and both <= la and both <= lb:
                continue
            counted += 1
            kept += len(la & lb) >= SHARED_MIN * min(len(la), len(lb))
        if counted:
            out[(a, b)] = kept / counted
    return out


def spread_people(library: Library, limit: int = 20, data: PeopleFaces | None = None
                  ) -> list[tuple[int, float]]:
    """``(person, mean distance of its faces to their mean)``, most spread first."""
    data = data or people_faces(library)
    out = []
    for k, pid in enumerate(data.person_ids):
        if len(data.face_ids[pid]) >= MIN_FACES_TO_SPLIT:
            spread = float(np.linalg.norm(data.vectors[pid] - data.means[k], axis=1).mean())
            out.append((pid, round(spread, 4)))
    return sorted(out, key=lambda item: (-item[1], item[0]))[:limit]


@dataclass(frozen=True)
class SplitCandidate:
    """A person that may be two: ``part`` (its largest group) and ``other`` (the faces to split
    off), face ids nearest their part's mean first; ``chance`` that they are two people and the
    faces a "no" is expected to fix."""

    person_id: int
    part: tuple[int, ...]
    other: tuple[int, ...]
    chance: float
    expected: float


def confirmed_people(library: Library) -> set[int]:
    """People the user said are one person ("Are these one person?" answered yes, not undone)."""
    with library.session() as s:
        return {r.correction.person_id for r in read_corrections(s, [ConfirmPerson])
                if not r.undone and isinstance(r.correction, ConfirmPerson)}


def separation(a: np.ndarray, b: np.ndarray) -> float:
    """How clearly the faces ``a`` and ``b`` are two people: their mean silhouette (Rousseeuw,
    1987: for each face, its mean distance to the other part less that to its own, over the
    larger of the two), 0 when they are no apart (never below). Two parts of one person that
    a stricter grouping cut apart lie about as near each other as within themselves (near 0);
    two lookalikes each nearer their own faces (towards 1). Read as the chance that they are two
    people."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    cross = _distances(a, b)
    own = np.r_[_distances(a, a).sum(1) / (len(a) - 1), _distances(b, b).sum(1) / (len(b) - 1)]
    other = np.r_[cross.mean(1), cross.mean(0)]
    scores = (other - own) / np.maximum(np.maximum(own, other), 1e-9)
    return max(0.0, float(scores.mean()))


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(sq_distances(a, b))


def split_candidates(library: Library, limit: int = 20, data: PeopleFaces | None = None
                     ) -> list[SplitCandidate]:
    """The people whose faces fall, grouped again at ``SPLIT_THRESHOLD``, into two groups of at
    least ``MIN_SPLIT_PART`` faces, with the two parts to show (see the module docstring); not
    the people the user confirmed, nor a part all of whose faces the user placed in the person
    (a merge of the user's, faces moved there); most expected fixes first, at most
    ``limit``."""
    data = data or people_faces(library)
    confirmed = confirmed_people(library)
    out: list[SplitCandidate] = []
    found: list[tuple[int, tuple[int, ...], tuple[int, ...], float]] = []
    across: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for pid in data.person_ids:
        ids = data.face_ids[pid]
        if len(ids) < MIN_FACES_TO_SPLIT or pid in confirmed:
            continue
        vectors = data.vectors[pid].astype(np.float32)
        head = vectors[:SPLIT_FACES]
        i, j, _d = near_pairs(head, None, SPLIT_THRESHOLD)
        labels = chinese_whispers(len(head), i, j)
        groups = sorted((np.flatnonzero(labels == lab) for lab in np.unique(labels)),
                        key=lambda g: (-len(g), int(g[0])))
        groups = [g for g in groups if len(g) >= MIN_SPLIT_PART]
        if len(groups) < 2:
            continue
        first = head[groups[0]]
        best: tuple[float, np.ndarray] | None = None
        for g in groups[1:]:
            fix = separation(first, head[g]) * len(g)
            if best is None or fix > best[0]:
                best = (fix, g)
        assert best is not None
        seeds = (groups[0], best[1])
        means = np.stack([head[g].mean(axis=0) for g in seeds])
        side = np.argmin(_distances(vectors, means), axis=1)
        side[seeds[0]], side[seeds[1]] = 0, 1
        if (side == 1).all() or (side == 0).all():
            continue
        a, b = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
        chance = separation(vectors[a][:PAIR_FACES], vectors[b][:PAIR_FACES])
        if chance <= 0.0:
            continue
        part, other = (_by_nearness(ids, vectors, a, means[0]),
                       _by_nearness(ids, vectors, b, means[1]))
        if all(f in data.placed for f in other):
            continue  # the user put them in this person (or merged it): they said so
        found.append((pid, part, other, chance))
        ai, bj = a[:PAIR_FACES], b[:PAIR_FACES]
        ii, jj = np.nonzero(_distances(vectors[ai], vectors[bj]) < THRESHOLD)
        across[(pid, pid)] = (ai[ii], bj[jj])
    # Two parts whose faces near each other share their near faces are what the grouping
    # keeps together (one person the stricter threshold cut); a "no" is likely only for the
    # share of those pairs the shared-neighbour rule leaves out (two lookalikes).
    kept = near_kept_shares(data, across, full_only=True) if SPLIT_KEPT else {}
    for pid, part, other, chance in found:
        chance = round(chance * (1.0 - kept.get((pid, pid), 0.0)), 4)
        if chance <= 0.0:
            continue
        out.append(SplitCandidate(pid, part, other, chance,
                                  round(chance * min(len(part), len(other)), 4)))
    out.sort(key=lambda c: (-c.expected, c.person_id))
    return out[:limit]


def confirmed_faces(library: Library) -> set[tuple[int, int]]:
    """``(face, person)`` for the faces of the people the user said are one person ("Are these
    one person?" answered yes, not undone: the faces the person had then)."""
    with library.session() as s:
        return {(int(f), r.correction.person_id)
                for r in read_corrections(s, [ConfirmPerson])
                if not r.undone and isinstance(r.correction, ConfirmPerson)
                for f in r.correction.face_ids}


def _by_nearness(ids: list[int], vectors: np.ndarray, rows: np.ndarray, mean: np.ndarray
                 ) -> tuple[int, ...]:
    """The face ids of ``rows``, nearest ``mean`` first."""
    order = np.argsort(np.linalg.norm(vectors[rows] - mean, axis=1), kind="stable")
    return tuple(ids[int(k)] for k in rows[order])


def faces_to_ask(library: Library, limit: int = 50) -> list[int]:
    """Face ids: those in no person first (not unsure), then the unsure faces the user did not
    place, least sure first (``unsure_faces``)."""
    return [fid for fid, _share in faces_with_doubt(library, limit)]


def faces_with_doubt(library: Library, limit: int = 50) -> list[tuple[int, float | None]]:
    """``(face, how sure its person is)``: the faces in no person (``None``), then the faces the
    user did not place in a person, least sure first; at most ``limit``. How sure: the smaller of
    the share of its near faces in its person (``unsure_shares``, counted again for the faces
    the grouping was not sure of and those of the people the user changed; 1 for the others)
    and, with ``SILHOUETTE``, ``(1 + s) / 2`` for its silhouette ``s`` against the people's mean
    faces (``face_silhouettes``: 1/2 for a face as near another person's mean face as its own
    person's, below for one nearer another's). A face sure both ways is not listed, nor one the
    user said is one person with the others of its person (``confirmed_faces``)."""
    with library.session() as s:
        rows = s.execute(select(Face.id, Face.person_id, Face.source, Face.confidence,
                                Face.descriptor)
                         .join(Photo, Photo.id == Face.photo_id)
                         .where(Face.removed.is_(False), Face.unsure.is_(False),
                                Photo.status == PhotoStatus.PRESENT)
                         .order_by(Face.id)).all()
    if limit < 1 or not rows:
        return []
    out: list[tuple[int, float | None]] = []
    out += [(int(r[0]), None) for r in rows if r[1] is None and r[2] == "auto"][:limit]
    if len(out) >= limit:
        return out
    # Counted again against the library as it is: the faces the grouping was not sure of
    # (fewer than all near faces in their person when it placed them), and those of people the
    # user changed since (faces placed in them or sent away from them: their near faces may
    # have moved), least sure first, at most RECOUNT.
    touched = touched_people(library)
    doubtful = sorted((r for r in rows if r[1] is not None and r[2] == "auto"
                       and (r[3] is None or r[3] < 1.0 or r[1] in touched)),
                      key=lambda r: (r[3] if r[3] is not None else 0.0, r[0]))
    doubtful = doubtful[:max(RECOUNT, 2 * limit)]
    persons = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
    vectors = descriptors_of([r[4] for r in rows])
    row_of = {int(r[0]): k for k, r in enumerate(rows)}
    sure: dict[int, float] = {}
    if doubtful:
        shares = unsure_shares(vectors, persons, [row_of[int(r[0])] for r in doubtful])
        sure = {int(r[0]): share for r, share in zip(doubtful, shares)}
    if SILHOUETTE:
        auto = [k for k, r in enumerate(rows) if r[1] is not None and r[2] == "auto"]
        for k, s_k in zip(auto, face_silhouettes(vectors, persons, auto)):
            fid = int(rows[k][0])
            sure[fid] = min(sure.get(fid, 1.0), (1.0 + s_k) / 2.0)
    # "Are these one person?" answered yes covers the faces it showed while they stay there.
    said = confirmed_faces(library) if sure else set()
    person_of = {int(r[0]): int(r[1]) for r in rows if r[1] is not None}
    sure = {fid: share for fid, share in sure.items() if (fid, person_of[fid]) not in said}
    ranked = sorted((share, fid) for fid, share in sure.items() if share < 1.0)
    return out + [(fid, round(share, 4)) for share, fid in ranked[:limit - len(out)]]


def face_silhouettes(vectors: np.ndarray, persons: np.ndarray, rows: list[int],
                     block: int = 2048) -> list[float]:
    """For each row (a face in a person, ``persons`` -1 for none), its simplified silhouette
    (Rousseeuw 1987 with mean faces, as in Hruschka et al. 2004): ``(b - a) / max(a, b)``, ``a``
    its distance to the mean of its person's other faces, ``b`` to the nearest mean face of
    another person; towards 1 for a face well inside its person, below 0 for one nearer another
    person than its own. 1 (nothing to doubt) for a face alone in its person or when there is
    no other person. Costs one distance per face and person (in blocks of rows)."""
    out = [1.0] * len(rows)
    people, inverse = np.unique(persons, return_inverse=True)
    placed = people >= 0
    if placed.sum() < 2 or not rows:
        return out
    counts = np.bincount(inverse, minlength=len(people)).astype(np.float64)
    sums = np.zeros((len(people), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, vectors.astype(np.float64))
    means = (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)
    means_sq = (means * means).sum(axis=1)
    for start in range(0, len(rows), block):
        part = np.asarray(rows[start:start + block], dtype=np.int64)
        x = vectors[part].astype(np.float32)
        # The squared distance less |x|^2 (the same for every mean of a row): the nearest mean.
        d = means_sq[None, :] - 2.0 * (x @ means.T)
        d[:, ~placed] = np.inf
        own = inverse[part]
        d[np.arange(len(part)), own] = np.inf
        b = np.sqrt(np.maximum(d.min(axis=1).astype(np.float64)
                               + (x.astype(np.float64) ** 2).sum(1), 0.0))
        n_own = counts[own]
        # The mean of the other faces of its person: (sum - x) / (n - 1); its distance to x is
        # |sum - n x| / (n - 1).
        a = (np.linalg.norm(sums[own] - n_own[:, None] * x.astype(np.float64), axis=1)
             / np.maximum(n_own - 1.0, 1.0))
        valid = (n_own >= 2) & np.isfinite(b)
        s = np.ones(len(part))
        s[valid] = (b[valid] - a[valid]) / np.maximum(np.maximum(a[valid], b[valid]), 1e-9)
        out[start:start + len(part)] = s.tolist()
    return out


def touched_people(library: Library) -> set[int]:
    """People the user changed: with a face the user placed, or a face sent away from them."""
    with library.session() as s:
        placed = s.scalars(select(Face.person_id).where(Face.source == "user",
                                                        Face.person_id.is_not(None)).distinct())
        away = s.scalars(select(FaceCannotLink.person_id).distinct())
        return {int(p) for p in (*placed, *away) if p is not None}


def unsure_shares(vectors: np.ndarray, persons: np.ndarray, rows: list[int],
                  block: int = 256) -> list[float]:
    """For each row, the share of its near faces (at most ``VOTERS`` other faces nearer than
    the grouping's threshold, nearest first) that are in its person; 0 when none is near."""
    out: list[float] = []
    sq = (vectors * vectors).sum(1)
    for start in range(0, len(rows), block):
        part = np.asarray(rows[start:start + block], dtype=np.int64)
        d = np.sqrt(sq_distances(vectors[part], vectors, sq, sq[part]))
        d[np.arange(len(part)), part] = np.inf  # not itself
        for k, row in enumerate(part.tolist()):
            near = np.flatnonzero(d[k] < THRESHOLD)
            near = near[np.argsort(d[k][near], kind="stable")][:VOTERS]
            out.append(float((persons[near] == persons[row]).mean()) if len(near) else 0.0)
    return out


def refused_pairs(library: Library) -> set[tuple[int, int]]:
    """Pairs of people (both orders) the user said are not the same person (a face of one linked
    away from the other by ``people_not_same``): not asked "Are these the same person?" again."""
    with library.session() as s:
        rows = s.execute(select(Face.person_id, FaceCannotLink.person_id)
                         .join(FaceCannotLink, FaceCannotLink.face_id == Face.id)
                         .join(EditEvent, EditEvent.id == FaceCannotLink.event_id)
                         .where(Face.person_id.is_not(None),
                                EditEvent.kind == "not_same_person")).all()
    out: set[tuple[int, int]] = set()
    for a, b in rows:
        if a is not None:
            out.update({(int(a), int(b)), (int(b), int(a))})
    return out


SAME_PERSON, IS_THIS, WHO, ONE_PERSON = "same_person", "is_this", "who", "one_person"
#: Faces shown per person in a "same person?" question.
FACES_PER_SIDE = 6


@dataclass(frozen=True)
class PeopleQuestion:
    """A question about people, with what to show: ``same_person`` (``person_id`` and
    ``other_person_id``, a few faces of each in ``face_ids``/``other_face_ids``), ``is_this``
    (is ``face_id`` ``person_id``?), ``who`` (``face_id`` is in no person) or ``one_person``
    (are the faces of ``person_id`` one person? a few of each part in
    ``face_ids``/``other_face_ids``; every face a "no" splits off in ``split_face_ids``)."""

    kind: str
    rank: int
    person_id: int | None
    person_name: str = ""
    other_person_id: int | None = None
    other_person_name: str = ""
    face_id: int | None = None
    photo_id: int | None = None
    path: str = ""
    box: tuple[int, int, int, int] | None = None
    confidence: float | None = None
    distance: float | None = None
    face_ids: tuple[int, ...] = ()
    other_face_ids: tuple[int, ...] = ()
    #: How many faces the answer is expected to fix (see the module docstring).
    expected: float = 0.0
    #: ``one_person``: the faces a "no" makes a person of their own (all of the second part).
    split_face_ids: tuple[int, ...] = ()
    #: ``one_person``: how many faces each part has.
    part_sizes: tuple[int, int] = (0, 0)

    @property
    def text(self) -> str:
        from photoclust.core.faces.read import display_name

        if self.kind == SAME_PERSON:
            assert self.person_id is not None and self.other_person_id is not None
            return (f"Are {display_name(self.person_id, self.person_name)} and "
                    f"{display_name(self.other_person_id, self.other_person_name)} the same "
                    "person?")
        if self.kind == ONE_PERSON:
            assert self.person_id is not None
            return (f"Are these faces of {display_name(self.person_id, self.person_name)} one "
                    "person?")
        if self.kind == IS_THIS:
            assert self.person_id is not None
            # No "x % sure": how sure ranks the faces (the near faces' share, the silhouette);
            # it is not a probability, and right faces of two sisters read 60 % (#27: no number
            # where none is honest).
            return f"Is this {display_name(self.person_id, self.person_name)}?"
        return "Who is this?"

    def to_json(self) -> dict:
        return {"rank": self.rank, "kind": self.kind, "question": self.text,
                "person_id": self.person_id, "person_name": self.person_name,
                "other_person_id": self.other_person_id,
                "other_person_name": self.other_person_name, "face_id": self.face_id,
                "photo_id": self.photo_id, "path": self.path,
                "box": list(self.box) if self.box is not None else None,
                "confidence": self.confidence, "distance": self.distance,
                "face_ids": list(self.face_ids), "other_face_ids": list(self.other_face_ids),
                "expected_fix": self.expected, "split_face_ids": list(self.split_face_ids),
                "part_sizes": list(self.part_sizes)}


def people_questions(library: Library, limit: int = 20) -> list[PeopleQuestion]:
    """The people questions in the order to ask, most expected fixes first (ties: "the same
    person?" first, then "Are these one person?", "Who is this?", "Is this <person>?"): "Are
    these the same person?" for the pairs of ``same_person_candidates`` (each person in one
    pair), "Are these one person?" for the people of ``split_candidates`` (each person in one
    of these two kinds of question, the one expected to fix most), "Who is this?" and
    "Is this <person>?" for the faces of ``faces_with_doubt``; at most ``limit``."""
    from photoclust.core.faces.read import list_faces

    if limit < 1:
        return []
    data = people_faces(library)
    names: dict[int, str] = {}
    if data.person_ids:
        with library.session() as s:
            names = {int(p): n for p, n in s.execute(select(Person.id, Person.name))}
    # "The same person?" and "one person?" each change the people they are about: each person
    # is in one of them, the one expected to fix most (a pair asked first would otherwise keep
    # a person's split from being asked at all).
    about: list[PeopleQuestion] = []
    for a, b, dist, _share, expected in same_person_candidates(library, limit=10 * limit,
                                                                data=data):
        about.append(PeopleQuestion(SAME_PERSON, 0, a, names.get(a, ""), b,
                                    names.get(b, ""), distance=dist,
                                    face_ids=tuple(data.face_ids[a][:FACES_PER_SIDE]),
                                    other_face_ids=tuple(data.face_ids[b][:FACES_PER_SIDE]),
                                    expected=expected))
    for c in split_candidates(library, limit=10 * limit, data=data):
        about.append(PeopleQuestion(ONE_PERSON, 0, c.person_id, names.get(c.person_id, ""),
                                    face_ids=c.part[:FACES_PER_SIDE],
                                    other_face_ids=c.other[:FACES_PER_SIDE],
                                    confidence=round(1.0 - c.chance, 4), expected=c.expected,
                                    split_face_ids=c.other,
                                    part_sizes=(len(c.part), len(c.other))))
    about.sort(key=lambda q: (-q.expected, q.kind != SAME_PERSON))  # stable
    out: list[PeopleQuestion] = []
    asked: set[int] = set()
    for q in about:
        people = {p for p in (q.person_id, q.other_person_id) if p is not None}
        if len(out) >= limit:
            break
        if people & asked:
            continue
        asked |= people
        out.append(q)
    doubt = faces_with_doubt(library, limit=limit)
    if doubt:
        wanted = {fid for fid, _share in doubt}
        rows = {f.id: f for f in list_faces(library) if f.id in wanted}
        for fid, share in doubt:
            f = rows.get(fid)
            if f is None:
                continue
            kind = WHO if f.person_id is None else IS_THIS
            out.append(PeopleQuestion(kind, 0, f.person_id, f.person_name or "",
                                      face_id=f.id, photo_id=f.photo_id, path=f.path, box=f.box,
                                      confidence=f.confidence if share is None else share,
                                      expected=1.0 if share is None else round(1.0 - share, 4)))
    order = {SAME_PERSON: 0, ONE_PERSON: 1, WHO: 2, IS_THIS: 3}
    out.sort(key=lambda q: (-q.expected, order[q.kind]))  # stable: each kind keeps its order
    return [replace(q, rank=k) for k, q in enumerate(out[:limit], 1)]


def answer_people_question(library: Library, q: PeopleQuestion, answer: str,
                           person_id: int | None = None, name: str = ""):
    """One answer as one edit (``EditResult``; ``None`` for ``skip``). ``yes``: the pair is
    merged (into ``person_id``), the face confirmed in its person (placed by you). ``no``: the
    pair is remembered as two people (``people_not_same``), the face leaves the person for good
    (``faces_not_this_person``). ``elsewhere`` with ``person_id`` (``None``: a new person): the
    face goes there (a new person is named ``name`` when given). A "who" question takes
    ``elsewhere`` (or ``yes``: a new person). "Are these one person?": ``yes`` is remembered
    (``confirm_person``: not asked again), ``no`` makes the second part shown a person of its own
    (``split_person`` with its faces)."""
    from photoclust.core.faces import editing

    if answer == "skip":
        return None
    if q.kind == SAME_PERSON:
        assert q.person_id is not None and q.other_person_id is not None
        if answer == "yes":
            return editing.merge_people(library, q.person_id, [q.other_person_id])
        if answer == "no":
            return editing.people_not_same(library, q.person_id, q.other_person_id)
        raise editing.EditError("answer yes or no to “are these the same person?”")
    if q.kind == ONE_PERSON:
        assert q.person_id is not None
        if answer == "yes":
            return editing.confirm_person(library, q.person_id)
        if answer == "no":
            return editing.split_person(library, q.person_id, q.split_face_ids)
        raise editing.EditError("answer yes or no to “are these one person?”")
    assert q.face_id is not None
    if answer == "elsewhere" or (q.kind == WHO and answer == "yes"):
        return editing.move_faces(library, [q.face_id], person_id,
                                  name=name if person_id is None else "")
    if q.kind == IS_THIS and answer == "yes":
        return editing.move_faces(library, [q.face_id], q.person_id)
    if q.kind == IS_THIS and answer == "no":
        return editing.faces_not_this_person(library, [q.face_id], q.person_id)
    if q.kind == WHO and answer == "no":
        raise editing.EditError("say who it is (or remove the face if it is not one)")
    raise ValueError(f"unknown answer {answer!r}")
