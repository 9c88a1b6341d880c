"""A full disk while writing the library: a clear message, nothing lost, the rerun completes."""
import sqlite3

from helpers import make_labeled_folder
from photoclust.cli import main
from photoclust.core.library import db


def test_index_on_a_full_disk_says_so_and_the_rerun_completes(tmp_path, monkeypatch, capsys):
    photos = tmp_path / "photos"
    make_labeled_folder(photos, per_class=10, size=(64, 48))
    library = tmp_path / "library.sqlite"
    assert main(["index", str(photos), "--library", str(library)]) == 0
    extra = tmp_path / "photos" / "more"
    make_labeled_folder(extra, per_class=30, size=(64, 48), seed=7)
    capsys.readouterr()

    pages_now = sqlite3.connect(library).execute("PRAGMA page_count").fetchone()[0]
    original = db._set_pragmas

    def full_disk_pragmas(dbapi_con, record):
        original(dbapi_con, record)
        # SQLite's own limit on the file's size: writes past it fail as on a full disk.
        dbapi_con.execute(f"PRAGMA max_page_count={pages_now + 2}")

    monkeypatch.setattr(db, "_set_pragmas", full_disk_pragmas)
    assert main(["index", str(photos), "--library", str(library)]) == 1
    assert "disk is full" in capsys.readouterr().err

    con = sqlite3.connect(library)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM photos").fetchone()[0] >= 40
    con.close()

    monkeypatch.setattr(db, "_set_pragmas", original)
    assert main(["index", str(photos), "--library", str(library), "--json"]) == 0
    con = sqlite3.connect(library)
    assert con.execute("SELECT count(*) FROM photos").fetchone()[0] == 40 + 120
    con.close()
