"""SCAN-style refinement of a clustering over fixed embeddings (Van Gansbeke et al., 2020).

Photos whose embeddings are nearest neighbours usually show the same kind of thing. A small
clustering head (softmax over k clusters) is trained so that each photo and its mined neighbours
get the same cluster (neighbour-consistency loss ``-log <p_i, p_j>``) while an entropy term on the
mean prediction keeps the clusters from collapsing into one. Optional self-labelling then trains on
the confident photos' own predictions. The backbone is frozen: training touches only the head, so
it runs in seconds on a CPU for thousands of photos. Several heads are trained from different seeds
and the one with the lowest loss is kept, as in the paper.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_is_fitted

from photoclust.core.jobs import JobContext

if TYPE_CHECKING:  # torch is imported where a head is trained (organize may never need it)
    import torch


def no_grad(method):
    """``torch.no_grad()`` as a decorator that imports torch when called, not at import: organize
    on ONNX Runtime never imports torch (docs/performance.md)."""
    @functools.wraps(method)
    def without_gradients(*args, **kwargs):
        import torch

        with torch.no_grad():
            return method(*args, **kwargs)

    return without_gradients


@contextmanager
def single_thread_torch():
    """Run small-MLP training on one thread, restoring the setting after. Heads this small gain
    nothing from intra-op threads, and on a busy CPU their spin-waiting makes training many
    times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def mine_neighbors(Z: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Indices (n x n_neighbors) of each row's nearest other rows (Euclidean on unit vectors is
    cosine order)."""
    n_neighbors = max(1, min(n_neighbors, len(Z) - 1))
    _, idx = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(Z).kneighbors(Z)
    return idx[:, 1:]


class SCANRefiner(ClusterMixin, BaseEstimator):
    """Train clustering heads on fixed embeddings with SCAN's loss and keep the best one.

    Parameters
    ----------
    n_clusters : int
    n_neighbors : int
        Neighbours mined per photo (SCAN uses 20).
    entropy_weight : float
        Weight of the entropy of the mean prediction (SCAN uses 5.0).
    hidden : int or None
        Width of one hidden layer; ``None`` is a linear head.
    epochs, batch_size, lr : training schedule (Adam).
    n_heads : int
        Heads trained from different seeds; the lowest final loss wins.
    self_label_threshold : float or None
        After SCAN, fine-tune on photos predicted with at least this probability (SCAN: 0.99);
        ``None`` skips self-labelling.
    random_state : int

    Attributes
    ----------
    labels_, confidence_ (max probability), probabilities_, neighbors_, loss_
    """

    def __init__(self, n_clusters: int = 10, n_neighbors: int = 20, entropy_weight: float = 5.0,
                 hidden: int | None = None, epochs: int = 30, batch_size: int = 256,
                 lr: float = 1e-3, n_heads: int = 3, self_label_threshold: float | None = None,
                 self_label_epochs: int = 10, random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_neighbors = n_neighbors
        self.entropy_weight = entropy_weight
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_heads = n_heads
        self.self_label_threshold = self_label_threshold
        self.self_label_epochs = self_label_epochs
        self.random_state = random_state

    def _make_head(self, dim: int) -> torch.nn.Module:
        import torch

        if self.hidden:
            return torch.nn.Sequential(torch.nn.Linear(dim, self.hidden), torch.nn.BatchNorm1d(
                self.hidden), torch.nn.ReLU(), torch.nn.Linear(self.hidden, self.n_clusters))
        return torch.nn.Linear(dim, self.n_clusters)

    def _scan_loss(self, logits_a, logits_n):
        import torch

        pa = torch.softmax(logits_a, 1)
        pn = torch.softmax(logits_n, 1)
        consistency = -torch.log((pa * pn).sum(1).clamp_min(1e-8)).mean()
        mean_p = pa.mean(0)
        entropy = -(mean_p * torch.log(mean_p.clamp_min(1e-8))).sum()
        return consistency - self.entropy_weight * entropy

    def fit(self, X, y=None, ctx: JobContext | None = None):
        with single_thread_torch():
            return self._fit(X, ctx)

    def _fit(self, X, ctx: JobContext | None):
        import torch

        X = np.ascontiguousarray(X, dtype=np.float32)
        n = len(X)
        self.neighbors_ = mine_neighbors(X, self.n_neighbors)
        data = torch.from_numpy(X)
        neighbors = torch.from_numpy(self.neighbors_)
        total_steps = self.n_heads * (self.epochs + (self.self_label_epochs
                                                     if self.self_label_threshold else 0))
        step = 0
        best_head, best_loss = None, np.inf
        for head_index in range(self.n_heads):
            gen = torch.Generator().manual_seed(self.random_state + head_index)
            torch.manual_seed(self.random_state + head_index)
            head = self._make_head(X.shape[1])
            opt = torch.optim.Adam(head.parameters(), lr=self.lr, weight_decay=1e-4)
            for _ in range(self.epochs):
                if ctx is not None:
                    ctx.raise_if_cancelled()
                head.train()
                for batch in torch.randperm(n, generator=gen).split(self.batch_size):
                    if len(batch) < 2:
                        continue
                    pick = torch.randint(neighbors.shape[1], (len(batch),), generator=gen)
                    loss = self._scan_loss(head(data[batch]), head(data[neighbors[batch, pick]]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                step += 1
                if ctx is not None:
                    ctx.report(step, total_steps, f"SCAN head {head_index + 1}/{self.n_heads}")
            if self.self_label_threshold:
                step = self._self_label(head, data, gen, ctx, step, total_steps)
            final = self._full_loss(head, data, neighbors)
            if final < best_loss:
                best_head, best_loss = head, final
        self.head_ = best_head
        self.loss_ = float(best_loss)
        self.probabilities_ = self._predict_proba(best_head, data)
        self.labels_ = self.probabilities_.argmax(1).astype(np.int64)
        self.confidence_ = self.probabilities_.max(1).astype(np.float32)
        return self

    def _self_label(self, head, data, gen, ctx, step, total_steps):
        """Cross-entropy on confident predictions, classes weighted by inverse frequency (as in
        SCAN) so large clusters do not swallow small ones. Inputs get feature dropout as the
        weak augmentation the fixed embeddings allow."""
        import torch

        opt = torch.optim.Adam(head.parameters(), lr=self.lr * 0.1, weight_decay=1e-4)
        for _ in range(self.self_label_epochs):
            if ctx is not None:
                ctx.raise_if_cancelled()
            probs = torch.from_numpy(self._predict_proba(head, data))
            conf, target = probs.max(1)
            mask = conf >= self.self_label_threshold
            if mask.sum() == 0:
                break
            counts = torch.bincount(target[mask], minlength=self.n_clusters).float()
            weight = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))
            weight = weight / weight.sum() * (counts > 0).sum()
            head.train()
            confident = torch.nonzero(mask).ravel()
            for batch in confident[torch.randperm(len(confident), generator=gen)].split(
                    self.batch_size):
                if len(batch) < 2:
                    continue
                noisy = torch.nn.functional.dropout(data[batch], p=0.1)
                loss = torch.nn.functional.cross_entropy(head(noisy), target[batch],
                                                         weight=weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
            step += 1
            if ctx is not None:
                ctx.report(step, total_steps, "SCAN self-labelling")
        return step

    @no_grad
    def _full_loss(self, head, data, neighbors) -> float:
        head.eval()
        logits = head(data)
        losses = [float(self._scan_loss(logits, logits[neighbors[:, j]]))
                  for j in range(neighbors.shape[1])]
        return float(np.mean(losses))

    @staticmethod
    @no_grad
    def _predict_proba(head, data: torch.Tensor) -> np.ndarray:
        import torch

        head.eval()
        return torch.softmax(head(data), 1).numpy()

    def predict_proba(self, X) -> np.ndarray:
        import torch

        check_is_fitted(self, "head_")
        data = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        return self._predict_proba(self.head_, data)

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)
