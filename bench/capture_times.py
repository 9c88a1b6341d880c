"""Capture times of real camera files: which source gave each time, and whether every EXIF
``DateTimeOriginal`` was read exactly (to the second, zone and sub-seconds kept).

    python bench/capture_times.py [FOLDER] [--list]

FOLDER is searched recursively for JPEG, HEIC/HEIF and TIFF files (docs/places.md names the
public set this was run on); without it, the shared set places_signs (phone photos) is used.
Prints the counts per source, the files skipped with their reason, and every file whose time
differs from its ``DateTimeOriginal`` text (none expected); ``--list`` prints every file's time.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine_info import describe_machine
from photoclust.core.imaging import ImageError, read_metadata
from photoclust.core.library.capture_time import capture_time

SUFFIXES = {".jpg", ".jpeg", ".heic", ".heif", ".tif", ".tiff"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(
        Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "places_signs"))
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    print(describe_machine())
    if not Path(args.folder).is_dir():
        print(f"{args.folder} is not a folder: nothing measured")
        return
    sources: Counter = Counter()
    zones = exact = checked = 0
    problems: list[str] = []
    for path in sorted(Path(args.folder).rglob("*")):
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        try:
            meta = read_metadata(path)
        except ImageError as exc:
            sources["skipped"] += 1
            problems.append(f"{path}: skipped ({exc})")
            continue
        found = capture_time(meta.time_tags, str(path), os.stat(path).st_mtime_ns)
        sources[found.source or "none"] += 1
        zones += found.offset_minutes is not None and found.source == "exif"
        raw = (meta.time_tags or {}).get("DateTimeOriginal")
        if raw and found.source == "exif" and found.taken is not None:
            checked += 1
            if found.taken.strftime("%Y:%m:%d %H:%M:%S") == raw.strip()[:19]:
                exact += 1
            else:
                problems.append(f"{path}: {found.iso()} from {raw!r}")
        if args.list:
            print(f"{found.iso()!s:34} {found.source!s:10} {path}")
    print(", ".join(f"{source}: {n}" for source, n in sources.most_common()))
    print(f"with a zone from the photo: {zones}; DateTimeOriginal read exactly: {exact}/{checked}")
    for line in problems:
        print(line)


if __name__ == "__main__":
    main()
