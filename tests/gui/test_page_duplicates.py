"""The duplicates page: exact, near and burst groups, the copy kept in albums chosen by the user,
stored in the library and honoured by export; no file is ever deleted."""
from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta

import numpy as np
import pytest
from _pages import open_page, page_requests
from PIL import ImageFilter
from PySide6.QtCore import Qt
from sqlalchemy import insert

from helpers import draw_shape, write_jpeg
from photoclust.core.export import duplicates_choice as dc
from photoclust.core.export.albums import ExportJob
from photoclust.core.jobs import run_job
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo
from photoclust.gui.pages.duplicates import DuplicatesPage

MODEL = "efficientnet_lite0"


def _add(library, path, vector, width, height, taken_at=None):
    data = path.read_bytes()
    content_hash = hashlib.sha256(data).hexdigest()
    with library.session() as s:
        photo = Photo(path=str(path), content_hash=content_hash, file_size=len(data),
                      mtime_ns=1, width=width, height=height, taken_at=taken_at)
        s.add(photo)
        s.flush()
        if vector is not None and s.get(Embedding, (content_hash, MODEL, 1)) is None:
            s.execute(insert(Embedding), [{
                "content_hash": content_hash, "model": MODEL, "preprocess_version": 1,
                "dim": len(vector), "vector": np.asarray(vector, np.float16).tobytes()}])
        return photo.id


@pytest.fixture
def dup_library(library, tmp_path):
    """exact: two copies of one file; near: a photo and a half-size copy; burst: three shots a
    second apart, the middle one blurred; two unrelated photos."""
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]  # orthogonal directions
    root = tmp_path / "photos"
    ids = {}
    exact = write_jpeg(root / "a" / "exact.jpg", image=draw_shape("circle", (200, 40, 40)))
    (root / "b").mkdir(parents=True)
    shutil.copy(exact, root / "b" / "exact.jpg")
    ids["exact"] = [_add(library, p, basis[0], 128, 96) for p in (exact, root / "b" / "exact.jpg")]
    big = draw_shape("square", (40, 160, 60), size=(400, 300))
    ids["near"] = [
        _add(library, write_jpeg(root / "a" / "near-big.jpg", image=big), basis[1], 400, 300),
        _add(library, write_jpeg(root / "a" / "near-small.jpg", image=big.resize((200, 150))),
             basis[1] + 0.05 * basis[2], 200, 150)]
    t0 = datetime(2024, 7, 1, 12, 0, 0)
    shot = draw_shape("triangle", (40, 70, 220), size=(300, 200))
    burst = []
    for i in range(3):
        image = shot.filter(ImageFilter.GaussianBlur(4)) if i == 1 else shot.rotate(i * 3)
        vector = basis[3] + 0.4 * basis[4 + i]  # alike (cosine 0.86) but not near copies
        burst.append(_add(library, write_jpeg(root / "a" / f"burst{i}.jpg", image=image),
                          vector, 300, 200, t0 + timedelta(seconds=i)))
    ids["burst"] = burst
    ids["single"] = [_add(library, write_jpeg(root / "a" / f"single{i}.jpg", color=(9 * i, 5, 5)),
                          basis[10 + i], 64, 48) for i in range(2)]
    with library.session() as s:
        cluster = Cluster(name="Everything", name_source="user", active=True)
        s.add(cluster)
        s.flush()
        for group in ids.values():
            for pid in group:
                s.add(Assignment(photo_id=pid, cluster_id=cluster.id, source="auto",
                                 confidence=0.9))
    ids["root"] = root
    return ids


def _open(qtbot, library):
    state, page = open_page(qtbot, DuplicatesPage, library)
    with qtbot.waitSignal(page.groupsReady, timeout=60000):
        page.activate()
        assert page.stack.currentWidget() is page.loading
    return state, page


def _select_group(page, kind):
    row = next(i for i, g in enumerate(page.group_model.groups) if g.kind == kind)
    page.group_list.setCurrentIndex(page.group_model.index(row))
    return page.current_group()


def test_exact_near_and_burst_groups_are_listed(qtbot, library, dup_library):
    _state, page = _open(qtbot, library)
    found = {g.kind: sorted(c.id for c in g.copies) for g in page.all_groups}
    assert found == {"exact": dup_library["exact"], "near": dup_library["near"],
                     "burst": dup_library["burst"]}
    assert "Exact copies: 1" in page.summary.text() and "Burst: 1" in page.summary.text()
    page.filter.setCurrentIndex(page.filter.findData("near"))
    assert [g.kind for g in page.group_model.groups] == ["near"]


def test_the_copies_show_side_by_side_with_the_suggestion_marked(qtbot, library, dup_library):
    _state, page = _open(qtbot, library)
    g = _select_group(page, "near")
    big, small = dup_library["near"]
    assert g.suggested == big  # the largest
    assert page.copy_model.photo_ids() == [big, small]
    captions = [page.copy_model.row(n).caption for n in range(2)]
    assert captions == ["suggested · 400×300", "200×150"]
    assert "KB; sharpness" in page.copy_model.data(page.copy_model.index(0),
                                                  Qt.ItemDataRole.ToolTipRole)
    assert page.copies.iconSize().width() >= 160
    g = _select_group(page, "burst")
    assert g.suggested != dup_library["burst"][1]  # the blurred shot is never suggested


def test_keep_key_stores_the_choice_and_export_leaves_the_other_copy_out(qtbot, library,
                                                                         dup_library, tmp_path):
    _state, page = _open(qtbot, library)
    _select_group(page, "near")
    big, small = dup_library["near"]
    page.copies.setCurrentIndex(page.copy_model.index(1))
    with qtbot.waitSignal(page.choiceSaved, timeout=10000) as saved:
        qtbot.keyClick(page.copies, Qt.Key.Key_K)
    assert saved.args == [small]
    assert dc.choices(library) == [dc.Choice(small, (big, small))]
    assert page.copy_model.row(1).caption.startswith("★ in albums")
    assert "chosen" in page.group_model.data(page.group_list.currentIndex())
    result = run_job(ExportJob(library, tmp_path / "out"))
    exported = {p.name for p in (tmp_path / "out" / "Everything").iterdir()}
    assert "near-small.jpg" in exported and "near-big.jpg" not in exported
    assert result.exported == 9 - 1  # every photo but the copy left out
    assert (dup_library["root"] / "a" / "near-big.jpg").is_file()  # never deleted


def test_use_the_suggestion_and_keep_all(qtbot, library, dup_library):
    _state, page = _open(qtbot, library)
    g = _select_group(page, "burst")
    with qtbot.waitSignal(page.choiceSaved, timeout=10000):
        qtbot.keyClick(page.copies, Qt.Key.Key_U)
    assert dc.left_out_of_albums(library) == set(dup_library["burst"]) - {g.suggested}
    assert not page.suggest_action.isEnabled() and page.all_action.isEnabled()
    with qtbot.waitSignal(page.choiceSaved, timeout=10000) as saved:
        qtbot.keyClick(page.copies, Qt.Key.Key_A)
    assert saved.args == [-1] and dc.choices(library) == []


def test_a_stored_choice_is_shown_when_the_page_opens_again(qtbot, library, dup_library):
    dc.choose(library, dup_library["exact"], dup_library["exact"][1])
    _state, page = _open(qtbot, library)
    g = _select_group(page, "exact")
    assert g.chosen == dup_library["exact"][1]
    assert page.copies.current_photo_id() == dup_library["exact"][1]
    assert page.copy_model.row(1).caption.startswith("★ in albums")


def test_enter_opens_a_copy_in_the_viewer(qtbot, library, dup_library):
    state, page = _open(qtbot, library)
    _select_group(page, "exact")
    requests = page_requests(qtbot, state)
    page.copies.setFocus()
    qtbot.keyClick(page.copies, Qt.Key.Key_Return)
    assert requests == [("viewer", {"photo_id": page.copies.current_photo_id(),
                                    "photo_ids": dup_library["exact"], "back": "duplicates"})]


def test_a_library_without_duplicates_says_so(qtbot, library, tmp_path):
    _add(library, write_jpeg(tmp_path / "one.jpg", color=(1, 1, 1)), None, 64, 48)
    _state, page = _open(qtbot, library)
    assert page.stack.currentWidget() is page.message
    assert page.message.text().startswith("No duplicates")
    assert not page.keep_action.isEnabled()


def test_page_fits_1024_by_700(qtbot, library, dup_library):
    _state, page = _open(qtbot, library)
    assert page.minimumSizeHint().width() <= 1024
    assert page.minimumSizeHint().height() <= 600


def test_groups_are_found_again_only_when_the_photos_change(qtbot, library, dup_library,
                                                             tmp_path):
    from photoclust.core.clustering import editing

    state, page = _open(qtbot, library)
    first = page.all_groups
    with qtbot.waitSignal(state.photosChanged, timeout=10000):
        state.run_edit(lambda: editing.new_cluster_from_photos(library, dup_library["near"]))
    page.activate()  # an edit moved photos between clusters: the groups still hold
    assert page.all_groups is first and page.stack.currentWidget() is page.splitter
    extra = tmp_path / "photos" / "a" / "exact-again.jpg"
    shutil.copy(dup_library["root"] / "a" / "exact.jpg", extra)
    _add(library, extra, None, 128, 96)
    with qtbot.waitSignal(page.groupsReady, timeout=60000):
        page.activate()
    exact = next(g for g in page.all_groups if g.kind == "exact")
    assert len(exact.copies) == 3


def test_the_page_reads_the_library_only_on_workers_and_shows_loading_meanwhile(
        qtbot, library, dup_library, monkeypatch):
    """Opening the page or coming back to it never reads the library on the GUI thread: the
    photos check and the groups run on the job lane while the page shows its loading state."""
    import threading

    from photoclust.gui.pages import duplicates as page_module

    threads = []
    real = page_module.photos_key

    def recorded(lib):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(lib)

    monkeypatch.setattr(page_module, "photos_key", recorded)
    state, page = _open(qtbot, library)  # asserts the loading state while the groups are found
    first = page.all_groups
    page.deactivate()
    page.activate()
    qtbot.waitUntil(lambda: page.checks_pending == 0, timeout=10000)
    assert page.all_groups is first and page.stack.currentWidget() is page.splitter
    assert threads and not any(threads)  # photos_key ran, never on the GUI thread
