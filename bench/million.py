"""A synthetic library of N photos, and what each operation costs on it.

    python bench/million.py --photos 100000 [--json] [--keep DIR]

The library (``/tmp/pc_million/<N>/library.sqlite`` unless ``--keep``; built once, reused):

- photo rows written by bulk SQLite inserts: a realistic folder layout
  (``/photos/<year>/<year>-<month>-<day> <event>/IMG_<n>.jpg``: 10-300 photos a day out), capture
  times in bursts through 2005-2025, four cameras and none;
- embeddings drawn from real ones: EfficientNet-Lite2 (1,280 dimensions, the default model) of the
  shared sets' photos (``bench/cache_features.py``'s ``/tmp/pc_features``), with their stored top
  classes; each synthetic photo is a real photo's embedding plus noise (cosine about 0.85 to it,
  as photos of one kind are), 2 % are near copies of another photo (cosine above 0.99) and 1 %
  exact copies (same content hash). Without the cached features, 300 shared photos are embedded
  once with the bundled model and kept in ``/tmp/pc_million/real.npz``;
- clusters: one per real photo kind (the label of the real photo), assigned;
- thumbnails: 2,000 real thumbnails (the shared photos at 256 px) written once, every photo's
  thumbnail path a hard link to one of them (the thumbnail cache as the app reads it).

Then each operation of issue 26's table is timed, each in its own process so that "first"
figures are what a new ``photoclust`` command pays, and peak memory is each process's own:

| key | what |
|---|---|
| ``build_s`` | writing the library (not a goal: the bench's own set-up) |
| ``similar_first_s`` / ``similar_warm_ms`` | ``similar_photos`` in a new process / again |
| ``search_words_first_s`` / ``search_words_warm_ms`` | ``search_photos("dog")`` |
| ``near_duplicates_s`` / ``near_duplicates_peak_mb`` | ``library_duplicate_groups`` |
| ``place_10000_s`` | ``place_new_photos`` of 10,000 new photos among the others |
| ``recluster_s`` / ``recluster_peak_mb`` | ``ClusterJob`` of every photo (k given) |
| ``library_bytes_per_photo`` | the SQLite file (and its index files) per photo |
| ``peak_mb`` | the largest peak resident memory of all these processes |
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ROOT.parent / "shared" / "datasets"
FEATURES = Path("/tmp/pc_features")
WORK = Path("/tmp/pc_million")
REAL_SETS = ("imagenette224", "clothing14")
#: Photos embedded for the fallback when no cached features exist.
FALLBACK_PHOTOS = 300


def real_embeddings() -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(X float32 n x 1280, top classes as JSON per row, labels)`` of real photos of the shared
    sets: from the cached features when there are some, else ``FALLBACK_PHOTOS`` embedded now and
    cached in ``WORK/real.npz``."""
    cached = [FEATURES / f"{name}.npz" for name in REAL_SETS]
    parts = []
    for offset, path in enumerate(p for p in cached if p.exists()):
        with np.load(path) as data:
            names = [str(c) for c in data["class_names"]]
            tops = [json.dumps([[names[c], round(float(p), 4)] for c, p in zip(cs, ps)])
                    for cs, ps in zip(data["top_classes"], data["top_probs"])]
            parts.append((data["X"].astype(np.float32), tops,
                          data["labels"].astype(np.int64) + 100 * offset))
    if not parts:
        fallback = WORK / "real.npz"
        if not fallback.exists():
            _embed_fallback(fallback)
        with np.load(fallback) as data:
            parts.append((data["X"].astype(np.float32), [str(t) for t in data["tops"]],
                          data["labels"].astype(np.int64)))
    X = np.concatenate([p[0] for p in parts])
    return X, [t for p in parts for t in p[1]], np.concatenate([p[2] for p in parts])


def _embed_fallback(target: Path) -> None:
    from PIL import Image

    from photoclust.core.embedding.backbones import DEFAULT_MODEL, softmax
    from photoclust.core.embedding.devices import plan_for
    from photoclust.core.embedding.engine import load_model

    print(f"no cached features in {FEATURES}: embedding {FALLBACK_PHOTOS} shared photos once",
          file=sys.stderr)
    backbone, _ = load_model(DEFAULT_MODEL, plan_for("cpu"))
    paths, labels = [], []
    folders = sorted(d for name in REAL_SETS for d in (DATASETS / name).iterdir() if d.is_dir())
    per = max(1, FALLBACK_PHOTOS // max(1, len(folders)))
    for label, folder in enumerate(folders):
        for path in sorted(folder.iterdir())[:per]:
            paths.append(path)
            labels.append(label)
    feats, tops = [], []
    for start in range(0, len(paths), 16):
        crops = []
        for path in paths[start:start + 16]:
            with Image.open(path) as image:
                crops.append(backbone.crop(image.convert("RGB")))
        f, logits = backbone.infer(crops)
        probs = softmax(logits)
        for row in probs:
            top = np.argsort(-row)[:5]
            tops.append(json.dumps([[backbone.class_names[c], round(float(row[c]), 4)]
                                    for c in top]))
        feats.append(np.asarray(f, np.float32))
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez(target, X=np.concatenate(feats), tops=np.asarray(tops), labels=np.asarray(labels))
