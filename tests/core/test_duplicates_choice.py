"""The copy that stands for a duplicate group: suggested, chosen, stored, honoured by export."""
from __future__ import annotations

import hashlib
import shutil

import pytest
from PIL import ImageFilter
from sqlalchemy import update

from _export_fixtures import add_cluster, assign, fingerprint
from helpers import draw_shape, write_jpeg
from photoclust.core.export import duplicates_choice as dc
from photoclust.core.export.albums import ExportJob
from photoclust.core.jobs import run_job
from photoclust.core.library.models import Photo


def _add(library, path, width=None, height=None):
    data = path.read_bytes()
    with library.session() as s:
        photo = Photo(path=str(path), content_hash=hashlib.sha256(data).hexdigest(),
                      file_size=len(data), mtime_ns=0, width=width, height=height)
        s.add(photo)
        s.flush()
        return photo.id


def test_sharpness_ranks_a_blurred_copy_below_the_sharp_one():
    sharp = draw_shape("stripes", (30, 30, 30), size=(320, 240))
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))
    assert dc.sharpness(sharp) > 3 * dc.sharpness(blurred)


def test_suggestion_prefers_the_largest_then_the_sharpest(library, tmp_path):
    image = draw_shape("circle", (200, 40, 40), size=(400, 300))
    big = _add(library, write_jpeg(tmp_path / "big.jpg", image=image), 400, 300)
    small = _add(library, write_jpeg(tmp_path / "small.jpg", image=image.resize((200, 150))),
                 200, 150)
    blurry = _add(library, write_jpeg(tmp_path / "blurry.jpg",
                                      image=image.filter(ImageFilter.GaussianBlur(5))), 400, 300)
    copies = dc.read_copies(library, [small, blurry, big])
    assert [c.id for c in copies] == sorted([big, small, blurry])
    assert dc.suggest(copies) == big
    assert dc.suggest([c for c in copies if c.id != big]) == blurry  # larger beats sharper
    sharp_small = [c for c in copies if c.id == small]
    assert dc.suggest(sharp_small + [c for c in copies if c.id == blurry]) == blurry


def test_an_unreadable_copy_is_never_suggested_over_a_readable_one(library, tmp_path):
    good = _add(library, write_jpeg(tmp_path / "good.jpg", size=(64, 48)), 64, 48)
    bad_path = tmp_path / "bad.jpg"
    bad_path.write_bytes(b"not a jpeg at all")
    bad = _add(library, bad_path, 64, 48)
    copies = dc.read_copies(library, [good, bad])
    assert {c.id: c.sharpness is None for c in copies} == {good: False, bad: True}
    assert dc.suggest(copies) == good


def test_a_choice_is_stored_replaced_and_forgotten(library, tmp_path):
    ids = [_add(library, write_jpeg(tmp_path / f"p{i}.jpg", color=(10 * i, 0, 0)))
           for i in range(4)]
    dc.choose(library, ids[:3], ids[1])
    assert dc.choices(library) == [dc.Choice(ids[1], tuple(ids[:3]))]
    assert dc.left_out_of_albums(library) == {ids[0], ids[2]}
    dc.choose(library, ids[1:], ids[3])  # the group grew: the new choice replaces the old
    assert dc.choices(library) == [dc.Choice(ids[3], tuple(ids[1:]))]
    assert dc.chosen_in(dc.choices(library), ids[1:]) == ids[3]
    dc.forget(library, [ids[2]])
    assert dc.choices(library) == [] and dc.left_out_of_albums(library) == set()


def test_a_bad_choice_changes_nothing(library, tmp_path):
    ids = [_add(library, write_jpeg(tmp_path / f"p{i}.jpg", color=(0, 9 * i, 0)))
           for i in range(2)]
    with pytest.raises(dc.DuplicateChoiceError, match="not one of the group"):
        dc.choose(library, ids, 999)
    with pytest.raises(dc.DuplicateChoiceError, match="no photo with id 998"):
        dc.choose(library, [*ids, 998], ids[0])
    assert dc.choices(library) == []


def test_copies_stay_in_albums_when_the_chosen_photo_went_missing(library, tmp_path):
    ids = [_add(library, write_jpeg(tmp_path / f"p{i}.jpg", color=(0, 0, 9 * i)))
           for i in range(3)]
    dc.choose(library, ids, ids[0])
    with library.session() as s:
        s.execute(update(Photo).where(Photo.id == ids[0]).values(status="missing"))
    assert dc.left_out_of_albums(library) == set()


def test_export_leaves_out_the_other_copies_and_deletes_nothing(library, tmp_path):
    photos = tmp_path / "photos"
    first = write_jpeg(photos / "a" / "beach.jpg", color=(20, 120, 200))
    (photos / "b").mkdir()
    shutil.copy(first, photos / "b" / "beach copy.jpg")
    other = write_jpeg(photos / "a" / "dune.jpg", color=(220, 200, 90))
    ids = [_add(library, p) for p in (first, photos / "b" / "beach copy.jpg", other)]
    cluster = add_cluster(library, "Beach")
    for pid in ids:
        assign(library, pid, cluster)
    before = fingerprint(photos)
    dc.choose(library, ids[:2], ids[1])
    result = run_job(ExportJob(library, tmp_path / "out"))
    exported = sorted(p.name for p in (tmp_path / "out" / "Beach").iterdir())
    assert exported == ["beach copy.jpg", "dune.jpg"]
    assert result.exported == 2 and any("left out 1 duplicate copy" in n for n in result.notes)
    assert fingerprint(photos) == before
    with library.session() as s:
        assert s.get(Photo, ids[0]).status == "present"


def test_duplicates_job_suggests_and_reports_the_stored_choice(library, tmp_path):
    image = draw_shape("square", (40, 160, 60), size=(300, 200))
    a = write_jpeg(tmp_path / "x" / "one.jpg", image=image)
    b = tmp_path / "y" / "one.jpg"
    b.parent.mkdir()
    shutil.copy(a, b)
    single = write_jpeg(tmp_path / "x" / "other.jpg", color=(1, 2, 3))
    ids = [_add(library, p, 300, 200) for p in (a, b, single)]
    groups = run_job(dc.DuplicatesJob(library))
    assert [(g.kind, [c.id for c in g.copies]) for g in groups] == [("exact", ids[:2])]
    assert groups[0].suggested == ids[0] and groups[0].chosen is None
    dc.choose(library, ids[:2], ids[1])
    assert run_job(dc.DuplicatesJob(library))[0].chosen == ids[1]
