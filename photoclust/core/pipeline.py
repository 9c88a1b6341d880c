"""The headless main job: index folders, embed what is new, cluster the library.

Each stage is an ordinary job that commits its own work as it goes, so an interrupted ``organize``
resumes where it stopped: indexing skips unchanged files, embedding skips embedded contents, and
clustering reruns over whatever is embedded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from photoclust.core.clustering import METHODS
from photoclust.core.clustering.job import ClusterJob, ClusterResult, parse_k
from photoclust.core.embedding.engine import EmbedJob, EmbedResult
from photoclust.core.embedding.store import library_model
from photoclust.core.jobs import Cancelled, Job, JobContext, JobError
from photoclust.core.library.db import Library
from photoclust.core.library.scan import ScanJob, ScanResult


class StageContext(JobContext):
    """A stage's view of the parent context: progress prefixed with the stage, shared cancel."""

    def __init__(self, parent: JobContext, stage: str):
        super().__init__(lambda done, total, message: parent.report(
            done, total, f"{stage}: {message}" if message else stage))
        self._parent = parent

    def cancel(self) -> None:
        self._parent.cancel()

    @property
    def cancelled(self) -> bool:
        return self._parent.cancelled

    def raise_if_cancelled(self) -> None:
        if self._parent.cancelled:
            raise Cancelled()


@dataclass
class OrganizeResult:
    index: ScanResult
    embed: EmbedResult
    cluster: ClusterResult

    def to_json(self) -> dict:
        return {"index": self.index.to_json(), "embed": self.embed.to_json(),
                "cluster": self.cluster.to_json()}


class OrganizeJob(Job[OrganizeResult]):
    """Index ``folders``, embed new photos with ``model``, then cluster (``k``, ``method``)."""

    title = "Organizing photos"

    def __init__(self, library: Library, folders: Sequence[str | os.PathLike],
                 model: str | None = None, k: int | str = "auto", method: str = "kmeans",
                 device: str = "auto", batch_size: int | None = None,
                 weights: str | Path | None = None, runtime: str | None = None):
        self.library = library
        model = model or library_model(library)
        self.scan_job = ScanJob(library, folders)
        self.embed_job = EmbedJob(library, model=model, device=device, batch_size=batch_size,
                                  weights=weights, runtime=runtime)
        self.cluster_job = ClusterJob(library, model=model, k=k, method=method)

    def prepare(self) -> None:
        """Unreadable folders, unusable model weights and a bad k or method fail here, before
        anything is done."""
        if self.cluster_job.method not in METHODS:
            raise JobError(f"unknown method {self.cluster_job.method!r}; choose one of "
                           f"{', '.join(METHODS)}")
        parse_k(self.cluster_job.k)
        self.scan_job.prepare()
        self.embed_job.prepare()

    def run(self, ctx: JobContext) -> OrganizeResult:
        scanned = self.scan_job.run(StageContext(ctx, "index"))
        embedded = self.embed_job.run(StageContext(ctx, "embed"))
        self.cluster_job.prepare()  # needs the embeddings, so only now
        clustered = self.cluster_job.run(StageContext(ctx, "cluster"))
        return OrganizeResult(scanned, embedded, clustered)
