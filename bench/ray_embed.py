"""Embedding throughput: a local run against ``photoclust embed --ray`` on a local Ray cluster.

N photos of the shared imagenette224 set are copied into a fresh library and indexed; then the
same library (two copies) is embedded by ``EmbedJob`` here and by ``RayEmbedJob`` on a Ray head
started on 127.0.0.1 with ``--workers`` CPUs (its workers load the model first: included), and
the vectors of both are compared.

    python bench/ray_embed.py [--n 300] [--workers 2] [--model efficientnet_lite2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ROOT.parent / "shared" / "datasets"


def _vectors(library) -> dict[str, np.ndarray]:
    from sqlalchemy import select

    from photoclust.core.library.models import Embedding

    with library.session() as s:
        rows = s.execute(select(Embedding.content_hash, Embedding.vector)).all()
    return {r[0]: np.frombuffer(r[1], "<f2").astype(np.float32) for r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("Ray is not installed (pip install 'photoclust[ray]'): nothing measured.")
        return 0
    from machine_info import describe_machine
    from photoclust.core.embedding.distributed import RayEmbedJob
    from photoclust.core.embedding.engine import EmbedJob
    from photoclust.core.jobs import run_job
    from photoclust.core.library import open_library
    from photoclust.core.library.scan import ScanJob

    print(describe_machine())
    work = Path(tempfile.mkdtemp(prefix="pc_ray_"))
    photos = sorted((DATASETS / "imagenette224").rglob("*.JPEG"))[:args.n]
    for i, p in enumerate(photos):
        (work / "photos").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, work / "photos" / f"{i:05d}.jpg")
    library = open_library(work / "a" / "library.sqlite")
    run_job(ScanJob(library, [str(work / "photos")]))
    library.close()
    shutil.copytree(work / "a", work / "b")
    local = open_library(work / "a" / "library.sqlite")
    t = time.perf_counter()
    done = run_job(EmbedJob(local, model=args.model))
    local_s = time.perf_counter() - t
    print(f"local: {done.embedded} photos in {local_s:.1f} s = {done.embedded / local_s:.1f} "
          f"photos/s ({done.device})", flush=True)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_AUTH_MODE="disabled")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    head = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
         "--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={args.workers}",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={work / 'ray'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(240):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(3)
        remote = open_library(work / "b" / "library.sqlite")
        t = time.perf_counter()
        done = run_job(RayEmbedJob(remote, f"127.0.0.1:{port}", model=args.model,
                                   workers=args.workers))
        ray_s = time.perf_counter() - t
        print(f"Ray, {args.workers} local workers: {done.embedded} photos in {ray_s:.1f} s = "
              f"{done.embedded / ray_s:.1f} photos/s ({done.device}; workers' model loading "
              "included)")
        a, b = _vectors(local), _vectors(remote)
        worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
        print(f"vectors: {len(a)} here, {len(b)} from Ray, same contents: {set(a) == set(b)}, "
              f"largest difference {worst:.4f}")
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
