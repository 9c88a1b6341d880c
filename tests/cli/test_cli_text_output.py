"""The CLI's text output never sends control characters raw (a cluster name or a file name with
terminal escape codes), its JSON stays exact JSON, and a read-only library or a full disk is
named as such: reading commands work, `check` does not call the file damaged."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from _export_fixtures import add_cluster, add_photo, assign, draw_photo
from _mounts import NO_MOUNT, fill_disk, remount_read_only, small_tmpfs
from photoclust.cli import main
from photoclust.cli.common import printable
from photoclust.core.embedding.backbones import DEFAULT_MODEL, PREPROCESS_VERSION
from photoclust.core.library import db, open_library
from photoclust.core.library.models import Embedding, Photo

EVIL = "\x1b[31mEvil\x1b[0m\x9b2J\u202etxt.exe\x07"
RAW = ("\x1b", "\x9b", "\u202e", "\x07")


def test_printable_escapes_controls_and_undecodable_bytes():
    assert printable(EVIL) == "\\x1b[31mEvil\\x1b[0m\\x9b2J\\u202etxt.exe\\x07"
    assert printable("a\nb\tc") == "a\\nb\\tc"
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"
    assert printable("été 東京 🐕 C:\\dir") == "été 東京 🐕 C:\\dir"


def _embed(library, photo_ids) -> None:
    """Stored embeddings (close vectors, a class each) for ``search`` and ``similar``."""
    with library.session() as s:
        for pid in photo_ids:
            s.add(Embedding(content_hash=s.get(Photo, pid).content_hash, model=DEFAULT_MODEL,
                            preprocess_version=PREPROCESS_VERSION, dim=4,
                            vector=np.array([1, 0.1 * pid, 0, 0], "<f2").tobytes(),
                            top_classes=json.dumps([["beagle", 0.9]])))


def _photo_in_new_cluster(library, path, seed: int, name: str) -> None:
    """A photo drawn at ``path`` (``seed``), added to the library in a new cluster ``name``."""
    assign(library, add_photo(library, draw_photo(path, seed)), add_cluster(library, name))


def _hostile_library(tmp_path):
    path = tmp_path / "lib" / "library.sqlite"
    photos = tmp_path / "photos"
    with open_library(path) as lib:
        cluster = add_cluster(lib, EVIL, "user")
        for i, name in enumerate([f"ok{EVIL}.jpg", "plain.jpg"]):
            assign(lib, add_photo(lib, draw_photo(photos / name, i)), cluster)
        gone = add_photo(lib, draw_photo(photos / f"gone{EVIL}.jpg", 5))
        assign(lib, gone, cluster)
        _embed(lib, [1, 2, 3])
    (photos / f"gone{EVIL}.jpg").unlink()
    return path


@pytest.mark.parametrize("command", [["clusters"], ["status"], ["export", "OUT"], ["check"],
                                     ["rename", "1", "x\x1b]0;pwned\x07"], ["search", "ok"],
                                     ["search", "dog"], ["search", "xyzzy\x1b[2J"],
                                     ["similar", "2"], ["similar", "3"], ["photos"]])
def test_text_output_never_sends_control_characters(tmp_path, capsys, command):
    library = _hostile_library(tmp_path)
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    main([*argv, "--library", str(library)])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert text.strip()
    assert not any(c in text for c in RAW), text
    if command[0] in ("clusters", "export", "search", "similar", "photos") and \
            command[1:] != ["3"]:
        assert "\\x1b[31mEvil" in text  # shown, escaped


def test_json_output_is_exact_json_and_safe_on_a_terminal(tmp_path, capsys):
    library = _hostile_library(tmp_path)
    assert main(["clusters", "--json", "--library", str(library)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW)
    assert json.loads(out)[0]["name"] == EVIL


def _no_wal_left(path):
    return sorted(os.listdir(path.parent)) == sorted(
        n for n in os.listdir(path.parent) if not n.endswith(("-wal", "-shm")))


def _check_reading_commands_work(library, tmp_path, capsys):
    for argv in (["status"], ["clusters"], ["export", str(tmp_path / "albums")],
                 ["search", "dog"], ["similar", "1"], ["photos"]):
        assert main([*argv, "--library", str(library)]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["search", "dog", "--json", "--library", str(library)]) == 0
    assert json.loads(capsys.readouterr().out)  # the embedded photos are found
    assert main(["check", "--library", str(library)]) in (0, 1)  # 1: a photo vanished
    assert "Integrity: ok" in capsys.readouterr().out
    photos = tmp_path / "more"
    draw_photo(photos / "x.jpg", 1)
    assert main(["index", str(photos), "--library", str(library)]) == 2
    err = capsys.readouterr().err
    assert "is read-only" in err and "reading commands" in err and "Traceback" not in err
    assert main(["check", "--repair", "--library", str(library)]) == 2
    assert "is read-only" in capsys.readouterr().err


def test_reading_commands_on_a_read_only_library_simulated(tmp_path, capsys, monkeypatch):
    library = _hostile_library(tmp_path)
    monkeypatch.setattr(db, "write_problem", lambda p: f"the file {p} is read-only")
    _check_reading_commands_work(library, tmp_path, capsys)
    assert sorted(os.listdir(library.parent)) == ["library.sqlite"]


def test_reading_commands_on_a_read_only_file_system(tmp_path, capsys):
    with small_tmpfs(tmp_path / "mnt") as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        library = mnt / "library.sqlite"
        with open_library(library) as lib:
            _photo_in_new_cluster(lib, tmp_path / "photos" / "a.jpg", 1, "A")
            _photo_in_new_cluster(lib, tmp_path / "photos" / "b.jpg", 2, "B")
            _embed(lib, [1, 2])
        assert remount_read_only(mnt)
        _check_reading_commands_work(library, tmp_path, capsys)
        assert sorted(os.listdir(mnt)) == ["library.sqlite"]


def test_check_on_a_full_disk_says_full_not_damaged(tmp_path, capsys):
    with small_tmpfs(tmp_path / "mnt", size_kb=1024) as mnt:
        if mnt is None:
            pytest.skip(NO_MOUNT)
        library = mnt / "library.sqlite"
        with open_library(library) as lib:
            _photo_in_new_cluster(lib, tmp_path / "photos" / "a.jpg", 1, "A")
        fill_disk(mnt)
        assert main(["check", "--library", str(library)]) == 0  # read-only: it can still look
        assert "damaged" not in capsys.readouterr().out
        assert main(["check", "--repair", "--library", str(library)]) == 2
        captured = capsys.readouterr()
        assert "the disk holding" in captured.err and "is full" in captured.err
        assert "damaged" not in captured.out + captured.err.replace("Nothing is damaged", "")
        assert ".recover" not in captured.out + captured.err
        assert main(["status", "--library", str(library)]) == 0


def test_a_reader_that_goes_away_is_not_an_error_message(tmp_path):
    """`photoclust clusters | head -1`: the pipe closes before the output is written."""
    import subprocess
    import sys

    library = _hostile_library(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "photoclust", "clusters", "--library",
                             str(library)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
