"""Capture times: EXIF with zone and sub-seconds, XMP, file names, file times, bad input; stored
by the scan and read again when a file changes."""
from __future__ import annotations

import os
from datetime import datetime

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from helpers import make_exif, write_jpeg
from photoclust.core.imaging import read_metadata
from photoclust.core.jobs import JobContext
from photoclust.core.library.capture_time import (
    FILE_NAME_PATTERNS,
    capture_time,
    exif_capture_time,
    file_name_time,
)
from photoclust.core.library.models import Photo, PhotoWhenWhere
from photoclust.core.library.scan import ScanJob


def exif_with(original: str | None = None, offset: str | None = None, subsec: str | None = None,
              date_time: str | None = None, digitized: str | None = None) -> Image.Exif:
    exif = make_exif()
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    for tag, value in ((ExifTags.Base.DateTimeOriginal, original),
                       (ExifTags.Base.OffsetTimeOriginal, offset),
                       (ExifTags.Base.SubsecTimeOriginal, subsec),
                       (ExifTags.Base.DateTimeDigitized, digitized)):
        if value is not None:
            ifd[tag] = value
    if date_time is not None:
        exif[ExifTags.Base.DateTime] = date_time
    return exif


def read(path) -> tuple:
    meta = read_metadata(path)
    found = capture_time(meta.time_tags, str(path), os.stat(path).st_mtime_ns)
    return found.taken, found.offset_minutes, found.source, found.note


def test_capture_time_exif_with_zone_and_subseconds(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", exif=exif_with("2023:07:14 18:15:02", "-05:30", "123"))
    taken, offset, source, note = read(path)
    assert taken == datetime(2023, 7, 14, 18, 15, 2, 123000)
    assert offset == -330 and source == "exif" and note is None
    found = capture_time(read_metadata(path).time_tags, str(path), None)
    assert found.iso() == "2023-07-14T18:15:02.123000-05:30"


def test_capture_time_without_zone_keeps_local_time(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", exif=exif_with("2019:01:02 03:04:05"))
    taken, offset, source, _ = read(path)
    assert (taken, offset, source) == (datetime(2019, 1, 2, 3, 4, 5), None, "exif")
    assert capture_time(read_metadata(path).time_tags, str(path), None).iso() == \
        "2019-01-02T03:04:05"


def test_capture_time_falls_back_to_digitized_then_ifd0_datetime(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", exif=exif_with(digitized="2020:02:03 04:05:06"))
    assert read(path)[0] == datetime(2020, 2, 3, 4, 5, 6)
    path = write_jpeg(tmp_path / "b.jpg", exif=exif_with(date_time="2021:03:04 05:06:07"))
    assert read(path)[:3] == (datetime(2021, 3, 4, 5, 6, 7), None, "exif")


def test_capture_time_from_xmp():
    xmp = ('<x:xmpmeta><rdf:RDF><rdf:Description '
           'photoshop:DateCreated="2022-05-06T07:08:09+01:00"/></rdf:RDF></x:xmpmeta>')
    found = exif_capture_time({"xmp": xmp})
    assert (found.taken, found.offset_minutes) == (datetime(2022, 5, 6, 7, 8, 9), 60)
    element = "<exif:DateTimeOriginal>2022-05-06T07:08:09Z</exif:DateTimeOriginal>"
    assert exif_capture_time({"xmp": element}).offset_minutes == 0


@pytest.mark.parametrize("bad", ["0000:00:00 00:00:00", "garbage", "2099:01:01 10:00:00",
                                 "1850:01:01 10:00:00", "2023:13:45 25:61:00", "    "])
def test_capture_time_refuses_bad_exif_with_a_sentence(tmp_path, bad):
    path = write_jpeg(tmp_path / "IMG_20230714_181502.jpg", exif=exif_with(bad))
    taken, _, source, note = read(path)
    # The file name's time is used instead, with the reason the EXIF one was refused.
    assert (taken, source) == (datetime(2023, 7, 14, 18, 15, 2), "file name")
    if bad.strip():
        assert note and "not used" in note


def test_capture_time_blank_time_fields_are_a_date_only():
    found = exif_capture_time({"DateTimeOriginal": "2023:07:14   :  :  "})
    assert (found.taken, found.date_only) == (datetime(2023, 7, 14), True)
    assert exif_capture_time({"DateTimeOriginal": "    :  :     :  :  "}).taken is None
    single = exif_capture_time({"xmp": "<rdf:Description xmp:CreateDate='2020-01-02T03:04:05'/>"})
    assert single.taken == datetime(2020, 1, 2, 3, 4, 5)


def test_capture_time_date_only_exif(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg", exif=exif_with("2023:07:14"))
    taken, offset, source, note = read(path)
    assert (taken, offset, source) == (datetime(2023, 7, 14), None, "exif")
    assert "only a date" in note
    # A file name with that date and a time of day gives the time.
    path = write_jpeg(tmp_path / "IMG_20230714_181502.jpg", exif=exif_with("2023:07:14"))
    assert read(path)[:3] == (datetime(2023, 7, 14, 18, 15, 2), None, "file name")


@pytest.mark.parametrize("name, expected", [
    ("IMG_20230714_181502.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("VID_20230714_181502.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("PXL_20230714_181502123.jpg", datetime(2023, 7, 14, 18, 15, 2, 123000)),
    ("20230714_181502.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("Screenshot_20230714-181502.png", datetime(2023, 7, 14, 18, 15, 2)),
    ("Screenshot_2023-07-14-18-15-02.png", datetime(2023, 7, 14, 18, 15, 2)),
    ("Screenshot 2023-07-14 at 18.15.02.png", datetime(2023, 7, 14, 18, 15, 2)),
    ("2023-07-14 18.15.02.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("2023-07-14_18-15-02.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("signal-2023-07-14-181502.jpg", datetime(2023, 7, 14, 18, 15, 2)),
    ("IMG-20230714-WA0001.jpg", datetime(2023, 7, 14)),
    ("VID-20230714-WA0012.jpg", datetime(2023, 7, 14)),
])
def test_file_name_patterns(name, expected):
    found = file_name_time(f"/photos/{name}")
    assert found.taken == expected and found.source == "file name"
    assert found.date_only == (expected.hour == 0 and "WA" in name)


def test_every_documented_file_name_pattern_has_its_example_parsed():
    for example, _pattern in FILE_NAME_PATTERNS:
        assert file_name_time(example).taken is not None, example


@pytest.mark.parametrize("name", ["IMG_0042.jpg", "IMG_20231345_181502.jpg", "12345678_123456.jpg",
                                  "IMG_20990714_181502.jpg", "holiday.jpg"])
def test_file_names_without_a_valid_time(name):
    assert file_name_time(name).taken is None


def test_capture_time_last_resort_is_file_time_marked_as_guess(tmp_path):
    path = write_jpeg(tmp_path / "holiday.jpg")
    stamp = datetime(2020, 6, 1, 12, 0, 0).timestamp()
    os.utime(path, (stamp, stamp))
    taken, offset, source, note = read(path)
    assert taken == datetime(2020, 6, 1, 12, 0, 0) and source == "file time"
    assert offset is not None and "guess" in note


def test_scan_stores_capture_time_and_rereads_a_changed_file(library, tmp_path):
    folder = tmp_path / "photos"
    path = write_jpeg(folder / "a.jpg", exif=exif_with("2023:07:14 18:15:02", "+02:00", "5"))
    write_jpeg(folder / "PXL_20220101_101010000.jpg")
    ScanJob(library, [folder]).run(JobContext())
    with library.session() as s:
        rows = {os.path.basename(p): (t, o, src) for p, t, o, src in s.execute(
            select(Photo.path, Photo.taken_at, PhotoWhenWhere.taken_offset_min,
                   PhotoWhenWhere.taken_source).join(PhotoWhenWhere,
                                                     PhotoWhenWhere.photo_id == Photo.id))}
    assert rows["a.jpg"] == (datetime(2023, 7, 14, 18, 15, 2, 500000), 120, "exif")
    assert rows["PXL_20220101_101010000.jpg"] == (datetime(2022, 1, 1, 10, 10, 10), None,
                                                  "file name")
    # The camera's file is replaced by one with another time: the next scan reads it again.
    write_jpeg(path, color=(1, 2, 3), exif=exif_with("2024:01:02 03:04:05", "+09:00"))
    os.utime(path, ns=(os.stat(path).st_mtime_ns + 10**9,) * 2)
    ScanJob(library, [folder]).run(JobContext())
    with library.session() as s:
        taken, offset = s.execute(
            select(Photo.taken_at, PhotoWhenWhere.taken_offset_min)
            .join(PhotoWhenWhere, PhotoWhenWhere.photo_id == Photo.id)
            .where(Photo.path == str(path))).one()
    assert (taken, offset) == (datetime(2024, 1, 2, 3, 4, 5), 540)


def test_damaged_exif_costs_only_the_time(tmp_path):
    path = write_jpeg(tmp_path / "a.jpg")
    data = bytearray(path.read_bytes())
    # An APP1 "Exif" segment whose TIFF header is garbage, right after the SOI marker.
    segment = b"\xff\xe1\x00\x10Exif\x00\x00MM\x00*\xff\xff\xff\xff"
    path.write_bytes(bytes(data[:2]) + segment + bytes(data[2:]))
    taken, _, source, _ = read(path)
    assert source == "file time" and taken is not None


def test_version_1_library_upgrades_with_the_when_and_where_tables(tmp_path):
    import sqlite3

    from _edit_fixtures import as_version_1
    from photoclust.core.library import open_library
    from photoclust.core.library.migrations import SCHEMA_VERSION

    path = tmp_path / "old.sqlite"
    open_library(path).close()
    as_version_1(path, ("photo_when_where", "event_photos", "events"))
    library = open_library(path)
    try:
        with library.session() as s:
            assert s.scalars(select(PhotoWhenWhere)).all() == []
        con = sqlite3.connect(path)
        assert con.execute("SELECT version FROM schema_info").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"photo_when_where", "events", "event_photos"} <= tables
        con.close()
    finally:
        library.close()


def test_capture_time_from_an_xmp_packet_in_a_jpeg(tmp_path):
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2013-09-23T10:09:46+02:00"/>'
           b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    path = tmp_path / "scan.jpg"
    Image.new("RGB", (32, 24), (1, 2, 3)).save(path, "JPEG", xmp=xmp)
    taken, offset, source, note = read(path)
    assert (taken, offset, source, note) == (datetime(2013, 9, 23, 10, 9, 46), 120, "exif", None)
