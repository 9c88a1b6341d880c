"""Export speed: photos per second for a first export (copy, hardlink, symlink) and for a rerun
that finds everything already exported.

    python bench/export_speed.py [--photos 300] [--clusters 6]

Writes generated JPEGs and a library into a temporary folder and prints the machine, the figures
and the bytes written.
"""
from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.export.albums import ExportJob
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.models import Assignment, Cluster, Photo


def make_library(root: Path, n_photos: int, n_clusters: int):
    rng = np.random.default_rng(0)
    library = open_library(root / "library.sqlite")
    with library.session() as s:
        clusters = [Cluster(name=f"Album {i}") for i in range(n_clusters)]
        s.add_all(clusters)
        s.flush()
        for i in range(n_photos):
            path = root / "photos" / f"{i % 10:02d}" / f"IMG_{i:05d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path, "JPEG", quality=85)
            data = path.read_bytes()
            photo = Photo(path=str(path), content_hash=hashlib.sha256(data).hexdigest(),
                          file_size=len(data), mtime_ns=path.stat().st_mtime_ns)
            s.add(photo)
            s.flush()
            s.add(Assignment(photo_id=photo.id, cluster_id=clusters[i % n_clusters].id))
    return library


def timed(job: ExportJob):
    started = time.perf_counter()
    result = run_job(job)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--clusters", type=int, default=6)
    args = parser.parse_args()
    print(f"machine: {describe_machine()}, {platform.system()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        library = make_library(root, args.photos, args.clusters)
        size_mb = sum(p.stat().st_size for p in (root / "photos").rglob("*.jpg")) / 1e6
        print(f"{args.photos} photos ({size_mb:.0f} MB) in {args.clusters} clusters")
        for mode in ("copy", "hardlink", "symlink"):
            seconds, result = timed(ExportJob(library, root / f"out-{mode}", mode=mode))
            assert result.exported == args.photos
            rate = args.photos / seconds
            print(f"{mode:8s} first export: {seconds:6.2f} s  ({rate:7.0f} photos/s)")
            seconds, result = timed(ExportJob(library, root / f"out-{mode}", mode=mode))
            assert result.unchanged == args.photos
            rate = args.photos / seconds
            print(f"{mode:8s} rerun:        {seconds:6.2f} s  ({rate:7.0f} photos/s)")
        seconds, result = timed(ExportJob(library, root / "out-xmp", xmp=True))
        print(f"copy+xmp first export: {seconds:6.2f} s  ({args.photos / seconds:7.0f} photos/s)")
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
