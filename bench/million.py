"""A synthetic library of N photos, and what each operation costs on it.

    python bench/million.py --photos 100000 [--json] [--keep DIR]

(without ``--photos``: 30,000, a few minutes, for ``make bench``; docs/benchmarks.md: 100,000.)

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
| ``place_10000_s`` | ``ClusterJob`` placing 10,000 new photos among the others, in the space the
  last clustering kept (``clustering.space``; kept first: ``place_space_kept_s``) |
| ``place_10000_unkept_s`` | the same without a kept space (operation ``place_unkept``: the first
  placement after an upgrade, or when the basis is fitted again) |
| ``learn_s`` / ``learn_peak_mb`` | ``LearnJob`` (no answers) on a copy of the library |
| ``recluster_s`` / ``recluster_peak_mb`` | ``ClusterJob`` of every photo (k given) |
| ``library_bytes_per_photo`` | the SQLite file (and its index files) per photo |
| ``peak_mb`` | the largest peak resident memory of all these processes |
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
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


#: The library's shape.
NEAR_COPIES = 0.02        # share of photos that are a near copy of the photo before
EXACT_COPIES = 0.01       # share that are an exact copy (same bytes) of an earlier photo
NOISE = 0.62              # noise norm around the real photo: cosine about 0.85 to it
THUMBNAILS = 2000
NEW_PHOTOS = 10_000       # left unplaced, for "place 10,000 new photos"
CAMERAS = ["Canon EOS 5D Mark III", "Pixel 7", "iPhone 12", "NIKON D750", None]
CHUNK = 20_000


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores a DateTime in SQLite


def _events(n: int, rng: np.random.Generator, labels: np.ndarray):
    """Per photo: its event (a day out: one folder), and per event its date, camera and kinds."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(min(300, max(10, rng.lognormal(3.8, 0.9)))))
    sizes[-1] -= sum(sizes) - n
    kinds = np.unique(labels)
    events = []
    for size in sizes:
        year = int(rng.integers(2005, 2026))
        day = datetime(year, 1, 1, 8) + timedelta(days=int(rng.integers(0, 365)),
                                                  minutes=int(rng.integers(0, 600)))
        events.append((size, day, CAMERAS[int(rng.integers(0, len(CAMERAS)))],
                       rng.choice(kinds, size=int(rng.integers(1, 4)))))
    return events


def build_library(n: int, path: Path) -> float:
    """Write a library of ``n`` photos at ``path`` (see the module docstring); seconds taken."""
    from photoclust.core.embedding.backbones import DEFAULT_MODEL, PREPROCESS_VERSION
    from photoclust.core.library import open_library

    started = time.perf_counter()
    X, tops, labels = real_embeddings()
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    dim = X.shape[1]
    rng = np.random.default_rng(0)
    partial = path.with_name(path.name + ".partial")
    for leftover in path.parent.glob(path.name + ".partial*"):
        leftover.unlink()
    library = open_library(partial)
    library.close()
    con = sqlite3.connect(partial)
    con.execute("PRAGMA synchronous=OFF")
    now = _stamp(datetime(2026, 1, 1))
    con.execute("INSERT INTO clustering_runs (id, model, method, k, params, created_at) "
                "VALUES (1, ?, 'kmeans', ?, '{}', ?)", (DEFAULT_MODEL, len(np.unique(labels)), now))
    kinds = np.unique(labels)
    con.executemany("INSERT INTO clusters (id, name, name_source, active, created_run_id, "
                    "created_at) VALUES (?, ?, 'auto', 1, 1, ?)",
                    [(int(i) + 1, f"kind {int(k)}", now) for i, k in enumerate(kinds)])
    cluster_of_kind = {int(k): i + 1 for i, k in enumerate(kinds)}
    by_kind = {int(k): np.flatnonzero(labels == k) for k in kinds}
    events = _events(n, rng, labels)
    i = 0
    pending_photos, pending_embeddings, pending_assign = [], [], []
    previous = X[0]
    previous_time = datetime(2005, 1, 1)
    previous_base = 0
    for e, (size, day, camera, event_kinds) in enumerate(events):
        t = day
        folder = f"/photos/{day.year}/{day:%Y-%m-%d} event {e}"
        for _ in range(size):
            i += 1
            roll = rng.random()
            kind = int(event_kinds[int(rng.integers(0, len(event_kinds)))])
            if roll < EXACT_COPIES and i > 2:
                source = int(rng.integers(1, i - 1))
                pending_photos.append((i, f"/photos/backup/{source % 97}/IMG_{i:07d}.jpg",
                                       f"{source:064x}", None, camera))
                if i <= n - NEW_PHOTOS:
                    pending_assign.append((i, 1 + int(rng.integers(0, len(kinds)))))
                continue
            if roll < EXACT_COPIES + NEAR_COPIES:
                vector = previous + 0.05 / np.sqrt(dim) * rng.normal(size=dim)
                t = previous_time + timedelta(seconds=1)
            else:
                base = int(rng.choice(by_kind[kind]))
                vector = X[base] + NOISE / np.sqrt(dim) * rng.normal(size=dim)
                gap = rng.uniform(0.5, 2) if rng.random() < 0.1 else rng.exponential(60)
                t = t + timedelta(seconds=float(gap))
                previous_base = base
            content = f"{i:064x}"
            pending_photos.append((i, f"{folder}/IMG_{i:07d}.jpg", content, _stamp(t), camera))
            pending_embeddings.append((content, DEFAULT_MODEL, PREPROCESS_VERSION, dim,
                                       vector.astype("<f2").tobytes(), tops[previous_base]))
            if i <= n - NEW_PHOTOS:
                pending_assign.append((i, cluster_of_kind[kind]))
            previous, previous_time = vector, t
            if len(pending_photos) >= CHUNK:
                _flush(con, pending_photos, pending_embeddings, pending_assign, now)
    _flush(con, pending_photos, pending_embeddings, pending_assign, now)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    return time.perf_counter() - started


def _flush(con, photos, embeddings, assignments, now) -> None:
    con.executemany("INSERT INTO photos (id, path, content_hash, file_size, mtime_ns, width, "
                    "height, image_format, taken_at, camera, status, added_at, updated_at) "
                    "VALUES (?, ?, ?, 2500000, 0, 4000, 3000, 'JPEG', ?, ?, 'present', ?, ?)",
                    [(*p[:3], p[3], p[4], now, now) for p in photos])
    con.executemany("INSERT INTO embeddings (content_hash, model, preprocess_version, dim, "
                    "vector, top_classes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*e, now) for e in embeddings])
    con.executemany("INSERT INTO assignments (photo_id, cluster_id, source, confidence, run_id) "
                    "VALUES (?, ?, 'auto', 0.8, 1)", assignments)
    con.commit()
    photos.clear()
    embeddings.clear()
    assignments.clear()


def write_thumbnails(path: Path, n: int) -> float:
    """Every photo's thumbnail: a hard link to one of ``THUMBNAILS`` real ones (made once)."""
    from PIL import Image

    from photoclust.core.imaging import make_thumbnail, to_rgb
    from photoclust.core.library import open_library

    started = time.perf_counter()
    cache = WORK / "thumbnails"
    if len(list(cache.glob("*.jpg"))) < THUMBNAILS:
        cache.mkdir(parents=True, exist_ok=True)
        sources = sorted(p for name in REAL_SETS for p in (DATASETS / name).rglob("*")
                         if p.suffix.lower() in {".jpg", ".jpeg"})
        pick = np.random.default_rng(0).choice(len(sources), min(THUMBNAILS, len(sources)),
                                               replace=False)
        for k, s in enumerate(pick):
            with Image.open(sources[s]) as image:
                to_rgb(make_thumbnail(image.convert("RGB"))).save(cache / f"{k}.jpg", quality=85)
    thumbs = sorted(cache.glob("*.jpg"))
    library = open_library(path)
    root = Path(library.thumbnail_dir)
    library.close()
    con = sqlite3.connect(path)
    hashes = [r[0] for r in con.execute("SELECT DISTINCT content_hash FROM photos")]
    con.close()
    for k, content in enumerate(hashes):
        dest = root / content[:2] / f"{content}.jpg"
        if k == 0 or content[:2] != hashes[k - 1][:2]:
            dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            os.link(thumbs[k % len(thumbs)], dest)
    return time.perf_counter() - started


# -- the operations, each run in a process of its own ---------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(op: str, path: Path) -> dict:
    """Run operation ``op`` on the library at ``path``; its figures (and this process's peak)."""
    from photoclust.core.library import open_library

    library = open_library(path)
    out: dict[str, float] = {}
    rng = np.random.default_rng(5)
    with library.session() as s:
        from sqlalchemy import func, select

        from photoclust.core.library.models import Photo
        n = s.scalar(select(func.max(Photo.id))) or 0
    if op == "similar_build":
        from photoclust.core.search import similar_photos

        t = time.perf_counter()
        similar_photos(library, 1)
        out["similar_index_build_s"] = time.perf_counter() - t
    elif op == "similar":
        from photoclust.core.search import SearchError, similar_photos

        t = time.perf_counter()
        similar_photos(library, int(rng.integers(1, n)))
        out["similar_first_s"] = time.perf_counter() - t
        times = []
        for pid in rng.integers(1, n, 30):
            t = time.perf_counter()
            try:
                similar_photos(library, int(pid))
            except SearchError:
                continue  # an exact copy's photo row: it has the vector, so none are expected
            times.append(time.perf_counter() - t)
        out["similar_warm_ms"] = 1000 * statistics.median(times)
    elif op == "search":
        from photoclust.core.search import search_photos

        t = time.perf_counter()
        search_photos(library, "dog")
        out["search_words_first_s"] = time.perf_counter() - t
        times = []
        for query in ["dog", "golf ball", "july 2019", "canon", "event 12", "shoes 2016"] * 3:
            t = time.perf_counter()
            search_photos(library, query)
            times.append(time.perf_counter() - t)
        out["search_words_warm_ms"] = 1000 * statistics.median(times)
    elif op == "duplicates":
        from photoclust.core.clustering.duplicates import library_duplicate_groups

        t = time.perf_counter()
        groups, _paths = library_duplicate_groups(library)
        out["near_duplicates_s"] = time.perf_counter() - t
        out["near_duplicate_groups"] = len(groups)
        out["near_duplicates_peak_mb"] = _peak_mb()
    elif op in ("place", "place_unkept"):
        from photoclust.core.clustering.job import ClusterJob
        from photoclust.core.jobs import JobContext

        name = "place_10000" if op == "place" else "place_10000_unkept"
        if op == "place":  # the space the last clustering (of the placed photos) kept
            out["place_space_kept_s"] = keep_space_of_placed(library)
        t = time.perf_counter()
        result = ClusterJob(library).run(JobContext())
        out[f"{name}_s"] = time.perf_counter() - t
        out[f"{name}_placed"] = result.placed
        out[f"{name}_peak_mb"] = _peak_mb()
    elif op == "learn":
        from photoclust.core.jobs import JobContext
        from photoclust.core.learning.job import LearnJob

        t = time.perf_counter()
        LearnJob(library).run(JobContext())
        out["learn_s"] = time.perf_counter() - t
        out["learn_peak_mb"] = _peak_mb()
    elif op == "recluster":
        from photoclust.core.clustering.job import ClusterJob
        from photoclust.core.jobs import JobContext

        with library.session() as s:
            from photoclust.core.library.models import Cluster
            k = s.scalar(select(func.count()).select_from(Cluster)
                         .where(Cluster.active.is_(True)))
        t = time.perf_counter()
        ClusterJob(library, k=int(k), fresh=True).run(JobContext())
        out["recluster_s"] = time.perf_counter() - t
        out["recluster_peak_mb"] = _peak_mb()
    library.close()
    out[f"{op}_process_peak_mb"] = _peak_mb()
    return out


def keep_space_of_placed(library) -> float:
    """Keep the clustering space as a clustering of the photos in a cluster would have kept it
    (``clustering.space``: the bench writes its clusters directly, no run kept one), so that
    ``place`` measures a placement after a clustering; seconds taken (not part of the figure)."""
    from photoclust.core.clustering import space
    from photoclust.core.clustering.job import ClusterJob, project_embeddings
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.embedding.store import embedded_photo_rows, library_model

    started = time.perf_counter()
    model = library_model(library)
    photo_ids, rows = embedded_photo_rows(library, model)
    current, _user, _removed = ClusterJob(library)._placements(photo_ids)
    photo_ids, rows = photo_ids[current >= 0], rows[current >= 0]
    preprocessor = EmbeddingPreprocessor(128, random_state=0)
    kept, Z, _ = project_embeddings(library, model, preprocessor, photo_ids,
                                    np.zeros(len(photo_ids), dtype=bool))
    space.save(library, model, space.KeptSpace(photo_ids[kept], rows[kept], Z,
                                                *preprocessor.basis(), len(photo_ids)))
    return time.perf_counter() - started


def run_child(op: str, path: Path, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run([sys.executable, __file__, "--child", op, "--library", str(path)],
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {f"{op}_timed_out_after_s": timeout}
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {f"{op}_failed": done.returncode}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=30_000)
    parser.add_argument("--json", action="store_true", help="print {operation: figure} only")
    parser.add_argument("--keep", type=Path, default=None, help="folder of the library")
    parser.add_argument("--operations", nargs="+",
                        default=["similar", "search", "duplicates", "place", "recluster"])
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per operation")
    parser.add_argument("--no-thumbnails", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.library)))
        return 0
    from machine_info import describe_machine

    folder = args.keep or WORK / str(args.photos)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "library.sqlite"
    figures: dict[str, float] = {}
    if not path.exists():
        figures["build_s"] = build_library(args.photos, path)
        if not args.no_thumbnails:
            figures["thumbnails_s"] = write_thumbnails(path, args.photos)
    size = sum(p.stat().st_size for p in folder.glob("library.sqlite*"))
    figures["library_bytes_per_photo"] = size / args.photos
    if "similar" in args.operations:
        figures.update(run_child("similar_build", path, args.timeout))
    for op in args.operations:
        if op in ("place", "place_unkept", "recluster", "learn"):
            scratch = folder / "scratch.sqlite"  # these change the library: a copy of it
            shutil.copyfile(path, scratch)
            figures.update(run_child(op, scratch, args.timeout))
            for leftover in folder.glob("scratch.*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        else:
            figures.update(run_child(op, path, args.timeout))
    peaks = [v for k, v in figures.items() if k.endswith("_process_peak_mb")]
    figures["peak_mb"] = max(peaks) if peaks else 0.0
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    if args.json:
        print(json.dumps(figures))
    else:
        print(describe_machine())
        print(f"{args.photos} photos, library {path}")
        for key, value in figures.items():
            print(f"{key:32s} {value}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
