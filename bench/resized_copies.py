"""Resized copies and the Duplicates page: how far a half-size copy's embedding drifts from its
original's, and whether their pixels tell them apart from different photos.

300 random imagenette224 photos (seed 0) are copied to ``/tmp/pc_resized/photos``; 60 of them
also get a half-size copy (112 px, JPEG quality 95, 85 or 75 in turn). The photos are indexed
and embedded with each model, then for every photo its most similar other photo is taken:

- the cosine of each copy to its original, and whether the original is the copy's most similar;
- the most similar *different* photo of each original (what a threshold must stay above);
- the mean difference of the two pictures shrunk to 16x16 grey levels (``duplicates.py``'s
  ``same_picture``), for copy pairs and for a photo and its most similar different photo;
- how many copies ``library_duplicate_groups`` finds, and how many groups join different photos.

    python bench/resized_copies.py [--models efficientnet_lite2 efficientnet_lite0]
"""
from __future__ import annotations

import argparse
import glob
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine_info import describe_machine
from photoclust.core.clustering.duplicates import (
    SAME_PICTURE_SIDE,
    library_duplicate_groups,
)
from photoclust.core.clustering.preprocess import l2_normalize
from photoclust.core.embedding.engine import EmbedJob
from photoclust.core.embedding.store import load_embeddings
from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import JobContext
from photoclust.core.library import open_library
from photoclust.core.library.queries import photo_files
from photoclust.core.library.scan import ScanJob

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
QUALITIES = (95, 85, 75)


def build(root: Path, n: int = 300, copies: int = 60) -> dict[str, str]:
    shutil.rmtree(root, ignore_errors=True)
    photos = root / "photos"
    photos.mkdir(parents=True)
    files = sorted(glob.glob(str(DATASETS / "imagenette224" / "*" / "*")))
    pairs = {}
    for k, source in enumerate(random.Random(0).sample(files, n)):
        shutil.copy(source, photos / f"p{k:03d}.jpg")
        if k < copies:
            image = Image.open(source).convert("RGB")
            small = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
            small.save(photos / f"p{k:03d}_half.jpg", quality=QUALITIES[k % len(QUALITIES)])
            pairs[f"p{k:03d}_half.jpg"] = f"p{k:03d}.jpg"
    return pairs


def grey(library, content_hash: str) -> np.ndarray:
    image = Image.open(thumbnail_path(library, content_hash)).convert("L")
    return np.asarray(image.resize((SAME_PICTURE_SIDE, SAME_PICTURE_SIDE),
                                   Image.Resampling.BOX), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["efficientnet_lite2", "efficientnet_lite0"])
    args = parser.parse_args()
    print(describe_machine())
    root = Path("/tmp/pc_resized")
    pairs = build(root)
    library = open_library(root / "library.sqlite")
    ScanJob(library, [root / "photos"]).run(JobContext())
    for model in args.models:
        started = time.monotonic()
        EmbedJob(library, model=model, device="cpu").run(JobContext())
        ids, X = load_embeddings(library, model)
        files = photo_files(library, [int(i) for i in ids])
        names = [Path(files[int(i)][1]).name for i in ids]
        hashes = [files[int(i)][0] for i in ids]
        row = {name: k for k, name in enumerate(names)}
        Z = l2_normalize(X.astype(np.float32))
        S = Z @ Z.T
        np.fill_diagonal(S, -1)
        cos = np.array([S[row[c], row[o]] for c, o in pairs.items()])
        first = sum(int(S[row[c]].argmax()) == row[o] for c, o in pairs.items())
        originals = [k for k, name in enumerate(names) if "_half" not in name]
        other = S[np.ix_(originals, originals)].max(axis=1)
        copy_diff = [float(np.abs(grey(library, hashes[row[c]]) - grey(library, hashes[row[o]]))
                           .mean()) for c, o in pairs.items()]
        other_diff = []
        for k in originals:
            j = originals[int(S[k, originals].argmax())]
            other_diff.append(float(np.abs(grey(library, hashes[k]) - grey(library, hashes[j]))
                                    .mean()))
        groups, _ = library_duplicate_groups(library, model=model)
        found = sum(1 for c, o in pairs.items() if any(
            {ids[row[c]], ids[row[o]]} <= set(g.photo_ids) for g in groups))
        wrong = sum(1 for g in groups if len({files[p][1].split("/")[-1].replace("_half", "")
                                              for p in g.photo_ids}) > 1)
        print(f"\n{model} ({time.monotonic() - started:.0f} s)")
        print(f"  copy to original cosine: min {cos.min():.3f}, 10th percentile "
              f"{np.percentile(cos, 10):.3f}, median {np.median(cos):.3f}; per JPEG quality "
              + ", ".join(f"{q}: min {cos[i::3].min():.3f}" for i, q in enumerate(QUALITIES)))
        print(f"  the original is the copy's most similar photo: {first} of {len(pairs)}")
        print(f"  most similar different photo: max {other.max():.3f}, 99th percentile "
              f"{np.percentile(other, 99):.3f}")
        print(f"  16x16 grey difference: copies max {max(copy_diff):.1f}, a photo and its most "
              f"similar different photo min {min(other_diff):.1f}")
        print(f"  library_duplicate_groups: {found} of {len(pairs)} copies found, "
              f"{wrong} groups joining different photos")


if __name__ == "__main__":
    main()
