"""Issue #25 at the command line: a stale -wal file is read whole, reading commands never make
a library, `check` on another kind of file says so, `dismiss` and `evaluate` refuse bad
arguments with a sentence and a non-zero status."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from _export_fixtures import add_cluster, add_photo, assign, draw_photo, files_under
from _mounts import NO_MOUNT, remount_read_only, small_tmpfs
from photoclust.cli import main
from photoclust.core.library import open_library
from photoclust.core.library.models import Cluster


def _library_with_a_rename_in_its_wal(source: Path, dest: Path) -> None:
    """A library whose cluster was renamed "new name" in a commit still in its -wal file,
    copied to ``dest`` without its -shm file."""
    photo = draw_photo(source / "photos" / "a.jpg", 1)
    path = source / "library.sqlite"
    with open_library(path) as lib:
        cid = add_cluster(lib, "old name", name_source="user")
        assign(lib, add_photo(lib, photo), cid, "user")
    writer = open_library(path)
    try:
        with writer.session() as s:
            s.get(Cluster, cid).name = "new name"
        shutil.copyfile(path, dest / "library.sqlite")
        shutil.copyfile(source / "library.sqlite-wal", dest / "library.sqlite-wal")
    finally:
        writer.close()


def test_reading_commands_read_the_wal_file_without_its_shm_on_a_read_only_disk(
        tmp_path, capsys):
    with small_tmpfs(tmp_path / "mnt") as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        _library_with_a_rename_in_its_wal(tmp_path, mnt)
        assert remount_read_only(mnt)
        library = str(mnt / "library.sqlite")
        capsys.readouterr()
        assert main(["clusters", "--library", library, "--json"]) == 0
        names = [c["name"] for c in json.loads(capsys.readouterr().out)]
        assert names == ["new name"]
        out = tmp_path / "out"
        assert main(["export", str(out), "--library", library]) == 0
        assert "new name/a.jpg" in files_under(out)
        assert not (out / "old name").exists()
        capsys.readouterr()
        assert main(["check", "--library", library]) == 0
        assert "The library is sound." in capsys.readouterr().out
        assert sorted(os.listdir(mnt)) == ["library.sqlite", "library.sqlite-wal"]


@pytest.mark.parametrize("command", ["status", "clusters", "photos", "check", "export"])
def test_a_mistyped_library_is_refused_by_reading_commands_and_none_is_made(
        tmp_path, capsys, command):
    mistyped = tmp_path / "librray.sqlite"
    args = [command, "--library", str(mistyped)]
    if command == "export":
        args.insert(1, str(tmp_path / "out"))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"there is no library at {mistyped}" in err
    assert "Check the --library path" in err
    assert os.listdir(tmp_path) == []


def test_check_on_a_file_that_is_not_a_library_says_so(tmp_path, capsys):
    text = tmp_path / "notes.sqlite"
    text.write_text("shopping list\n" * 100)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE songs (title TEXT)")
    con.commit()
    con.close()
    for path, what in ((text, "not an SQLite database at all"),
                       (other, "an SQLite database of another program")):
        before = path.read_bytes()
        assert main(["check", "--library", str(path)]) == 2
        captured = capsys.readouterr()
        assert f"{path} is not a photoclust library: it is {what}" in captured.err
        assert "recover" not in captured.out + captured.err
        assert "damaged" not in captured.out + captured.err
        assert path.read_bytes() == before


@pytest.fixture
def two_clusters(tmp_path):
    path = tmp_path / "library.sqlite"
    with open_library(path) as lib:
        first, second = add_cluster(lib, "cats"), add_cluster(lib, "dogs")
    return str(path), first, second


@pytest.mark.parametrize("args, message", [
    (["merge", "{first}", "{first}"], "are the same cluster"),
    (["split", "999"], "no such cluster: 999"),
    (["merge", "{first}", "999"], "no such cluster: 999"),
    (["merge", "998", "{first}"], "no such cluster: 998"),
])
def test_dismiss_refuses_what_is_no_suggestion(two_clusters, capsys, args, message):
    library, first, _second = two_clusters
    args = [a.format(first=first) for a in args]
    assert main(["dismiss", *args, "--library", library]) == 2
    assert message in capsys.readouterr().err
    con = sqlite3.connect(library)
    assert con.execute("SELECT count(*) FROM settings WHERE value LIKE '%999%' "
                       "OR value LIKE '%998%'").fetchone()[0] == 0
    con.close()


def test_dismiss_says_what_it_did(two_clusters, capsys):
    library, first, second = two_clusters
    assert main(["dismiss", "merge", str(first), str(second), "--library", library]) == 0
    assert f"cluster {second} will not be suggested for merging into cluster {first}" in \
        capsys.readouterr().out


def test_evaluate_names_the_real_problem_with_its_folder(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nonexistent")]) == 2
    assert capsys.readouterr().err.strip().endswith("nonexistent: no such folder")
    a_file = tmp_path / "photos.zip"
    a_file.write_bytes(b"PK")
    assert main(["evaluate", str(a_file)]) == 2
    assert "photos.zip: not a folder" in capsys.readouterr().err


def test_library_warnings_go_to_the_log_not_the_terminal(tmp_path):
    """Pillow warns about a damaged EXIF block with its own site-packages path: the line goes to
    the log file, the terminal gets photoclust's own words only."""
    import struct
    import subprocess
    import sys

    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    broken_exif = (b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 2)
                   + struct.pack("<HHII", 0x010F, 2, 40, 200)  # Make: data beyond the block
                   + struct.pack("<HHII", 0x8769, 4, 1, 60000) + b"\0\0\0\0")
    Image.new("RGB", (64, 48), (10, 200, 30)).save(photos / "a.jpg", exif=broken_exif)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-m", "photoclust", "index", str(photos),
                           "--library", str(tmp_path / "library.sqlite")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout
    assert "Warning" not in done.stderr and "site-packages" not in done.stderr
    logs = list(tmp_path.rglob("photoclust.log"))
    assert logs and "Corrupt EXIF data" in logs[0].read_text()
