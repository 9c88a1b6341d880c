"""Grouping faces into people (descriptors written directly, no detector): Chinese whispers on
new faces, incremental joins, unsure faces kept apart, people never merged automatically."""
from __future__ import annotations

import numpy as np
import pytest

from _face_fixtures import add_faces, centres, near, person_of, step_from
from photoclust.core.faces import read
from photoclust.core.faces.editing import faces_not_this_person, move_faces, name_person
from photoclust.core.faces.grouping import chinese_whispers, group_faces, near_pairs


def test_chinese_whispers_finds_the_components_of_a_clear_graph():
    # Two triangles and a lone node.
    i = np.array([0, 1, 0, 3, 4, 3])
    j = np.array([1, 2, 2, 4, 5, 5])
    labels = chinese_whispers(7, i, j)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert len({labels[0], labels[3], labels[6]}) == 3


def test_near_pairs_gives_each_pair_once_and_only_those_nearer_than_the_threshold():
    a = np.array([[0, 0], [0.3, 0], [2, 0]], dtype=np.float32)
    i, j, d = near_pairs(a, None, 0.5)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 1)]
    assert np.allclose(d, [0.3])


def test_new_faces_become_people_and_a_face_alone_waits(library):
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    bob = add_faces(library, near(c[1], 4, seed=2))
    lone = add_faces(library, c[2:3])
    result = group_faces(library)
    assert (result.new_people, result.in_new_people, result.alone) == (2, 9, 1)
    assert len(set(person_of(library, anna))) == 1 and len(set(person_of(library, bob))) == 1
    assert person_of(library, anna)[0] != person_of(library, bob)[0]
    assert person_of(library, lone) == [None]
    people = read.list_people(library)
    assert sorted(p.faces for p in people) == [4, 5]
    # Every person has one of its own faces as cover.
    for p in people:
        assert p.cover_face_id in {f.id for f in read.list_faces(library, person_id=p.id)}


def test_new_faces_join_the_person_they_match_and_unmatched_ones_found_a_new_person(library):
    c = centres(3)
    anna = add_faces(library, near(c[0], 5, seed=1))
    group_faces(library)
    (anna_id,) = set(person_of(library, anna))
    more_anna = add_faces(library, near(c[0], 3, seed=5))
    carl = add_faces(library, near(c[2], 2, seed=6))
    result = group_faces(library)
    assert result.joined == 3 and result.new_people == 1
    assert set(person_of(library, more_anna)) == {anna_id}
    (carl_id,) = set(person_of(library, carl))
    assert carl_id != anna_id


def test_unsure_faces_are_never_grouped(library):
    c = centres(1)
    add_faces(library, near(c[0], 4, seed=1))
    blurry = add_faces(library, near(c[0], 3, seed=2), unsure=True)
    group_faces(library)
    assert person_of(library, blurry) == [None, None, None]
    assert {f.id for f in read.list_faces(library, unnamed=True) if f.unsure} == set(blurry)


def test_named_people_are_never_merged_even_when_their_faces_are_alike(library):
    c = centres(1)
    first = add_faces(library, near(c[0], 3, seed=1))
    group_faces(library)
    (anna,) = set(person_of(library, first))
    name_person(library, anna, "Anna")
    # The user put a lookalike (a sibling) in a person of her own and named her.
    second = add_faces(library, near(c[0], 3, seed=2))
    anne = move_faces(library, second, None, name="Anne").to_json()
    (anne_id,) = set(person_of(library, second))
    assert anne["kind"] == "move_faces" and anne_id != anna
    new = add_faces(library, near(c[0], 4, seed=3))
    group_faces(library)
    assert {p.name for p in read.list_people(library)} == {"Anna", "Anne"}
    assert set(person_of(library, new)) <= {anna, anne_id}
    assert set(person_of(library, first)) == {anna}
    assert set(person_of(library, second)) == {anne_id}


def test_a_face_the_user_said_is_not_a_person_never_returns_to_it(library):
    c = centres(1)
    faces = add_faces(library, near(c[0], 5, seed=1))
    group_faces(library)
    (pid,) = set(person_of(library, faces))
    faces_not_this_person(library, [faces[0]])
    for _ in range(2):
        group_faces(library)
        assert person_of(library, [faces[0]]) != [pid]


@pytest.mark.parametrize("with_dlib", [True, False])
def test_weighted_chinese_whispers_follows_the_near_faces_not_the_many(monkeypatch, with_dlib):
    import sys

    from photoclust.core.faces.grouping import edge_weights

    if not with_dlib:
        monkeypatch.setitem(sys.modules, "dlib", None)  # the label propagation written here
    # A = {0, 1, 2} and B = {3, 4, 5, 6} are tight; face 7 is very near two faces of A and just
    # under the threshold from three of B.
    pairs = [(0, 1, .1), (0, 2, .1), (1, 2, .1), (3, 4, .1), (3, 5, .1), (3, 6, .1), (4, 5, .1),
             (4, 6, .1), (5, 6, .1), (7, 0, .05), (7, 1, .05), (7, 3, .48), (7, 4, .48),
             (7, 5, .48)]
    i, j, d = (np.array(c) for c in zip(*pairs))
    plain = chinese_whispers(8, i, j)
    weighted = chinese_whispers(8, i, j, weights=edge_weights(d))
    assert len(set(weighted[:3])) == 1 and len(set(weighted[3:7])) == 1
    assert weighted[0] != weighted[3] and weighted[7] == weighted[0]
    if not with_dlib:  # deterministic here: the three far votes outnumber the two near ones
        assert plain[7] == plain[3]


def test_shared_neighbours_counts_the_near_faces_two_faces_have_in_common():
    from photoclust.core.faces.grouping import shared_neighbour_weights

    # A path 0-1-2 and a star 3-(4, 5, 6); with k=2 face 3 keeps its two nearest (4 and 5).
    i = np.array([0, 1, 3, 3, 3])
    j = np.array([1, 2, 4, 5, 6])
    d = np.array([0.1, 0.2, 0.1, 0.2, 0.3])
    share = shared_neighbour_weights(7, i, j, d, k=2)
    # {0, 1} & {1, 0, 2}: 2 of at most 2; {1, 0, 2} & {2, 1}: 2 of 2; {3, 4, 5} & {4, 3}: 2 of
    # 2; {3, 4, 5} & {5, 3}: 2 of 2; {3, 4, 5} & {6, 3}: 1 of 2 (face 6 is not among 3's two).
    assert np.allclose(share, [1, 1, 1, 1, 0.5])
    assert len(shared_neighbour_weights(3, i[:0], j[:0], d[:0])) == 0


def _two_lookalikes(n: int, apart: float = 0.45):
    """Two tight groups of ``n`` faces whose centres are ``apart``: every face of one nearer
    than the grouping's 0.5 to every face of the other."""
    c = centres(1, seed=3)[0]
    rng = np.random.default_rng(11)
    step = step_from(c, apart, rng)
    return near(c, n, seed=1, spread=0.05), near(c + step, n, seed=2, spread=0.05)


@pytest.mark.parametrize("with_dlib", [True, False])
def test_two_lookalikes_with_many_photos_each_become_two_people(library, monkeypatch, with_dlib):
    # Every face of Anna is under 0.5 from every face of Bea (plain Chinese whispers on that
    # complete graph makes one person), but each face's ten nearest are of its own person: the
    # edges between them share no near face and are left out.
    import sys

    if not with_dlib:
        monkeypatch.setitem(sys.modules, "dlib", None)
    a, b = _two_lookalikes(12)
    i, j, _d = near_pairs(np.vstack([a, b]), None, 0.5)
    assert len(i) == 24 * 23 // 2  # every pair is "near"
    anna, bea = add_faces(library, a), add_faces(library, b)
    result = group_faces(library)
    assert result.new_people == 2 and result.alone == 0
    assert len(set(person_of(library, anna))) == 1 and len(set(person_of(library, bea))) == 1
    assert person_of(library, anna)[0] != person_of(library, bea)[0]


def test_the_edges_of_a_person_whose_few_faces_form_a_chain_are_all_kept():
    # Five faces each 0.45 from the next and farther than 0.5 from the others (five photos of
    # one person, each a little different): each edge's two faces share their near faces, so
    # Chinese whispers sees the same graph as without shared neighbours (weighting the edges
    # by the share instead cut such a person in two: tests/cli/test_people_cli.py).
    from photoclust.core.faces.grouping import SHARED_MIN, shared_neighbour_weights

    c = centres(1, seed=4)[0]
    q, _r = np.linalg.qr(np.vstack([c, np.random.default_rng(5).standard_normal((4, 128))]).T)
    points = [c]
    for k in range(4):
        points.append(points[-1] + 0.45 * q[:, k + 1])
    chain = np.array(points, dtype=np.float32)
    i, j, d = near_pairs(chain, None, 0.5)
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert (shared_neighbour_weights(5, i, j, d) >= SHARED_MIN).all()


def test_two_faces_of_one_photo_never_become_one_person(library):
    # A photo showing two faces alike (twins side by side), and Anna's faces in photos of their
    # own: the grouping puts at most one face of the photo with Anna, and never the two together.
    from _edit_fixtures import add_photos

    c = centres(2)
    (twins,) = add_photos(library, 1, prefix="/people/twins")
    pair = add_faces(library, near(c[1], 2, seed=3, spread=0.05), photo_ids=[twins, twins])
    group_faces(library)
    assert person_of(library, pair) == [None, None]  # not a person of two faces of one photo
    anna = add_faces(library, near(c[0], 5, seed=1))
    group_faces(library)
    (anna_id,) = set(person_of(library, anna))
    both = add_faces(library, near(c[0], 2, seed=4, spread=0.05), photo_ids=[twins, twins])
    result = group_faces(library)
    placed = person_of(library, both)
    assert placed.count(anna_id) == 1 and result.joined == 1
    # The user may still put both in one person (a mirror): the grouping leaves them there.
    move_faces(library, both, anna_id)
    group_faces(library)
    assert person_of(library, both) == [anna_id, anna_id]


def test_one_face_per_photo_keeps_the_best_supported_face_of_each_photo():
    from photoclust.core.faces.grouping import one_face_per_photo

    labels = np.array([0, 0, 0, 1, 1])
    photos = np.array([7, 7, 8, 7, 9])
    out = one_face_per_photo(labels, photos, np.array([1, 3, 2, 1, 1]))
    assert out[1] == out[2] == 0 and out[0] not in (0, 1) and out[3] == out[4] == 1



def _apart(centre: np.ndarray, distance: float, seed: int) -> np.ndarray:
    """A descriptor ``distance`` from ``centre``, in a direction of its own."""
    return (centre + step_from(centre, distance, np.random.default_rng(seed)))[None, :]


def test_a_face_a_little_apart_joins_the_person_holding_most_of_its_nearest_faces(library):
    # Anna's 11 faces lie together; a face of hers 0.55 from them (over the grouping's 0.5,
    # under dlib's 0.6), all its nearest faces hers, joins her; one 0.7 apart stays alone, and
    # so do one the user said is not Anna and one of a photo that already shows Anna.
    from _edit_fixtures import add_photos
    from photoclust.core.faces.grouping import THRESHOLD
    from photoclust.core.library.models import FaceCannotLink

    c = centres(1)[0]
    (photo,) = add_photos(library, 1, prefix="/people/both")
    anna = add_faces(library, near(c, 10, seed=1, spread=0.05))
    anna += add_faces(library, near(c, 1, seed=5, spread=0.05), photo_ids=[photo])
    group_faces(library)
    (anna_id,) = set(person_of(library, anna))
    close, far, refused = add_faces(library, np.concatenate(
        [_apart(c, 0.55, seed=2), _apart(c, 0.7, seed=3), _apart(c, 0.55, seed=4)]))
    (same_photo,) = add_faces(library, _apart(c, 0.55, seed=6), photo_ids=[photo])
    with library.session() as s:
        s.add(FaceCannotLink(face_id=refused, person_id=anna_id))
    anna_vectors = np.concatenate([near(c, 10, seed=1, spread=0.05),
                                   near(c, 1, seed=5, spread=0.05)])
    for seed in (2, 4, 6):
        assert np.linalg.norm(anna_vectors - _apart(c, 0.55, seed), axis=1).min() > THRESHOLD
    result = group_faces(library)
    assert person_of(library, [close, far, refused, same_photo]) == [anna_id, None, None, None]
    assert result.joined == 1 and result.alone == 3
    assert sorted(person_of(library, anna)) == [anna_id] * 11


def test_a_face_apart_waits_when_no_person_holds_most_of_its_nearest_faces(library):
    # Anna's 3 faces and Bob's 3 faces, each 0.55 from a face between them: neither holds more
    # than half of its nearest faces, so it waits.
    c = centres(2)
    middle = ((c[0] + c[1]) / 2).astype(np.float32)
    towards = (c[1] - c[0]) / np.linalg.norm(c[1] - c[0])
    anna = add_faces(library, near(middle - 0.55 * towards, 3, seed=1, spread=0.05))
    bob = add_faces(library, near(middle + 0.55 * towards, 3, seed=2, spread=0.05))
    (between,) = add_faces(library, middle[None, :])
    result = group_faces(library)
    assert result.new_people == 2 and len(set(person_of(library, anna + bob))) == 2
    assert person_of(library, [between]) == [None] and result.alone == 1


def test_two_groups_with_edges_from_most_of_their_faces_to_each_other_become_one():
    from photoclust.core.faces.grouping import merge_split_groups

    # Groups 0 and 1 (3 faces each): every face of each has an edge to the other: one group.
    # Groups 2 and 3: one face of 2 only has edges to 3 (a lookalike): kept apart. Group 4,
    # one face, with an edge to 3: not merged here (a face alone joins later, step 1).
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4])
    i = np.array([0, 1, 0, 3, 4, 3, 0, 1, 2, 6, 7, 6, 9, 10, 9, 6, 6, 12])
    j = np.array([1, 2, 2, 4, 5, 5, 3, 4, 5, 7, 8, 8, 10, 11, 11, 9, 10, 11])
    out = merge_split_groups(labels, i, j, 0.5)
    assert out[0] == out[3] and len(set(out[:6].tolist())) == 1
    assert len({out[6], out[9], out[12], out[0]}) == 4


def test_chinese_whispers_stopping_with_one_person_in_two_groups_makes_one_person(
        library, monkeypatch):
    # Chinese whispers may stop with a person in two groups whose faces are near each other
    # (a local optimum); the grouping makes them one person.
    from photoclust.core.faces import grouping

    c = centres(1)[0]
    faces = add_faces(library, near(c, 8, seed=1, spread=0.1))

    def split(n, i, j, **kwargs):
        return np.arange(n) % 2  # every other face: two groups, each near all of the other

    monkeypatch.setattr(grouping, "chinese_whispers", split)
    group_faces(library)
    assert len(set(person_of(library, faces))) == 1
    monkeypatch.setattr(grouping, "MERGE_SHARE", None)
    monkeypatch.setattr(grouping, "MERGE_NEAR", None)
    more = add_faces(library, near(centres(2, seed=3)[1], 8, seed=2, spread=0.1))
    group_faces(library)
    assert len(set(person_of(library, more))) == 2  # without the rules: two people


def _two_looks(centre: np.ndarray, across: float, seed: int, apart: float = 0.0, n: int = 0,
               ends: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Two groups of faces side by side ``across`` apart (each face's twin in the other group
    is its nearest face there): ``n`` faces each ``apart`` from the next, or 4 faces within 0.02
    of the centre and two at ``ends`` on either side of them."""
    rng = np.random.default_rng(seed)
    u, w = np.linalg.qr(rng.standard_normal((128, 2)))[0].T
    if n:
        first = np.stack([centre + apart * k * u for k in range(n)])
    else:
        first = np.concatenate([near(centre, 4, seed=seed, spread=0.02),
                                np.stack([centre - ends * u, centre + ends * u])])
    return first.astype(np.float32), (first + across * w).astype(np.float32)


def test_two_groups_whose_faces_are_each_others_nearest_within_their_spread_become_one(
        library, monkeypatch):
    # One person in two looks: two groups (4 faces close together and two 0.3 on either side)
    # side by side 0.52 apart, so no edge under 0.5 joins them and Chinese whispers makes two
    # groups; each face's twin in the other is among its nearest faces (and it among the
    # twin's), nearer than the ends of either group (0.6 apart), and their faces are 0.57
    # apart on average: one person. Two tight groups of lookalikes (faces 0.2 apart, each 0.52
    # from its twin) are near faces of each other too, but further apart than the faces within
    # either; two groups like the first, their ends 0.35 on either side, 0.58 apart, are
    # within each other's spread, but their faces 0.64 apart on average (dlib's "one person"
    # is under 0.6): two people.
    from photoclust.core.faces import grouping

    c = centres(3, seed=4)
    one_a, one_b = _two_looks(c[0], 0.52, seed=1, ends=0.3)
    look_a, look_b = _two_looks(c[1], 0.52, seed=2, apart=0.2, n=2)
    far_a, far_b = _two_looks(c[2], 0.58, seed=3, ends=0.35)
    assert np.linalg.norm(one_a[:, None] - one_b[None], axis=2).min() > grouping.THRESHOLD
    assert np.linalg.norm(one_a[:, None] - one_b[None], axis=2).mean() < 0.6
    assert np.linalg.norm(far_a[:, None] - far_b[None], axis=2).mean() > 0.6
    one = add_faces(library, np.concatenate([one_a, one_b]))
    looks = add_faces(library, np.concatenate([look_a, look_b]))
    far = add_faces(library, np.concatenate([far_a, far_b]))
    group_faces(library)
    assert len(set(person_of(library, one))) == 1
    for two in (looks, far):
        half = len(two) // 2
        assert len(set(person_of(library, two[:half]))) == 1
        assert len(set(person_of(library, two[half:]))) == 1
        assert person_of(library, two[:1]) != person_of(library, two[half:half + 1])
    # Without the rule the first person stays in two.
    monkeypatch.setattr(grouping, "MERGE_NEAR", None)
    again = add_faces(library, np.concatenate(_two_looks(centres(4, seed=5)[3], 0.52, seed=6,
                                                         ends=0.3)))
    group_faces(library)
    assert len(set(person_of(library, again))) == 2


def test_a_face_alone_joins_once_a_face_near_it_has_joined_the_person(library):
    # Anna's 6 faces; x 0.55 from five of them and y 0.52 from x, 0.76 from Anna's faces. x
    # joins Anna (most of its nearest faces are hers, the nearest under 0.6); y's nearest faces
    # are Anna's too, but none under 0.6 until x is hers: y joins in the next round (with one
    # round, every face voting with the people as they were, y waited alone).
    c = centres(2, seed=6)
    rng = np.random.default_rng(8)
    u, w = np.linalg.qr(rng.standard_normal((128, 2)))[0].T
    anna_vectors = np.concatenate([near(c[0], 5, seed=1, spread=0.02), (c[0] - 0.3 * u)[None]])
    anna = add_faces(library, anna_vectors)
    bob = add_faces(library, near(c[1], 4, seed=2, spread=0.05))
    x, y = add_faces(library, np.stack([c[0] + 0.55 * u, c[0] + 0.55 * u + 0.52 * w]))
    group_faces(library)
    (anna_id,) = set(person_of(library, anna))
    assert anna_id not in person_of(library, bob)
    assert person_of(library, [x, y]) == [anna_id, anna_id]


def _mixed_then_more(library, first: int = 2, more: int = 12):
    """Anna and Bea, two lookalikes (``_two_lookalikes``): ``first`` faces of each arrive and
    are grouped (one person: with so few faces each, their near faces are each other's), then
    ``more`` of each arrive. Returns (anna's faces, bea's faces, the mixed person)."""
    a, b = _two_lookalikes(first + more)
    anna, bea = add_faces(library, a[:first]), add_faces(library, b[:first])
    group_faces(library)
    (mixed,) = set(person_of(library, anna + bea))
    return anna, bea, mixed, a[first:], b[first:]


@pytest.mark.parametrize("regroup", [True, False])
def test_two_people_mixed_in_an_early_batch_are_separated_once_more_faces_arrive(
        library, monkeypatch, regroup):
    from photoclust.core.faces import grouping

    monkeypatch.setattr(grouping, "REGROUP", regroup)
    anna, bea, mixed, a, b = _mixed_then_more(library)
    anna += add_faces(library, a)
    bea += add_faces(library, b)
    group_faces(library)
    if not regroup:  # the batch joins the person of the first faces: still one
        assert set(person_of(library, anna + bea)) == {mixed}
        return
    (anna_id,), (bea_id,) = set(person_of(library, anna)), set(person_of(library, bea))
    assert anna_id != bea_id and mixed in {anna_id, bea_id}  # one of them keeps the id
    people = read.list_people(library)
    assert sorted(p.faces for p in people) == [14, 14]
    for p in people:  # each has one of its own faces as cover
        assert p.cover_face_id in {f.id for f in read.list_faces(library, person_id=p.id)}
    # Grouped again with nothing new: nothing moves.
    group_faces(library)
    assert set(person_of(library, anna)) == {anna_id} and set(person_of(library, bea)) == {bea_id}


def test_a_named_person_is_never_grouped_again(library):
    anna, bea, mixed, a, b = _mixed_then_more(library)
    name_person(library, mixed, "Anna")
    more = add_faces(library, a) + add_faces(library, b)
    group_faces(library)
    # The named person keeps its faces (it is the user's to split); the new faces join it.
    assert set(person_of(library, anna + bea)) == {mixed}
    assert set(person_of(library, more)) == {mixed}
    assert [p.name for p in read.list_people(library)] == ["Anna"]


def test_a_person_holding_a_face_the_user_placed_is_never_grouped_again(library):
    anna, bea, mixed, a, b = _mixed_then_more(library)
    (extra,) = add_faces(library, a[:1])
    move_faces(library, [extra], mixed)  # the user put this face there
    more = add_faces(library, a[1:]) + add_faces(library, b)
    group_faces(library)
    assert set(person_of(library, anna + bea + [extra])) == {mixed}
    assert set(person_of(library, more)) == {mixed}


def test_a_person_a_face_is_said_not_to_be_is_never_grouped_again(library):
    # The user said one of the mixed person's faces is not them: the person is left as it is
    # (a face the user took out never returns to it), the new faces join it.
    anna, bea, mixed, a, b = _mixed_then_more(library)
    faces_not_this_person(library, [anna[0]])
    more = add_faces(library, a) + add_faces(library, b)
    group_faces(library)
    assert person_of(library, [anna[0]]) != [mixed]
    assert set(person_of(library, anna[1:] + bea + more)) == {mixed}


def test_a_person_the_user_confirmed_is_never_grouped_again(library):
    from photoclust.core.faces.editing import confirm_person

    anna, bea, mixed, a, b = _mixed_then_more(library)
    confirm_person(library, mixed)  # "Are these one person?" yes
    more = add_faces(library, a) + add_faces(library, b)
    group_faces(library)
    assert set(person_of(library, anna + bea + more)) == {mixed}


def _with_a_small_group(centre: np.ndarray, seed: int, away: float = 0.53
                        ) -> tuple[np.ndarray, np.ndarray]:
    """8 faces within 0.05 of ``centre`` and 2 faces 0.08 apart, ``away`` from ``centre``."""
    rng = np.random.default_rng(seed)
    u = step_from(centre, 1.0, rng)
    w = step_from(centre, 1.0, rng)
    w = w - (w @ u) * u
    w = w / np.linalg.norm(w)
    large = near(centre, 8, seed=seed + 100, spread=0.05)
    small = np.stack([centre + away * u + 0.04 * w, centre + away * u - 0.04 * w])
    return large, small.astype(np.float32)


def test_a_small_group_whose_faces_are_nearest_a_larger_one_joins_it(library, monkeypatch):
    # One person as 8 faces close together and 2 faces a little apart (0.53 from them: no edge
    # under 0.5, and the 8 are nearer each other than the 2, so no merge of near faces): each
    # of the 2 has its nearest face beyond its group in the 8, and their faces are under 0.6
    # apart on average: one person. The same with a face of the 2 in a photo of one of the 8:
    # two people (never two faces of one photo in one person).
    from _edit_fixtures import add_photos
    from photoclust.core.faces import grouping

    c = centres(3, seed=7)
    large, small = _with_a_small_group(c[0], seed=1)
    assert np.linalg.norm(large[:, None] - small[None], axis=2).min() > grouping.THRESHOLD
    assert np.linalg.norm(large[:, None] - small[None], axis=2).mean() < 0.6
    one = add_faces(library, np.concatenate([large, small]))
    large2, small2 = _with_a_small_group(c[1], seed=2)
    photos = add_photos(library, 9, prefix="/people/shared")
    two = add_faces(library, np.concatenate([large2, small2]),
                    photo_ids=photos[:8] + [photos[0], photos[8]])
    group_faces(library)
    assert len(set(person_of(library, one))) == 1 and person_of(library, one)[0] is not None
    assert len(set(person_of(library, two[:8]))) == 1
    assert len(set(person_of(library, two))) == 2
    # Without the rule the first person stays in two.
    monkeypatch.setattr(grouping, "JOIN_SMALL", False)
    large3, small3 = _with_a_small_group(c[2], seed=3)
    again = add_faces(library, np.concatenate([large3, small3]))
    group_faces(library)
    assert len(set(person_of(library, again))) == 2
