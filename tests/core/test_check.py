"""CheckJob: integrity, vanished files, orphan rows and files, and only safe repairs."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.check import STALE_TEMP_SECONDS, CheckJob
from photoclust.core.library.models import (
    Assignment,
    Cluster,
    EditEvent,
    Embedding,
    Photo,
)


def add_photo(library, path, draw=True) -> tuple[int, str]:
    if draw:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (len(path.name) * 9 % 256, 90, 40)).save(path, "JPEG")
    content_hash = hashlib.sha256(str(path).encode()).hexdigest()
    st = path.stat() if draw else None
    with library.session() as s:
        photo = Photo(path=str(path), content_hash=content_hash,
                      file_size=st.st_size if st else 1, mtime_ns=st.st_mtime_ns if st else 0)
        s.add(photo)
        s.flush()
        return photo.id, content_hash


def add_embedding(library, content_hash, dim=4, vector_values=None, model="m"):
    values = np.arange(dim, dtype=np.float16) if vector_values is None else vector_values
    with library.session() as s:
        s.add(Embedding(content_hash=content_hash, model=model, preprocess_version=1, dim=dim,
                        vector=np.asarray(values, dtype="<f2").tobytes()))


def add_cluster(library, active=True) -> int:
    with library.session() as s:
        cluster = Cluster(name="c", active=active)
        s.add(cluster)
        s.flush()
        return cluster.id


def test_check_healthy_library_is_ok(library, tmp_path):
    photo_id, content_hash = add_photo(library, tmp_path / "p" / "a.jpg")
    add_embedding(library, content_hash)
    with library.session() as s:
        s.add(Assignment(photo_id=photo_id, cluster_id=add_cluster(library)))
    thumb = thumbnail_path(library, content_hash)
    thumb.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(thumb, "JPEG")

    report = run_job(CheckJob(library))
    assert report.ok and report.integrity == ["ok"] and report.missing == []
    assert all(rows == [] for rows in report.orphans.values())
    assert set(report.to_json()) == {"ok", "integrity", "missing", "changed", "unreadable",
                                     "orphans", "repaired"}


def test_check_reports_vanished_file_and_repair_marks_it_missing(library, tmp_path):
    kept, _ = add_photo(library, tmp_path / "p" / "kept.jpg")
    gone, _ = add_photo(library, tmp_path / "p" / "gone.jpg")
    (tmp_path / "p" / "gone.jpg").unlink()
    cluster = add_cluster(library)
    with library.session() as s:
        s.add(Assignment(photo_id=gone, cluster_id=cluster, source="user"))

    report = run_job(CheckJob(library))
    assert not report.ok
    assert report.missing == [{"photo_id": gone, "path": str(tmp_path / "p" / "gone.jpg")}]
    with library.session() as s:
        assert s.get(Photo, gone).status == "present"  # a plain check writes nothing

    repaired = run_job(CheckJob(library, repair=True))
    assert repaired.repaired == {"missing": 1} and repaired.ok
    with library.session() as s:
        assert s.get(Photo, gone).status == "missing"
        assert s.get(Photo, kept).status == "present"
        assert s.get(Assignment, gone).source == "user"  # its label survives
    assert run_job(CheckJob(library)).ok


def test_check_orphan_rows_and_safe_repairs(library, tmp_path):
    live, live_hash = add_photo(library, tmp_path / "p" / "a.jpg")
    auto_photo, _ = add_photo(library, tmp_path / "p" / "b.jpg")
    user_photo, _ = add_photo(library, tmp_path / "p" / "c.jpg")
    dead = add_cluster(library, active=False)
    merged_away = add_cluster(library, active=False)
    with library.session() as s:
        s.add(Assignment(photo_id=auto_photo, cluster_id=dead, source="auto"))
        s.add(Assignment(photo_id=user_photo, cluster_id=merged_away, source="user"))
        s.add(EditEvent(kind="rename", payload="{}"))
    add_embedding(library, live_hash)
    add_embedding(library, "f" * 64)  # no photo has this content
    add_embedding(library, live_hash, dim=8, vector_values=np.zeros(3), model="other")
    orphan_thumb = thumbnail_path(library, "e" * 64)
    orphan_thumb.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(orphan_thumb, "JPEG")
    stale_temp = orphan_thumb.with_name(".tmp-abc.jpg")
    stale_temp.write_bytes(b"half")
    old = time.time() - STALE_TEMP_SECONDS - 10
    os.utime(stale_temp, (old, old))
    fresh_temp = orphan_thumb.with_name(".tmp-def.jpg")  # an index may be writing it now
    fresh_temp.write_bytes(b"half")

    report = run_job(CheckJob(library))
    assert not report.ok
    assert report.orphans["assignments"] == [
        {"photo_id": auto_photo, "cluster_id": dead, "source": "auto",
         "reason": "inactive cluster"},
        {"photo_id": user_photo, "cluster_id": merged_away, "source": "user",
         "reason": "inactive cluster"}]
    assert report.orphans["embeddings"] == [
        {"content_hash": "f" * 64, "model": "m", "preprocess_version": 1}]
    assert report.orphans["malformed_embeddings"] == [
        {"content_hash": live_hash, "model": "other", "preprocess_version": 1}]
    assert report.orphans["thumbnails"] == sorted([str(orphan_thumb), str(stale_temp)])

    report = run_job(CheckJob(library, repair=True))
    assert report.ok
    assert report.repaired["assignments"] == 2 and report.repaired["thumbnails"] == 2
    with library.session() as s:
        assert s.get(Assignment, auto_photo) is None  # the next clustering places it again
        assert s.get(Assignment, user_photo).cluster_id == merged_away
        assert s.get(Cluster, merged_away).active  # the user's placement is kept visible
        assert s.execute(select(Embedding.content_hash, Embedding.model)).all() \
            == [(live_hash, "m")]
        assert s.scalar(select(func.count()).select_from(EditEvent)) == 1
    assert not orphan_thumb.exists() and not stale_temp.exists() and fresh_temp.exists()
    assert run_job(CheckJob(library)).ok


def test_check_damaged_file_is_reported_and_not_written(tmp_path):
    path = tmp_path / "lib.sqlite"
    library = open_library(path)
    for i in range(300):
        add_photo(library, tmp_path / "p" / f"{i:04d}-{'x' * 200}.jpg", draw=False)
    library.close()
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (root_page,) = con.execute("SELECT rootpage FROM sqlite_master "
                               "WHERE name = 'ix_photos_content_hash'").fetchone()
    con.close()
    data = bytearray(path.read_bytes())
    offset = (root_page - 1) * page_size
    data[offset:offset + page_size] = bytes(page_size)  # page type 0: not a b-tree page
    path.write_bytes(bytes(data))
    before = path.read_bytes()

    library = open_library(path)
    try:
        report = run_job(CheckJob(library, repair=True))
    finally:
        library.close()
    assert not report.ok and report.integrity != ["ok"]
    assert "malformed" in " ".join(report.integrity)
    assert report.repaired == {}
    assert path.read_bytes() == before


def test_check_reports_files_changed_since_indexing_until_index_reads_them(library, tmp_path):
    from helpers import write_jpeg
    from photoclust.core.library.scan import ScanJob

    root = tmp_path / "p"
    for name in ("same", "text", "touched", "folder", "link"):
        write_jpeg(root / f"{name}.jpg", color=(len(name) * 40, 90, 40))
    run_job(ScanJob(library, [root]))
    (root / "text.jpg").write_text("overwritten with text")
    os.utime(root / "touched.jpg", ns=(1_000_000_000, 1_000_000_000))
    (root / "folder.jpg").unlink()
    (root / "folder.jpg").mkdir()
    (root / "link.jpg").unlink()
    (root / "link.jpg").symlink_to(root / "nowhere.jpg")

    report = run_job(CheckJob(library))  # (--repair would read them again: reliability tests)
    assert not report.ok and report.missing == []
    reasons = {os.path.basename(row["path"]): row["reason"] for row in report.changed}
    assert set(reasons) == {"text.jpg", "touched.jpg", "folder.jpg", "link.jpg"}
    assert reasons["text.jpg"].startswith("size changed")
    assert reasons["touched.jpg"] == "modified since it was indexed"
    assert reasons["folder.jpg"] == "now a folder"
    assert reasons["link.jpg"] == "broken symbolic link"
    assert report.repaired == {}

    result = run_job(ScanJob(library, [root]))
    assert (result.unchanged, result.unreadable) == (2, 3)  # the touched one is the same photo
    report = run_job(CheckJob(library))
    assert report.ok and report.changed == []
    assert [os.path.basename(row["path"]) for row in report.unreadable] == [
        "folder.jpg", "link.jpg", "text.jpg"]  # as information


def test_check_after_a_kill_inside_an_index_batch_calls_leftover_thumbnails_no_damage(
        library, tmp_path, monkeypatch):
    from helpers import write_jpeg
    from photoclust.core.library import scan as scan_module
    from photoclust.core.library.scan import ScanJob

    root = tmp_path / "p"
    for i in range(3):
        write_jpeg(root / f"{i}.jpg", color=(i * 80, 30, 30))

    def killed(*args, **kwargs):  # the process dies after the thumbnails, before the commit
        raise KeyboardInterrupt

    monkeypatch.setattr(ScanJob, "_write_batch", killed)
    try:
        run_job(ScanJob(library, [root]))
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()

    report = run_job(CheckJob(library))
    assert report.ok and report.problems == 0
    assert len(report.orphans["thumbnails"]) == 3  # reported, as information

    made = []
    real = scan_module.create_thumbnail
    monkeypatch.setattr(scan_module, "create_thumbnail",
                        lambda *a, **k: made.append(a) or real(*a, **k))
    assert run_job(ScanJob(library, [root])).added == 3
    assert made == []  # the next index reused them
    assert run_job(CheckJob(library)).orphans["thumbnails"] == []


def test_cli_check_words_changed_unreadable_and_leftovers(library, tmp_path, capsys):
    from helpers import write_jpeg
    from photoclust.cli import main
    from photoclust.core.library.scan import ScanJob

    root = tmp_path / "p"
    for name in ("a", "b", "c"):
        write_jpeg(root / f"{name}.jpg", color=(len(name) * 70, 20, 90))
    run_job(ScanJob(library, [root]))
    (root / "a.jpg").write_text("overwritten")
    run_job(ScanJob(library, [root]))  # a.jpg is unreadable now
    (root / "b.jpg").write_bytes((root / "b.jpg").read_bytes()[:100])  # changed since
    leftover = thumbnail_path(library, "d" * 64)
    leftover.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(leftover, "JPEG")

    assert main(["check", "--library", str(library.path)]) == 1
    out = capsys.readouterr().out
    assert "Photos whose file changed since it was indexed: 1" in out
    assert f"{root / 'b.jpg'}: size changed" in out
    assert "`photoclust index` on their folders reads them again." in out
    assert "1 photo(s) marked unreadable" in out and str(root / "a.jpg") in out
    assert "1 thumbnail file(s) no photo uses" in out and "not damage" in out
    assert "Run `photoclust check --repair`" in out  # it reads the changed photo again


def test_check_read_files_finds_bytes_changed_with_size_and_time_kept(library, tmp_path):
    from helpers import write_jpeg
    from photoclust.core.library.scan import ScanJob

    root = tmp_path / "p"
    path = write_jpeg(root / "a.jpg", size=(64, 48), color=(200, 30, 30))
    write_jpeg(root / "b.jpg", color=(20, 30, 200))
    run_job(ScanJob(library, [root]))
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, as bit rot would do
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    assert run_job(CheckJob(library)).ok  # size and time match: only reading can tell
    report = run_job(CheckJob(library, read_files=True))
    assert not report.ok
    assert report.changed == [{"photo_id": report.changed[0]["photo_id"], "path": str(path),
                               "reason": "content changed (same size and time)"}]
