"""The report of ``photoclust evaluate --report DIR``: per-cluster tables (CSV, markdown), a
t-SNE picture coloured by cluster and by label, and a grid of sample photos per cluster.

Research code: the product never imports it at start-up; ``EvaluateJob`` imports it only when a
report is asked for.
"""
from __future__ import annotations

import colorsys
import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.manifold import TSNE

from photoclust.core.clustering.preprocess import EmbeddingPreprocessor
from photoclust.core.embedding.store import load_embeddings
from photoclust.core.imaging import ImageError, load_thumbnail
from photoclust.core.library.db import Library
from photoclust.core.organize.evaluation import cluster_table, clustering_scores

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
        return load_thumbnail(library, content_hash)
    except (ImageError, OSError):
        return None
