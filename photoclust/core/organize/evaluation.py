"""Clustering quality as the research measures it, and ``evaluate`` of a labelled photo folder.

``cluster_accuracy`` matches clusters to labels one-to-one with the Hungarian algorithm (unmatched
clusters count as wrong), as in the SCAN and DEC papers; NMI and ARI come from scikit-learn.
A labelled folder is ``DATASET/<label>/<photo>``; ``EvaluateJob`` indexes it into a library
(the given one or a temporary one), embeds it, clusters it, and compares clusters with labels.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sqlalchemy import select

from photoclust.core.clustering import NO_CLUSTER, check_k, check_method
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.db import Library, open_library
from photoclust.core.library.models import Assignment, Photo, PhotoStatus
from photoclust.core.library.scan import scan_root
from photoclust.core.organize.pipeline import OrganizeJob


def contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts table (true classes x predicted clusters) and the class and cluster values."""
    classes, t = np.unique(np.asarray(labels_true), return_inverse=True)
    clusters, p = np.unique(np.asarray(labels_pred), return_inverse=True)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table, classes, clusters


def cluster_accuracy(labels_true, labels_pred) -> float:
    """Fraction of photos whose cluster is matched to their label by the best one-to-one
    matching."""
    if len(labels_true) == 0:
        return 0.0
    table, _, _ = contingency(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / table.sum())


def clustering_scores(labels_true, labels_pred) -> dict[str, float]:
    """ACC, NMI and ARI of a clustering against ground-truth labels."""
    return {
        "acc": cluster_accuracy(labels_true, labels_pred),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
    }


def cluster_table(labels_true, labels_pred, label_names=None) -> list[dict]:
    """Per cluster: size, majority label and purity (share of the majority label), largest first."""
    table, classes, clusters = contingency(labels_true, labels_pred)
    rows = []
    for j, cluster in enumerate(clusters):
        column = table[:, j]
        major = int(column.argmax())
        name = classes[major]
        if label_names is not None:
            name = label_names[int(name)]
        rows.append({"cluster": int(cluster), "size": int(column.sum()),
                     "majority_label": str(name),
                     "purity": float(column[major] / max(column.sum(), 1))})
    return sorted(rows, key=lambda r: -r["size"])


# -- evaluate a labelled folder ---------------------------------------------------------------

@dataclass
class EvaluationResult:
    """Scores of one evaluation; ``to_json`` is the ``photoclust evaluate --json`` contract."""

    dataset: str
    n: int
    k_true: int
    k: int
    k_auto: bool
    method: str
    model: str
    acc: float
    nmi: float
    ari: float
    run_id: int
    seconds: float
    clusters: list[dict] = field(default_factory=list)  # cluster_table rows
    report_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"n": self.n, "k_true": self.k_true, "k": self.k, "acc": round(self.acc, 4),
                "nmi": round(self.nmi, 4), "ari": round(self.ari, 4), "k_auto": self.k_auto,
                "method": self.method, "model": self.model, "dataset": self.dataset,
                "run_id": self.run_id, "seconds": round(self.seconds, 1),
                "clusters": self.clusters, "report_files": self.report_files}


def dataset_labels(root: Path) -> list[str]:
    """Label folders of a dataset (sorted); raises ``JobError`` when there are none."""
    if not root.is_dir():
        raise JobError(f"{root}: no such folder")
    labels = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise JobError(f"{root}: a dataset is a folder of label subfolders, and this one has none")
    return labels


def dataset_root(dataset: str | os.PathLike) -> Path:
    """A dataset folder the way its photos' paths are stored (``scan_root``), or no photo path
    would lie under it (``../datasets/X``)."""
    return Path(scan_root(Path(dataset).expanduser()))


def label_of(path: str, root: Path) -> str | None:
    """The label folder ``path`` lies in under ``root`` (None for photos outside a label folder)."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


#: Writes a report of a scored evaluation: ``(library, photos, truth, pred, label_names)`` ->
#: the files written; ``photos`` holds ``(photo_id, content_hash, cluster_id, label)``.
ReportWriter = Callable[[Library, list, np.ndarray, np.ndarray, list], list]


class EvaluateJob(Job[EvaluationResult]):
    """Organize ``dataset`` (folder of label folders) as ``photoclust organize`` does
    (``OrganizeJob``: index and embed together, then cluster), then score the clusters.

    Uses ``library`` when given (its other photos are clustered too but not scored; already
    embedded photos are not embedded again), else a temporary library deleted afterwards.
    ``report``: called with ``(library, photos, truth, pred, label_names)`` once the clusters
    are scored (the library still open); it returns the files it wrote (``evaluate --report``
    passes the research code's ``write_report``: the product never imports it).
    """

    title = "Evaluating clustering"

    def __init__(self, dataset: str | os.PathLike, library: Library | None = None,
                 k: int | str = "auto", method: str = "kmeans", model: str = DEFAULT_MODEL,
                 device: str = "auto", report: ReportWriter | None = None,
                 random_state: int = 0):
        self.dataset = dataset_root(dataset)
        self.library = library
        self.k = k
        self.method = method
        self.model = model
        self.device = device
        self.report = report
        self.random_state = random_state

    def prepare(self) -> None:
        self.label_names = dataset_labels(self.dataset)
        check_k(self.k)
        check_method(self.method)

    def run(self, ctx: JobContext) -> EvaluationResult:
        if self.library is not None:
            return self._run_on(self.library, ctx)
        with tempfile.TemporaryDirectory(prefix="photoclust-eval-") as tmp:
            library = open_library(Path(tmp) / "library.sqlite")
            try:
                return self._run_on(library, ctx)
            finally:
                library.close()

    def _run_on(self, library: Library, ctx: JobContext) -> EvaluationResult:
        started = time.monotonic()
        organize = OrganizeJob(library, [self.dataset], model=self.model, k=self.k,
                               method=self.method, device=self.device,
                               random_state=self.random_state,
                               faces=False)  # scored by clusters; people: bench/people.py
        organize.prepare()
        clustered = organize.run(ctx).cluster

        photos = self._labelled_photos(library)
        if not photos:
            raise JobError(f"{self.dataset}: no photo in a label folder could be read")
        names = sorted({label for *_, label in photos})
        truth = np.array([names.index(label) for *_, label in photos])
        pred = np.array([cluster for _, _, cluster, _ in photos])
        scores = clustering_scores(truth, pred)
        result = EvaluationResult(
            dataset=str(self.dataset), n=len(photos), k_true=len(names), k=clustered.k,
            k_auto=clustered.k_auto, method=self.method, model=self.model, run_id=clustered.run_id,
            seconds=0.0, clusters=cluster_table(truth, pred, names), acc=scores["acc"],
            nmi=scores["nmi"], ari=scores["ari"])
        if self.report is not None:
            ctx.report(0, 0, "writing report")
            result.report_files = self.report(library, photos, truth, pred, names)
        result.seconds = time.monotonic() - started
        return result

    def _labelled_photos(self, library: Library) -> list[tuple[int, str, int, str]]:
        """(photo_id, content_hash, cluster_id or NO_CLUSTER, label) of present photos in label
        folders."""
        with library.session() as s:
            rows = s.execute(
                select(Photo.id, Photo.path, Photo.content_hash, Assignment.cluster_id)
                .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                .where(Photo.status == PhotoStatus.PRESENT).order_by(Photo.id)).all()
        photos = []
        for pid, path, content_hash, cluster in rows:
            label = label_of(path, self.dataset)
            if label is not None:
                photos.append((pid, content_hash, NO_CLUSTER if cluster is None else cluster,
                               label))
        return photos
