"""People in exported XMP sidecars: named people as keywords (digiKam's ``People/<name>``) and
as MWG face regions, read back by exiftool and exiv2 (where installed)."""
from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import update

from _export_fixtures import add_cluster, add_photo, assign, draw_photo
from _face_fixtures import add_faces, centres, near
from photoclust.core.export.albums import ExportJob, xmp_sidecar
from photoclust.core.faces.editing import move_faces
from photoclust.core.jobs import run_job
from photoclust.core.library.models import Face, Photo

needs = {tool: pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} is not installed")
         for tool in ("exiftool", "exiv2")}


def drawn_photos(library, folder, n: int, size: tuple[int, int]) -> list[int]:
    """``n`` photos drawn as ``folder``/p0.jpg, p1.jpg, ... (seeds 0, 1, ...) and added to the
    library: their ids."""
    folder.mkdir()
    ids = []
    for i in range(n):
        draw_photo(folder / f"p{i}.jpg", seed=i, size=size)
        ids.append(add_photo(library, folder / f"p{i}.jpg"))
    return ids


@pytest.fixture
def exported(library, tmp_path):
    """Two photos in cluster "Beach": one with Anna (left) and Bob, one with nobody named."""
    ids = drawn_photos(library, tmp_path / "photos", 2, size=(400, 300))
    with library.session() as s:
        s.execute(update(Photo).values(width=4000, height=3000))
    beach = add_cluster(library, "Beach", "user")
    for pid in ids:
        assign(library, pid, beach, "user")
    c = centres(3)
    anna, bob, nobody = (add_faces(library, near(c[k], 1, seed=k), photo_ids=[pid])[0]
                         for k, pid in enumerate([ids[0], ids[0], ids[1]]))
    with library.session() as s:
        s.execute(update(Face).where(Face.id == anna).values(left=100, top=200, width=400,
                                                             height=500))
        s.execute(update(Face).where(Face.id == bob).values(left=2000, top=1000, width=300,
                                                            height=300))
    move_faces(library, [anna], None, name="Anna")
    move_faces(library, [bob], None, name="Bob / Jr")
    move_faces(library, [nobody], None)  # an unnamed person is not exported
    out = tmp_path / "albums"
    run_job(ExportJob(library, out, xmp=True))
    return out / "Beach"


def test_sidecars_hold_named_people_as_keywords_and_face_regions(exported):
    text = (exported / "p0.jpg.xmp").read_text(encoding="utf-8")
    root = ET.fromstring(text.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    lis = [el.text for el in root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")
           if el.text]
    assert {"Beach", "Anna", "Bob / Jr", "People/Anna", "People/Bob \u2215 Jr"} <= set(lis)
    assert "mwg-rs:Regions" in text
    # A photo without a named person gets the sidecar it always had.
    assert (exported / "p1.jpg.xmp").read_text(encoding="utf-8") == xmp_sidecar("Beach")


@needs["exiftool"]
def test_exiftool_reads_the_face_regions(exported):
    out = subprocess.run(["exiftool", "-j", "-struct", "-RegionInfo", "-TagsList", "-Subject",
                          str(exported / "p0.jpg.xmp")], capture_output=True, text=True,
                         check=True)
    (info,) = json.loads(out.stdout)
    regions = info["RegionInfo"]["RegionList"]
    assert [r["Name"] for r in regions] == ["Anna", "Bob / Jr"]
    anna = regions[0]["Area"]
    assert (anna["X"], anna["Y"], anna["W"]) == pytest.approx((0.075, 0.15, 0.1))
    assert anna["H"] == pytest.approx(500 / 3000, abs=1e-6) and anna["Unit"] == "normalized"
    assert regions[0]["Type"] == "Face"
    assert info["RegionInfo"]["AppliedToDimensions"]["W"] == 4000
    assert "People/Anna" in info["TagsList"] and "Anna" in info["Subject"]


@needs["exiv2"]
def test_exiv2_reads_the_face_regions(exported):
    out = subprocess.run(["exiv2", "-px", str(exported / "p0.jpg.xmp")], capture_output=True,
                         text=True, check=True).stdout
    assert "mwg-rs:RegionList[1]/mwg-rs:Name" in out and "Anna" in out
    assert "People/Bob \u2215 Jr" in out


def test_people_are_exported_as_albums_one_folder_per_named_person(library, tmp_path):
    from photoclust.core.export.albums import PeopleExportJob
    from photoclust.core.jobs import JobError

    ids = drawn_photos(library, tmp_path / "photos", 3, size=(200, 150))
    c = centres(3)
    # Anna in photos 0 and 1, Bob in photos 1 and 2, someone unnamed in photo 2.
    anna = add_faces(library, near(c[0], 2, seed=1), photo_ids=ids[:2])
    bob = add_faces(library, near(c[1], 2, seed=2), photo_ids=ids[1:])
    other = add_faces(library, near(c[2], 1, seed=3), photo_ids=ids[2:])
    move_faces(library, anna, None, name="Anna")
    move_faces(library, bob, None, name="Bob")
    move_faces(library, other, None)
    out = tmp_path / "people"
    result = run_job(PeopleExportJob(library, out, xmp=True))
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["Anna", "Bob"]
    assert sorted(p.name for p in (out / "Anna").glob("*.jpg")) == ["p0.jpg", "p1.jpg"]
    assert sorted(p.name for p in (out / "Bob").glob("*.jpg")) == ["p1.jpg", "p2.jpg"]
    assert result.exported == 4
    assert "People/Bob" in (out / "Anna" / "p1.jpg.xmp").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {(e["cluster_name"], e["label_source"]) for e in manifest["entries"]} == {
        ("Anna", "user"), ("Bob", "user")}
    again = run_job(PeopleExportJob(library, out))
    assert (again.exported, again.unchanged) == (0, 4)
    with pytest.raises(JobError, match="no named person"):
        run_job(PeopleExportJob(library, tmp_path / "x", person_ids=[999]))


def test_person_albums_leave_out_copies_and_carry_place_and_event_as_other_albums(library,
                                                                                tmp_path):
    """Person albums go through the same rows as cluster and event albums: the copy the user
    left out of albums (Duplicates page) is left out, a photo with two faces of one person is
    exported once, and the sidecars carry the photo's place and event besides the people."""
    import shutil as sh

    from sqlalchemy import insert

    from photoclust.core.export import duplicates_choice as dc
    from photoclust.core.export.albums import PeopleExportJob
    from photoclust.core.jobs import JobError
    from photoclust.core.library.models import Event, EventPhoto, PhotoWhenWhere

    photos = tmp_path / "photos"
    photos.mkdir()
    draw_photo(photos / "p0.jpg", seed=0, size=(200, 150))
    sh.copy(photos / "p0.jpg", photos / "p0 copy.jpg")
    draw_photo(photos / "p2.jpg", seed=2, size=(200, 150))
    ids = [add_photo(library, photos / n) for n in ("p0.jpg", "p0 copy.jpg", "p2.jpg")]
    c = centres(1)
    # Anna in every photo, twice in p2.
    anna = add_faces(library, near(c[0], 4, seed=1), photo_ids=[*ids, ids[2]])
    with library.session() as s:
        s.execute(update(Face).where(Face.id == anna[3]).values(left=100))
        s.execute(insert(PhotoWhenWhere), [{"photo_id": ids[0], "place_city": "Lisbon",
                                            "place_country": "Portugal"}])
        s.add(Event(id=7, name="Surf week"))
        s.flush()
        s.execute(insert(EventPhoto), [{"photo_id": p, "event_id": 7} for p in ids])
    move_faces(library, anna, None, name="Anna")
    dc.choose(library, ids[:2], ids[0])  # the copy stands for nothing: left out
    out = tmp_path / "people"
    result = run_job(PeopleExportJob(library, out, xmp=True))
    assert sorted(p.name for p in (out / "Anna").glob("*.jpg")) == ["p0.jpg", "p2.jpg"]
    assert result.exported == 2
    assert any("left out 1 duplicate copy" in n for n in result.notes)
    xmp = (out / "Anna" / "p0.jpg.xmp").read_text(encoding="utf-8")
    assert "<photoshop:City>Lisbon</photoshop:City>" in xmp
    assert "<photoshop:Country>Portugal</photoshop:Country>" in xmp
    assert "Surf week" in xmp and "People/Anna" in xmp
    assert "Surf week" in (out / "Anna" / "p2.jpg.xmp").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["albums"] == "people" and len(manifest["entries"]) == 2
    # Person albums and cluster albums never share a folder (their ids would mix).
    with pytest.raises(JobError, match="holds albums per person; export albums per cluster"):
        run_job(ExportJob(library, out))
    run_job(ExportJob(library, tmp_path / "clusters"))
    with pytest.raises(JobError, match="holds albums per cluster; export albums per person"):
        run_job(PeopleExportJob(library, tmp_path / "clusters"))
