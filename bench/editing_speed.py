"""Speed of cluster identity, edits, undo and the read side on a large generated library.

Generates N photo rows (no image files) in a temporary library, stores a clustering of k
clusters, re-clusters with permuted labels and 1% of photos relabelled, and times the edits the
GUI and CLI make, their undo, and the queries the GUI runs on every refresh. Prints the figures
and the machine.

    python bench/editing_speed.py [--photos 50000] [--k 100]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.clustering import editing
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.embedding.backbones import PREPROCESS_VERSION
from photoclust.core.library import open_library, queries
from photoclust.core.library.models import Embedding, Photo


def timed(label: str, fn, results: list):
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    results.append((label, elapsed))
    print(f"{label:<52} {elapsed * 1000:9.1f} ms", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    print(f"library: {args.photos} photos, k={args.k}\n")
    rng = np.random.default_rng(0)
    results: list = []
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "library.sqlite")
        with library.session() as s:
            s.execute(insert(Photo), [
                {"id": i + 1, "path": f"/photos/{i // 1000:03d}/img_{i:06d}.jpg",
                 "content_hash": f"{i:064x}", "file_size": 1, "mtime_ns": 1,
                 "width": 4000, "height": 3000, "status": "present"}
                for i in range(args.photos)])
        ids = np.arange(1, args.photos + 1)
        labels = rng.integers(0, args.k, size=args.photos)
        conf = rng.random(args.photos)
        names = [f"class {i}" for i in range(args.k)]
        timed("apply_clustering, first run", lambda: apply_clustering(
            library, "m", "kmeans", ids, labels, conf, names), results)
        relabelled = rng.permutation(args.k)[labels]
        changed = rng.random(args.photos) < 0.01
        relabelled[changed] = rng.integers(0, args.k, size=int(changed.sum()))
        timed("apply_clustering, re-run (permuted, 1% moved)", lambda: apply_clustering(
            library, "m", "kmeans", ids, relabelled, conf, names), results)

        clusters = timed("list_clusters", lambda: queries.list_clusters(library), results)
        big, second = clusters[0].id, clusters[1].id
        timed("photos_in_cluster, first page of 200", lambda: queries.photos_in_cluster(
            library, big, 0, 200), results)
        timed("photos_in_cluster, whole cluster", lambda: queries.photos_in_cluster(
            library, big), results)
        timed("count_photos_in_cluster", lambda: queries.count_photos_in_cluster(
            library, big), results)
        timed("photo_by_path", lambda: queries.photo_by_path(
            library, "/photos/001/img_001234.jpg"), results)
        some = [p.id for p in queries.photos_in_cluster(library, big, 0, 100)]
        timed("move_photos, 100 photos", lambda: editing.move_photos(library, some, second),
              results)
        timed("undo (move)", lambda: editing.undo(library), results)
        timed("rename_cluster", lambda: editing.rename_cluster(library, big, "Renamed"), results)
        sources = [c.id for c in clusters[1:11]]
        timed("merge_clusters, 10 clusters into 1", lambda: editing.merge_clusters(
            library, big, sources), results)
        timed("undo (merge)", lambda: editing.undo(library), results)
        timed("redo (merge)", lambda: editing.redo(library), results)

        dim = 1280
        print(f"\nadding {args.photos} float16 embeddings of {dim} dims ...", flush=True)
        centers = rng.standard_normal((args.k, dim)).astype(np.float32)
        with library.session() as s:
            for start in range(0, args.photos, 5000):
                part = range(start, min(start + 5000, args.photos))
                vectors = centers[labels[part.start:part.stop]] + 0.5 * rng.standard_normal(
                    (len(part), dim)).astype(np.float32)
                s.execute(insert(Embedding), [
                    {"content_hash": f"{i:064x}", "model": "m",
                     "preprocess_version": PREPROCESS_VERSION, "dim": dim,
                     "vector": vectors[j].astype("<f2").tobytes()}
                    for j, i in enumerate(part)])
        target = queries.list_clusters(library)[0]
        timed(f"split_cluster, auto k ({target.size} photos)", lambda: editing.split_cluster(
            library, target.id, model="m"), results)
        timed("undo (split)", lambda: editing.undo(library), results)
        library.close()


if __name__ == "__main__":
    main()
