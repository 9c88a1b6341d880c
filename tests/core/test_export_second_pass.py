"""Issue #25, export: bidirectional and invisible characters never reach an exported folder or
file name, and the temporary files of a killed export are removed at the start of the next
export, whatever its folder, or by `check --repair`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _export_fixtures import add_cluster, add_photo, assign, draw_photo, files_under
from photoclust.core.export.albums import TEMP_PREFIX, ExportJob, album_folder_names, safe_name
from photoclust.core.jobs import run_job
from photoclust.core.library.check import CheckJob
from photoclust.core.library.exports import RUNNING_EXPORTS, register_export
from photoclust.core.library.models import Setting


@pytest.mark.parametrize("name, shown", [
    ("invoice\u202egpj.exe", "invoicegpj.exe"),
    ("\u2066beach\u2069 \u200fday\u200e", "beach day"),
    ("a\u2028b", "a_b"),
    ("\ufeff\u200bcats", "cats"),
    ("\u202e", "cluster-7"),
    ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),  # joiners of emoji stay
])
def test_bidi_and_invisible_characters_are_stripped_from_names(name, shown):
    assert safe_name(name, fallback="cluster-7") == shown
    assert album_folder_names([(7, name)]) == {7: shown}


def test_an_exported_album_and_photo_name_hold_no_override(library, tmp_path):
    photo = draw_photo(tmp_path / "photos" / "holiday\u202egpj.exe.jpg", 1)
    cluster = add_cluster(library, "\u202etsaoc", name_source="user")
    assign(library, add_photo(library, photo), cluster, "user")
    run_job(ExportJob(library, tmp_path / "out"))
    exported = files_under(tmp_path / "out")
    assert "tsaoc/holidaygpj.exe.jpg" in exported
    assert not any(c in "".join(exported) for c in "\u202a\u202b\u202c\u202d\u202e")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _killed_export(library, outdir: Path) -> list[Path]:
    """What an export killed mid-copy leaves: its reserve and a part file in an album, and its
    entry among the running exports (with a process that is gone)."""
    (outdir / "cats").mkdir(parents=True)
    leftovers = [outdir / f"{TEMP_PREFIX}manifest-reserve", outdir / "cats" / f"{TEMP_PREFIX}ab12"]
    for path in leftovers:
        path.write_bytes(b"\0" * 1000)
    (outdir / "cats" / "kept.jpg").write_bytes(b"a photo of the user's")
    register_export(library, outdir)
    with library.session() as s:
        s.get(Setting, RUNNING_EXPORTS).value = f'{{"{outdir}": {_dead_pid()}}}'
    return leftovers


def test_a_killed_exports_temporary_files_go_at_the_start_of_any_export(library, tmp_path):
    leftovers = _killed_export(library, tmp_path / "old-export")
    photo = draw_photo(tmp_path / "photos" / "a.jpg", 1)
    assign(library, add_photo(library, photo), add_cluster(library, "dogs"))
    run_job(ExportJob(library, tmp_path / "elsewhere"))  # another folder
    assert not any(p.exists() for p in leftovers)
    assert files_under(tmp_path / "old-export") == ["cats/kept.jpg"]
    with library.session() as s:
        assert s.get(Setting, RUNNING_EXPORTS).value == "{}"  # and no export is running


def test_a_running_export_is_not_swept_and_check_repair_sweeps_killed_ones(library, tmp_path):
    running = tmp_path / "running"
    running.mkdir()
    part = running / f"{TEMP_PREFIX}cd34"
    part.write_bytes(b"\0" * 10)
    register_export(library, running)  # this process: alive
    run_job(ExportJob(library, tmp_path / "other"))
    assert part.exists()

    leftovers = _killed_export(library, tmp_path / "old-export")
    report = run_job(CheckJob(library, repair=True))
    assert report.repaired.get("export_temp_files") == 2 and report.ok
    assert not any(p.exists() for p in leftovers)
    assert os.listdir(tmp_path / "old-export" / "cats") == ["kept.jpg"]
