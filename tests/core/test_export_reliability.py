"""Export as the reliability issue (#16) found it failing: an output folder among the indexed
folders, originals that changed since indexing, a disk that fills up, permissions, and XMP
sidecars as real tools read them (exiftool, where installed)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import select

from _export_fixtures import add_cluster, assign, draw_photo, files_under
from _mounts import NO_MOUNT, small_tmpfs
from photoclust.core.export.albums import (
    MANIFEST_RESERVE,
    SOURCE_CHANGED,
    TEMP_PREFIX,
    ExportInterrupted,
    ExportJob,
    output_folder_problem,
    xmp_sidecar,
)
from photoclust.core.jobs import Cancelled, JobContext, JobError, run_job
from photoclust.core.library.models import Photo
from photoclust.core.library.scan import ScanJob


def _index(library, folder: Path) -> dict[str, int]:
    run_job(ScanJob(library, [folder], workers=1))
    with library.session() as s:
        return {Path(p).name: pid for pid, p in s.execute(select(Photo.id, Photo.path))}


@pytest.fixture
def pictures(library, tmp_path):
    """~/Pictures indexed as one folder, its photos in year folders, in clusters A and B."""
    root = tmp_path / "Pictures"
    for i, year in enumerate(["2020", "2020", "2021", "2021"]):
        draw_photo(root / year / f"p{i}.jpg", i + 1)
    ids = _index(library, root)
    a, b = add_cluster(library, "A"), add_cluster(library, "B")
    for name, pid in ids.items():
        assign(library, pid, a if name in ("p0.jpg", "p2.jpg") else b)
    return root


def test_output_folder_inside_or_containing_an_indexed_folder_is_refused(library, pictures,
                                                                         tmp_path):
    # Pictures/Albums holds no photo: comparing with each photo's own folder let it through.
    for outdir in (pictures / "Albums", pictures, tmp_path, pictures / "2020" / "x"):
        with pytest.raises(JobError, match="inside or contains a folder of your photos"):
            run_job(ExportJob(library, outdir))
    assert not (pictures / "Albums").exists()
    link = tmp_path / "shortcut"
    link.symlink_to(pictures)
    assert output_folder_problem(library, link / "Albums") is not None  # no way round by a link
    assert output_folder_problem(library, tmp_path / "Albums") is None
    result = run_job(ExportJob(library, tmp_path / "Albums"))
    assert result.exported == 4


def test_export_refuses_a_changed_original_and_copies_only_indexed_bytes(library, pictures,
                                                                          tmp_path):
    (pictures / "2020" / "p0.jpg").write_text("not a photo")  # overwritten with text
    p2 = pictures / "2021" / "p2.jpg"
    p2.write_bytes(p2.read_bytes()[:200])  # truncated
    p1 = pictures / "2020" / "p1.jpg"
    os.utime(p1, ns=(1, 1))  # touched, same bytes: still the indexed photo
    for mode in ("copy", "hardlink", "symlink"):
        out = tmp_path / f"out-{mode}"
        result = run_job(ExportJob(library, out, mode=mode))
        assert result.exported == 2
        assert sorted(result.failed) == [(str(pictures / "2020" / "p0.jpg"), SOURCE_CHANGED),
                                         (str(p2), SOURCE_CHANGED)]
        assert files_under(out) == ["B/p1.jpg", "B/p3.jpg", "manifest.csv", "manifest.json"]
        assert (out / "B" / "p1.jpg").read_bytes() == p1.read_bytes()


def test_a_file_changed_during_the_copy_is_not_exported(library, pictures, tmp_path,
                                                        monkeypatch):
    from photoclust.core.export import albums as export_module

    real_read_chunks = export_module._read_chunks

    def read_then_change(fh):
        for chunk in real_read_chunks(fh):
            yield chunk[:-1] + b"X"  # the bytes read are not the indexed ones

    monkeypatch.setattr(export_module, "_read_chunks", read_then_change)
    result = run_job(ExportJob(library, tmp_path / "out"))
    assert result.exported == 0 and len(result.failed) == 4
    assert files_under(tmp_path / "out") == ["manifest.csv", "manifest.json"]


def _photos_of(size_kb: int, folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"big{i}.jpg"
        path.write_bytes(os.urandom(size_kb * 1024))  # export copies bytes; no decoding needed
        paths.append(path)
    return paths


def test_a_disk_that_fills_up_still_gets_the_manifest(library, tmp_path):
    with small_tmpfs(tmp_path / "usb", size_kb=1024) as usb:
        if usb is None:
            pytest.skip(NO_MOUNT)
        photos = _photos_of(150, tmp_path / "photos", 12)  # 1.8 MB for a 1 MB disk
        ids = _index_raw(library, photos)
        cluster = add_cluster(library, "Trip")
        for pid in ids:
            assign(library, pid, cluster)
        with pytest.raises(ExportInterrupted,
                           match="disk holding .* is full.*listed in the manifest"):
            run_job(ExportJob(library, usb / "out"))
        manifest = json.loads((usb / "out" / "manifest.json").read_text())
        listed = [e["exported_path"] for e in manifest["entries"]]
        assert 0 < len(listed) < 12
        assert sorted(listed) == [p for p in files_under(usb / "out") if p.startswith("Trip/")]
        assert not [p for p in files_under(usb / "out") if TEMP_PREFIX in p]
        subprocess.run(["mount", "-o", "remount,size=4m", str(usb)], check=True)
        result = run_job(ExportJob(library, usb / "out"))
        assert result.exported + result.unchanged == 12 and not result.failed
        assert len(json.loads((usb / "out" / "manifest.json").read_text())["entries"]) == 12


def _index_raw(library, paths: list[Path]) -> list[int]:
    """Rows for files that are bytes, not images (the scanner would refuse them)."""
    import hashlib

    ids = []
    with library.session() as s:
        for path in paths:
            data = path.read_bytes()
            photo = Photo(path=str(path), content_hash=hashlib.sha256(data).hexdigest(),
                          file_size=len(data), mtime_ns=path.stat().st_mtime_ns)
            s.add(photo)
            s.flush()
            ids.append(photo.id)
    return ids


def test_manifest_written_when_the_disk_fills_up_simulated(library, pictures, tmp_path,
                                                            monkeypatch):
    """Where no tmpfs can be mounted: the third copy meets a full disk; the space held for the
    manifest is what lets it be written."""
    from photoclust.core.export import albums as export_module

    real_copy = export_module._copy_verified
    copies = []
    reserves = []

    def copy_until_full(src, dst, expected_hash):
        copies.append(src)
        reserves.append((tmp_path / "out" / MANIFEST_RESERVE).exists())
        if len(copies) == 3:
            raise OSError(28, "No space left on device")
        real_copy(src, dst, expected_hash)

    monkeypatch.setattr(export_module, "_copy_verified", copy_until_full)
    with pytest.raises(ExportInterrupted, match="listed in the manifest"):
        run_job(ExportJob(library, tmp_path / "out"))
    assert all(reserves)  # the space was held while copying
    entries = json.loads((tmp_path / "out" / "manifest.json").read_text())["entries"]
    assert len(entries) == 2
    assert not (tmp_path / "out" / MANIFEST_RESERVE).exists()


def test_manifest_written_on_cancel_and_on_an_error(library, pictures, tmp_path):
    ctx = JobContext(lambda done, total, msg: ctx.cancel() if done == 1 else None)
    with pytest.raises(Cancelled):
        run_job(ExportJob(library, tmp_path / "out"), ctx)
    assert len(json.loads((tmp_path / "out" / "manifest.json").read_text())["entries"]) == 1

    out = tmp_path / "out2"
    (out).mkdir()
    (out / "B").write_text("in the way")  # album B cannot be made: the export stops there
    with pytest.raises(JobError, match="in the way"):
        run_job(ExportJob(library, out))
    entries = json.loads((out / "manifest.json").read_text())["entries"]
    assert [e["exported_path"] for e in entries] == ["A/p0.jpg", "A/p2.jpg"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_exported_files_get_the_users_usual_permissions(library, pictures, tmp_path, umask):
    (pictures / "2020" / "p0.jpg").chmod(0o600)  # a private original: the copy is the user's
    old = os.umask(umask)
    try:
        run_job(ExportJob(library, tmp_path / "out", xmp=True))
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    modes = {p: stat.S_IMODE((tmp_path / "out" / p).stat().st_mode)
             for p in files_under(tmp_path / "out")}
    assert len(modes) == 4 * 2 + 2
    assert modes == dict.fromkeys(modes, expected)


HOSTILE_NAMES = ["sandal / clog", "a|b", "Kids & <Cats> ]]> \"q\"", "été 東京 🐕", "a\\b"]


def _xmp_lists(text: str) -> dict[str, list[str]]:
    root = ET.fromstring(text[text.index("<x:xmpmeta"):text.index("<?xpacket end")])
    ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
          "dc": "http://purl.org/dc/elements/1.1/", "lr": "http://ns.adobe.com/lightroom/1.0/",
          "digiKam": "http://www.digikam.org/ns/1.0/"}
    return {field: [li.text for li in root.findall(f".//{field}/*/rdf:li", ns)]
            for field in ("dc:subject", "lr:hierarchicalSubject", "digiKam:TagsList")}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_xmp_keeps_the_name_exactly_and_one_tag_per_cluster(name):
    lists = _xmp_lists(xmp_sidecar(name))
    assert lists["dc:subject"] == [name]
    (hierarchical,), (tags_list,) = lists["lr:hierarchicalSubject"], lists["digiKam:TagsList"]
    # Exactly two levels in each tree, whichever separator a reader splits on.
    for value, separator in ((hierarchical, "|"), (tags_list, "/")):
        assert value.startswith("photoclust" + separator)
        leaf = value[len("photoclust") + 1:]
        assert "|" not in leaf and "/" not in leaf
        assert leaf.replace("\u2223", "|").replace("\u2215", "/") == name


needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None,
                                    reason="exiftool is not installed "
                                    "(apt-get install libimage-exiftool-perl)")


@needs_exiftool
def test_exiftool_reads_one_tag_per_cluster_from_the_sidecars(library, tmp_path):
    photos = tmp_path / "photos"
    for i, name in enumerate(HOSTILE_NAMES):
        pid = _index_raw(library, [draw_photo(photos / f"p{i}.jpg", i)])[0]
        assign(library, pid, add_cluster(library, name, "user"))
    out = tmp_path / "out"
    run_job(ExportJob(library, out, xmp=True))
    sidecars = sorted(str(p) for p in out.rglob("*.xmp"))
    done = subprocess.run(["exiftool", "-j", "-charset", "utf8", "-XMP-dc:Subject",
                           "-XMP-lr:HierarchicalSubject", "-XMP-digiKam:TagsList",
                           "-sep", "\x1f", *sidecars], capture_output=True, text=True, check=True)
    by_file = {Path(r["SourceFile"]).name: r for r in json.loads(done.stdout)}
    assert len(by_file) == len(HOSTILE_NAMES)
    for i, name in enumerate(HOSTILE_NAMES):
        record = by_file[f"p{i}.jpg.xmp"]
        assert str(record["Subject"]) == name
        assert "|" not in record["HierarchicalSubject"][len("photoclust|"):]
        assert "/" not in record["TagsList"][len("photoclust/"):]


@needs_exiftool
def test_the_docs_exiftool_line_writes_keywords_without_warnings_or_backups(library, pictures,
                                                                           tmp_path):
    # The line Lightroom users are given (docs/export.md, linked from the README).
    readme = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text(
        encoding="utf-8")
    line = next(s for s in readme.split("`") if s.startswith("exiftool ") and "xmp" in s)
    out = tmp_path / "Albums"
    run_job(ExportJob(library, out, xmp=True))
    done = subprocess.run(line.replace("DIR", str(out)).split(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stdout + done.stderr and "Error" not in done.stdout + done.stderr
    assert not [p for p in files_under(out) if p.endswith("_original")]
    read = subprocess.run(["exiftool", "-j", "-XMP-dc:Subject", str(out / "A" / "p0.jpg")],
                          capture_output=True, text=True, check=True)
    assert json.loads(read.stdout)[0]["Subject"] == "A"
