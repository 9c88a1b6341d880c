"""Embedding preprocessing before clustering: L2 normalisation, PCA, L2 normalisation again.

CNN features of photos live on a cone: their direction carries the content, their length mostly
the contrast and size of the object. Normalising first makes Euclidean K-means behave like
spherical (cosine) K-means; PCA to ~128 dimensions drops the many low-variance directions that only
add noise to distances; normalising again puts every photo on the unit sphere, where K-means
centroids and cosine neighbours agree. Measured in bench/cluster_quality.py.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted, validate_data

#: Fit PCA on at most this many rows: the components are stable long before 10,000 photos, and
#: fitting on a sample keeps 100,000+ photo libraries fast.
PCA_FIT_SAMPLE = 10_000
#: Rows projected at a time (bounds the float32 copy of float16 input).
TRANSFORM_CHUNK = 16_384


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, 1e-12)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """``X`` with unit-length rows: ``X`` itself when it is float32 with unit-length rows already
    (the preprocessor's output: no copy of a large library's space), else ``l2_normalize(X)``."""
    if isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2:
        norms = np.sqrt(np.einsum("ij,ij->i", X, X))
        if np.all(np.abs(norms - 1.0) < 1e-5):
            return X
    return l2_normalize(X)


def sums_by_column(Z: np.ndarray, rows: np.ndarray, column: np.ndarray, k: int,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """``k x dim`` float64 sums of the rows ``rows`` of ``Z`` (times ``weights``) by ``column``
    (0..k-1), each group's rows added in order in float64: the numbers a sparse one-hot product
    gives, without converting all of ``Z`` to float64 at once (1 GB for a million photos of 128
    numbers; measured: 3.4 s against 2.1 s for 1,000,000 x 128 in 24 groups)."""
    rows = np.asarray(rows, dtype=np.int64)
    column = np.asarray(column, dtype=np.int64)
    out = np.zeros((k, Z.shape[1]), dtype=np.float64)
    order = np.argsort(column, kind="stable")
    bounds = np.searchsorted(column[order], np.arange(k + 1))
    for j in range(k):
        pick = order[bounds[j]:bounds[j + 1]]
        if not pick.size:
            continue
        part = np.asarray(Z[rows[pick]], dtype=np.float64)
        if weights is not None:
            part *= np.asarray(weights, dtype=np.float64)[pick, None]
        out[j] = part.sum(axis=0)
    return out


class EmbeddingPreprocessor(TransformerMixin, BaseEstimator):
    """L2 normalise, project on the first ``n_components`` principal axes, L2 normalise.

    Parameters
    ----------
    n_components : int or None
        Target dimension; ``None`` skips PCA (normalisation only). Capped at ``n_samples - 1``.
    random_state : int
        Seed of the row sample PCA is fitted on (large collections) and of randomized PCA.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(50, 20)).astype("float32")
    >>> Z = EmbeddingPreprocessor(n_components=8).fit_transform(X)
    >>> Z.shape, bool(np.allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5))
    ((50, 8), True)
    """

    def __init__(self, n_components: int | None = 128, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=[np.float32, np.float64, np.float16])
        self._fit_normalized(X)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # float32 out, whatever came in
        return tags

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def _fit_normalized(self, X: np.ndarray) -> None:
        """Fit the PCA on (a sample of) the rows of ``X``, normalised: only the sample is
        normalised, so a large ``X`` (float16, as ``ClusterJob`` reads it) is not copied."""
        self.n_features_in_ = X.shape[1]
        n_comp = self.n_components
        if n_comp is None or n_comp >= min(X.shape) - 1:
            self.pca_ = None
            return
        if len(X) > PCA_FIT_SAMPLE:
            rng = np.random.default_rng(self.random_state)
            sample = l2_normalize(X[rng.choice(len(X), PCA_FIT_SAMPLE, replace=False)])
        else:
            sample = l2_normalize(X)
        self.pca_ = PCA(n_components=n_comp, svd_solver="randomized",
                        random_state=self.random_state).fit(sample)

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float16])
        if self.pca_ is None:
            return l2_normalize(X)
        # (X / |X| - mean) @ W computed as (X @ W) / |X| - mean @ W, in float32 (PCA.transform
        # would work in float64): the wide array is read twice instead of four times, 1.7x
        # faster over 100,000 x 1,280 (docs/search.md). TRANSFORM_CHUNK rows at a time, so
        # float16 input (2 bytes a number) is never copied whole as float32.
        return project_rows(X, *self.basis())

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """``(components, shift)``: the fitted PCA as ``project_rows`` applies it (float32
        ``dim x n_components`` axes, and the mean's projection)."""
        check_is_fitted(self, "pca_")
        assert self.pca_ is not None
        components = self.pca_.components_.T.astype(np.float32)
        return components, self.pca_.mean_.astype(np.float32) @ components


def project_rows(X: np.ndarray, components: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``EmbeddingPreprocessor.transform`` given its ``basis()``: rows normalised, projected,
    shifted and normalised again, ``TRANSFORM_CHUNK`` rows at a time (float16 input is never
    copied whole as float32)."""
    Y = np.empty((len(X), components.shape[1]), dtype=np.float32)
    for start in range(0, len(X), TRANSFORM_CHUNK):
        part = np.asarray(X[start:start + TRANSFORM_CHUNK], dtype=np.float32)
        norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", part, part)), 1e-12)
        Y[start:start + len(part)] = (part @ components) / norms[:, None] - shift
    return l2_normalize(Y)
