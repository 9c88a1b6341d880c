"""ExportJob: albums per cluster, safe names, collisions, modes, manifest, reruns, failures."""
from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from _export_fixtures import add_cluster, add_photo, assign, draw_photo, files_under, fingerprint
from photoclust.core.export import albums as export_module
from photoclust.core.export.albums import (
    MANIFEST_FIELDS,
    TEMP_PREFIX,
    ExportJob,
    album_folder_names,
    safe_name,
)
from photoclust.core.jobs import Cancelled, JobContext, JobError, run_job


@pytest.fixture
def photos(tmp_path):
    return tmp_path / "photos"


@pytest.fixture
def two_albums(library, photos):
    """Cluster "Beach" (2 photos, one placed by the user) and "Dogs" (1 photo)."""
    beach = add_cluster(library, "Beach", "user")
    dogs = add_cluster(library, "Dogs")
    a = add_photo(library, draw_photo(photos / "2020" / "a.jpg", 1))
    b = add_photo(library, draw_photo(photos / "2021" / "b.jpg", 2))
    c = add_photo(library, draw_photo(photos / "2021" / "c.jpg", 3))
    assign(library, a, beach)
    assign(library, b, beach, source="user")
    assign(library, c, dogs)
    return {"beach": beach, "dogs": dogs, "a": a, "b": b, "c": c}


def test_safe_name_hostile_names_stay_one_harmless_component():
    assert safe_name("../x", "f") == "_x"
    assert safe_name("..", "fallback") == "fallback"
    assert safe_name("a/b\\c", "f") == "a_b_c"
    assert safe_name("CON", "f") == "CON_"
    assert safe_name("nul.txt", "f") == "nul_.txt"
    assert safe_name("com1", "f") == "com1_"
    assert safe_name("CONSOLE", "f") == "CONSOLE"
    assert safe_name("trip. ", "f") == "trip"
    assert safe_name("tab\there\x7f", "f") == "tab_here_"
    assert safe_name('what?<is>:"this"|*', "f") == "what__is___this___"
    long_name = safe_name("é" * 300 + ".jpeg", "f")
    assert long_name.endswith(".jpeg") and len(long_name.encode("utf-8")) <= 120


def test_album_folder_names_unique_ignoring_case():
    names = album_folder_names([(3, "DOGS"), (1, "Dogs"), (2, "dogs"), (4, ""),
                                (5, "manifest.json")])
    assert names == {1: "Dogs", 2: "dogs (2)", 3: "DOGS (3)", 4: "cluster-4",
                     5: "manifest.json (2)"}


def test_export_copy_one_folder_per_cluster_with_manifest(library, photos, two_albums, tmp_path):
    out = tmp_path / "out"
    result = run_job(ExportJob(library, out))
    assert result.exported == 3 and result.unchanged == 0 and not result.failed
    assert files_under(out) == ["Beach/a.jpg", "Beach/b.jpg", "Dogs/c.jpg",
                                "manifest.csv", "manifest.json"]
    assert (out / "Dogs" / "c.jpg").read_bytes() == (photos / "2021" / "c.jpg").read_bytes()
    assert not (out / "Dogs" / "c.jpg").is_symlink()
    assert (out / "Dogs" / "c.jpg").stat().st_ino != (photos / "2021" / "c.jpg").stat().st_ino

    with open(out / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == MANIFEST_FIELDS
    by_path = {r["exported_path"]: r for r in rows}
    assert by_path["Beach/b.jpg"] == {
        "photo_id": str(two_albums["b"]), "exported_path": "Beach/b.jpg",
        "original_path": str(photos / "2021" / "b.jpg"), "cluster_id": str(two_albums["beach"]),
        "cluster_name": "Beach", "label_source": "user", "xmp_path": ""}
    assert by_path["Beach/a.jpg"]["label_source"] == "auto"
    document = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert document["mode"] == "copy"
    assert [(e["photo_id"], e["exported_path"], e["cluster_name"]) for e in document["entries"]] \
        == [(two_albums["a"], "Beach/a.jpg", "Beach"), (two_albums["b"], "Beach/b.jpg", "Beach"),
            (two_albums["c"], "Dogs/c.jpg", "Dogs")]


def test_export_hostile_cluster_names_stay_inside_outdir(library, photos, tmp_path):
    out = tmp_path / "deep" / "out"
    hostile = ["../x", "CON", "a/b", "/etc/passwd", "..", "aux.jpg", "\x00\x1f"]
    for i, name in enumerate(hostile):
        cluster = add_cluster(library, name)
        assign(library, add_photo(library, draw_photo(photos / f"p{i}.jpg", i)), cluster)
    result = run_job(ExportJob(library, out))
    assert result.exported == len(hostile)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(["_x", "CON_", "a_b", "_etc_passwd", f"cluster-{5}", "aux_.jpg",
                              "__"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "lib", "photos"]
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]
    for path in out.rglob("*"):
        assert Path(os.path.realpath(path)).is_relative_to(out.resolve())


def test_export_file_name_collisions_get_suffixes(library, photos, tmp_path):
    cluster = add_cluster(library, "Trip")
    first = draw_photo(photos / "day1" / "IMG_1.jpg", 1)
    second = draw_photo(photos / "day2" / "IMG_1.jpg", 2)
    shouting = draw_photo(photos / "day3" / "img_1.JPG", 3)
    duplicate = photos / "day4" / "IMG_1.jpg"
    duplicate.parent.mkdir(parents=True)
    shutil.copy2(first, duplicate)  # same bytes, a different photo: still exported separately
    ids = [add_photo(library, p) for p in (first, second, shouting, duplicate)]
    for photo_id in ids:
        assign(library, photo_id, cluster)
    out = tmp_path / "out"
    (out / "Trip").mkdir(parents=True)
    (out / "Trip" / "IMG_1 (2).jpg").write_bytes(b"someone else's file")

    result = run_job(ExportJob(library, out))

    assert result.exported == 4
    assert (out / "Trip" / "IMG_1 (2).jpg").read_bytes() == b"someone else's file"
    exported = {e["photo_id"]: e["exported_path"] for e in result.entries}
    assert exported == {ids[0]: "Trip/IMG_1.jpg", ids[1]: "Trip/IMG_1 (3).jpg",
                        ids[2]: "Trip/img_1 (4).JPG", ids[3]: "Trip/IMG_1 (5).jpg"}
    for photo_id, original in zip(ids, (first, second, shouting, duplicate)):
        assert (out / exported[photo_id]).read_bytes() == original.read_bytes()


def test_export_each_photo_once_per_cluster_and_only_selected_clusters(library, photos,
                                                                       two_albums, tmp_path):
    out = tmp_path / "out"
    result = run_job(ExportJob(library, out, cluster_ids=[two_albums["dogs"]] * 2))
    assert files_under(out) == ["Dogs/c.jpg", "manifest.csv", "manifest.json"]
    assert [e["photo_id"] for e in result.entries] == [two_albums["c"]]


def test_export_unknown_cluster_refused_before_writing(library, two_albums, tmp_path):
    with pytest.raises(JobError, match="no such cluster: 999"):
        run_job(ExportJob(library, tmp_path / "out", cluster_ids=[999]))
    assert not (tmp_path / "out").exists()


def test_export_read_only_sources_are_never_written(library, photos, two_albums, tmp_path):
    for path in photos.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    photos.chmod(0o555)
    before = fingerprint(photos)
    try:
        for mode in ("copy", "hardlink", "symlink"):
            out = tmp_path / f"out-{mode}"
            result = run_job(ExportJob(library, out, mode=mode, xmp=True))
            assert result.exported == 3 and not result.failed
            original = (photos / "2020" / "a.jpg").read_bytes()
            assert (out / "Beach" / "a.jpg").read_bytes() == original
        copy = tmp_path / "out-copy" / "Beach" / "a.jpg"
        assert copy.stat().st_mode & stat.S_IWUSR  # the copy is the user's to edit
        assert fingerprint(photos) == before
        assert sorted(p.name for p in photos.rglob("*")) == ["2020", "2021", "a.jpg", "b.jpg",
                                                             "c.jpg"]
    finally:
        for path in [photos, *photos.rglob("*")]:
            path.chmod(0o755)


def test_export_hardlink_and_symlink_modes(library, photos, two_albums, tmp_path):
    original = photos / "2021" / "c.jpg"
    run_job(ExportJob(library, tmp_path / "hard", mode="hardlink"))
    assert os.path.samefile(tmp_path / "hard" / "Dogs" / "c.jpg", original)
    run_job(ExportJob(library, tmp_path / "soft", mode="symlink"))
    link = tmp_path / "soft" / "Dogs" / "c.jpg"
    assert link.is_symlink() and os.readlink(link) == str(original)
    assert Path(os.readlink(link)).is_absolute()


def test_export_hardlink_across_devices_falls_back_to_copy(library, photos, two_albums,
                                                           tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    out = tmp_path / "out"
    result = run_job(ExportJob(library, out, mode="hardlink"))
    assert result.exported == 3
    assert any("copied instead" in note for note in result.notes)
    copy = out / "Dogs" / "c.jpg"
    assert copy.read_bytes() == (photos / "2021" / "c.jpg").read_bytes()
    assert not os.path.samefile(copy, photos / "2021" / "c.jpg")


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_export_rerun_recognises_identical_export(library, photos, two_albums, tmp_path, mode):
    out = tmp_path / "out"
    run_job(ExportJob(library, out, mode=mode, xmp=True))
    before = {p: (out / p).lstat().st_mtime_ns for p in files_under(out) if "manifest" not in p}
    again = run_job(ExportJob(library, out, mode=mode, xmp=True))
    assert again.exported == 0 and again.unchanged == 3
    assert {p: (out / p).lstat().st_mtime_ns for p in files_under(out) if "manifest" not in p} \
        == before
    assert len(json.loads((out / "manifest.json").read_text())["entries"]) == 3


def test_export_rerun_after_new_photo_adds_only_it(library, photos, two_albums, tmp_path):
    out = tmp_path / "out"
    run_job(ExportJob(library, out))
    new = add_photo(library, draw_photo(photos / "2022" / "a.jpg", 4))  # same name as Beach/a.jpg
    assign(library, new, two_albums["beach"])
    result = run_job(ExportJob(library, out))
    assert result.exported == 1 and result.unchanged == 3
    assert files_under(out / "Beach") == ["a (2).jpg", "a.jpg", "b.jpg"]


def test_export_of_some_clusters_keeps_others_in_manifest(library, photos, two_albums, tmp_path):
    out = tmp_path / "out"
    run_job(ExportJob(library, out, cluster_ids=[two_albums["beach"]]))
    run_job(ExportJob(library, out, cluster_ids=[two_albums["dogs"]]))
    entries = json.loads((out / "manifest.json").read_text())["entries"]
    assert [e["exported_path"] for e in entries] == ["Beach/a.jpg", "Beach/b.jpg", "Dogs/c.jpg"]


def test_export_xmp_sidecar_names_the_cluster(library, photos, tmp_path):
    cluster = add_cluster(library, "Kids & <Cats>", "user")
    assign(library, add_photo(library, draw_photo(photos / "k.jpg", 1)), cluster)
    out = tmp_path / "out"
    result = run_job(ExportJob(library, out, xmp=True))
    sidecar = out / "Kids & _Cats_" / "k.jpg.xmp"
    assert result.entries[0]["xmp_path"] == "Kids & _Cats_/k.jpg.xmp"
    import xml.etree.ElementTree as ET

    text = sidecar.read_text(encoding="utf-8")
    root = ET.fromstring(text[text.index("<x:xmpmeta"):text.index("<?xpacket end")])
    ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
          "dc": "http://purl.org/dc/elements/1.1/", "lr": "http://ns.adobe.com/lightroom/1.0/"}
    assert [li.text for li in root.findall(".//dc:subject/rdf:Bag/rdf:li", ns)] \
        == ["Kids & <Cats>"]
    assert [li.text for li in root.findall(".//lr:hierarchicalSubject/rdf:Bag/rdf:li", ns)] \
        == ["photoclust|Kids & <Cats>"]


def test_export_missing_and_vanished_photos_skipped_with_reason(library, photos, two_albums,
                                                                tmp_path):
    (photos / "2020" / "a.jpg").unlink()
    gone = add_photo(library, photos / "never.jpg", status="missing")
    assign(library, gone, two_albums["dogs"])
    result = run_job(ExportJob(library, tmp_path / "out"))
    assert result.exported == 2
    assert result.failed == [(str(photos / "2020" / "a.jpg"),
                              "file not found (run `photoclust index` to update the library)")]


def test_export_disk_full_leaves_no_partial_file_and_rerun_completes(library, photos, two_albums,
                                                                     tmp_path, monkeypatch):
    real_copy = export_module._copy_verified
    calls = []

    def copy_then_disk_full(src, dst, expected_hash):
        calls.append(src)
        if len(calls) == 2:
            with open(dst, "wb") as fh:
                fh.write(b"half")  # what a real ENOSPC leaves: a partial temp file
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(src, dst, expected_hash)

    monkeypatch.setattr(export_module, "_copy_verified", copy_then_disk_full)
    out = tmp_path / "out"
    with pytest.raises(JobError, match="disk holding .* is full.*run the same export again"):
        run_job(ExportJob(library, out))
    assert files_under(out) == ["Beach/a.jpg", "manifest.csv", "manifest.json"]
    entries = json.loads((out / "manifest.json").read_text())["entries"]
    assert [e["exported_path"] for e in entries] == ["Beach/a.jpg"]

    monkeypatch.setattr(export_module, "_copy_verified", real_copy)
    result = run_job(ExportJob(library, out))
    assert result.exported == 2 and result.unchanged == 1
    assert files_under(out) == ["Beach/a.jpg", "Beach/b.jpg", "Dogs/c.jpg", "manifest.csv",
                                "manifest.json"]


def test_export_permission_refused_is_a_clear_error(library, photos, two_albums, tmp_path,
                                                    monkeypatch):
    def refuse(src, dst, expected_hash):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(export_module, "_copy_verified", refuse)
    with pytest.raises(JobError, match="permission to write .*a.jpg was refused"):
        run_job(ExportJob(library, tmp_path / "out"))
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(TEMP_PREFIX)]


def test_export_rerun_removes_temp_files_of_a_killed_export(library, photos, two_albums,
                                                            tmp_path):
    out = tmp_path / "out"
    (out / "Dogs").mkdir(parents=True)
    (out / "Dogs" / f"{TEMP_PREFIX}abc").write_bytes(b"partial")
    run_job(ExportJob(library, out))
    assert files_under(out / "Dogs") == ["c.jpg"]


def test_export_outdir_among_photo_folders_refused(library, photos, two_albums):
    for outdir in (photos / "2020" / "albums", photos):
        with pytest.raises(JobError, match="folder of your photos"):
            run_job(ExportJob(library, outdir))
    assert not (photos / "2020" / "albums").exists()


def test_export_outdir_that_is_a_file_refused(library, two_albums, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(JobError, match="not a folder"):
        run_job(ExportJob(library, target))


def test_export_reports_progress_and_stops_on_cancel(library, photos, two_albums, tmp_path):
    seen = []
    ctx = JobContext(lambda done, total, msg: seen.append((done, total)))
    run_job(ExportJob(library, tmp_path / "out"), ctx)
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)

    ctx = JobContext(lambda done, total, msg: ctx.cancel() if done == 1 else None)
    with pytest.raises(Cancelled):
        run_job(ExportJob(library, tmp_path / "out2"), ctx)
    assert files_under(tmp_path / "out2") == ["Beach/a.jpg", "manifest.csv", "manifest.json"]


def test_export_album_path_taken_by_a_link_is_refused(library, photos, two_albums, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "Dogs").symlink_to(elsewhere)
    with pytest.raises(JobError, match="Dogs is in the way"):
        run_job(ExportJob(library, out))
    assert list(elsewhere.iterdir()) == []


def test_export_same_size_different_bytes_is_not_taken_for_the_photo(library, photos,
                                                                      two_albums, tmp_path):
    original = photos / "2021" / "c.jpg"
    out = tmp_path / "out"
    (out / "Dogs").mkdir(parents=True)
    impostor = out / "Dogs" / "c.jpg"
    impostor.write_bytes(bytes(len(original.read_bytes())))
    result = run_job(ExportJob(library, out, cluster_ids=[two_albums["dogs"]]))
    assert result.exported == 1 and result.unchanged == 0
    assert impostor.read_bytes() == bytes(len(original.read_bytes()))
    assert (out / "Dogs" / "c (2).jpg").read_bytes() == original.read_bytes()
