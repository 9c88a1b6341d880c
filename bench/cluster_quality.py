"""Clustering quality on the labelled sets: ACC, NMI, ARI per method, true k and automatic k.

Reads the default model's cached features (``bench/cache_features.py`` writes
``/tmp/pc_features/<set>.npz``), so no image is decoded here; ``photoclust evaluate DATASET``
measures the same thing end to end from the photos. Every row runs the code ClusterJob runs
(preprocess, choose k, cluster). The reference row is K-means with the true k on the raw features
(as first measured with Lite0: 0.710 / 0.357; docs/benchmarks.md).

    python bench/cluster_quality.py [--features /tmp/pc_features] [--sets imagenette224 ...]
                                    [--methods kmeans agglomerative hdbscan scan] [--seeds 3]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cached_features import load_cached_sets
from machine_info import describe_machine


def main() -> None:
    from sklearn.cluster import KMeans

    from photoclust.core.clustering.algorithms import cluster_embeddings
    from photoclust.core.clustering.choose_k import KChooser
    from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
    from photoclust.core.organize.evaluation import clustering_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, default=Path("/tmp/pc_features"))
    parser.add_argument("--sets", nargs="+",
                        default=["imagenette224", "clothing14", "cifar10_test"])
    parser.add_argument("--methods", nargs="+",
                        default=["kmeans", "agglomerative", "hdbscan", "scan"])
    parser.add_argument("--seeds", type=int, default=3, help="seeds averaged per row")
    args = parser.parse_args()
    print(f"machine: {describe_machine()}")
    print("| set | method | k | k_true | ACC | NMI | ARI | auto/true ARI | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, X, y in load_cached_sets(args.features, args.sets):
        k_true = len(np.unique(y))

        def row(method, k_text, k_value, fn):
            scores, ks, started = [], [], time.monotonic()
            for seed in range(args.seeds):
                labels, k_used = fn(seed)
                scores.append(clustering_scores(y, labels))
                ks.append(k_used)
            mean = {m: float(np.mean([s[m] for s in scores])) for m in ("acc", "nmi", "ari")}
            seconds = (time.monotonic() - started) / args.seeds
            return mean, ks, seconds

        ref, _, sec = row("reference", "true", k_true, lambda seed: (
            KMeans(k_true, n_init=1, random_state=seed).fit_predict(X), k_true))
        print(f"| {name} | reference: raw K-means | {k_true} | {k_true} | {ref['acc']:.3f} | "
              f"{ref['nmi']:.3f} | {ref['ari']:.3f} | | {sec:.1f} |", flush=True)
        Z = EmbeddingPreprocessor(128).fit_transform(X)
        sil_k = KChooser(method="silhouette", k_max=40).fit(Z).n_clusters_
        sil, _, sec = row("silhouette", "auto", sil_k, lambda seed: (
            cluster_embeddings(Z, sil_k, "kmeans", seed)[0], sil_k))
        print(f"| {name} | kmeans, best-silhouette k | {sil_k} | {k_true} | {sil['acc']:.3f} | "
              f"{sil['nmi']:.3f} | {sil['ari']:.3f} | | {sec:.1f} |", flush=True)
        for method in args.methods:
            true = None
            for k in ([k_true, "auto"] if method != "hdbscan" else ["auto"]):
                def fit(seed, method=method, k=k):
                    labels = cluster_embeddings(Z, k, method, seed)[0]
                    return labels, len(np.unique(labels))
                mean, ks, sec = row(method, k, k, fit)
                ratio = f"{mean['ari'] / true['ari']:.2f}" if k == "auto" and true else ""
                if k != "auto":
                    true = mean
                shown_k = "/".join(str(v) for v in sorted(set(ks)))
                label = f"{method}, {'auto' if k == 'auto' else 'true'} k"
                print(f"| {name} | {label} | {shown_k} | {k_true} | {mean['acc']:.3f} | "
                      f"{mean['nmi']:.3f} | {mean['ari']:.3f} | {ratio} | {sec:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
