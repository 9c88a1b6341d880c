"""How many pixels must a face have where it is described? The faces of ``faces_lfw`` (the
subject of each photo: the face nearest the centre, found as the product finds it on the 250 px
photo upsampled once), described by the product's route (5-point landmarks, 150 px chip with
padding 0.25, the ResNet descriptor) on the photo as it is and on the photo reduced (area
average, as a JPEG's DCT-domain reduction) so that the face's box is ``--sides`` px.

Per size: the share of pairs of one person nearer than 0.5 and of pairs of two people nearer
than 0.5, the median distance to the face's own descriptor at full detail, and BCubed F of
dlib's Chinese whispers at 0.5 on the subjects (whole set and the two alphabetical halves of
the people). This is what ``DESCRIBE_FACE_SIDE`` (``core/faces/detect.py``) rests on: a face
at least that large in the quarter decode of a 12 MP photo is described there, a smaller one
on a finer decode (docs/people.md, "Cost").

    python bench/face_detail.py [--people 0] [--sides 80,64,56,48,40]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from people import bcubed_f  # noqa: E402  (BCubed F as bench/people.py scores people)

from faces_lfw import faces_lfw  # noqa: E402
from machine_info import describe_machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=0, help="first N people (0: all)")
    parser.add_argument("--sides", default="80,64,56,48,40")
    args = parser.parse_args()
    from PIL import Image

    from photoclust.core.faces.detect import FaceFinder

    root = faces_lfw()
    if root is None:
        return 1
    print(describe_machine())
    finder = FaceFinder()
    finder.load()
    dlib = finder._dlib
    print(f"descriptor: {type(finder.fast).__name__ if finder.fast else 'dlib-bin'}")
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if args.people:
        names = names[:args.people]
    sides = [int(s) for s in args.sides.split(",") if s]
    images, boxes, truth = [], [], []
    start = time.process_time()
    for name in names:
        for path in sorted((root / name).glob("*.jpg")):
            image = Image.open(path).convert("RGB")
            rgb = np.asarray(image)
            rects = finder._detector(rgb, 1)
            if not len(rects):
                continue
            cx, cy = image.width / 2, image.height / 2
            rect = min(rects, key=lambda r: (r.center().x - cx) ** 2 + (r.center().y - cy) ** 2)
            images.append(image)
            boxes.append((rect.left(), rect.top(), rect.right(), rect.bottom()))
            truth.append(name)
    print(f"{len(names)} people, {len(images)} subjects; detection "
          f"{(time.process_time() - start) / max(1, len(images)) * 1000:.0f} ms CPU per photo; "
          f"face box (shorter side) median "
          f"{np.median([min(r - x, b - y) for x, y, r, b in boxes]):.0f} px, 10th percentile "
          f"{np.percentile([min(r - x, b - y) for x, y, r, b in boxes], 10):.0f} px")

    def describe(side: int | None) -> np.ndarray:
        chips = []
        for image, (x0, y0, x1, y1) in zip(images, boxes):
            k = 1.0 if side is None else min(1.0, side / min(x1 - x0, y1 - y0))
            if k < 1.0:
                image = image.resize((max(1, round(image.width * k)),
                                      max(1, round(image.height * k))), Image.Resampling.BOX)
            rgb = np.asarray(image)
            rect = dlib.rectangle(*(int(round(v * k)) for v in (x0, y0, x1, y1)))
            chips.append(dlib.get_face_chip(rgb, finder._landmarks(rgb, rect), size=150,
                                            padding=0.25))
        if finder.fast is not None:
            return np.concatenate([finder.fast.compute(chips[i:i + 16])
                                   for i in range(0, len(chips), 16)])
        return np.array([finder._describer.compute_face_descriptor(c) for c in chips])

    labels = np.array(truth)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(np.ones_like(same), 1)
    halves = {"first half": set(names[:len(names) // 2]), "second half":
              set(names[len(names) // 2:])}
    full = describe(None)
    print("| face side where described | same person < 0.5 | two people < 0.5 | "
          "median distance to full detail | BCubed F all / first half / second half |")
    for side in [None, *sides]:
        vectors = full if side is None else describe(side)
        sq = (vectors ** 2).sum(axis=1)
        dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * vectors @ vectors.T, 0))
        near = dist < 0.5
        tar = (near & same & upper).sum() / (same & upper).sum()
        far = (near & ~same & upper).sum() / (~same & upper).sum()
        scores = []
        for members in (set(names), *halves.values()):
            idx = [i for i, t in enumerate(truth) if t in members]
            vecs = [dlib.vector(vectors[i].astype(float).tolist()) for i in idx]
            pred = dlib.chinese_whispers_clustering(vecs, 0.5)
            scores.append(bcubed_f([truth[i] for i in idx], list(pred)))
        drift = np.median(np.linalg.norm(vectors - full, axis=1))
        label = "as found (full detail)" if side is None else f"{side} px"
        print(f"| {label} | {tar:.2%} | {far:.4%} | {drift:.3f} | "
              f"{' / '.join(f'{s:.3f}' for s in scores)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
