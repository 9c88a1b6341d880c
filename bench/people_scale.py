"""People at scale: a new batch of faces placed among many grouped ones, and a first grouping.

Synthetic descriptors (no detector): people are random unit vectors in 128 dimensions, their
faces lie within about 0.15 of them (like dlib's descriptors of one person, mostly nearer than
0.5 to each other). ``--faces`` faces in people of 20 are written into a fresh library as already
grouped; then a batch of ``--batch`` new faces (most of known people, some of new ones) is
placed by ``group_faces``, timed; and a first grouping of ``--first`` faces (nobody grouped yet,
Chinese whispers on all of them) is timed in another library, and scored: how many of the
made-up people are found whole (all their faces in one person holding no other face).

    python bench/people_scale.py [--faces 100000] [--batch 1000] [--first 20000]
                                 [--neighbours exact|cells]

``--faces 0`` skips the placement, ``--first 0`` the first grouping; ``--neighbours`` forces how
near faces are found (``faces.neighbours.ROUTE``; by default, by size).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine_info import describe_machine  # noqa: E402
from photoclust.core.faces.grouping import group_faces  # noqa: E402
from photoclust.core.library import open_library  # noqa: E402
from photoclust.core.library.models import Face, Person, Photo  # noqa: E402

PER_PERSON = 20


def fill(library, vectors: np.ndarray, person_of: np.ndarray | None, first_photo: int) -> None:
    """Photo and face rows (one face per photo); ``person_of`` (or none) as already grouped."""
    n = len(vectors)
    with library.session() as s:
        s.execute(insert(Photo), [{"id": first_photo + i, "path": f"/p/{first_photo + i}.jpg",
                                   "content_hash": f"h{first_photo + i}", "file_size": 1,
                                   "mtime_ns": 1, "width": 4000, "height": 3000,
                                   "status": "present"} for i in range(n)])
        if person_of is not None:
            people = sorted(set(person_of.tolist()))
            s.execute(insert(Person), [{"id": p, "name": "", "name_source": "auto",
                                        "active": True} for p in people])
        s.execute(insert(Face), [
            {"photo_id": first_photo + i, "left": 0, "top": 0, "width": 200, "height": 200,
             "descriptor": vectors[i].astype("<f4").tobytes(), "detector_score": 1.0,
             "person_id": None if person_of is None else int(person_of[i]), "source": "auto",
             "confidence": 1.0, "unsure": False, "removed": False} for i in range(n)])


def faces_of(centres: np.ndarray, labels: np.ndarray, rng) -> np.ndarray:
    noise = rng.standard_normal((len(labels), 128))
    noise *= 0.15 / np.linalg.norm(noise, axis=1, keepdims=True)
    return (centres[labels] + noise).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--first", type=int, default=20_000)
    parser.add_argument("--neighbours", choices=["exact", "cells"], default=None,
                        help="force how near faces are found (default: by size)")
    args = parser.parse_args()
    print(describe_machine())
    if args.neighbours:
        from photoclust.core.faces import neighbours
        neighbours.ROUTE = args.neighbours
    rng = np.random.default_rng(0)
    n_people = args.faces // PER_PERSON
    centres = rng.standard_normal((n_people + args.batch, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.faces:
            place_batch(args, Path(tmp), centres, n_people, rng)
        if args.first:
            first_grouping(args, Path(tmp), centres, rng)
    return 0


def place_batch(args, tmp: Path, centres: np.ndarray, n_people: int, rng) -> None:
    library = open_library(tmp / "big.sqlite")
    labels = np.repeat(np.arange(n_people), PER_PERSON)[:args.faces]
    fill(library, faces_of(centres, labels, rng), labels + 1, 1)
    # The batch: 90 % of known people, 10 % of new people (in pairs).
    known = rng.integers(0, n_people, size=args.batch * 9 // 10)
    new = n_people + np.arange(args.batch - len(known)) // 2
    batch_labels = np.concatenate([known, new])
    fill(library, faces_of(centres, batch_labels, rng), None, args.faces + 1)
    cpu, wall = time.process_time(), time.monotonic()
    result = group_faces(library)
    print(f"{args.faces} faces grouped, {args.batch} new placed in "
          f"{time.monotonic() - wall:.1f} s ({time.process_time() - cpu:.1f} s CPU): "
          f"{result.joined} joined, {result.new_people} new people "
          f"({result.in_new_people} faces), {result.alone} alone; expected "
          f"{len(known)} joined, {len(new) // 2} new people")
    library.close()


def first_grouping(args, tmp: Path, centres: np.ndarray, rng) -> None:
    library = open_library(tmp / "first.sqlite")
    n_people = args.first // PER_PERSON
    if len(centres) < n_people:
        more = rng.standard_normal((n_people - len(centres), 128))
        centres = np.vstack([centres, more / np.linalg.norm(more, axis=1, keepdims=True)])
    labels = np.repeat(np.arange(n_people), PER_PERSON)
    fill(library, faces_of(centres, labels, rng), None, 1)
    cpu, wall = time.process_time(), time.monotonic()
    result = group_faces(library)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    with library.session() as s:
        found = dict(s.execute(select(Face.photo_id, Face.person_id)).all())
    person = np.array([-1 if found.get(i + 1) is None else found[i + 1]
                       for i in range(len(labels))])
    whole = 0
    for label in range(n_people):
        mine = person[labels == label]
        if mine[0] >= 0 and (mine == mine[0]).all() and (person == mine[0]).sum() == len(mine):
            whole += 1
    print(f"first grouping of {args.first} faces: {wall:.1f} s ({cpu:.1f} s CPU), "
          f"{result.new_people} people (true {n_people}, {whole} found whole), "
          f"{result.alone} alone")
    library.close()


if __name__ == "__main__":
    sys.exit(main())
