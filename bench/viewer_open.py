"""What opening a photo in the viewer costs, on the GUI thread and on the decode worker.

GUI thread: the details lookup (``core.library.queries.photo_details``). Workers: the ids of the
photo's cluster (``core.library.viewing.cluster_photo_ids``) for a cluster of N photos in a
generated library, and decoding a 12 MP JPEG written here to fit a 1600 x 1000 screen
(``decode_to_fit``) against a full decode (the 100 % view). Medians of repeated runs; prints the
machine.

    python bench/viewer_open.py [--photos 50000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.library import open_library
from photoclust.core.library.models import Assignment, Cluster, Photo
from photoclust.core.library.queries import photo_details
from photoclust.core.library.viewing import cluster_photo_ids, decode_to_fit


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp) / "bench.sqlite")
        with library.session() as s:
            s.execute(insert(Photo), [{"path": f"/photos/{i:07d}.jpg", "content_hash": f"{i:064x}",
                                       "file_size": 1, "mtime_ns": 1, "status": "present"}
                                      for i in range(args.photos)])
            cluster = Cluster(name="All", name_source="auto", active=True)
            s.add(cluster)
            s.flush()
            ids = list(s.scalars(select(Photo.id)))
            s.execute(insert(Assignment), [{"photo_id": p, "cluster_id": cluster.id,
                                            "source": "auto", "confidence": 0.5} for p in ids])
            cluster_id = cluster.id
        details = median_ms(lambda: photo_details(library, ids[len(ids) // 2]), 20)
        listing = median_ms(lambda: cluster_photo_ids(library, cluster_id), 5)
        rng = np.random.default_rng(0)
        big = Path(tmp) / "12mp.jpg"
        small = rng.integers(0, 255, (250, 375, 3), dtype=np.uint8)
        Image.fromarray(small).resize((4000, 3000), Image.Resampling.BILINEAR).save(big,
                                                                                   quality=90)
        fit = median_ms(lambda: decode_to_fit(big, 1600, 1000), 5)
        full = median_ms(lambda: decode_to_fit(big, 1600, 1000, full=True), 5)
        library.close()
    print(describe_machine())
    print(f"GUI thread: photo details {details:.1f} ms")
    print(f"workers: ids of a {args.photos:,}-photo cluster {listing:.0f} ms; 12 MP JPEG to fit "
          f"1600x1000 {fit:.0f} ms; full decode (100 %) {full:.0f} ms")


if __name__ == "__main__":
    main()
