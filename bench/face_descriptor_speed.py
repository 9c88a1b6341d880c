"""The face descriptor's three routes on this machine, with the installed model file: dlib-bin's
own (``compute_face_descriptor``), the same network run by torch (``core/faces/resnet.py``) and
by ONNX Runtime (``core/faces/onnx_describer.py``, exported once into a temporary cache), each
on one thread; CPU ms per face, one chip at a time and the chips of a photo at once, the routes
interleaved round by round (a shared machine's load hits them alike). Also how far the torch and
ONNX descriptors are from dlib's on the same chips (chips of LFW faces when the labelled set is
there, else drawn ones).

    python bench/face_descriptor_speed.py [--rounds 5] [--faces 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine_info import describe_machine  # noqa: E402

DATASETS = Path(os.environ.get("PHOTOCLUST_DATASETS") or REPO.parent / "shared" / "datasets")


def chips(n: int) -> list[np.ndarray]:
    """``n`` aligned chips of LFW faces (the product's landmarks and chip), else noise."""
    from PIL import Image

    from photoclust.core.faces.detect import FaceFinder

    files = sorted((DATASETS / "faces_lfw").glob("*/*.jpg"))[::97]
    if not files:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(n)]
    finder = FaceFinder()
    finder.load()
    dlib = finder._dlib
    out: list[np.ndarray] = []
    for path in files:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        for rect in finder._detector(rgb, 1)[:1]:
            shape = finder._landmarks(rgb, rect)
            out.append(dlib.get_face_chip(rgb, shape, size=150, padding=0.25))
        if len(out) == n:
            break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--faces", type=int, default=3, help="chips per photo (batch)")
    args = parser.parse_args()
    os.environ["PHOTOCLUST_MODEL_CACHE"] = tempfile.mkdtemp(prefix="face-onnx-")
    import dlib

    from photoclust.core.faces.detect import model_paths
    from photoclust.core.faces.onnx_describer import OnnxDescriber
    from photoclust.core.faces.resnet import TorchDescriber

    print(describe_machine())
    path = model_paths()[1]
    own = dlib.face_recognition_model_v1(str(path))
    routes = {
        "dlib-bin": lambda cs: np.array([own.compute_face_descriptor(c) for c in cs]),
        "torch": TorchDescriber.load(path).compute,
        "ONNX Runtime": OnnxDescriber.load(path).compute,
    }
    test = chips(max(args.faces, 12))
    theirs = routes["dlib-bin"](test)
    for name in ("torch", "ONNX Runtime"):
        mine = routes[name](test)
        dist = np.linalg.norm(mine - theirs, axis=1)
        print(f"{name} vs dlib-bin on {len(test)} chips: largest Euclidean distance "
              f"{dist.max():.2e}, largest difference {np.abs(mine - theirs).max():.2e}")
    batch = test[:args.faces]
    cpu: dict[tuple[str, str], float] = {}
    for compute in routes.values():
        compute(batch)  # warm
    for _ in range(args.rounds):
        for name, compute in routes.items():
            start = time.process_time()
            for chip in batch:
                compute([chip])
            cpu[name, "one"] = cpu.get((name, "one"), 0.0) + time.process_time() - start
            start = time.process_time()
            compute(batch)
            cpu[name, "all"] = cpu.get((name, "all"), 0.0) + time.process_time() - start
    per = args.rounds * len(batch)
    for name in routes:
        print(f"{name}: {cpu[name, 'one'] / per * 1000:.1f} ms CPU per face one at a time, "
              f"{cpu[name, 'all'] / per * 1000:.1f} ms given the {len(batch)} chips at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
