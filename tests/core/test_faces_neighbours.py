"""Near faces at scale (``faces.neighbours``): the search by cells finds the pairs and nearest
faces the exact search finds, the grouping finds every person through it, and the route is
chosen by size. Made-up descriptors (people whose faces lie within 0.15 of a centre of their
own, like dlib's); results are compared loosely (people found, a share of pairs), not id for id,
so they hold on any CPU."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import event

from _face_fixtures import add_faces, centres, near, person_of
from photoclust.core.faces import grouping, neighbours
from photoclust.core.faces.grouping import group_faces


def made_up_faces(people: int, per_person: int, seed: int = 0, spread: float = 0.15
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors, person of each), people's faces in id order."""
    c = centres(people, seed=seed)
    labels = np.repeat(np.arange(people), per_person)
    faces = np.vstack([near(c[p], per_person, seed=seed * 10_000 + p + 1, spread=spread)
                       for p in range(people)])
    return faces, labels


def keys(i: np.ndarray, j: np.ndarray, n: int) -> set[int]:
    return set((np.asarray(i) * n + np.asarray(j)).tolist())


def test_cells_find_nearly_every_near_pair_with_its_exact_distance():
    faces, _ = made_up_faces(200, 20)  # 4,000 faces, 16 cells
    ei, ej, ed = neighbours.exact_near_pairs(faces, None, 0.5)
    ci, cj, cd = neighbours._cell_pairs(faces, None, 0.5)
    exact, cells = keys(ei, ej, len(faces)), keys(ci, cj, len(faces))
    assert cells <= exact
    assert len(cells) >= 0.999 * len(exact)
    assert (ci < cj).all()
    order = ci * len(faces) + cj
    assert (np.diff(order) > 0).all()  # by i, then j, each pair once, like the exact search
    where = {k: d for k, d in zip((ei * len(faces) + ej).tolist(), ed.tolist())}
    assert np.allclose(cd, [where[k] for k in order.tolist()], atol=1e-5)


def test_cells_find_the_pairs_between_two_sets_of_faces():
    faces, labels = made_up_faces(150, 20, seed=1)
    new, old = faces[::7], np.delete(faces, np.s_[::7], axis=0)
    ei, ej, _ = neighbours.exact_near_pairs(new, old, 0.5)
    ci, cj, _ = neighbours._cell_pairs(new, old, 0.5)
    exact, cells = keys(ei, ej, len(old)), keys(ci, cj, len(old))
    assert cells <= exact and len(cells) >= 0.999 * len(exact)


def test_cells_give_each_face_its_nearest_faces_as_the_exact_search_does():
    faces, labels = made_up_faces(150, 20, seed=2)
    rows = np.arange(0, len(faces), 5)
    ci, cd = neighbours._cell_nearest(faces, rows, 10)
    ei, ed = neighbours.exact_nearest_faces(faces, rows, 10)
    assert ci.shape == ei.shape == (len(rows), 10)
    assert not (ci == rows[:, None]).any()  # never the face itself
    assert (np.diff(cd, axis=1) >= 0).all()  # nearest first
    assert (labels[ci] == labels[rows][:, None]).all()  # each of its person's own faces
    assert np.mean(np.abs(cd - ed) < 1e-5) >= 0.99


def test_a_face_whose_cells_hold_too_few_faces_is_searched_exactly(monkeypatch):
    faces, _ = made_up_faces(40, 3, seed=3)
    monkeypatch.setattr(neighbours, "CELL", 2)
    monkeypatch.setattr(neighbours, "PROBES", 1)
    rows = np.arange(len(faces))
    ci, cd = neighbours._cell_nearest(faces, rows, 10)
    ei, ed = neighbours.exact_nearest_faces(faces, rows, 10)
    assert np.allclose(cd, ed, atol=1e-5)


def test_the_route_is_exact_for_a_few_thousand_faces_and_by_cells_beyond(monkeypatch):
    monkeypatch.delenv("PHOTOCLUST_FACE_NEIGHBOURS", raising=False)
    assert neighbours.route(2_440 ** 2, 2_440) == "exact"
    assert neighbours.route(100_000 ** 2, 100_000) == "cells"
    # 1,000 new faces among 100,000 placed: the exact search costs less than the cells.
    assert neighbours.route(1_000 * 100_000, 101_000) == "exact"
    monkeypatch.setenv("PHOTOCLUST_FACE_NEIGHBOURS", "cells")
    assert neighbours.route(10, 5) == "cells"
    monkeypatch.setenv("PHOTOCLUST_FACE_NEIGHBOURS", "exact")
    assert neighbours.route(100_000 ** 2, 100_000) == "exact"


def test_the_grouping_searches_by_cells_past_the_size_where_exact_stops_being_cheap(monkeypatch):
    monkeypatch.delenv("PHOTOCLUST_FACE_NEIGHBOURS", raising=False)
    monkeypatch.setattr(neighbours, "EXACT_UP_TO", 1_000)
    monkeypatch.setattr(neighbours, "CELL_COST", 10)
    used = []
    real = neighbours._cell_pairs
    monkeypatch.setattr(neighbours, "_cell_pairs", lambda *a: used.append(1) or real(*a))
    faces, _ = made_up_faces(20, 10, seed=4)
    i, j, _d = grouping.near_pairs(faces)
    assert used and len(i) == len(neighbours.exact_near_pairs(faces, None, 0.5)[0])


@pytest.mark.parametrize("route", ["cells", "exact"])
def test_a_first_grouping_of_thousands_of_faces_finds_every_person(library, monkeypatch, route):
    monkeypatch.setattr(neighbours, "ROUTE", route)
    monkeypatch.delenv("PHOTOCLUST_FACE_NEIGHBOURS", raising=False)
    faces, labels = made_up_faces(150, 20, seed=5)  # 3,000 faces, 12 cells
    ids = np.array(add_faces(library, faces))
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE FACES"):
            statements.append(statement)

    event.listen(library.engine, "before_cursor_execute", count)
    try:
        result = group_faces(library)
    finally:
        event.remove(library.engine, "before_cursor_execute", count)
    assert (result.new_people, result.alone) == (150, 0)
    person = np.array(person_of(library, ids.tolist()))
    for p in range(150):
        mine = person[labels == p]
        assert len(set(mine.tolist())) == 1 and (person == mine[0]).sum() == 20
    # The placements are written together, not one statement per face.
    assert len(statements) <= 2


def test_a_cell_of_many_alike_faces_is_compared_in_bounded_blocks_with_the_same_answer(
        monkeypatch):
    faces, _ = made_up_faces(30, 20, seed=6)
    faces = np.vstack([faces, np.repeat(faces[:1], 300, axis=0)])  # one face imported 300 times
    whole = neighbours._cell_pairs(faces, None, 0.5)
    rows = np.arange(0, len(faces), 4)
    nearest = neighbours._cell_nearest(faces, rows, 10)
    monkeypatch.setattr(neighbours, "BLOCK", 500)
    i, j, d = neighbours._cell_pairs(faces, None, 0.5)
    assert np.array_equal(i, whole[0]) and np.array_equal(j, whole[1])
    assert np.allclose(d, whole[2], atol=1e-5)
    blocks = neighbours._cell_nearest(faces, rows, 10)
    assert np.allclose(blocks[1], nearest[1], atol=2e-3)  # float32 rounding near 0
