"""Does a burst imported at once found a cluster of its own? (``core/clustering/placement.py``)

For a few photos of a set (cached features of ``bench/cache_features.py`` and the photos
themselves), make twelve "frames" of the same moment (shifts of up to 12 px, a slight crop,
brightness +-5 %), embed them with the default model, and place them among the set's other photos
(automatic k, K-means): with copies told apart (``placement.copy_groups`` at the Duplicates page's
threshold, as Organize does) and without. Prints the frames' raw similarity and what was founded.

Usage: ``python bench/placement_bursts.py [--features DIR] [--bursts N] [SET]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from machine_info import describe_machine
from photoclust.core.clustering import placement
from photoclust.core.clustering.algorithms import PhotoKMeans
from photoclust.core.clustering.choose_k import choose_k
from photoclust.core.clustering.duplicates import near_threshold
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, l2_normalize
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.embedding.devices import plan_for
from photoclust.core.embedding.engine import load_model

FRAMES = 12


def frames_of(path: str, rng: np.random.Generator) -> list[Image.Image]:
    with Image.open(path) as image:
        base = image.convert("RGB")
    w, h = base.size
    out = []
    for _ in range(FRAMES):
        dx, dy = (int(v) for v in rng.integers(0, 12, 2))
        frame = base.crop((dx, dy, w - 12 + dx, h - 12 + dy)).resize((w, h))
        out.append(ImageEnhance.Brightness(frame).enhance(1 + rng.normal(0, 0.05)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("set", nargs="?", default="imagenette224")
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--bursts", type=int, default=4)
    args = parser.parse_args()
    cached = args.features / f"{args.set}.npz"
    if not cached.exists():
        print(f"{args.set}: no features at {cached} (run bench/cache_features.py {args.set})")
        return
    data = np.load(cached)
    X, paths = data["X"].astype(np.float32), data["paths"]
    backbone, _ = load_model(DEFAULT_MODEL, plan_for("cpu"))
    threshold = near_threshold(DEFAULT_MODEL)
    print(describe_machine())
    print(f"{args.set}, {FRAMES} frames per burst, copy threshold {threshold}")
    print("| burst | raw similarity between frames | founded without copies told apart | "
          "founded with (as Organize does) |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for b, source in enumerate(rng.choice(len(paths), args.bursts, replace=False)):
        crops = [backbone.crop(frame) for frame in frames_of(str(paths[source]), rng)]
        F = np.asarray(backbone.infer(crops)[0], dtype=np.float32)
        old = np.setdiff1d(np.arange(len(X)), [source])
        Z = EmbeddingPreprocessor(n_components=128, random_state=0).fit_transform(
            np.vstack([X[old], F]))
        Z_old, Z_new = Z[:old.size], Z[old.size:]
        labels = PhotoKMeans(n_clusters=choose_k(Z_old, random_state=0),
                             random_state=0).fit(Z_old).labels_
        plain = placement.place(Z_old, labels, Z_new)
        told = placement.place(Z_old, labels, Z_new,
                               copy_group=placement.copy_groups(F, threshold))
        R = l2_normalize(F)
        sims = (R @ R.T)[~np.eye(FRAMES, dtype=bool)]
        print(f"| {b} | {sims.mean():.3f} | {plain.n_groups} ({np.mean(plain.group >= 0):.0%} of "
              f"the frames) | {told.n_groups} ({np.mean(told.group >= 0):.0%}) |", flush=True)


if __name__ == "__main__":
    main()
