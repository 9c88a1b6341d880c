import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import make_labeled_folder, write_jpeg, write_truncated_jpeg
from photoclust.cli import main
from photoclust.core.embedding.backbones import DEFAULT_MODEL
from photoclust.core.library import open_library
from photoclust.core.library.models import Assignment, Cluster, Embedding, Photo

REPO = Path(__file__).resolve().parents[2]


def run_json(capsys, *argv):
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_cli_index_json_counts_and_skipped(tmp_path, capsys):
    lib = tmp_path / "lib.sqlite"
    photos = tmp_path / "photos"
    make_labeled_folder(photos, per_class=2)
    write_truncated_jpeg(photos / "broken.jpg")

    first = run_json(capsys, "index", str(photos), "--library", str(lib))
    assert first == {
        "added": 8, "unchanged": 0, "updated": 0, "moved": 0, "missing": 0, "unreadable": 0,
        "skipped": [{"path": str(photos / "broken.jpg"), "reason": first["skipped"][0]["reason"]}],
    }
    assert "truncated" in first["skipped"][0]["reason"]

    victim = next((photos / "red_circles").iterdir())
    victim.rename(photos / "renamed.jpg")
    next((photos / "green_squares").iterdir()).unlink()
    second = run_json(capsys, "index", str(photos), "--library", str(lib))
    assert {k: second[k] for k in ("added", "unchanged", "updated", "moved", "missing")} == {
        "added": 0, "unchanged": 6, "updated": 0, "moved": 1, "missing": 1}


def test_cli_index_human_output(tmp_path, capsys):
    write_jpeg(tmp_path / "p" / "a.jpg")
    (tmp_path / "p" / "b.jpg").write_text("nope")
    code = main(["index", str(tmp_path / "p"), "--library", str(tmp_path / "l.sqlite")])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 added, 0 unchanged" in out
    assert f"{tmp_path / 'p' / 'b.jpg'}: not an image" in out


def test_cli_index_missing_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["index", str(tmp_path / "nowhere"), "--library", str(tmp_path / "l.sqlite")])
    err = capsys.readouterr().err
    assert code != 0
    assert "no such folder" in err
    assert "Traceback" not in err


def test_cli_status_json_counts(tmp_path, capsys):
    lib_path = tmp_path / "lib.sqlite"
    photos = tmp_path / "photos"
    a = write_jpeg(photos / "a.jpg", color=(10, 10, 10))
    shutil.copy(a, photos / "a_copy.jpg")
    write_jpeg(photos / "b.jpg", color=(200, 10, 10))
    gone = write_jpeg(photos / "gone.jpg", color=(10, 200, 10))
    run_json(capsys, "index", str(photos), "--library", str(lib_path))
    gone.unlink()
    run_json(capsys, "index", str(photos), "--library", str(lib_path))

    with open_library(lib_path) as lib, lib.session() as s:
        rows = {Path(p.path).name: p for p in s.query(Photo)}
        for name in ("a.jpg", "b.jpg"):
            s.add(Embedding(content_hash=rows[name].content_hash, model="m1",
                            preprocess_version=1, dim=2, vector=b"\0" * 4))
        s.add(Embedding(content_hash=rows["gone.jpg"].content_hash, model="m2",
                        preprocess_version=1, dim=2, vector=b"\0" * 4))
        kept, empty, inactive = Cluster(name="x"), Cluster(name="empty"), Cluster(
            name="old", active=False)
        s.add_all([kept, empty, inactive])
        s.flush()
        s.add(Assignment(photo_id=rows["a.jpg"].id, cluster_id=kept.id, source="user"))
        s.add(Assignment(photo_id=rows["b.jpg"].id, cluster_id=kept.id, source="auto"))
        s.add(Assignment(photo_id=rows["a_copy.jpg"].id, cluster_id=inactive.id,
                         source="auto"))

    status = run_json(capsys, "status", "--library", str(lib_path))
    assert status["photos"] == 3
    assert status["missing"] == 1
    assert status["duplicates"] == 1
    # a.jpg and its identical copy share the content embedding; the missing photo is not counted
    assert status["embedded"] == {"m1": 3}
    assert status["model"] == "m1"  # the library's own: its embeddings' (no clustering yet)
    assert status["clusters"] == 1
    assert status["labels"] == 1
    assert status["library"] == str(lib_path)

    assert main(["status", "--library", str(lib_path)]) == 0
    out = capsys.readouterr().out
    assert "3 (1 missing, 1 duplicate copies)" in out
    assert "3 with m1" in out
    assert "Model:     m1" in out


def test_cli_status_of_empty_library(tmp_path, capsys):
    open_library(tmp_path / "new.sqlite").close()  # status itself never makes a library
    status = run_json(capsys, "status", "--library", str(tmp_path / "new.sqlite"))
    assert {k: status[k] for k in ("photos", "missing", "embedded", "clusters", "labels")} == {
        "photos": 0, "missing": 0, "embedded": {}, "clusters": 0, "labels": 0}
    assert status["model"] == DEFAULT_MODEL


def test_cli_index_runs_as_a_program(tmp_path):
    photos = tmp_path / "photos"
    make_labeled_folder(photos, per_class=1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "photoclust", "index", str(photos), "--library",
         str(tmp_path / "lib.sqlite"), "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["added"] == 4


def test_no_command_opens_the_desktop_app_keeping_global_flags(monkeypatch, tmp_path):
    """A bare `photoclust` (or one with only options) is `photoclust gui`."""
    import photoclust.cli.gui_cmds as gui_cmds

    seen = []
    monkeypatch.setattr(gui_cmds, "cmd_gui", lambda args: seen.append(args) or 0)
    library = str(tmp_path / "lib.sqlite")
    assert main(["-v", "--library", library]) == 0
    assert main([]) == 0
    assert [(a.command, a.verbose) for a in seen] == [("gui", 1), ("gui", 0)]
    assert seen[0].library == Path(library)
