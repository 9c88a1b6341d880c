"""Duplicates finds a half-size copy of a photo (issue 24, point 6): its embedding drifts below
the near-duplicate threshold, yet it is the photo's most similar one and its pixels are the
same picture. Real files indexed into a real library; embeddings written by hand."""
from __future__ import annotations

import numpy as np
from PIL import Image
from sqlalchemy import insert, select

from photoclust.core.clustering.duplicates import (
    RESIZED_FLOOR,
    library_duplicate_groups,
    near_threshold,
)
from photoclust.core.jobs import JobContext
from photoclust.core.library.models import Embedding, Photo
from photoclust.core.library.scan import ScanJob

MODEL = "efficientnet_lite0"


def _texture(seed: int, size=(224, 168)) -> Image.Image:
    """A picture with detail (blocks of colour, smoothed), different for every seed."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(size[1] // 14, size[0] // 14, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize(size, Image.Resampling.BICUBIC)


def _unit(*parts) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    for axis, value in parts:
        v[axis] = value
    return v / np.linalg.norm(v)


def _library_with(library, tmp_path, vectors: dict[str, np.ndarray]):
    folder = tmp_path / "photos"
    folder.mkdir()
    original = _texture(1)
    original.save(folder / "beach.jpg", quality=90)
    original.resize((112, 84), Image.Resampling.LANCZOS).save(folder / "beach-small.jpg",
                                                              quality=80)
    _texture(2, (112, 84)).save(folder / "other.jpg", quality=85)  # same shape, another picture
    _texture(3).save(folder / "far.jpg", quality=90)
    ScanJob(library, [folder]).run(JobContext())
    with library.session() as s:
        rows = {p.split("/")[-1]: (pid, h) for pid, p, h in s.execute(
            select(Photo.id, Photo.path, Photo.content_hash))}
        s.execute(insert(Embedding), [
            {"content_hash": rows[name][1], "model": MODEL, "preprocess_version": 1, "dim": 8,
             "vector": v.astype(np.float16).tobytes()} for name, v in vectors.items()])
    return {name: pid for name, (pid, _h) in rows.items()}


def test_a_half_size_copy_is_found_though_its_embedding_drifted(library, tmp_path):
    vectors = {"beach.jpg": _unit((0, 1)),
               "beach-small.jpg": _unit((0, 0.8), (1, 0.6)),  # cosine 0.8 to the original
               "other.jpg": _unit((0, 0.65), (2, 0.76)),  # alike, nearest to beach.jpg
               "far.jpg": _unit((3, 1))}
    ids = _library_with(library, tmp_path, vectors)
    cos = float(vectors["beach.jpg"] @ vectors["beach-small.jpg"])
    assert RESIZED_FLOOR <= cos < near_threshold(MODEL)  # too far for the threshold alone
    groups, paths = library_duplicate_groups(library, model=MODEL)
    assert [(g.kind, g.photo_ids) for g in groups] == \
        [("near", sorted([ids["beach.jpg"], ids["beach-small.jpg"]]))]
    assert paths[ids["beach-small.jpg"]].endswith("beach-small.jpg")


def test_a_photo_of_the_same_shape_that_only_looks_alike_is_not_a_copy(library, tmp_path):
    """The most similar photo, the same shape and size as a small copy would be, but another
    picture: not grouped."""
    vectors = {"beach.jpg": _unit((0, 1)),
               "beach-small.jpg": _unit((3, 1)),  # nothing alike: not a candidate
               "other.jpg": _unit((0, 0.8), (2, 0.6)),  # the original's most similar photo
               "far.jpg": _unit((4, 1))}
    _library_with(library, tmp_path, vectors)
    groups, _ = library_duplicate_groups(library, model=MODEL)
    assert groups == []
