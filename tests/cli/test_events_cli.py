"""``events``, ``places``, ``event ...``, ``shift-time`` and the time and place in ``photos``."""
import json
from datetime import datetime

import pytest
from PIL import ExifTags

from helpers import make_exif, write_jpeg
from photoclust.cli import main
from photoclust.core.events.job import EventsJob
from photoclust.core.jobs import JobContext
from photoclust.core.library.scan import ScanJob

KOLN = (50.9375, 6.9603)
LISBON = (38.7223, -9.1393)


def run(capsys, *argv, json_out=True):
    code = main([*argv, *(["--json"] if json_out else [])])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out) if json_out else out


def make_library(library, tmp_path):
    folder = tmp_path / "photos"
    shots = [("home1.jpg", datetime(2023, 6, 1, 12), KOLN, "+02:00"),
             ("home2.jpg", datetime(2023, 6, 1, 13), KOLN, "+02:00"),
             ("home3.jpg", datetime(2023, 6, 5, 10), KOLN, "+02:00"),
             ("home4.jpg", datetime(2023, 6, 5, 11), KOLN, "+02:00"),
             ("lisbon1.jpg", datetime(2023, 7, 14, 18), LISBON, "+01:00"),
             ("lisbon2.jpg", datetime(2023, 7, 20, 9), LISBON, "+01:00"),
             ("lisbon3.jpg", datetime(2023, 7, 17, 9), LISBON, "+01:00")]
    for i, (name, when, gps, offset) in enumerate(shots):
        exif = make_exif(taken_at=when, gps=gps)
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
        write_jpeg(folder / name, color=(i * 40, 10, 10), exif=exif)
    write_jpeg(folder / "IMG_20230714_181502.jpg", color=(1, 200, 1))  # no EXIF, no GPS
    ScanJob(library, [folder]).run(JobContext())
    EventsJob(library).run(JobContext())
    return folder


def test_events_places_and_photos_json(library, tmp_path, capsys):
    folder = make_library(library, tmp_path)
    lib = ["--library", str(library.path)]
    events = run(capsys, "events", *lib)
    assert [(e["name"], e["photos"], e["place"], e["source"]) for e in events] == [
        ("Köln, 1 June 2023", 2, "Köln", "auto"), ("Köln, 5 June 2023", 2, "Köln", "auto"),
        ("Lisbon, 14–20 July 2023", 4, "Lisbon", "auto")]
    assert set(events[0]) == {"id", "name", "start", "end", "place", "photos", "source"}
    assert events[2]["start"] == "2023-07-14T18:00:00" and events[2]["end"] == "2023-07-20T09:00:00"
    places = run(capsys, "places", *lib)
    assert places == [{"name": "Köln", "country": "Germany", "photos": 4},
                      {"name": "Lisbon", "country": "Portugal", "photos": 3}]
    photos = {r["path"].rsplit("/", 1)[1]: r for r in run(capsys, "photos", *lib)}
    assert photos["lisbon1.jpg"]["taken"] == "2023-07-14T18:00:00+01:00"
    assert photos["lisbon1.jpg"]["taken_source"] == "exif"
    assert photos["lisbon1.jpg"]["place"] == "Lisbon, Portugal"
    assert abs(photos["lisbon1.jpg"]["lat"] - LISBON[0]) < 1e-4
    no_gps = photos["IMG_20230714_181502.jpg"]
    assert no_gps["taken"] == "2023-07-14T18:15:02" and no_gps["taken_source"] == "file name"
    assert (no_gps["lat"], no_gps["lon"], no_gps["place"]) == (None, None, None)
    assert "Lisbon" in run(capsys, "events", *lib, json_out=False)
    del folder


def test_event_edits_from_the_command_line_undo_and_redo(library, tmp_path, capsys):
    folder = make_library(library, tmp_path)
    lib = ["--library", str(library.path)]
    home, _home2, lisbon = (e["id"] for e in run(capsys, "events", *lib))
    out = run(capsys, "event", "rename", str(lisbon), "Summer", "in", "Lisbon", *lib)
    assert out["events"][0]["name"] == "Summer in Lisbon"
    out = run(capsys, "event", "split", str(lisbon), "--at", "2023-07-17", *lib)
    assert sorted(e["photos"] for e in out["events"]) == [2, 2]
    run(capsys, "event", "move", str(folder / "home1.jpg"), "--to", str(lisbon), *lib)
    names = {e["name"]: e["photos"] for e in run(capsys, "events", *lib)}
    assert names["Summer in Lisbon"] == 3 and names["Lisbon, 17–20 July 2023"] == 2
    out = run(capsys, "shift-time", str(folder / "home2.jpg"), "--by", "-1d 02:00", *lib)
    assert out["description"].startswith("Shifted the time of 1 photo")
    photos = {r["path"].rsplit("/", 1)[1]: r for r in run(capsys, "photos", *lib)}
    assert photos["home2.jpg"]["taken"] == "2023-05-31T11:00:00+02:00"
    for _ in range(3):
        run(capsys, "undo", *lib)
    events = run(capsys, "events", *lib)
    assert [(e["name"], e["photos"]) for e in events] == [
        ("Köln, 1 June 2023", 2), ("Köln, 5 June 2023", 2), ("Summer in Lisbon", 4)]
    run(capsys, "redo", *lib)
    assert len(run(capsys, "events", *lib)) == 4
    run(capsys, "event", "merge", str(lisbon), str(home), *lib)
    assert len(run(capsys, "events", *lib)) == 3
    code = main(["event", "rename", "999", "x", *lib])
    assert code == 2 and "no event 999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["shift-time", str(folder / "home2.jpg"), "--by", "soon", *lib])
    assert exit_.value.code == 2 and "not a duration" in capsys.readouterr().err


def test_export_an_album_per_event(library, tmp_path, capsys):
    make_library(library, tmp_path)
    lib = ["--library", str(library.path)]
    events = run(capsys, "events", *lib)
    run(capsys, "event", "rename", str(events[2]["id"]), "Lisbon: surf", *lib)
    out = tmp_path / "albums"
    result = run(capsys, "export", str(out), "--events", "--xmp", *lib)
    assert result["exported"] == 8
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "Köln, 1 June 2023", "Köln, 5 June 2023", "Lisbon_ surf"]
    assert len(list((out / "Lisbon_ surf").glob("*.jpg"))) == 4
    xmp = (out / "Lisbon_ surf" / "lisbon1.jpg.xmp").read_text(encoding="utf-8")
    assert "<photoshop:City>Lisbon</photoshop:City>" in xmp and "Lisbon: surf" in xmp
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["albums"] == "events"
    assert {e["cluster_name"] for e in manifest["entries"]} == {
        "Köln, 1 June 2023", "Köln, 5 June 2023", "Lisbon: surf"}
    # One event again: the rest of the manifest stays; nothing is written twice.
    again = run(capsys, "export", str(out), "--events", str(events[0]["id"]), *lib)
    assert (again["exported"], again["unchanged"]) == (0, 2)
    # Cluster albums go elsewhere.
    code = main(["export", str(out), *lib])
    assert code == 1 and "albums per event" in capsys.readouterr().err


def test_organize_says_what_the_events_step_did(tmp_path, capsys):
    folder = tmp_path / "photos"
    for i, (when, gps) in enumerate([(datetime(2023, 6, 1, 12), KOLN),
                                     (datetime(2023, 6, 1, 13), KOLN),
                                     (datetime(2023, 6, 3, 12), KOLN),
                                     (datetime(2023, 7, 14, 18), LISBON)]):
        write_jpeg(folder / f"p{i}.jpg", color=(i * 60, 200 - i * 40, 30),
                   exif=make_exif(taken_at=when, gps=gps))
    out = run(capsys, "organize", str(folder), "--library", str(tmp_path / "lib.sqlite"),
              "--k", "2", "--device", "cpu", json_out=False)
    assert "Events: 4 photo(s) grouped, 3 new event(s), 4 place(s) named" in out


def test_places_after_index_alone_says_to_run_organize(library, tmp_path, capsys):
    folder = tmp_path / "photos"
    for i, gps in enumerate([KOLN, LISBON, (0.0, 0.0), None]):
        write_jpeg(folder / f"p{i}.jpg", color=(i * 50, 10, 10),
                   exif=make_exif(taken_at=datetime(2023, 6, 1, 12 + i), gps=gps))
    lib = ["--library", str(library.path)]
    run(capsys, "index", str(folder), *lib)
    out = run(capsys, "places", *lib, json_out=False)
    # Two usable positions (not 0, 0, not the photo without GPS) wait for Organize.
    assert "2 photos with a GPS position have no place yet: run `photoclust organize" in out
    assert run(capsys, "places", *lib) == []  # the JSON stays the list of places
    EventsJob(library).run(JobContext())
    out = run(capsys, "places", *lib, json_out=False)
    assert "no place yet" not in out and "Köln, Germany" in out and "Lisbon" in out
    # A new photo with GPS, indexed only: the places named so far and the hint for it.
    write_jpeg(folder / "new.jpg", color=(1, 2, 250),
               exif=make_exif(taken_at=datetime(2023, 6, 2, 12), gps=KOLN))
    run(capsys, "index", str(folder), *lib)
    out = run(capsys, "places", *lib, json_out=False)
    assert "Köln, Germany" in out and "1 photo with a GPS position has no place yet" in out
