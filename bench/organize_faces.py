"""Organize with people: the faces search serial and after clustering (as before issue #26's
change) and in threads after clustering (the default), as fresh processes on the same 12 MP
JPEGs, interleaved; then
the faces stage alone (``FacesJob`` on an indexed library) in one thread and in one per core,
interleaved.

Each organize line: wall seconds, photos/s, CPU ms per photo of the whole process (user + system:
the figure a shared machine disturbs least), the cores it used on average, and the faces stage's
own seconds. The faces stored are compared between the runs (counts and boxes).

    python bench/organize_faces.py [--n 200] [--pairs 2] [--photos DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from embed_speed import make_photos, run_process  # noqa: E402

from machine_info import describe_machine  # noqa: E402

VARIANTS = {  # name: PHOTOCLUST_FACES_WORKERS
    "serial, after clustering (before)": "1",
    "threads, after clustering (now)": "0",
}


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f}"


def stored_faces(library: Path) -> list[tuple]:
    with sqlite3.connect(library) as db:
        return db.execute("SELECT p.path, f.left, f.top, f.width, f.height FROM faces f "
                          "JOIN photos p ON p.id = f.photo_id ORDER BY 1, 2, 3").fetchall()


def faces_alone(photos: Path, work: Path, pairs: int) -> list[tuple[float, float, float, float]]:
    """Seconds and CPU seconds of ``FacesJob`` in one thread and in one per core, on one indexed
    library."""
    from photoclust.core.faces.detect import FaceFinder
    from photoclust.core.faces.job import FacesJob
    from photoclust.core.jobs import run_job
    from photoclust.core.library import open_library
    from photoclust.core.library.scan import ScanJob

    library = open_library(work / "alone.sqlite")
    run_job(ScanJob(library, [photos]))
    finder = FaceFinder()
    finder.load()
    out = []
    for _ in range(pairs):
        row = []
        for workers in (1, os.cpu_count() or 1):
            with library.session() as s:
                s.connection().exec_driver_sql("DELETE FROM faces")
                s.connection().exec_driver_sql("DELETE FROM face_scans")
            started, cpu = time.monotonic(), time.process_time()
            run_job(FacesJob(library, finder=finder, group=False, workers=workers))
            row += [time.monotonic() - started, time.process_time() - cpu]
        out.append((row[0], row[2], row[1], row[3]))
        print(f"faces stage alone: one thread {row[0]:.1f} s ({row[1]:.1f} s CPU), "
              f"{os.cpu_count()} threads {row[2]:.1f} s ({row[3]:.1f} s CPU); {load_line()}",
              flush=True)
    library.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--alone-only", action="store_true",
                        help="only the faces stage alone (no organize runs)")
    parser.add_argument("--model", default="efficientnet_lite2")
    parser.add_argument("--photos", type=Path,
                        default=Path(tempfile.gettempdir()) / "pc_bench_12mp")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pc_bench_faces_"))
    os.environ.setdefault("PHOTOCLUST_MODEL_CACHE", str(work / "models"))
    print(f"machine: {describe_machine()}; before: {load_line()}")
    try:
        photos = work / "photos"
        photos.mkdir()
        for path in make_photos(args.photos, args.n)[:args.n]:
            os.symlink(path, photos / path.name)
        from photoclust.core.embedding.backbones import model_spec
        from photoclust.core.embedding.onnx_runtime import load_onnx_model

        load_onnx_model(model_spec(args.model))  # a first use's export, not timed
        rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in VARIANTS}
        faces: dict[str, list[tuple]] = {}
        for pair in range(0 if args.alone_only else args.pairs):
            for name, workers in VARIANTS.items():
                os.environ["PHOTOCLUST_FACES_WORKERS"] = workers
                library = work / f"lib{pair}-{workers}.sqlite"
                seconds, _peak, cpu, out = run_process([
                    sys.executable, "-m", "photoclust", "organize", str(photos), "--library",
                    str(library), "--model", args.model, "--json"])
                report = json.loads(out)
                faces[name] = stored_faces(library)
                rows[name].append((seconds, cpu, report["faces"]["seconds"]))
                print(f"pair {pair + 1}, {name}: {seconds:.1f} s, {args.n / seconds:.1f} "
                      f"photos/s, {1000 * cpu / args.n:.0f} ms CPU per photo, "
                      f"{cpu / seconds:.2f} cores, faces stage {report['faces']['seconds']:.1f}"
                      f" s; {len(faces[name])} faces; {load_line()}", flush=True)
            os.environ.pop("PHOTOCLUST_FACES_WORKERS", None)
        alone = faces_alone(photos, work, args.pairs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if faces:
        first = next(iter(faces.values()))
        print("\nsame faces stored by every variant:", all(f == first for f in faces.values()))
    for name, runs in rows.items():
        if not runs:
            continue
        seconds = statistics.median(r[0] for r in runs)
        print(f"{name}: median {args.n / seconds:.1f} photos/s, "
              f"{1000 * statistics.median(r[1] for r in runs) / args.n:.0f} ms CPU per photo, "
              f"{statistics.median(r[1] / r[0] for r in runs):.2f} cores")
    one, many = (statistics.median(r[i] for r in alone) for i in (0, 1))
    one_cpu, many_cpu = (statistics.median(r[i] for r in alone) for i in (2, 3))
    print(f"faces stage alone, median: one thread {one:.1f} s, {os.cpu_count()} threads "
          f"{many:.1f} s (wall {1000 * one / args.n:.0f} vs {1000 * many / args.n:.0f} ms per "
          f"photo, CPU {1000 * one_cpu / args.n:.0f} vs {1000 * many_cpu / args.n:.0f} ms)")
    print(f"after: {load_line()}")


if __name__ == "__main__":
    main()
