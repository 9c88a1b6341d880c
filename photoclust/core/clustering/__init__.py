"""Clustering photos by their embeddings: preprocessing, choice of k, algorithms, refinement,
naming, duplicates, and cluster identity across runs."""
