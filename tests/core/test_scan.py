import os
import shutil
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from helpers import (
    make_exif,
    make_labeled_folder,
    write_image,
    write_jpeg,
    write_png_header_bomb,
    write_truncated_jpeg,
)
from photoclust.core import imaging
from photoclust.core.imaging import thumbnail_path
from photoclust.core.jobs import Cancelled, JobContext, JobError, run_job
from photoclust.core.library.models import Assignment, Cluster, Photo
from photoclust.core.library.scan import ScanJob, hash_file


def scan(library, *folders, **kwargs):
    return run_job(ScanJob(library, [str(f) for f in folders], **kwargs))


def photos(library):
    with library.session() as s:
        return {p.path: p for p in s.scalars(select(Photo))}


def skipped_reasons(result):
    return {os.path.basename(p): reason for p, reason in result.skipped}


def test_scan_adds_photos_with_metadata_and_thumbnails(tmp_path, library):
    root = tmp_path / "photos"
    a = write_jpeg(root / "a.jpg", size=(640, 480), exif=make_exif(
        taken_at=datetime(2020, 5, 1, 12, 0, 0), make="Apple", model="iPhone 12",
        gps=(-33.8568, 151.2153), orientation=6))
    write_image(root / "sub" / "b.PNG", size=(30, 20))
    write_image(root / "sub" / "deeper" / "c.WebP", size=(30, 20), color=(1, 200, 3))
    (root / "notes.txt").write_text("not a photo")

    result = scan(library, root)

    assert (result.added, result.unchanged, result.updated, result.moved, result.missing) == (
        3, 0, 0, 0, 0)
    assert result.skipped == []
    rows = photos(library)
    assert sorted(rows) == sorted(str(p) for p in [
        a, root / "sub" / "b.PNG", root / "sub" / "deeper" / "c.WebP"])
    photo = rows[str(a)]
    assert (photo.width, photo.height) == (480, 640)  # after EXIF orientation
    assert photo.taken_at == datetime(2020, 5, 1, 12, 0, 0)
    assert photo.camera == "Apple iPhone 12"
    assert photo.gps_lat == pytest.approx(-33.8568, abs=1e-5)
    assert photo.gps_lon == pytest.approx(151.2153, abs=1e-5)
    assert photo.image_format == "JPEG"
    assert photo.status == "present"
    assert photo.content_hash == hash_file(str(a))[0]
    assert photo.file_size == a.stat().st_size
    assert photo.mtime_ns == a.stat().st_mtime_ns
    for row in rows.values():
        assert thumbnail_path(library, row.content_hash).is_file()


def test_scan_matches_extensions_case_insensitively_and_ignores_hidden(tmp_path, library):
    root = tmp_path / "p"
    for name in ["a.JPG", "b.jpeg", "c.Tif", "d.bmp", "e.GIF", "f.tiff"]:
        write_image(root / name, size=(8, 8), color=(len(name), 5, 5))
    write_jpeg(root / ".hidden.jpg")
    write_jpeg(root / ".cache" / "x.jpg")
    write_jpeg(root / "movie.mp4")  # an image with the wrong extension is not picked up
    assert scan(library, root).added == 6


def test_scan_second_run_reads_nothing_unchanged(tmp_path, library, monkeypatch):
    root = tmp_path / "p"
    make_labeled_folder(root, per_class=2)
    assert scan(library, root).added == 8

    def must_not_read(*args, **kwargs):
        raise AssertionError("an unchanged file was read again")

    monkeypatch.setattr("photoclust.core.library.scan.hash_file", must_not_read)
    monkeypatch.setattr("photoclust.core.library.scan.create_thumbnail", must_not_read)
    result = scan(library, root)
    assert (result.added, result.unchanged, result.updated, result.missing) == (0, 8, 0, 0)


def test_scan_changed_file_is_updated_in_place(tmp_path, library):
    path = write_jpeg(tmp_path / "p" / "a.jpg", size=(40, 30), color=(255, 0, 0))
    scan(library, tmp_path / "p")
    before = photos(library)[str(path)]

    write_jpeg(path, size=(50, 60), color=(0, 255, 0))
    os.utime(path, ns=(before.mtime_ns + 5_000_000_000, before.mtime_ns + 5_000_000_000))
    result = scan(library, tmp_path / "p")

    assert (result.updated, result.added, result.unchanged) == (1, 0, 0)
    after = photos(library)[str(path)]
    assert after.id == before.id
    assert after.content_hash != before.content_hash
    assert (after.width, after.height) == (50, 60)
    assert thumbnail_path(library, after.content_hash).is_file()


def test_scan_touched_but_identical_file_is_unchanged(tmp_path, library):
    path = write_jpeg(tmp_path / "p" / "a.jpg")
    scan(library, tmp_path / "p")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    result = scan(library, tmp_path / "p")
    assert (result.unchanged, result.updated) == (1, 0)
    assert photos(library)[str(path)].mtime_ns == 1_000_000_000


def _attach_cluster(library, photo_id):
    with library.session() as s:
        cluster = Cluster(name="beach", name_source="user")
        s.add(cluster)
        s.flush()
        s.add(Assignment(photo_id=photo_id, cluster_id=cluster.id, source="user"))


def test_scan_renamed_file_keeps_its_id_and_labels(tmp_path, library):
    root = tmp_path / "p"
    old = write_jpeg(root / "a.jpg", color=(10, 20, 30))
    write_jpeg(root / "b.jpg", color=(200, 20, 30))
    scan(library, root)
    photo_id = photos(library)[str(old)].id
    _attach_cluster(library, photo_id)

    new = root / "renamed" / "holiday.jpg"
    new.parent.mkdir()
    old.rename(new)
    result = scan(library, root)

    assert (result.moved, result.added, result.missing, result.unchanged) == (1, 0, 0, 1)
    rows = photos(library)
    assert str(old) not in rows
    assert rows[str(new)].id == photo_id
    assert rows[str(new)].status == "present"
    with library.session() as s:
        assert s.get(Assignment, photo_id).source == "user"


def test_scan_vanished_file_is_marked_missing_and_found_again_after_move(tmp_path, library):
    first, second = tmp_path / "first", tmp_path / "second"
    path = write_jpeg(first / "a.jpg", color=(1, 2, 3))
    write_jpeg(first / "keep.jpg", color=(9, 9, 9))
    scan(library, first)
    photo_id = photos(library)[str(path)].id
    _attach_cluster(library, photo_id)

    second.mkdir()
    shutil.move(str(path), str(second / "a.jpg"))
    result = scan(library, first)
    assert (result.missing, result.unchanged) == (1, 1)
    row = photos(library)[str(path)]
    assert row.status == "missing"  # kept, with its labels, not deleted
    with library.session() as s:
        assert s.get(Assignment, photo_id) is not None

    result = scan(library, second)
    assert (result.moved, result.added) == (1, 0)
    rows = photos(library)
    assert rows[str(second / "a.jpg")].id == photo_id
    assert rows[str(second / "a.jpg")].status == "present"

    result = scan(library, first)
    assert result.missing == 0


def test_scan_missing_file_that_comes_back_is_present_again(tmp_path, library):
    path = write_jpeg(tmp_path / "p" / "a.jpg")
    scan(library, tmp_path / "p")
    stash = tmp_path / "stash.jpg"
    shutil.copy2(path, stash)
    path.unlink()
    assert scan(library, tmp_path / "p").missing == 1
    shutil.copy2(stash, path)
    result = scan(library, tmp_path / "p")
    assert (result.missing, result.unchanged, result.added) == (0, 1, 0)
    assert photos(library)[str(path)].status == "present"


def test_scan_identical_files_are_duplicates_with_one_row_each(tmp_path, library):
    root = tmp_path / "p"
    original = write_jpeg(root / "a.jpg", color=(50, 60, 70))
    shutil.copy(original, root / "copy.jpg")
    (root / "sub").mkdir()
    shutil.copy(original, root / "sub" / "copy2.jpg")
    result = scan(library, root)
    assert result.added == 3
    rows = photos(library)
    assert len({p.content_hash for p in rows.values()}) == 1
    assert len({p.id for p in rows.values()}) == 3

    # A new copy next to a still-present original is a duplicate, not a move.
    shutil.copy(original, root / "copy3.jpg")
    result = scan(library, root)
    assert (result.added, result.moved) == (1, 0)


def test_scan_skips_each_bad_input_with_a_reason(tmp_path, library, monkeypatch):
    root = tmp_path / "p"
    write_jpeg(root / "good.jpg")
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("hello, I am not a photo\n")
    write_truncated_jpeg(root / "cut.jpg")
    write_png_header_bomb(root / "bomb.png")
    write_image(root / "large.png", size=(300, 300), color=(0, 0, 0))
    monkeypatch.setattr(imaging, "MAX_PIXELS", 300 * 300 - 1)
    (root / "loop").symlink_to(root)
    (root / "self.jpg").symlink_to(root / "self.jpg")
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    bad_name = os.fsencode(str(root)) + b"/caf\xe9.jpg"  # Latin-1, not UTF-8
    with open(bad_name, "wb") as fh:
        fh.write((root / "good.jpg").read_bytes())

    result = scan(library, root)

    assert result.added == 1
    reasons = skipped_reasons(result)
    assert "empty file" in reasons["empty.jpg"]
    assert "not an image" in reasons["text.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "decompression bomb" in reasons["large.png"]
    assert "loop" in reasons["loop"]
    assert "loop" in reasons["self.jpg"]
    assert "broken symbolic link" in reasons["dangling.jpg"]
    assert "UTF-8" in reasons["caf\\xe9.jpg"]
    assert list(photos(library)) == [str(root / "good.jpg")]
    with library.session() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 1


def test_scan_unreadable_file_is_skipped(tmp_path, library, monkeypatch):
    root = tmp_path / "p"
    write_jpeg(root / "good.jpg", color=(1, 1, 1))
    locked = write_jpeg(root / "locked.jpg", color=(2, 2, 2))
    real_open = os.open

    def guarded_open(path, *args, **kwargs):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    result = scan(library, root)
    assert result.added == 1
    assert skipped_reasons(result) == {"locked.jpg": "cannot read file: permission denied"}


def test_scan_unreadable_folder_is_skipped_and_its_photos_not_marked_missing(
        tmp_path, library, monkeypatch):
    root = tmp_path / "p"
    write_jpeg(root / "open" / "a.jpg", color=(1, 1, 1))
    inside = write_jpeg(root / "locked" / "b.jpg", color=(2, 2, 2))
    scan(library, root)
    real_scandir = os.scandir

    def guarded_scandir(path="."):
        if os.fspath(path) == str(root / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", guarded_scandir)
    result = scan(library, root)
    assert skipped_reasons(result) == {"locked": "cannot read folder: permission denied"}
    assert result.missing == 0
    assert photos(library)[str(inside)].status == "present"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_scan_chmod_000_file_and_folder_are_skipped(tmp_path, library):
    root = tmp_path / "p"
    write_jpeg(root / "good.jpg")
    locked_file = write_jpeg(root / "locked.jpg", color=(3, 3, 3))
    locked_dir = root / "locked_dir"
    write_jpeg(locked_dir / "c.jpg", color=(4, 4, 4))
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        result = scan(library, root)
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)
    assert result.added == 1
    assert set(skipped_reasons(result)) == {"locked.jpg", "locked_dir"}


def test_scan_prepare_fails_clearly_for_bad_folders(tmp_path, library, monkeypatch):
    with pytest.raises(JobError, match="no such folder"):
        ScanJob(library, [tmp_path / "absent"]).prepare()
    file = write_jpeg(tmp_path / "a.jpg")
    with pytest.raises(JobError, match="not a folder"):
        ScanJob(library, [file]).prepare()
    with pytest.raises(JobError, match="no folder"):
        ScanJob(library, []).prepare()
    real_scandir = os.scandir

    def denied(path="."):
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(JobError, match="cannot read folder"):
        ScanJob(library, [tmp_path / "locked"]).prepare()


def test_scan_does_not_index_its_own_thumbnails(tmp_path):
    from photoclust.core.library import open_library

    root = tmp_path / "home"
    write_jpeg(root / "a.jpg")
    with open_library(root / "library.sqlite") as lib:
        scan(lib, root)
        result = scan(lib, root)
    assert (result.added, result.unchanged) == (0, 1)


def test_scan_symlinked_folder_is_followed_once(tmp_path, library):
    real = tmp_path / "real"
    write_jpeg(real / "a.jpg")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(real, target_is_directory=True)
    (root / "link2").symlink_to(real, target_is_directory=True)
    result = scan(library, root)
    assert result.added == 1
    assert result.skipped == []


def test_scan_reports_progress(tmp_path, library):
    make_labeled_folder(tmp_path / "p", per_class=3)
    reports = []
    run_job(ScanJob(library, [tmp_path / "p"], batch_size=4),
            JobContext(lambda d, t, m: reports.append((d, t))))
    assert reports[-1] == (12, 12)
    done = [d for d, t in reports if t == 12]
    assert done == sorted(done) and len(done) >= 3


def test_scan_cancel_leaves_consistent_library_and_rerun_finishes(tmp_path, library):
    written = make_labeled_folder(tmp_path / "p", per_class=5)
    all_paths = {str(p) for paths in written.values() for p in paths}
    cancel = threading.Event()

    def on_progress(done, total, message):
        if total and done >= 8:
            cancel.set()

    with pytest.raises(Cancelled):
        run_job(ScanJob(library, [tmp_path / "p"], batch_size=4),
                JobContext(on_progress, cancel))

    rows = photos(library)
    assert 0 < len(rows) < len(all_paths)
    for row in rows.values():  # every committed row is complete, with its thumbnail
        assert row.width and row.height and row.content_hash
        assert thumbnail_path(library, row.content_hash).is_file()

    result = scan(library, tmp_path / "p")
    assert result.added == len(all_paths) - len(rows)
    assert result.unchanged == len(rows)
    assert set(photos(library)) == all_paths


def test_scan_crash_between_thumbnail_and_commit_recovers(tmp_path, library, monkeypatch):
    path = write_jpeg(tmp_path / "p" / "a.jpg", size=(300, 200), exif=make_exif(make="Sony"))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ScanJob, "_write_batch", crash)
    with pytest.raises(KeyboardInterrupt):
        scan(library, tmp_path / "p")
    monkeypatch.undo()
    assert photos(library) == {}

    result = scan(library, tmp_path / "p")
    assert result.added == 1
    row = photos(library)[str(path)]
    assert (row.width, row.height, row.camera) == (300, 200, "Sony")


def test_scan_recreates_deleted_thumbnails_of_unchanged_photos(tmp_path, library):
    path = write_jpeg(tmp_path / "p" / "a.jpg", size=(512, 512))
    scan(library, tmp_path / "p")
    thumb = thumbnail_path(library, photos(library)[str(path)].content_hash)
    shutil.rmtree(library.thumbnail_dir)
    result = scan(library, tmp_path / "p")
    assert (result.unchanged, result.updated, result.added) == (1, 0, 0)
    assert thumb.is_file()


def test_hash_file_is_sha256_of_the_bytes(tmp_path):
    import hashlib

    path = write_jpeg(tmp_path / "a.jpg")
    digest, st = hash_file(str(path))
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert st.st_size == path.stat().st_size


# -- files that change, special files, exports ------------------------------------------------

def _damage_png_data(path):
    """Zero 64 bytes of a PNG's image data and fix the chunk checksum: only decoding tells."""
    import struct
    import zlib

    data = bytearray(path.read_bytes())
    pos = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    data[pos + 8 + length // 3:pos + 8 + length // 3 + 64] = bytes(64)
    end = pos + 8 + length
    data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[pos + 4:end])))
    path.write_bytes(bytes(data))


def _noise_png(path, seed):
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_scan_damaged_png_is_refused(tmp_path, library):
    path = _noise_png(tmp_path / "p" / "a.png", 1)
    _damage_png_data(path)
    result = scan(library, tmp_path / "p")
    assert result.added == 0
    assert "corrupt image data" in skipped_reasons(result)["a.png"]
    assert photos(library) == {}
    assert not any(library.thumbnail_dir.rglob("*.jpg")) if library.thumbnail_dir.exists() \
        else True


def test_scan_files_that_turn_bad_become_unreadable_and_come_back(tmp_path, library):
    from photoclust.core.library.queries import photos_in_cluster

    root = tmp_path / "p"
    names = ["text.jpg", "cut.jpg", "link.jpg", "folder.jpg", "damaged.png", "fine.jpg"]
    for i, name in enumerate(names):
        if name.endswith(".png"):
            _noise_png(root / name, i)
        else:
            write_jpeg(root / name, size=(120, 90), color=(40 * i, 90, 200 - 30 * i))
    stash = tmp_path / "stash"
    shutil.copytree(root, stash)
    scan(library, root)
    ids = {os.path.basename(p): row.id for p, row in photos(library).items()}
    with library.session() as s:
        cluster = Cluster(name="holiday", name_source="user")
        s.add(cluster)
        s.flush()
        cluster_id = cluster.id
        for photo_id in ids.values():
            s.add(Assignment(photo_id=photo_id, cluster_id=cluster_id, source="user"))

    (root / "text.jpg").write_text("I am not a photo any more\n")
    data = (root / "cut.jpg").read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 2])
    (root / "link.jpg").unlink()
    (root / "link.jpg").symlink_to(root / "nowhere.jpg")
    (root / "folder.jpg").unlink()
    (root / "folder.jpg").mkdir()
    _damage_png_data(root / "damaged.png")
    result = scan(library, root)

    reasons = skipped_reasons(result)
    assert "not an image" in reasons["text.jpg"]
    assert "truncated" in reasons["cut.jpg"]
    assert "broken symbolic link" in reasons["link.jpg"]
    assert "folder" in reasons["folder.jpg"]
    assert "corrupt image data" in reasons["damaged.png"]
    assert (result.unreadable, result.missing, result.unchanged) == (5, 0, 1)
    rows = photos(library)
    assert {os.path.basename(p): r.status for p, r in rows.items()} == {
        **{n: "unreadable" for n in names[:-1]}, "fine.jpg": "present"}
    assert [p.id for p in photos_in_cluster(library, cluster_id)] == [ids["fine.jpg"]]
    with library.session() as s:  # clusters and labels are kept for when the files come back
        assert s.scalar(select(func.count()).select_from(Assignment)) == len(names)

    again = scan(library, root)  # still bad: reported again, nothing else changes
    assert set(skipped_reasons(again)) == set(names[:-1]) and again.unreadable == 5

    for name in names[:-1]:
        target = root / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            target.rmdir()
        shutil.copy2(stash / name, target)
    result = scan(library, root)
    assert (result.unreadable, result.missing, result.added, result.skipped) == (0, 0, 0, [])
    assert {os.path.basename(p): (r.id, r.status) for p, r in photos(library).items()} == {
        n: (ids[n], "present") for n in names}
    assert len(photos_in_cluster(library, cluster_id)) == len(names)


@pytest.mark.parametrize("copy_name", ["restored.jpg", "0-restored.jpg"])  # after, before
def test_scan_good_copy_found_elsewhere_takes_over_a_damaged_photo(tmp_path, library,
                                                                   copy_name):
    root = tmp_path / "p"
    path = write_jpeg(root / "a.jpg", size=(120, 90), color=(1, 2, 3))
    backup = tmp_path / "backup.jpg"
    shutil.copy2(path, backup)
    scan(library, root)
    photo_id = photos(library)[str(path)].id
    path.write_text("overwritten")
    assert scan(library, root).unreadable == 1
    shutil.copy2(backup, root / copy_name)
    result = scan(library, root)
    assert (result.moved, result.added, result.unreadable) == (1, 0, 0)
    rows = photos(library)
    assert rows[str(root / copy_name)].id == photo_id
    assert rows[str(root / copy_name)].status == "present"
    assert str(path) not in rows  # the damaged file is no photo: skipped, with its reason
    assert "not an image" in skipped_reasons(result)["a.jpg"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_scan_reports_special_files_as_skipped_without_opening_them(tmp_path, library,
                                                                     monkeypatch):
    root = tmp_path / "p"
    write_jpeg(root / "good.jpg")
    os.mkfifo(root / "pipe.jpg")
    (root / "device.jpg").symlink_to("/dev/zero")
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(os.fspath(p))
                        or real_open(p, *a, **k))
    result = scan(library, root)
    assert result.added == 1
    reasons = skipped_reasons(result)
    assert "named pipe" in reasons["pipe.jpg"] and "left unread" in reasons["pipe.jpg"]
    assert "device file" in reasons["device.jpg"]
    assert not [p for p in opened if p.endswith(("pipe.jpg", "device.jpg"))]


def test_scan_photo_replaced_by_a_pipe_becomes_unreadable(tmp_path, library):
    path = write_jpeg(tmp_path / "p" / "a.jpg")
    scan(library, tmp_path / "p")
    path.unlink()
    os.mkfifo(path)
    result = scan(library, tmp_path / "p")
    assert "named pipe" in skipped_reasons(result)["a.jpg"]
    assert photos(library)[str(path)].status == "unreadable"


def test_scan_huge_sparse_file_is_refused_without_being_hashed(tmp_path, library, monkeypatch):
    root = tmp_path / "p"
    write_jpeg(root / "good.jpg")
    with open(root / "huge.jpg", "wb") as fh:
        fh.truncate(2 * 1024**3)
    hashed = []
    real_hash = hash_file
    monkeypatch.setattr("photoclust.core.library.scan.hash_file",
                        lambda f: hashed.append(f.name) or real_hash(f))
    result = scan(library, root)
    assert result.added == 1
    assert "not an image" in skipped_reasons(result)["huge.jpg"]
    assert not [n for n in hashed if str(n).endswith("huge.jpg")]


def test_scan_leaves_out_a_folder_holding_a_photoclust_export(tmp_path, library):
    from photoclust.core.export.albums import ExportJob

    root = tmp_path / "Pictures"
    written = make_labeled_folder(root, per_class=2)
    scan(library, root)
    with library.session() as s:
        cluster = Cluster(name="circles", name_source="user")
        s.add(cluster)
        s.flush()
        for path in written["red_circles"]:
            photo_id = s.scalar(select(Photo.id).where(Photo.path == str(path)))
            s.add(Assignment(photo_id=photo_id, cluster_id=cluster.id, source="user"))
    run_job(ExportJob(library, tmp_path / "out", xmp=True))
    # The export is moved into the photo folders (or was written there by an older version).
    shutil.move(str(tmp_path / "out"), str(root / "Albums"))
    assert list((root / "Albums").rglob("*.jpg"))

    result = scan(library, root)
    assert (result.added, result.unchanged, result.moved) == (0, 8, 0)
    assert "photoclust export" in skipped_reasons(result)["Albums"]
    assert not [p for p in photos(library) if "Albums" in p]


def test_scan_knows_the_export_manifest_names():
    from photoclust.core import files
    from photoclust.core.export import albums as export

    assert (files.EXPORT_MANIFEST_JSON, files.EXPORT_MANIFEST_CSV) == (
        export.MANIFEST_JSON, export.MANIFEST_CSV)
    assert export.MANIFEST_FIELDS[0] == "photo_id"  # the CSV header the scan recognises


def test_scan_keeps_a_folder_with_an_unrelated_manifest(tmp_path, library):
    root = tmp_path / "p"
    write_jpeg(root / "web" / "icon.jpg")
    (root / "web" / "manifest.json").write_text('{"name": "my web app", "icons": []}')
    assert scan(library, root).added == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_scan_a_pipe_called_manifest_json_does_not_block(tmp_path, library):
    root = tmp_path / "p"
    write_jpeg(root / "a.jpg")
    os.mkfifo(root / "manifest.json")
    assert scan(library, root).added == 1


_PEAK_SCRIPT = """
import resource, sys
from photoclust.core.jobs import run_job
from photoclust.core.library import open_library
from photoclust.core.library.scan import ScanJob
with open_library(sys.argv[2]) as library:
    result = run_job(ScanJob(library, [sys.argv[1]], workers=2))
def peak_mib():
    # VmHWM belongs to this process's own memory map; ru_maxrss on Linux also keeps the peak of
    # the process it was exec'd from (pytest, a few GB into a full run).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(result.added, peak_mib())
"""


@pytest.mark.slow
def test_indexing_two_144_megapixel_pngs_peaks_under_800_mb(tmp_path):
    """The bug report's case: one 144 MP PNG peaked at 1.16 GB (16-bit: 2.8 GB), two at once
    at 5.4 GB. Measured in a fresh process with two decoding workers."""
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    side = 12_000
    root = tmp_path / "huge"
    root.mkdir()
    Image.new("RGB", (side, side), (10, 200, 30)).save(root / "rgb8.png", compress_level=1)
    grey = np.zeros((side, side), dtype=np.uint16)
    grey[:, : side // 2] = 40_000
    Image.fromarray(grey).save(root / "grey16.png", compress_level=1)
    del grey
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        imaging.__file__))))
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(root), str(tmp_path / "lib.sqlite")],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": repo})
    added, peak_mib = (int(v) for v in out.stdout.split()[-2:])
    assert added == 2
    assert peak_mib * 1.048576 < 800, f"peak {peak_mib} MiB"


def test_scan_batch_survives_another_writer_committing_mid_batch(tmp_path, library):
    """Organize indexes while its model lane commits embeddings. A batch that read before
    writing (a deferred transaction) could not upgrade its stale snapshot: SQLite says
    "database is locked" at once, without waiting (seen in the app on 200 photos)."""
    import sqlite3

    from sqlalchemy import event

    root = tmp_path / "photos"
    for i in range(3):
        write_image(root / f"p{i}.png", size=(30, 20), color=(i * 60, 10, 10))
    other = sqlite3.connect(library.path, timeout=0.2, isolation_level=None)
    other_wrote: list[bool] = []

    def after_execute(conn, _cursor, statement, *_args):
        if "WHERE photos.content_hash = " in statement and not other_wrote:
            try:  # the model lane commits between the batch's first read and its writes
                other.execute("INSERT INTO settings (key, value) VALUES ('other_writer', '1')")
                other_wrote.append(True)
            except sqlite3.OperationalError:
                other_wrote.append(False)  # the batch holds the write lock already: fine

    event.listen(library.engine, "after_cursor_execute", after_execute)
    try:
        result = scan(library, root)
    finally:
        event.remove(library.engine, "after_cursor_execute", after_execute)
        other.close()
    assert other_wrote  # the interleaving was tried
    assert result.added == 3 and len(photos(library)) == 3
