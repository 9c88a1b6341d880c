"""Whole-process speed and memory of ``photoclust index`` + ``embed`` against the naive pipeline.

The naive pipeline is the one of the reference reports: decode every photo in full, resize it to
224 x 224, run ResNet-50 in fp32 one photo at a time. Its weights are random (same arithmetic, no
download). Every pipeline runs in its own process, so the times include start-up and model
loading and the peak memory (ru_maxrss) is that process's alone.

    python bench/embed_speed.py [--n 300] [--photos DIR] [--keep]

Photos are about 12 MP JPEGs (quality 90, with EXIF) made from the imagenette224 images
upscaled with noise, written once to --photos and reused.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine_info import describe_machine

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "imagenette224"
PHOTO_SIZE = (4000, 3000)


def make_photos(folder: Path, n: int) -> list[Path]:
    """``n`` 12 MP JPEGs from the dataset images: upscaled, with sensor-like noise and EXIF."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(DATASET.rglob("*.JPEG"))
    if not sources:
        raise SystemExit(f"no source images under {DATASET}")
    step = max(1, len(sources) // n)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        target = folder / f"IMG_{i:04d}.jpg"
        paths.append(target)
        if target.exists():
            continue
        with Image.open(sources[(i * step) % len(sources)]) as small:
            big = small.convert("RGB").resize(PHOTO_SIZE, Image.BICUBIC)
        pixels = np.asarray(big, dtype=np.int16)
        noise = rng.integers(-6, 7, size=pixels.shape[:2] + (1,), dtype=np.int16)
        big = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
        exif = Image.Exif()
        exif[0x010F], exif[0x0110], exif[0x0112] = "BenchCam", "Model 12", 1
        exif[0x0132] = "2024:06:01 12:00:00"
        partial = target.with_suffix(".tmp")
        big.save(partial, "JPEG", quality=90, exif=exif)
        partial.replace(target)
        print(f"\rgenerated {i + 1}/{n} photos", end="", flush=True)
    print()
    return paths


def run_process(argv: list[str]) -> tuple[float, float, float, str]:
    """Run a command as a child process: (wall seconds, peak RSS in MB of that child, its CPU
    seconds, stdout)."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: measure each in a fresh wrapper.
    wrapper = [sys.executable, __file__, "--measure", json.dumps(argv)]
    started = time.monotonic()
    done = subprocess.run(wrapper, capture_output=True, text=True, cwd=REPO)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, report["peak_mb"], report["cpu_s"], report["stdout"]


def measure(argv: list[str]) -> None:
    """Child wrapper: run ``argv`` and print its peak RSS (the wrapper itself stays small)."""
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"peak_mb": usage.ru_maxrss / 1024, "stdout": done.stdout,
                      "cpu_s": usage.ru_utime + usage.ru_stime}))


def naive(folder: str) -> None:
    """The reference reports' pipeline: full decode, resize, ResNet-50 fp32, one photo at a time."""
    import torch
    from PIL import Image
    from torchvision.models import resnet50

    model = resnet50(weights=None).eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    features = []
    for path in sorted(Path(folder).glob("*.jpg")):
        image = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].float() / 255.0
        with torch.no_grad():
            features.append(model((x - mean) / std).numpy())
    print(json.dumps({"photos": len(features)}))


def photoclust(*args: str) -> list[str]:
    return [sys.executable, "-m", "photoclust", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="number of 12 MP photos (default 300)")
    parser.add_argument("--photos", type=Path,
                        default=Path(tempfile.gettempdir()) / "pc_bench_12mp")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--naive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(json.loads(args.measure))
    if args.naive:
        return naive(args.naive)

    print(f"machine: {describe_machine()}")
    all_photos = make_photos(args.photos, args.n)
    folder = Path(tempfile.mkdtemp(prefix="pc_bench_run_"))
    try:
        photos = folder / "photos"
        photos.mkdir()
        for path in all_photos:
            os.symlink(path, photos / path.name)
        n = len(all_photos)
        weights = folder / "resnet50_random.pth"
        import torch
        from torchvision.models import resnet50

        torch.save(resnet50(weights=None).state_dict(), weights)

        library = str(folder / "lib.sqlite")
        t_index, m_index, _, _ = run_process(photoclust("index", str(photos), "--library", library,
                                                     "--json"))
        t_embed, m_embed, _, out = run_process(photoclust("embed", "--library", library, "--json"))
        embed_report = json.loads(out)
        t_fast, m_fast, _, _ = run_process(photoclust(
            "embed", "--library", library, "--model", "efficientnet_lite0", "--json"))
        t_resnet, m_resnet, _, _ = run_process(photoclust(
            "embed", "--library", library, "--model", "resnet50", "--weights", str(weights),
            "--json"))
        t_naive, m_naive, _, _ = run_process([sys.executable, __file__, "--naive", str(photos)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    ours = n / (t_index + t_embed)
    ours_fast = n / (t_index + t_fast)
    ours_resnet = n / (t_index + t_resnet)
    reference = n / t_naive
    print(f"photos: {n} JPEGs of {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} (quality 90)")
    print(f"photoclust index:                {t_index:7.1f} s, peak {m_index:6.0f} MB")
    print(f"photoclust embed ({embed_report['model']}): {t_embed:7.1f} s, peak {m_embed:6.0f} MB "
          f"(model lane alone {embed_report['photos_per_second']:.1f} photos/s, "
          f"{embed_report['device']})")
    print(f"photoclust embed (Lite0, fast):  {t_fast:7.1f} s, peak {m_fast:6.0f} MB")
    print(f"photoclust embed (ResNet-50):    {t_resnet:7.1f} s, peak {m_resnet:6.0f} MB")
    print(f"naive (full decode, ResNet-50):  {t_naive:7.1f} s, peak {m_naive:6.0f} MB")
    print(f"whole process, index + embed:    {ours:.2f} photos/s (default model), "
          f"{ours_fast:.2f} photos/s (Lite0), {ours_resnet:.2f} photos/s (ResNet-50); "
          f"naive {reference:.2f} photos/s")
    print(f"speed-up vs naive: {ours / reference:.1f}x default model, "
          f"{ours_fast / reference:.1f}x Lite0, {ours_resnet / reference:.1f}x same model "
          "(ResNet-50)")


if __name__ == "__main__":
    main()
