"""Time to cluster 100,000 embeddings of 1280 dimensions (goal: under 30 s on 2 cores).

The embeddings are 40 synthetic "scenes" with photo-like spread (a random direction per scene plus
noise, non-negative like ReLU features), so automatic k has something to find. Times ClusterJob's
stages without the library: preprocessing (L2, PCA 128, L2), choosing k, K-means (mini-batch
above 20,000 photos), confidences.

    python bench/cluster_speed.py [--n 100000] [--dim 1280] [--method kmeans]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from machine_info import describe_machine


def main() -> None:
    from photoclust.core.clustering.algorithms import cluster_embeddings
    from photoclust.core.clustering.choose_k import KChooser
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.organize.evaluation import clustering_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--method", default="kmeans")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.gamma(0.5, 1.0, size=(args.scenes, args.dim)).astype(np.float32)
    truth = rng.integers(args.scenes, size=args.n)
    X = np.maximum(centres[truth] + rng.normal(0, 0.9, size=(args.n, args.dim)).astype(
        np.float32), 0)
    threads = os.environ.get("OMP_NUM_THREADS")
    print(f"machine: {describe_machine()}; threads: OMP_NUM_THREADS={threads}")
    print(f"{args.n} x {args.dim} float32 embeddings, {args.scenes} scenes")
    t0 = time.perf_counter()
    Z = EmbeddingPreprocessor(128).fit_transform(X)
    t1 = time.perf_counter()
    k = KChooser().fit(Z).n_clusters_
    t2 = time.perf_counter()
    labels, confidence, _ = cluster_embeddings(Z, k, args.method)
    t3 = time.perf_counter()
    print(f"preprocess {t1 - t0:.1f} s, choose k {t2 - t1:.1f} s (k={k}), "
          f"{args.method} {t3 - t2:.1f} s; total {t3 - t0:.1f} s "
          f"(goal < 30 s); ARI vs scenes {clustering_scores(truth, labels)['ari']:.3f}")


if __name__ == "__main__":
    main()
