"""`photoclust export` and `photoclust check` on the command line (--json keys are a contract)."""
from __future__ import annotations

import json

from _export_fixtures import add_cluster, add_photo, assign, draw_photo
from photoclust.cli import main


def test_cli_export_json_and_rerun(library, tmp_path, capsys):
    dogs = add_cluster(library, "Dogs")
    assign(library, add_photo(library, draw_photo(tmp_path / "p" / "d.jpg", 1)), dogs)
    cats = add_cluster(library, "Cats")
    assign(library, add_photo(library, draw_photo(tmp_path / "p" / "c.jpg", 2)), cats)
    out = tmp_path / "albums"
    argv = ["export", str(out), "--library", str(library.path), "--clusters", str(dogs),
            "--mode", "hardlink", "--xmp", "--json"]

    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["exported"] == 1 and first["unchanged"] == 0 and first["mode"] == "hardlink"
    assert first["albums"] == [{"cluster_id": dogs, "folder": "Dogs"}]
    assert sorted(p.name for p in (out / "Dogs").iterdir()) == ["d.jpg", "d.jpg.xmp"]
    assert not (out / "Cats").exists()

    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 1


def test_cli_export_unknown_cluster_is_a_clear_error(library, tmp_path, capsys):
    assert main(["export", str(tmp_path / "o"), "--library", str(library.path),
                 "--clusters", "42"]) == 1
    assert "no such cluster: 42" in capsys.readouterr().err


def test_cli_check_reports_and_repairs(library, tmp_path, capsys):
    photo = draw_photo(tmp_path / "p" / "gone.jpg", 1)
    add_photo(library, photo)
    photo.unlink()
    argv = ["check", "--library", str(library.path), "--json"]

    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"ok", "integrity", "missing", "changed", "unreadable", "orphans",
                           "repaired"}
    assert report["ok"] is False and report["integrity"] == ["ok"]
    assert [m["path"] for m in report["missing"]] == [str(photo)]

    assert main([*argv, "--repair"]) == 0
    assert json.loads(capsys.readouterr().out)["repaired"] == {"missing": 1}
    assert main(argv) == 0


def test_cli_check_unopenable_file_reported_not_crashed(tmp_path, capsys):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    assert main(["check", "--library", str(broken), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["integrity"] != ["ok"]
