"""Clustering photos by their embeddings: preprocessing, choice of k, algorithms, refinement,
naming, duplicates, and cluster identity across runs."""

#: The clustering methods ``photoclust cluster --method`` accepts. Kept here, free of heavy
#: imports, so that building the command line does not load torch or scikit-learn.
METHODS = ("kmeans", "agglomerative", "hdbscan", "scan")
