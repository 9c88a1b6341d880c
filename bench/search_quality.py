"""Search quality, similar-photo quality, speed, and cluster names on the shared labelled sets.

For each set, a library under ``/tmp/pc_search/<set>`` holds copies of its photos under anonymous
file names (``img_00001.jpg``: a folder name must not answer the query), embedded with the default
model (from ``bench/cache_features.py``'s ``/tmp/pc_features/<set>.npz`` when present, else by the
library's own embedding job) and clustered once (k auto); later runs reuse it.

- search precision@20: the share of the 20 first results whose folder label answers the query,
  for the words a person would type (never the folder names' spelling: "chainsaw", "horn");
- similar precision@10 over 40 random photos: the share of the 10 most similar photos with the
  query photo's label;
- names: each cluster's suggested name before (the most voted ImageNet classes) and after (the
  most specific WordNet concept covering most of its photos), next to its majority folder label;
- speed: building the index and answering over 100,000 synthetic photos.

    python bench/search_quality.py [--sets imagenette224 clothing14 cifar10_test] [--speed-n N]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_info import describe_machine
from photoclust.core.clustering import naming
from photoclust.core.embedding.backbones import DEFAULT_MODEL, PREPROCESS_VERSION
from photoclust.core.library import open_library
from photoclust.core.library.models import Embedding, Photo

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
WORK = Path("/tmp/pc_search")
FEATURES = Path("/tmp/pc_features")
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}

#: query as a person types it -> the folder labels that answer it
QUERIES = {
    "imagenette224": {
        "fish": {"tench"}, "dog": {"english_springer"}, "truck": {"garbage_truck"},
        "church": {"church"}, "golf ball": {"golf_ball"}, "parachute": {"parachute"},
        "chainsaw": {"chain_saw"}, "gas pump": {"gas_pump"},
        "cassette player": {"cassette_player"}, "horn": {"french_horn"},
    },
    "clothing14": {
        "shoes": {"shoes"}, "hat": {"hat"}, "dress": {"dress"}, "trousers": {"pants"},
        "shorts": {"shorts"}, "skirt": {"skirt"}, "jacket": {"blazer", "outwear"},
        "hoodie": {"hoodie"},
    },
    "cifar10_test": {
        "airplane": {"airplane"}, "car": {"automobile"}, "bird": {"bird"}, "cat": {"cat"},
        "deer": {"deer"}, "dog": {"dog"}, "frog": {"frog"}, "horse": {"horse"},
        "ship": {"ship"}, "truck": {"truck"},
    },
}
GOALS = {"imagenette224": (0.85, 0.95), "clothing14": (0.6, 0.55)}

#: For judging names only (never used by photoclust): the words people use for each folder's
#: kind. A cluster's name "is the kind people would use" when it contains one of its majority
#: label's words.
PEOPLE_WORDS = {
    "imagenette224": {"tench": {"tench", "fish"}, "english_springer": {"springer", "dog"},
                      "cassette_player": {"cassette"}, "chain_saw": {"chain saw", "chainsaw"},
                      "church": {"church"}, "french_horn": {"horn"},
                      "garbage_truck": {"garbage truck", "truck"}, "gas_pump": {"gas pump"},
                      "golf_ball": {"golf ball"}, "parachute": {"parachute"}},
    "clothing14": {"dress": {"dress", "gown"}, "hat": {"hat", "cap"},
                   "shoes": {"shoe", "footwear", "sandal", "boot", "sneaker"},
                   "pants": {"trousers", "pants", "jean"}, "shorts": {"shorts", "trunks"},
                   "skirt": {"skirt"}, "tshirt": {"t-shirt", "shirt", "jersey"},
                   "longsleeve": {"shirt", "jersey", "sweatshirt"},
                   "shirt": {"shirt"}, "polo": {"polo", "shirt", "jersey"},
                   "outwear": {"coat", "jacket"}, "blazer": {"blazer", "jacket", "suit"},
                   "hoodie": {"hoodie", "sweatshirt"}, "undershirt": {"undershirt", "vest"}},
    "cifar10_test": {"airplane": {"airplane", "plane", "aircraft", "airliner", "jet"},
                     "automobile": {"car", "automobile"}, "bird": {"bird"}, "cat": {"cat"},
                     "deer": {"deer"}, "dog": {"dog"}, "frog": {"frog"}, "horse": {"horse"},
                     "ship": {"ship", "boat"}, "truck": {"truck", "lorry"}},
}


def list_set(root: Path, per_label: int | None) -> list[tuple[Path, str]]:
    items = []
    for label_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        files = sorted(p for p in label_dir.iterdir() if p.suffix.lower() in SUFFIXES)
        items += [(p, label_dir.name) for p in files[:per_label]]
    return items


def build_library(name: str, per_label: int | None):
    """The set's library (built once): anonymous copies, embeddings, clusters."""
    from photoclust.core.clustering.job import ClusterJob
    from photoclust.core.jobs import run_job
    from photoclust.core.library.scan import ScanJob

    work = WORK / name
    done_marker = work / "labels.json"
    if done_marker.exists():
        return open_library(work / "library.sqlite"), json.loads(done_marker.read_text())
    if work.exists():
        shutil.rmtree(work)
    photos = work / "photos"
    photos.mkdir(parents=True)
    items = list_set(DATASETS / name, per_label)
    originals = {}
    for i, (path, label) in enumerate(items):
        copy = photos / f"img_{i:05d}{path.suffix.lower()}"
        shutil.copyfile(path, copy)
        originals[str(copy)] = (f"{label}/{path.name}", label)
    library = open_library(work / "library.sqlite")
    run_job(ScanJob(library, [photos]))
    cached = FEATURES / f"{name}.npz"
    started = time.monotonic()
    if cached.exists() and str(np.load(cached)["model"]) == DEFAULT_MODEL:
        insert_cached_embeddings(library, cached, originals)
        how = f"features from {cached}"
    else:
        from photoclust.core.embedding.engine import EmbedJob

        run_job(EmbedJob(library, model=DEFAULT_MODEL, device="cpu"))
        how = "embedded here"
    print(f"{name}: {len(items)} photos, {how} in {time.monotonic() - started:.0f} s")
    run_job(ClusterJob(library, model=DEFAULT_MODEL))
    with library.session() as s:
        labels = {pid: originals[path][1]
                  for pid, path in s.query(Photo.id, Photo.path).all()}
    done_marker.write_text(json.dumps(labels))
    return library, {str(k): v for k, v in labels.items()}


def insert_cached_embeddings(library, cached: Path, originals: dict) -> None:
    data = np.load(cached)
    by_relative = {"/".join(Path(p).parts[-2:]): i for i, p in enumerate(data["paths"])}
    class_names = [str(c) for c in data["class_names"]]
    with library.session() as s:
        rows = s.query(Photo.path, Photo.content_hash).all()
        for path, content in rows:
            i = by_relative[originals[path][0]]
            top = [[class_names[c], round(float(p), 4)]
                   for c, p in zip(data["top_classes"][i], data["top_probs"][i])]
            s.merge(Embedding(content_hash=content, model=DEFAULT_MODEL,
                              preprocess_version=int(data["preprocess_version"]),
                              dim=data["X"].shape[1],
                              vector=data["X"][i].astype("<f2").tobytes(),
                              top_classes=json.dumps(top)))


def search_precision(library, labels: dict, queries: dict, k: int = 20) -> dict[str, float]:
    from photoclust.core.search import search_photos

    result = {}
    for query, answers in queries.items():
        hits = search_photos(library, query, limit=k)
        result[query] = sum(labels[str(h.id)] in answers for h in hits) / k
    return result


#: The words of photoclust/core/search/scenes.py (fixed here, so that the figures before and
#: after it compare the same words).
SCENE_AND_COMMON_WORDS = ("bathroom", "kitchen", "bedroom", "living room", "beach", "street",
                          "mountain", "house", "church", "hat", "dress")


def _hits(library, query: str) -> list:
    from photoclust.core.search import search_photos

    return search_photos(library, query, limit=1000)


def similar_precision(library, labels: dict, n: int = 40, k: int = 10, seed: int = 0) -> float:
    from photoclust.core.search import similar_photos

    ids = sorted(int(i) for i in labels)
    rng = np.random.default_rng(seed)
    scores = []
    for pid in rng.choice(ids, size=min(n, len(ids)), replace=False).tolist():
        hits = similar_photos(library, pid, limit=k)
        scores.append(sum(labels[str(h.id)] == labels[str(pid)] for h in hits) / k)
    return float(np.mean(scores))


def names_table(library, labels: dict) -> list[tuple[str, int, str, str, float]]:
    """Per cluster: majority label, size, name before, name after, majority share."""
    from photoclust.core.embedding.store import load_top_classes
    from photoclust.core.library.models import Assignment

    with library.session() as s:
        pairs = s.query(Assignment.photo_id, Assignment.cluster_id).all()
    members: dict[int, list[int]] = {}
    for pid, cid in pairs:
        members.setdefault(cid, []).append(pid)
    top = load_top_classes(library, DEFAULT_MODEL, [p for p, _ in pairs])
    rows = []
    before_taken: set[str] = set()
    ids = [p for p, _ in pairs]
    cluster_of = [c for _, c in pairs]
    after = naming.suggest_names(cluster_of, ids, top)
    for cid in sorted(members, key=lambda c: -len(members[c])):
        votes = naming.class_votes(top.get(p, ()) for p in members[cid])
        before = naming.name_from_votes(votes, before_taken)
        before_taken.add(before)
        majority, count = Counter(labels[str(p)] for p in members[cid]).most_common(1)[0]
        rows.append((majority, len(members[cid]), before, after[cid], count / len(members[cid])))
    return rows


def synthetic_library(n: int):
    """A library of ``n`` photos with random embeddings, top classes, dates and cameras."""
    from photoclust.core.library.models import Assignment, Cluster
    from photoclust.core.search.vocabulary import vocabulary

    path = WORK / f"synthetic_{n}" / "library.sqlite"
    if path.exists():
        return open_library(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    library = open_library(path.with_suffix(".partial"))
    rng = np.random.default_rng(0)
    names = vocabulary().class_names
    centres = rng.normal(size=(200, 1280)).astype(np.float32)
    with library.session() as s:
        clusters = [Cluster(name=f"cluster {i}") for i in range(200)]
        s.add_all(clusters)
        s.flush()
        cluster_ids = [c.id for c in clusters]
    from datetime import datetime, timedelta

    start = datetime(2015, 1, 1)
    cameras = ["Canon EOS 5D", "Pixel 7", "iPhone 12", None]
    for first in range(0, n, 5000):
        count = min(5000, n - first)
        group = rng.integers(0, 200, size=count)
        X = (centres[group] + rng.normal(size=(count, 1280)).astype(np.float32)).astype("<f2")
        classes = rng.integers(0, 1000, size=(count, 5))
        probs = rng.dirichlet(np.ones(6), size=count)[:, :5]
        photos, embeddings, assignments = [], [], []
        for j in range(count):
            i = first + j
            content = f"{i:064x}"
            photos.append({"id": i + 1, "path": f"/photos/{2015 + i % 10}/folder{i % 300}/"
                           f"IMG_{i:06d}.jpg", "content_hash": content, "file_size": 1,
                           "mtime_ns": 0, "camera": cameras[i % 4],
                           "taken_at": start + timedelta(hours=int(i))})
            embeddings.append({"content_hash": content, "model": DEFAULT_MODEL,
                               "preprocess_version": PREPROCESS_VERSION, "dim": 1280,
                               "vector": X[j].tobytes(), "top_classes": json.dumps(
                                   [[names[c], round(float(p), 4)]
                                    for c, p in zip(classes[j], probs[j])])})
            assignments.append({"photo_id": i + 1, "cluster_id": cluster_ids[group[j]],
                                "source": "auto", "confidence": 0.5})
        with library.session() as s:
            s.execute(Photo.__table__.insert(), photos)
            s.execute(Embedding.__table__.insert(), embeddings)
            s.execute(Assignment.__table__.insert(), assignments)
    library.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path.with_suffix(".partial")) + suffix).unlink(missing_ok=True)
    path.with_suffix(".partial").rename(path)
    return open_library(path)


def changes(library, n: int, added: int = 1000) -> dict[str, tuple[float, float, float]]:
    """The first search, the first similar, and the first similar in a new process (the index
    read again, the space read from disk) after a scan that re-reads every photo, and after
    ``added`` new embedded photos (removed again afterwards)."""
    from datetime import datetime

    from sqlalchemy import delete, update

    from photoclust.core.search import search_photos, similar_photos
    from photoclust.core.search.index import forget

    def timed() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        search_photos(library, "dog")
        t1 = time.perf_counter()
        similar_photos(library, 1)
        t2 = time.perf_counter()
        forget(library)
        similar_photos(library, 1)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    out = {}
    with library.session() as s:  # what a scan writes to each photo it sees
        s.execute(update(Photo).values(updated_at=datetime.now()))
    out["a scan that re-read every photo"] = timed()
    rng = np.random.default_rng(2)
    X = rng.normal(size=(added, 1280)).astype("<f2")
    hashes = [f"new{i:061x}" for i in range(added)]
    with library.session() as s:
        s.execute(Photo.__table__.insert(), [
            {"id": n + 1 + i, "path": f"/photos/new/IMG_{i:06d}.jpg", "content_hash": h,
             "file_size": 1, "mtime_ns": 0} for i, h in enumerate(hashes)])
        s.execute(Embedding.__table__.insert(), [
            {"content_hash": h, "model": DEFAULT_MODEL, "preprocess_version": PREPROCESS_VERSION,
             "dim": 1280, "vector": X[i].tobytes(), "top_classes": None}
            for i, h in enumerate(hashes)])
    out[f"{added:,} new photos embedded"] = timed()
    with library.session() as s:
        s.execute(delete(Photo).where(Photo.id > n))
        s.execute(delete(Embedding).where(Embedding.content_hash.in_(hashes)))
    forget(library)
    return out


def speed(n: int) -> None:
    from photoclust.core.search import index as search_index_module
    from photoclust.core.search import search_photos, similar_photos
    from photoclust.core.search.index import forget, search_index, similarity_space

    started = time.monotonic()
    library = synthetic_library(n)
    print(f"synthetic library of {n} photos ready in {time.monotonic() - started:.0f} s")
    import sklearn.decomposition  # noqa: F401 - imported once per process: not the space's cost

    forget(library)
    for kept in library.data_dir.glob("similar-*.npz"):
        kept.unlink()
    started = time.perf_counter()
    index = search_index(library)
    built = time.perf_counter() - started
    started = time.perf_counter()
    similarity_space(library, index)
    space_built = time.perf_counter() - started
    forget(library)  # as a new process finds it: the space kept on disk
    index = search_index(library)
    started = time.perf_counter()
    similarity_space(library, index)
    space_loaded = time.perf_counter() - started
    queries = ["dog", "golf ball", "july 2019", "canon", "folder12", "hats canon 2016",
               "xyzzy"]
    timings: dict[str, list[float]] = {q: [] for q in queries}
    timings["similar"] = []
    rng = np.random.default_rng(1)
    for _ in range(5):  # interleaved rounds: shared-machine load hits every query alike
        for q in queries:
            t = time.perf_counter()
            search_photos(library, q)
            timings[q].append(time.perf_counter() - t)
        t = time.perf_counter()
        similar_photos(library, int(rng.integers(1, n + 1)))
        timings["similar"].append(time.perf_counter() - t)
    after_edit = []
    for _ in range(3):  # a write (an edit, a rename) makes the next search re-read placements
        Path(library.path).touch()
        t = time.perf_counter()
        search_photos(library, "dog")
        after_edit.append(time.perf_counter() - t)
    after_changes = changes(library, n)
    print(f"\n### Speed on {n:,} synthetic photos\n")
    print(f"index for text search built in {built:.1f} s (the first search after photos or "
          f"embeddings changed); the space for similar built in {space_built:.1f} s (the first "
          f"similar after that), read back in {space_loaded:.2f} s (in a new process)\n")
    print(f"the first search after an edit: {1000 * np.median(after_edit):.0f} ms (median of 3)\n")
    print("| query | median ms | max ms |\n|---|---|---|")
    for q, ts in timings.items():
        print(f"| {q} | {1000 * np.median(ts):.0f} | {1000 * max(ts):.0f} |")
    print("\n| after | first search | first similar | first similar, new process |\n"
          "|---|---|---|---|")
    for what, (search_s, similar_s, new_process_s) in after_changes.items():
        print(f"| {what} | {1000 * search_s:.0f} ms | {1000 * similar_s:.0f} ms "
              f"| {1000 * new_process_s:.0f} ms |")
    print(f"\n(PCA fitted on {search_index_module.SIMILAR_PCA_SAMPLE:,} photos)")
    library.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["imagenette224", "clothing14",
                                                       "cifar10_test"])
    parser.add_argument("--cifar-per-label", type=int, default=100,
                        help="photos per label of cifar10_test (its 10,000 take long on a CPU)")
    parser.add_argument("--speed-n", type=int, default=100_000,
                        help="synthetic photos for the speed figures (0: skip)")
    args = parser.parse_args(argv)
    print(f"machine: {describe_machine()}\nmodel: {DEFAULT_MODEL}\n")
    for name in args.sets:
        per_label = args.cifar_per_label if name == "cifar10_test" else None
        library, labels = build_library(name, per_label)
        goal_search, goal_similar = GOALS.get(name, (None, None))
        precision = search_precision(library, labels, QUERIES[name])
        print(f"\n### {name}: {len(labels)} photos\n")
        print("| query | precision@20 |\n|---|---|")
        for q, p in precision.items():
            print(f"| {q} | {p:.2f} |")
        mean = float(np.mean(list(precision.values())))
        print(f"| **mean** | **{mean:.3f}**" + (f" (goal {goal_search})" if goal_search else "")
              + " |")
        similar = similar_precision(library, labels)
        print(f"\nsimilar photos precision@10 over 40 photos: {similar:.3f}"
              + (f" (goal {goal_similar})" if goal_similar else ""))
        print("\n| majority label (share) | size | name before | name after | a word people "
              "use |\n|---|---|---|---|---|")
        rows = names_table(library, labels)
        people = PEOPLE_WORDS.get(name, {})
        used = 0
        for majority, size, before, after, share in rows:
            ok = any(w in after.lower() for w in people.get(majority, ()))
            used += ok
            print(f"| {majority} ({share:.0%}) | {size} | {before} | {after} | "
                  f"{'yes' if ok else 'no'} |")
        print(f"\nnames that are a word people use for the cluster's kind: {used} of "
              f"{len(rows)}")
        scene_words = [w for w in SCENE_AND_COMMON_WORDS if len(_hits(library, w)) >= 5]
        print(f"scene and common words finding 5 photos or more: {len(scene_words)} "
              f"({', '.join(scene_words)})")
        library.close()
    if args.speed_n:
        speed(args.speed_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
