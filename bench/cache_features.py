"""Embed the labelled datasets once with the default model, so that clustering and learning
research reads features instead of running the network again.

Writes ``/tmp/pc_features/<dataset>.npz`` with ``X`` (float32 n x dim pooled features), ``labels``
(int, index into ``label_names``), ``label_names``, ``paths``, ``top_classes`` (n x 5 ImageNet
class indices), ``top_probs`` (n x 5), ``class_names`` (the 1000 ImageNet names), ``model`` and
``preprocess_version``. Files appear atomically (written beside, then renamed).

    python bench/cache_features.py [imagenette224 clothing14 ...] [--out /tmp/pc_features]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from photoclust.core.embedding.backbones import DEFAULT_MODEL, softmax
from photoclust.core.embedding.devices import plan_for
from photoclust.core.embedding.engine import load_model

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_dataset(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    label_names = sorted(d.name for d in root.iterdir() if d.is_dir())
    paths, labels = [], []
    for label, name in enumerate(label_names):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
                labels.append(label)
    return paths, np.asarray(labels, dtype=np.int64), label_names


def embed_dataset(root: Path, out_dir: Path, model: str, batch_size: int) -> Path:
    backbone, _ = load_model(model, plan_for("cpu"))
    paths, labels, label_names = list_dataset(root)

    def crop(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            return backbone.crop(image.convert("RGB"))

    features, top_classes, top_probs = [], [], []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for start in range(0, len(paths), batch_size):
            crops = list(pool.map(crop, paths[start:start + batch_size]))
            batch_features, logits = backbone.infer(crops)
            probs = softmax(logits)
            classes = np.argsort(-probs, axis=1)[:, :5]
            features.append(np.asarray(batch_features, dtype=np.float32))
            top_classes.append(classes)
            top_probs.append(np.take_along_axis(probs, classes, axis=1))
            done = min(start + batch_size, len(paths))
            print(f"\r{root.name}: {done}/{len(paths)} "
                  f"({done / (time.monotonic() - started):.1f} photos/s)", end="", flush=True)
    print()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{root.name}.npz"
    partial = out_dir / f".{root.name}.npz.tmp"
    with open(partial, "wb") as fh:
        np.savez(
            fh, X=np.concatenate(features).astype(np.float32), labels=labels,
            label_names=np.asarray(label_names), paths=np.asarray([str(p) for p in paths]),
            top_classes=np.concatenate(top_classes).astype(np.int64),
            top_probs=np.concatenate(top_probs).astype(np.float32),
            class_names=np.asarray(backbone.class_names), model=np.asarray(model),
            preprocess_version=np.asarray(backbone.preprocess_version),
        )
        fh.flush()
        os.fsync(fh.fileno())
    partial.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", help="dataset folder names (default: all)")
    parser.add_argument("--root", type=Path, default=DATASETS)
    parser.add_argument("--out", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    names = args.datasets or sorted(d.name for d in args.root.iterdir() if d.is_dir())
    print(f"model {args.model}, {plan_for('cpu').describe()}, {os.cpu_count()} CPU cores")
    for name in names:
        started = time.monotonic()
        target = embed_dataset(args.root / name, args.out, args.model, args.batch_size)
        print(f"wrote {target} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
