"""HOG face detection on colour or on grey levels: faces found and CPU, on the small photos of
``faces_lfw`` (upsampled once, as the product does below 800 px) and on 12 MP photos (LFW photos
pasted at 700-1300 px, six per 4000 x 3000 canvas, JPEG q90, decoded at a quarter as the faces
stage does). dlib's HOG takes each pixel's strongest channel's gradient in colour, the grey
level's on grey; the product detects on grey where it does not upsample (``detect.py``).

    python bench/face_grey.py [--lfw-step 2] [--canvases 120]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from faces_lfw import faces_lfw  # noqa: E402
from machine_info import describe_machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw-step", type=int, default=2, help="every Nth LFW photo")
    parser.add_argument("--canvases", type=int, default=120, help="12 MP photos of six faces")
    args = parser.parse_args()
    import dlib
    from PIL import Image

    from photoclust.core.imaging import load_rgb

    root = faces_lfw()
    if root is None:
        return 1
    print(describe_machine())
    detector = dlib.get_frontal_face_detector()
    files = sorted(root.glob("*/*.jpg"))
    routes = ("colour", "grey")
    cpu = dict.fromkeys(routes, 0.0)
    found = dict.fromkeys(routes, 0)
    small = files[::args.lfw_step]
    for path in small:
        image = Image.open(path).convert("RGB")
        for route, pixels in zip(routes, (np.asarray(image), np.asarray(image.convert("L")))):
            start = time.process_time()
            found[route] += bool(len(detector(pixels, 1)))
            cpu[route] += time.process_time() - start
    print(f"LFW, {len(small)} photos of 250 px upsampled once: " + ", ".join(
        f"{r} a face on {found[r] / len(small):.2%} ({cpu[r] / len(small) * 1000:.1f} ms)"
        for r in routes))
    rng = np.random.default_rng(7)
    order = rng.permutation(len(files))
    cpu = dict.fromkeys(routes, 0.0)
    found = dict.fromkeys(routes, 0)
    boxes = dict.fromkeys(routes, 0)
    pasted = 0
    with tempfile.TemporaryDirectory() as scratch:
        photo = Path(scratch) / "photo.jpg"
        for _ in range(args.canvases):
            canvas = Image.fromarray(rng.integers(60, 200, (375, 500, 3), dtype=np.uint8)
                                     ).resize((4000, 3000))
            where = []
            for row in range(2):
                for col in range(3):
                    tile = int(rng.integers(700, 1300))
                    x = col * 1333 + int(rng.integers(0, 1333 - min(tile, 1333) + 1))
                    y = row * 1500 + int(rng.integers(0, 1500 - min(tile, 1500) + 1))
                    face = Image.open(files[order[pasted % len(files)]]).convert("RGB")
                    canvas.paste(face.resize((tile, tile)), (x, y))
                    where.append(((x + tile / 2) / 4, (y + tile / 2) / 4, tile / 4))
                    pasted += 1
            canvas.save(photo, quality=90)
            image = load_rgb(photo, min_side=750)
            for route, pixels in zip(routes, (np.asarray(image),
                                              np.asarray(image.convert("L")))):
                start = time.process_time()
                rects = detector(pixels, 0)
                cpu[route] += time.process_time() - start
                boxes[route] += len(rects)
                found[route] += sum(
                    any(abs(r.center().x - cx) < side / 4 and abs(r.center().y - cy) < side / 4
                        for r in rects) for cx, cy, side in where)
    print(f"12 MP, {args.canvases} photos, {pasted} faces of 290-550 px: " + ", ".join(
        f"{r} {found[r]} found ({boxes[r]} boxes, {cpu[r] / args.canvases * 1000:.0f} ms HOG "
        f"per photo)" for r in routes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
