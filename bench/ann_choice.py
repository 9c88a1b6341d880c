"""Which approximate nearest-neighbour library: hnswlib, usearch and faiss-cpu side by side.

Vectors drawn from real embeddings (``bench/cache_features.py``'s ``/tmp/pc_features/*.npz``,
EfficientNet-Lite2, 1,280 dimensions; else a few hundred computed once by
``bench/million.py``'s ``real_embeddings``) plus noise, in the two spaces photoclust searches:

- ``128``: the space ``similar`` compares photos in (L2, PCA 128, L2: ``core/search/index.py``);
- ``1280``: the raw normalised embeddings (near-duplicates compare these).

For each library and space: build time, recall@10 against exact search (1,000 random queries),
the time of one query (median, one thread: what ``similar`` asks), the time per query of a batch
(what near-duplicate search asks), the memory the index holds (resident set growth), its size on
disk, and the time to open it again from disk (``usearch``: memory-mapped view as well).

    python bench/ann_choice.py [--n 50000] [--dims 128 1280] [--queries 1000] [--crossover]

(docs/performance.md: ``--n 100000``; hnswlib and faiss-cpu are not dependencies: a library not
installed gets a row saying so.)
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine_info import describe_machine

K = 10
#: The parameters each library is run with: HNSW graphs of the same degree and effort.
M = 16
EF_CONSTRUCTION = 128
EF_SEARCH = 64


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic(n: int, dims: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: real embeddings plus noise (each near its base as photos of one kind
    are, cosine about 0.85), reduced as ``similar`` reduces them when ``dims`` < 1,280."""
    from million import real_embeddings

    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor, l2_normalize

    base, _tops, _labels = real_embeddings()
    rng = np.random.default_rng(seed)
    base = l2_normalize(base.astype(np.float32))
    X = np.empty((n, base.shape[1]), np.float32)
    for start in range(0, n, 20_000):
        stop = min(n, start + 20_000)
        noise = rng.normal(size=(stop - start, base.shape[1])).astype(np.float32)
        noise *= 0.6 / np.sqrt(base.shape[1])
        X[start:stop] = base[rng.integers(0, len(base), stop - start)] + noise
    X = l2_normalize(X)
    if dims < X.shape[1]:
        reducer = EmbeddingPreprocessor(dims).fit(X[rng.choice(n, min(n, 4000), replace=False)])
        X = np.vstack([reducer.transform(X[i:i + 50_000]) for i in range(0, n, 50_000)])
    return np.ascontiguousarray(X, dtype=np.float32)


def exact(X: np.ndarray, queries: np.ndarray) -> np.ndarray:
    sims = X[queries] @ X.T
    sims[np.arange(len(queries)), queries] = np.inf  # itself first, as the indexes return it
    return np.argsort(-sims, axis=1)[:, :K + 1]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K + 1]) & set(t)) / (K + 1) for f, t in zip(found, truth)]))


class Hnswlib:
    name = "hnswlib 0.8 (HNSW)"

    def build(self, X):
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=X.shape[1])
        self.index.init_index(max_elements=len(X), ef_construction=EF_CONSTRUCTION, M=M)
        self.index.set_num_threads(os.cpu_count() or 1)
        self.index.add_items(X, np.arange(len(X)))
        self.index.set_ef(EF_SEARCH)

    def query(self, Q, threads=1):
        self.index.set_num_threads(threads)
        return self.index.knn_query(Q, k=K + 1)[0]

    def save(self, path):
        self.index.save_index(str(path))

    def load(self, path, dim):
        import hnswlib

        index = hnswlib.Index(space="ip", dim=dim)
        index.load_index(str(path))
        return index


class Usearch:
    def __init__(self, dtype: str, expansion_add: int = EF_CONSTRUCTION):
        self.dtype = dtype
        self.expansion_add = expansion_add
        self.name = f"usearch 2 (HNSW, {dtype}, expansion_add {expansion_add})"

    def build(self, X):
        from usearch.index import Index

        self.index = Index(ndim=X.shape[1], metric="ip", dtype=self.dtype, connectivity=M,
                           expansion_add=self.expansion_add, expansion_search=EF_SEARCH)
        self.index.add(np.arange(len(X)), X, threads=os.cpu_count() or 1)

    def query(self, Q, threads=1):
        return np.asarray(self.index.search(Q, K + 1, threads=threads).keys).reshape(len(Q), -1)

    def save(self, path):
        self.index.save(str(path))

    def load(self, path, dim):
        from usearch.index import Index

        return Index.restore(str(path), view=True)


class Product(Usearch):
    """usearch as ``core/search/ann.py`` runs it (its own parameters)."""

    def __init__(self):
        from photoclust.core.search import ann

        super().__init__(ann.STORED_AS, ann.EXPANSION_ADD)
        self.name = (f"photoclust: usearch {ann.STORED_AS}, connectivity {ann.CONNECTIVITY}, "
                     f"expansion_add {ann.EXPANSION_ADD}, expansion_search {ann.EXPANSION_SEARCH}")

    def build(self, X):
        from photoclust.core.search import ann

        self.index = ann._new_graph(X.shape[1])
        self.index.add(np.arange(len(X)), X, threads=os.cpu_count() or 1)


class Faiss:
    name = "faiss-cpu 1.15 (HNSW flat)"

    def build(self, X):
        import faiss

        self.index = faiss.IndexHNSWFlat(X.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.hnsw.efSearch = EF_SEARCH
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        self.index.add(X)

    def query(self, Q, threads=1):
        import faiss

        faiss.omp_set_num_threads(threads)
        return self.index.search(Q, K + 1)[1]

    def save(self, path):
        import faiss

        faiss.write_index(self.index, str(path))

    def load(self, path, dim):
        import faiss

        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP)


def measure(lib, X: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    lib.build(X)
    build = time.perf_counter() - t0
    held = rss_mb() - before
    single = []
    found = np.zeros((len(queries), K + 1), np.int64)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        found[i] = lib.query(X[q:q + 1], threads=1)[0]
        single.append(time.perf_counter() - t)
    t = time.perf_counter()
    lib.query(X[queries], threads=os.cpu_count() or 1)
    batch = (time.perf_counter() - t) / len(queries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index"
        lib.save(path)
        size = path.stat().st_size / 2**20
        t = time.perf_counter()
        lib.load(path, X.shape[1])
        load = time.perf_counter() - t
    result = {"build_s": build, "recall": recall(found, truth),
              "query_ms": 1000 * statistics.median(single), "batch_query_ms": 1000 * batch,
              "memory_mb": held, "disk_mb": size, "open_s": load}
    lib.index = None
    return result


def crossover(sizes: list[int], queries: int = 200) -> None:
    """Where the index starts to pay: one query (what ``similar`` asks) by exact search (a
    matrix-vector product, then the top 10) against usearch as photoclust runs it, over the
    128-dimension space, at each library size; median of ``queries``."""
    from photoclust.core.search import ann

    X = synthetic(max(sizes), 128)
    print("\n### Exact or by the index: one query over the 128-dimension space\n")
    print("| photos | exact ms | index ms | index build s |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(2)
    for n in sizes:
        Y = X[:n]
        picks = rng.choice(n, queries, replace=False)
        exact_times, index_times = [], []
        t = time.perf_counter()
        graph = ann._new_graph(128)
        graph.add(np.arange(n, dtype=np.uint64), Y, threads=os.cpu_count() or 1)
        build = time.perf_counter() - t
        index = ann.NeighbourIndex(graph, np.arange(n), np.arange(n), "", 128)
        for q in picks:
            t = time.perf_counter()
            sims = Y @ Y[q]
            top = np.argpartition(-sims, K)[:K + 1]
            top[np.argsort(-sims[top])]
            exact_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            index.search(Y[q], K + 1)
            index_times.append(time.perf_counter() - t)
        print(f"| {n:,} | {1000 * statistics.median(exact_times):.2f} | "
              f"{1000 * statistics.median(index_times):.2f} | {build:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[128])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--libraries", nargs="+", default=[
        "hnswlib", "usearch", "usearch-f16", "usearch-f16-64", "faiss", "photoclust"])
    parser.add_argument("--crossover", type=int, nargs="*", default=None,
                        help="only compare exact and indexed search at these library sizes")
    args = parser.parse_args(argv)
    print(describe_machine())
    if args.crossover is not None:
        crossover(args.crossover or [2_000, 5_000, 10_000, 20_000, 50_000, 100_000])
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
        return 0
    print(f"{args.n} vectors; HNSW M={M}, ef_construction={EF_CONSTRUCTION}, "
          f"ef_search={EF_SEARCH}; recall@{K} against exact over {args.queries} queries")
    libraries = {"hnswlib": Hnswlib(), "usearch": Usearch("f32"),
                 "usearch-f16": Usearch("f16"), "usearch-f16-64": Usearch("f16", 64),
                 "faiss": Faiss(), "photoclust": Product()}
    for dims in args.dims:
        X = synthetic(args.n, dims)
        queries = np.random.default_rng(1).choice(len(X), args.queries, replace=False)
        t = time.perf_counter()
        truth = exact(X, queries)
        exact_ms = 1000 * (time.perf_counter() - t) / len(queries)
        t = time.perf_counter()
        for q in queries[:50]:
            np.argpartition(-(X @ X[q]), K)[:K + 1]
        exact_single = 1000 * (time.perf_counter() - t) / 50
        print(f"\n### {dims} dimensions (exact search: {exact_single:.1f} ms per query, "
              f"{exact_ms:.2f} ms per query in a batch; vectors {X.nbytes / 2**20:.0f} MB)\n")
        print("| library | build s | recall@10 | query ms (1 thread) | batch ms/query | "
              "memory MB | disk MB | open s |")
        print("|---|---|---|---|---|---|---|---|")
        for name in args.libraries:
            module = {"hnswlib": "hnswlib", "faiss": "faiss"}.get(name, "usearch")
            try:
                __import__(module)
            except ImportError:
                print(f"| {libraries[name].name} | (not installed: pip install "
                      f"{ {'faiss': 'faiss-cpu'}.get(module, module)}) |")
                continue
            r = measure(libraries[name], X, queries, truth)
            print(f"| {libraries[name].name} | {r['build_s']:.1f} | {r['recall']:.3f} | "
                  f"{r['query_ms']:.2f} | {r['batch_query_ms']:.3f} | {r['memory_mb']:.0f} | "
                  f"{r['disk_mb']:.0f} | {r['open_s']:.3f} |", flush=True)
        del X
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
