"""How fast ``photoclust index`` is on 12 MP camera JPEGs, next to a naive thumbnailer.

Generates N photos of 4000x3000 (JPEG quality 90, with EXIF: date, camera, orientation), cached
in a temporary folder between runs, then measures in the same run:

* ``index``: ``ScanJob`` into a fresh library (hash + draft decode + thumbnail + metadata + SQLite),
  with its default thread pool and with one worker;
* ``index (unchanged)``: the second run over the same folder (nothing is read again);
* ``naive``: ``Image.open(p).convert("RGB")`` then ``.thumbnail()`` and a JPEG save, one thread:
  the full-resolution decode that JPEG draft mode avoids;
* ``decode only``: the full decode against the draft decode alone, without hashing, thumbnail
  writing or SQLite, to show what DCT-domain scaling itself saves.

Usage: ``python bench/index_speed.py [--n 200] [--cache DIR]``.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.imaging import THUMBNAIL_SHORT_SIDE, load_rgb, thumbnail_size
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.scan import ScanJob, default_workers

SIZE = (4000, 3000)
BASES = 6


def base_image(rng: random.Random) -> Image.Image:
    """A photo-like 12 MP picture: many shapes upscaled, plus sensor-like noise, so that the JPEG
    weighs what a real 12 MP photo at quality 90 does (about 4 MB): entropy decoding, which
    draft mode cannot skip, costs in proportion to the bytes."""
    small = Image.new("RGB", (1000, 750), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(small)
    for _ in range(300):
        x, y = rng.randrange(1000), rng.randrange(750)
        r = rng.randrange(5, 150)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    big = np.asarray(small.resize(SIZE, Image.Resampling.BICUBIC), dtype=np.int16)
    noise = np.random.default_rng(rng.randrange(1 << 30)).integers(-20, 21, big.shape, np.int16)
    return Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8))


def generate(folder: Path, n: int) -> list[Path]:
    """N distinct 12 MP JPEGs (q90, EXIF) in ``folder``; reuses those already there."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(n)]
    todo = [p for p in paths if not p.exists()]
    if not todo:
        return paths
    print(f"generating {len(todo)} photos of {SIZE[0]}x{SIZE[1]} in {folder} ...", flush=True)
    rng = random.Random(42)
    bases = [base_image(rng) for _ in range(BASES)]
    start = datetime(2023, 6, 1, 9, 0, 0)
    for i, path in enumerate(paths):
        if path.exists():
            continue
        image = bases[i % BASES].copy()
        # A unique mark per photo: distinct bytes, so each is its own content (no duplicates).
        ImageDraw.Draw(image).rectangle((i * 7 % 3800, 50, i * 7 % 3800 + 150, 200),
                                        fill=(i % 256, (i * 37) % 256, (i * 91) % 256))
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "BenchCam"
        exif[ExifTags.Base.Model] = "BenchCam 12"
        exif[ExifTags.Base.Orientation] = 6 if i % 5 == 0 else 1
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = (
            start + timedelta(minutes=i)).strftime("%Y:%m:%d %H:%M:%S")
        tmp = path.with_suffix(".part")
        image.save(tmp, "JPEG", quality=90, exif=exif)
        os.replace(tmp, path)
    return paths


def time_index(folder: Path, workdir: Path, workers: int | None) -> tuple[float, float]:
    """Seconds for a first index into a fresh library, and for a second (unchanged) run."""
    library_path = workdir / f"lib-{workers or 'default'}" / "library.sqlite"
    with open_library(library_path) as library:
        t0 = time.perf_counter()
        first = run_job(ScanJob(library, [folder], workers=workers))
        t1 = time.perf_counter()
        second = run_job(ScanJob(library, [folder], workers=workers))
        t2 = time.perf_counter()
    assert not first.skipped and second.unchanged == first.added, (first, second)
    return t1 - t0, t2 - t1


def time_naive(paths: list[Path], workdir: Path) -> float:
    out = workdir / "naive"
    out.mkdir()
    t0 = time.perf_counter()
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            rgb = image.convert("RGB")  # full 12 MP decode
        rgb.thumbnail(thumbnail_size(*rgb.size))
        rgb.save(out / f"{i}.jpg", "JPEG", quality=90)
    return time.perf_counter() - t0


def time_decode_only(paths: list[Path]) -> tuple[float, float]:
    """Seconds to decode every photo fully, and with draft to the thumbnail size (one thread)."""
    t0 = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB")
    t1 = time.perf_counter()
    for path in paths:
        load_rgb(path, min_side=THUMBNAIL_SHORT_SIDE)
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of photos (default 200)")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "photoclust-bench-index",
                        help="where the generated photos are kept between runs")
    args = parser.parse_args()

    folder = args.cache / f"{SIZE[0]}x{SIZE[1]}"
    paths = generate(folder, args.n)
    if len(list(folder.glob("*.jpg"))) != args.n:  # a cache from a bigger --n: use a subset
        folder = args.cache / f"{SIZE[0]}x{SIZE[1]}-n{args.n}"
        folder.mkdir(parents=True, exist_ok=True)
        for p in paths:
            link = folder / p.name
            if not link.exists():
                os.link(p, link)
        paths = sorted(folder.glob("*.jpg"))
    megabytes = sum(p.stat().st_size for p in paths) / 1e6

    print(f"machine: {describe_machine()}")
    print(f"photos: {len(paths)} x {SIZE[0]}x{SIZE[1]} JPEG q90 with EXIF "
          f"({megabytes / len(paths):.1f} MB each)")
    with tempfile.TemporaryDirectory(prefix="photoclust-bench-") as tmp:
        workdir = Path(tmp)
        full_decode, draft_decode = time_decode_only(paths)
        naive = time_naive(paths, workdir)
        index_1, unchanged_1 = time_index(folder, workdir, workers=1)
        index_n, unchanged_n = time_index(folder, workdir, workers=None)
    n = len(paths)
    print(f"decode only, full 12 MP (1 thread):          {n / full_decode:7.1f} photos/s")
    print(f"decode only, JPEG draft to >= 256 px:        {n / draft_decode:7.1f} photos/s "
          f"({full_decode / draft_decode:.1f}x)")
    print(f"naive full decode + thumbnail (1 thread):    {n / naive:7.1f} photos/s")
    print(f"photoclust index, 1 worker:                  {n / index_1:7.1f} photos/s "
          f"({naive / index_1:.1f}x naive)")
    print(f"photoclust index, {default_workers()} workers (default):       {n / index_n:7.1f} "
          f"photos/s ({naive / index_n:.1f}x naive)")
    print(f"photoclust index again, nothing changed:     {n / unchanged_n:7.1f} photos/s")


if __name__ == "__main__":
    main()
