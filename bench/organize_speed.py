"""Whole-process ``photoclust organize`` against the naive pipeline, and the machine's limit.

The naive pipeline (``bench/embed_speed.py``): decode every photo in full, resize to 224 x 224,
ResNet-50 fp32 one photo at a time. Both run as fresh processes on the same 12 MP JPEGs (quality
90, with EXIF), interleaved (naive, organize, organize int8; twice), and the speed-up is the
median of the pairs' ratios, so that a shared machine's load hits both sides alike. Peak memory
is each process's own ru_maxrss.

The machine's limit is the CPU time one photo needs in organize's stages (read + SHA-256,
DCT-scaled decode, thumbnail, model forward pass in batches), measured here in this process,
spread over the cores: photos/s that no scheduling can beat. Organize's steady state is its rate
once started: (n - few) / (time for n photos - time for a few photos).

    python bench/organize_speed.py [--n 200] [--pairs 2] [--photos DIR] [--without-faces]

The ONNX models are exported (and quantised) before timing, into their own cache folder: the
export is a one-off of first use, printed separately.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from embed_speed import PHOTO_SIZE, make_photos, run_process  # noqa: E402

from machine_info import describe_machine  # noqa: E402

FEW = 4


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    shown = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return " ".join(shown) or "none of avx2/avx512/vnni/amx"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min)"


def stage_costs(photos: list[Path], models: list[str]) -> dict[str, float]:
    """CPU seconds per photo of each stage, measured single-threaded (model: all threads, CPU
    time summed over them)."""
    from photoclust.core.embedding.devices import plan_for
    from photoclust.core.embedding.engine import load_model
    from photoclust.core.imaging import create_thumbnail, load_rgb, thumbnail_path
    from photoclust.core.library import open_library
    from photoclust.core.library.scan import hash_file

    sample = photos[:16]
    costs: dict[str, float] = {}
    started = time.process_time()
    hashes = [hash_file(str(p))[0] for p in sample]
    costs["read + SHA-256"] = (time.process_time() - started) / len(sample)
    folder = Path(tempfile.mkdtemp(prefix="pc_bench_limit_"))
    try:
        library = open_library(folder / "lib.sqlite")
        started = time.process_time()
        for path, content_hash in zip(sample, hashes):
            create_thumbnail(library, str(path), content_hash)
        costs["decode (DCT-scaled) + thumbnail + metadata"] = (
            (time.process_time() - started) / len(sample))
        for model in models:
            runner, plan = load_model(model, plan_for("cpu"))
            size = plan.batch_size  # as organize runs it
            started = time.process_time()  # organize's model input: the thumbnail
            crops = [runner.crop(load_rgb(thumbnail_path(library, h))) for h in hashes]
            costs[f"model input crop ({model})"] = (time.process_time() - started) / len(sample)
            runner.infer(crops[:size])
            started = time.process_time()
            for start in range(0, len(crops), size):
                runner.infer(crops[start:start + size])
            costs[f"forward pass ({model})"] = (time.process_time() - started) / len(crops)
        library.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of 12 MP photos (default 200)")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--without-faces", action="store_true",
                        help="organize with the library's faces setting off (no People)")
    parser.add_argument("--photos", type=Path,
                        default=Path(tempfile.gettempdir()) / "pc_bench_12mp")
    args = parser.parse_args()
    models = {"default": "efficientnet_lite2", "int8": "efficientnet_lite2_int8",
              "lite0": "efficientnet_lite0"}
    cores = os.cpu_count() or 1

    work = Path(tempfile.mkdtemp(prefix="pc_bench_organize_"))
    os.environ["PHOTOCLUST_MODEL_CACHE"] = str(work / "models")
    print(f"machine: {describe_machine()}")
    print(f"CPU flags: {cpu_flags()}")
    print(f"before: {load_line()}")
    try:
        all_photos = make_photos(args.photos, args.n)
        photos, few = work / "photos", work / "few"
        photos.mkdir()
        few.mkdir()
        for i, path in enumerate(all_photos):
            os.symlink(path, photos / path.name)
            if i < FEW:
                os.symlink(path, few / path.name)

        from photoclust.core.embedding.backbones import model_spec
        from photoclust.core.embedding.onnx_runtime import load_onnx_model

        for model in models.values():
            started = time.monotonic()
            load_onnx_model(model_spec(model))
            print(f"first use of {model}: exported to ONNX in {time.monotonic() - started:.0f} s "
                  "(once per model, runtime and weights)")

        def organize(folder: Path, model: str, tag: str) -> tuple[float, float, float, dict]:
            library = work / f"lib-{tag}.sqlite"
            if args.without_faces:  # the library setting a user turns People off with
                from photoclust.core.library import open_library
                from photoclust.core.organize.settings import save_settings
                made = open_library(library)
                save_settings(made, faces=False)
                made.close()
            seconds, peak, cpu, out = run_process([
                sys.executable, "-m", "photoclust", "organize", str(folder), "--library",
                str(library), "--model", model, "--json"])
            library.unlink()
            return seconds, peak, cpu, json.loads(out)

        naive_cmd = [sys.executable, str(Path(__file__).with_name("embed_speed.py")),
                     "--naive", str(photos)]
        rows: list[dict] = []
        start_up: dict[str, float] = {}
        for pair in range(args.pairs):
            row = {}
            row["naive"] = run_process(naive_cmd)[:2]
            for name, model in models.items():
                seconds, peak, cpu, report = organize(photos, model, f"{name}{pair}")
                if name not in start_up:  # a few photos: start-up, model loading, clustering
                    start_up[name] = organize(few, model, f"{name}-few")[0]
                row[name] = (seconds, peak)
                row[f"{name}_cpu"] = cpu
                row[f"{name}_steady"] = (args.n - FEW) / max(1e-6, seconds - start_up[name])
                row[f"{name}_device"] = report["embed"]["device"]
            rows.append(row)
            print(f"pair {pair + 1}: naive {row['naive'][0]:.1f} s; organize " + ", ".join(
                f"{row[name][0]:.1f} s ({model})" for name, model in models.items()) +
                f"; {load_line()}", flush=True)

        costs = stage_costs(all_photos, list(models.values()))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.n
    print(f"\nphotos: {n} JPEGs of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} (quality 90, EXIF)")
    for name, model in models.items():
        ratios = [r["naive"][0] / r[name][0] for r in rows]
        rate = statistics.median(n / r[name][0] for r in rows)
        steady = statistics.median(r[f"{name}_steady"] for r in rows)
        indexing = sum(v for k, v in costs.items() if "forward" not in k and "crop" not in k)
        per_photo = indexing + costs[f"model input crop ({model})"] + \
            costs[f"forward pass ({model})"]
        limit = cores / per_photo
        peak = max(r[name][1] for r in rows)
        got = statistics.median(r[f"{name}_cpu"] / r[name][0] for r in rows)
        cpu_per_photo = statistics.median(r[f"{name}_cpu"] for r in rows) / n
        print(f"organize, {model} ({rows[0][f'{name}_device']}): {rate:.1f} photos/s whole "
              f"process, {steady:.1f} photos/s steady state, peak {peak:.0f} MB")
        print(f"  speed-up vs naive: median {statistics.median(ratios):.1f}x "
              f"(pairs: {', '.join(f'{r:.1f}x' for r in ratios)})")
        print(f"  machine limit: {per_photo * 1000:.0f} ms CPU per photo over {cores} cores = "
              f"{limit:.1f} photos/s; organize reaches {100 * rate / limit:.0f} % whole process, "
              f"{100 * steady / limit:.0f} % in steady state")
        print(f"  the shared machine gave organize {got:.2f} of its {cores} cores; on those, "
              f"the limit is {got / per_photo:.1f} photos/s and organize reaches "
              f"{100 * rate * per_photo / got:.0f} % (whole process); organize used "
              f"{cpu_per_photo * 1000:.0f} ms CPU per photo in all (stages: "
              f"{per_photo * 1000:.0f} ms)")
    naive_rate = statistics.median(n / r["naive"][0] for r in rows)
    print(f"naive (full decode, ResNet-50, one at a time): {naive_rate:.2f} photos/s, peak "
          f"{max(r['naive'][1] for r in rows):.0f} MB")
    print("CPU time per photo by stage (this process):")
    for stage, seconds in costs.items():
        print(f"  {stage}: {seconds * 1000:.1f} ms")
    print(f"after: {load_line()}")


if __name__ == "__main__":
    main()
