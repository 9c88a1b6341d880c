"""Clustering quality as the research measures it, and ``evaluate`` of a labelled photo folder.

``cluster_accuracy`` matches clusters to labels one-to-one with the Hungarian algorithm (unmatched
clusters count as wrong), as in the SCAN and DEC papers; NMI and ARI come from scikit-learn.
A labelled folder is ``DATASET/<label>/<photo>``; ``EvaluateJob`` indexes it into a library
(the given one or a temporary one), embeds it, clusters it, and compares clusters with labels.
"""
from __future__ import annotations

import colorsys
import csv
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.optimize import linear_sum_assignment
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sqlalchemy import select

from photoclust.core.clustering import METHODS
from photoclust.core.clustering.job import ClusterJob, parse_k
from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.embedding.engine import EmbedJob
from photoclust.core.embedding.store import load_embeddings
from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.db import Library, open_library
from photoclust.core.library.models import Assignment, Photo
from photoclust.core.library.scan import ScanJob, scan_root
from photoclust.core.pipeline import StageContext


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


class EvaluateJob(Job[EvaluationResult]):
    """Index, embed and cluster ``dataset`` (folder of label folders), then score the clusters.

    Uses ``library`` when given (its other photos are clustered too but not scored; already
    embedded photos are not embedded again), else a temporary library deleted afterwards.
    ``report_dir``: also write ``clusters.csv``, ``clusters.md``, ``tsne.png`` and
    ``samples.png`` there.
    """

    title = "Evaluating clustering"

    def __init__(self, dataset: str | os.PathLike, library: Library | None = None,
                 k: int | str = "auto", method: str = "kmeans", model: str = DEFAULT_MODEL,
                 device: str = "auto", report_dir: str | os.PathLike | None = None,
                 random_state: int = 0):
        self.dataset = dataset_root(dataset)
        self.library = library
        self.k = k
        self.method = method
        self.model = model
        self.device = device
        self.report_dir = None if report_dir is None else Path(report_dir)
        self.random_state = random_state

    def prepare(self) -> None:
        self.label_names = dataset_labels(self.dataset)
        parse_k(self.k)
        if self.method not in METHODS:
            raise JobError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")

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
        ScanJob(library, [self.dataset]).run(StageContext(ctx, "index"))
        embed = EmbedJob(library, model=self.model, device=self.device)
        embed.prepare()
        embed.run(StageContext(ctx, "embed"))
        cluster_job = ClusterJob(library, model=self.model, k=self.k, method=self.method,
                                 random_state=self.random_state)
        cluster_job.prepare()
        clustered = cluster_job.run(StageContext(ctx, "cluster"))

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
            seconds=0.0, clusters=cluster_table(truth, pred, names), **scores)
        if self.report_dir is not None:
            ctx.report(0, 0, "writing report")
            result.report_files = write_report(self.report_dir, library, self.model, photos,
                                               truth, pred, names, self.random_state)
        result.seconds = time.monotonic() - started
        return result

    def _labelled_photos(self, library: Library) -> list[tuple[int, str, int, str]]:
        """(photo_id, content_hash, cluster_id or -1, label) of present photos in label folders."""
        with library.session() as s:
            rows = s.execute(
                select(Photo.id, Photo.path, Photo.content_hash, Assignment.cluster_id)
                .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                .where(Photo.status == "present").order_by(Photo.id)).all()
        photos = []
        for pid, path, content_hash, cluster in rows:
            label = label_of(path, self.dataset)
            if label is not None:
                photos.append((pid, content_hash, -1 if cluster is None else cluster, label))
        return photos


# -- report -------------------------------------------------------------------------------------

#: t-SNE runs on at most this many photos (it is quadratic-ish and only a picture).
TSNE_MAX = 2000
GRID_THUMB = 96
GRID_PER_CLUSTER = 10
GRID_MAX_CLUSTERS = 40


def palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct colours (golden-ratio hue steps, two brightness levels)."""
    colours = []
    for i in range(n):
        h = (i * 0.618033988749895) % 1.0
        v = 0.95 if i % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(h, 0.85, v)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def write_report(report_dir: Path, library: Library, model: str,
                 photos: list[tuple[int, str, int, str]], truth: np.ndarray, pred: np.ndarray,
                 label_names: list[str], random_state: int = 0) -> list[str]:
    """Write the per-cluster table (CSV, markdown), the t-SNE picture and the sample grid."""
    report_dir.mkdir(parents=True, exist_ok=True)
    rows = cluster_table(truth, pred, label_names)
    csv_path = report_dir / "clusters.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["cluster", "size", "majority_label", "purity"])
        writer.writeheader()
        writer.writerows(rows)
    scores = clustering_scores(truth, pred)
    md_path = report_dir / "clusters.md"
    lines = [f"n={len(truth)}, k_true={len(label_names)}, k={len(np.unique(pred))}, "
             f"ACC={scores['acc']:.3f}, NMI={scores['nmi']:.3f}, ARI={scores['ari']:.3f}", "",
             "| cluster | size | majority label | purity |", "|---:|---:|---|---:|"]
    lines += [f"| {r['cluster']} | {r['size']} | {r['majority_label']} | {r['purity']:.2f} |"
              for r in rows]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    ids = np.array([p[0] for p in photos])
    all_ids, X = load_embeddings(library, model)
    row_of = {int(pid): i for i, pid in enumerate(all_ids)}
    keep = np.array([int(pid) in row_of for pid in ids])
    tsne_path = report_dir / "tsne.png"
    draw_tsne(X[[row_of[int(pid)] for pid in ids[keep]]], pred[keep], truth[keep], label_names,
              tsne_path, random_state)
    grid_path = report_dir / "samples.png"
    draw_sample_grid(library, photos, pred, rows, grid_path)
    return [str(p) for p in (csv_path, md_path, tsne_path, grid_path)]


def draw_tsne(X: np.ndarray, pred: np.ndarray, truth: np.ndarray, label_names: list[str],
              dest: Path, random_state: int = 0, panel: int = 560) -> None:
    """Two panels of the same 2-D t-SNE map: coloured by cluster (left) and by label (right)."""
    rng = np.random.default_rng(random_state)
    rows = np.arange(len(X))
    if len(rows) > TSNE_MAX:
        rows = np.sort(rng.choice(len(rows), TSNE_MAX, replace=False))
    Z = EmbeddingPreprocessor(min(50, X.shape[1]), random_state=random_state).fit_transform(X[rows])
    if len(rows) > 3:
        perplexity = float(min(30, (len(rows) - 1) / 3))
        Y = TSNE(2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(Z)
    else:
        Y = np.zeros((len(rows), 2))
    span = np.ptp(Y, axis=0)
    Y = (Y - Y.min(0)) / np.where(span > 0, span, 1)
    margin, header = 20, 28
    image = Image.new("RGB", (2 * panel, panel + header), "white")
    draw = ImageDraw.Draw(image)
    for i, (title, values) in enumerate((("clusters", pred[rows]), ("labels", truth[rows]))):
        uniq = {v: j for j, v in enumerate(np.unique(values))}
        colours = palette(len(uniq))
        x0 = i * panel
        draw.text((x0 + margin, 8), f"t-SNE coloured by {title}", fill="black")
        for (u, v), value in zip(Y, values):
            x = x0 + margin + u * (panel - 2 * margin)
            y = header + margin + v * (panel - 2 * margin - header)
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colours[uniq[value]])
        if title == "labels":
            for j, value in enumerate(list(uniq)[:30]):
                y = header + 4 + 12 * j
                draw.rectangle((x0 + panel - 130, y, x0 + panel - 122, y + 8), fill=colours[j])
                draw.text((x0 + panel - 118, y - 2), str(label_names[int(value)])[:18],
                          fill="black")
        draw.line((x0, 0, x0, panel + header), fill=(200, 200, 200))
    image.save(dest)


def draw_sample_grid(library: Library, photos: list[tuple[int, str, int, str]],
                     pred: np.ndarray, rows: list[dict], dest: Path) -> None:
    """One row per cluster (largest first): its size, majority label, purity and sample photos."""
    label_width = 190
    shown = rows[:GRID_MAX_CLUSTERS]
    width = label_width + GRID_PER_CLUSTER * (GRID_THUMB + 4)
    image = Image.new("RGB", (width, max(1, len(shown)) * (GRID_THUMB + 6)), "white")
    draw = ImageDraw.Draw(image)
    hashes = np.array([p[1] for p in photos])
    for r, row in enumerate(shown):
        y = r * (GRID_THUMB + 6) + 3
        draw.text((6, y + 4), f"cluster {row['cluster']}", fill="black")
        draw.text((6, y + 20), f"{row['size']} photos", fill="black")
        draw.text((6, y + 36), f"{row['majority_label'][:24]}", fill="black")
        draw.text((6, y + 52), f"purity {row['purity']:.2f}", fill="black")
        for c, content_hash in enumerate(hashes[pred == row["cluster"]][:GRID_PER_CLUSTER]):
            thumb = _thumbnail(library, str(content_hash))
            if thumb is None:
                continue
            thumb.thumbnail((GRID_THUMB, GRID_THUMB))
            image.paste(thumb, (label_width + c * (GRID_THUMB + 4), y))
    image.save(dest)


def _thumbnail(library: Library, content_hash: str) -> Image.Image | None:
    try:
        with Image.open(thumbnail_path(library, content_hash)) as im:
            return im.convert("RGB")
    except (OSError, ValueError):
        return None
