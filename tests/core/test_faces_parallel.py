"""The faces stage searches a batch's photos in several threads and stores the same faces as
one thread (issue #26): dlib's HOG detector is not safe to share between threads, so each
thread runs its own."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from photoclust.core.faces.detect import FaceFinder
from photoclust.core.faces.job import FacesJob
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.models import Face, FaceScan, Photo
from photoclust.core.library.scan import ScanJob

PEOPLE = ["Bill_Gates", "Andy_Roddick", "Ann_Veneman", "Adrien_Brody", "Amelie_Mauresmo",
          "Ari_Fleischer"]


def _faces(library) -> list[tuple]:
    """Every stored face by photo file: box, score, descriptor, unsure, and its person's other
    faces (the people as sets of faces, whatever their ids)."""
    with library.session() as s:
        rows = s.execute(select(Photo.path, Face.id, Face.left, Face.top, Face.width,
                                Face.height, Face.detector_score, Face.descriptor, Face.unsure,
                                Face.person_id).join(Photo, Photo.id == Face.photo_id)
                         .order_by(Photo.path, Face.left, Face.top)).all()
    people: dict[int, set] = {}
    for row in rows:
        if row.person_id is not None:
            people.setdefault(row.person_id, set()).add((Path(row.path).name, row.left, row.top))
    return [(Path(r.path).name, (r.left, r.top, r.width, r.height), r.detector_score,
             np.frombuffer(r.descriptor, dtype="<f4"), r.unsure,
             frozenset(people.get(r.person_id, ())) if r.person_id is not None else None)
            for r in rows]


def _lfw_folder(dataset, folder: Path) -> Path:
    for name in PEOPLE:
        (folder / name).mkdir(parents=True)
        for photo in sorted((dataset("faces_lfw") / name).glob("*.jpg"))[:8]:
            shutil.copy(photo, folder / name / photo.name)
    return folder


@pytest.mark.datasets
def test_searching_in_threads_stores_the_faces_and_people_of_one_thread(dataset, tmp_path):
    folder = _lfw_folder(dataset, tmp_path / "photos")
    finder = FaceFinder()
    finder.load()  # one finder for both runs: the threads share its models
    threads: dict[int, set[int]] = {}
    detect = finder._detect

    def recording(image, rgb):
        detector = finder._thread_detector()
        threads.setdefault(threading.get_ident(), set()).add(id(detector))
        return detect(image, rgb)

    finder._detect = recording  # type: ignore[method-assign]
    stored = []
    for workers in (1, 3):
        threads.clear()
        library = open_library(tmp_path / f"lib{workers}" / "library.sqlite")
        try:
            run_job(ScanJob(library, [folder]))
            result = run_job(FacesJob(library, finder=finder, workers=workers))
            with library.session() as s:
                assert len(s.scalars(select(FaceScan.photo_id)).all()) == 8 * len(PEOPLE)
            stored.append((result, _faces(library)))
        finally:
            library.close()
        if workers == 1:
            assert len(threads) == 1
        else:  # the parallel path ran: several threads, each with a detector of its own
            assert len(threads) >= 2
            detectors = [d for ds in threads.values() for d in ds]
            assert len(detectors) == len(set(detectors)) == len(threads)
    (serial, serial_faces), (parallel, parallel_faces) = stored
    assert serial.faces >= 40 and serial.grouping.new_people >= len(PEOPLE) - 1
    assert (parallel.photos, parallel.with_faces, parallel.faces, parallel.unsure) == (
        serial.photos, serial.with_faces, serial.faces, serial.unsure)
    assert parallel.grouping.to_json() == serial.grouping.to_json()
    assert len(parallel_faces) == len(serial_faces)
    for mine, theirs in zip(parallel_faces, serial_faces):
        assert mine[:3] == theirs[:3] and mine[4:] == theirs[4:]
        assert np.abs(mine[3] - theirs[3]).max() < 1e-5
