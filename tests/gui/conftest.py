"""Fixture libraries for the GUI tests: real photo files and thumbnails drawn with Pillow, photo
and embedding rows inserted directly, clusters stored with the core's ``apply_clustering``."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from sqlalchemy import insert, select

from helpers import write_jpeg
from photoclust.core.clustering.identity import apply_clustering
from photoclust.core.imaging import thumbnail_path
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo

MODEL = "efficientnet_lite0"
COLORS = [(220, 60, 50), (40, 150, 70), (40, 90, 200), (230, 180, 30)]


@dataclass
class GuiLibrary:
    library: object
    cluster_ids: list[int]  # in the order of ``sizes``
    photo_ids: dict[int, list[int]]  # cluster id -> its photos


def _write_photo(path: Path, color, size=(96, 72)) -> str:
    return hashlib.sha256(write_jpeg(path, size, color, quality=85).read_bytes()).hexdigest()


def build_library(library, root: Path, sizes=(6, 4, 3), with_thumbnails: bool = True,
                  with_embeddings: bool = True) -> GuiLibrary:
    """One cluster per entry of ``sizes``; cluster c's photos are drawn in colour c (shaded so that
    every file differs). Each cluster's embeddings form two tight groups, so a split finds 2."""
    rows, labels, vectors = [], [], []
    rng = np.random.default_rng(0)
    for c, n in enumerate(sizes):
        base = COLORS[c % len(COLORS)]
        center = rng.normal(size=16) * 10
        offset = rng.normal(size=16) * 6
        for i in range(n):
            color = tuple(min(255, v + 3 * i) for v in base)
            path = root / f"cluster{c}" / f"photo{i:03d}.jpg"
            content_hash = _write_photo(path, color)
            if with_thumbnails:
                write_jpeg(thumbnail_path(library, content_hash), (256, 192), color)
            rows.append({"path": str(path), "content_hash": content_hash,
                         "file_size": path.stat().st_size, "mtime_ns": 1, "width": 96,
                         "height": 72, "status": "present"})
            labels.append(c)
            vectors.append(center + (offset if i % 2 else -offset) + rng.normal(size=16) * 0.1)
    with library.session() as s:
        s.execute(insert(Photo), rows)
        ids = list(s.scalars(select(Photo.id).order_by(Photo.id)))
        hashes = [r["content_hash"] for r in rows]
        if with_embeddings:
            s.execute(insert(Embedding), [
                {"content_hash": h, "model": MODEL, "preprocess_version": 1, "dim": 16,
                 "vector": np.asarray(v, dtype=np.float16).tobytes()}
                for h, v in zip(hashes, vectors)])
    names = [f"Group {chr(65 + c)}" for c in range(len(sizes))]
    apply_clustering(library, MODEL, "kmeans", ids, labels,
                     confidences=[0.9] * len(ids), suggested_names=names)
    photo_ids: dict[int, list[int]] = {}
    with library.session() as s:
        for pid, cid in s.execute(select(Assignment.photo_id, Assignment.cluster_id)
                                  .order_by(Assignment.photo_id)):
            photo_ids.setdefault(cid, []).append(pid)
        by_name = {c.name: c.id for c in s.scalars(select(Cluster))}
    return GuiLibrary(library, [by_name[n] for n in names], photo_ids)


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path_factory):
    """Keep window geometry and the remembered library out of the user's real settings."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(folder))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield


@pytest.fixture
def gui_library(library, tmp_path) -> GuiLibrary:
    return build_library(library, tmp_path / "photos")


@pytest.fixture
def window(qtbot, gui_library, monkeypatch):
    """The main window on ``gui_library``; message boxes are recorded instead of blocking."""
    from PySide6.QtWidgets import QMessageBox

    from photoclust.gui.app import create_application
    from photoclust.gui.main_window import MainWindow

    create_application()
    messages: list[str] = []
    for name in ("warning", "information"):
        monkeypatch.setattr(QMessageBox, name,
                            staticmethod(lambda _parent, _title, text, *a, **k:
                                         messages.append(text)))
    win = MainWindow(gui_library.library)
    win.messages = messages
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    win.queue.wait_for_done(10000)  # jobs cancelled by close() end before the library closes


@pytest.fixture
def photos(window):
    """The Photos page of ``window``."""
    return window.page("photos")
