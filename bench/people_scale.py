"""People at scale: a new batch of faces placed among many grouped ones, and a first grouping.

Synthetic descriptors (no detector): people are random unit vectors in 128 dimensions, their
faces lie within about 0.15 of them (like dlib's descriptors of one person, mostly nearer than
0.5 to each other). ``--faces`` faces in people of 20 are written into a fresh library as already
grouped; then a batch of ``--batch`` new faces (most of known people, some of new ones) is
placed by ``group_faces``, timed; and a first grouping of ``--first`` faces (nobody grouped yet,
Chinese whispers on all of them) is timed in another library.

    python bench/people_scale.py [--faces 100000] [--batch 1000] [--first 20000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

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
    args = parser.parse_args()
    print(describe_machine())
    rng = np.random.default_rng(0)
    n_people = args.faces // PER_PERSON
    centres = rng.standard_normal((n_people + args.batch, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "big.sqlite")
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

        library = open_library(Path(tmp) / "first.sqlite")
        labels = np.repeat(np.arange(args.first // PER_PERSON), PER_PERSON)
        fill(library, faces_of(centres, labels, rng), None, 1)
        cpu, wall = time.process_time(), time.monotonic()
        result = group_faces(library)
        print(f"first grouping of {args.first} faces: {time.monotonic() - wall:.1f} s "
              f"({time.process_time() - cpu:.1f} s CPU), {result.new_people} people "
              f"(true {args.first // PER_PERSON}), {result.alone} alone")
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
