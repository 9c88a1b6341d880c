"""Issue #25, bad files: the work per file is bounded (a header followed by gigabytes of zeros
is refused in milliseconds), long runs of zeros where image data should be are damage (a JPEG
cut short and zero-filled back to its size), WebP and HEIF are refused from their header when
decoding them would take too much memory, a JPEG that decodes whole is a photo, and refused
files are not read again until they change. Big hostile files are sparse: no disk, no time."""
from __future__ import annotations

import io
import os
import random
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_exif
from photoclust.core import imaging
from photoclust.core.imaging import ImageError, load_rgb_with_metadata, open_image_file
from photoclust.core.jobs import run_job
from photoclust.core.library import scan as scan_module
from photoclust.core.library.scan import ScanJob

GB = 10**9


def camera_like_jpeg(size: tuple[int, int] = (640, 480), seed: int = 0) -> bytes:
    """A JPEG as cameras write them: standard Huffman tables, EXIF, a photo-like picture
    (gradients and noise) whose compressed data has no long runs of zeros."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    picture = np.stack([(x // 3) % 256, (y // 2) % 256, ((x + y) // 5) % 256], -1)
    picture = (picture + rng.integers(0, 24, picture.shape)).clip(0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(picture).save(out, "JPEG", quality=90,
                                  exif=make_exif(make="SONY", model="ILCE-7M3"))
    return out.getvalue()


def sparse(path: Path, head: bytes, size: int) -> Path:
    """``head`` followed by zeros up to ``size`` bytes, without writing the zeros (a hole)."""
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


def _pixels(source) -> np.ndarray:
    return np.asarray(load_rgb_with_metadata(source)[0])


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.8, 0.95, 0.99, 0.999])
def test_a_jpeg_cut_short_and_zero_filled_to_its_full_size_is_refused(tmp_path, keep):
    data = camera_like_jpeg()
    cut = int(len(data) * keep)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:cut] + bytes(len(data) - cut))
    with pytest.raises(ImageError, match=rf"damaged JPEG file: cut short after {cut:,} bytes "
                       r"and filled with zeros to its full size"):
        load_rgb_with_metadata(path, min_side=256)


@pytest.mark.parametrize("tail", ["33 bytes after its end marker", "no end marker",
                                  "33 bytes instead of its end marker",
                                  "zeros after its end marker", "zeros instead of its end marker"])
def test_a_jpeg_that_decodes_whole_is_a_photo_whatever_follows_its_data(tmp_path, tail):
    data = camera_like_jpeg(seed=1)
    extra = bytes(random.Random(2).randrange(1, 255) for _ in range(33))
    variants = {
        "33 bytes after its end marker": data + extra,
        "no end marker": data[:-2],
        "33 bytes instead of its end marker": data[:-2] + extra,
        "zeros after its end marker": data + bytes(4096),
        "zeros instead of its end marker": data[:-2] + bytes(33),
    }
    path = tmp_path / "photo.jpg"
    path.write_bytes(variants[tail])
    assert np.array_equal(_pixels(path), _pixels(io.BytesIO(data)))


def test_a_jpeg_header_followed_by_2_gb_of_zeros_is_refused_fast(tmp_path):
    data = camera_like_jpeg()
    for name, head in (("whole-header.jpg", data[:data.index(b"\xff\xda") + 200]),
                       ("cut-header.jpg", data[:300])):
        path = sparse(tmp_path / name, head, 2 * GB)
        started = time.monotonic()
        with pytest.raises(ImageError, match="damaged JPEG file: it ends in .* or more of zero "
                           "bytes, where a photo has image data"):
            open_image_file(path)  # before it is hashed or decoded
        with pytest.raises(ImageError, match="zero bytes"):
            load_rgb_with_metadata(path, min_side=256)
        assert time.monotonic() - started < 1.0


def _small(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (96, 128, 3), np.uint8)).save(
        out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt, size", [("TIFF", 500_000_000), ("BMP", 2 * GB),
                                       ("WEBP", GB), ("HEIF", 2 * GB), ("PNG", GB)])
@pytest.mark.parametrize("what", ["header", "whole image"])
def test_big_files_of_zeros_after_an_image_header_are_refused_fast(tmp_path, fmt, size, what):
    if fmt == "HEIF" and not imaging.HEIF_SUPPORTED:
        pytest.skip("HEIF support (pillow-heif) is not installed")
    data = _small(fmt)
    path = sparse(tmp_path / f"photo.{fmt.lower()}", data[:64] if what == "header" else data,
                  size)
    started = time.monotonic()
    with pytest.raises(ImageError, match=f"damaged {fmt} file: it ends in .* of zero bytes"):
        load_rgb_with_metadata(path, min_side=256)
    assert time.monotonic() - started < 1.0


def test_zeros_inside_a_file_are_found_without_reading_it_all(tmp_path):
    data = _small("WEBP")
    path = tmp_path / "holes.webp"
    with open(path, "wb") as fh:
        fh.write(data)
        fh.seek(GB)
        fh.write(data)  # not zeros at the end: the zeros in the middle are found by sampling
    reads = []
    real_read_at = imaging._read_at

    def counting(fh, offset, size):
        reads.append(size)
        return real_read_at(fh, offset, size)

    imaging._read_at = counting
    try:
        with pytest.raises(ImageError, match=r"damaged WEBP file: .* of zero bytes from byte "):
            open_image_file(path)
    finally:
        imaging._read_at = real_read_at
    assert sum(reads) < 16 << 20


def test_junk_before_a_jpeg_marker_costs_a_bounded_number_of_reads(tmp_path):
    path = tmp_path / "junk.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x01" * 900_000)
    started = time.monotonic()
    with pytest.raises(ImageError, match="damaged image header"):
        load_rgb_with_metadata(path, min_side=256)
    assert time.monotonic() - started < 1.0


def test_a_webp_whose_decoding_would_take_too_much_memory_is_refused_from_its_header(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, "WEBP", exif=make_exif(make="x"))
    data = bytearray(out.getvalue())
    assert data[12:16] == b"VP8X"
    data[24:27] = (16000 - 1).to_bytes(3, "little")
    data[27:30] = (11000 - 1).to_bytes(3, "little")  # 176 MP, under the decompression limit
    path = tmp_path / "huge.webp"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"a 16000x11000 WEBP file of .* would take about "
                       r"704\.0 MB of memory to decode \(more than the 671\.1 MB"):
        open_image_file(path)


def test_a_big_webp_is_refused_before_it_is_read_into_memory(tmp_path, monkeypatch):
    """A 400 MB WebP that is not zeros (here: zeros are let through) would be read whole, twice,
    by its plugin: refused from its size, without reading it."""
    monkeypatch.setattr(imaging, "zero_run_problem", lambda *args: None)
    path = sparse(tmp_path / "big.webp", _small("WEBP"), 400_000_000)
    with pytest.raises(ImageError, match=r"WEBP file of 400\.0 MB would take about 800\.0 MB"):
        load_rgb_with_metadata(path, min_side=256)


def test_a_heif_whose_decoding_would_take_too_much_memory_is_refused_from_its_header(
        tmp_path):
    if not imaging.HEIF_SUPPORTED:
        pytest.skip("HEIF support (pillow-heif) is not installed")
    data = bytearray(_small("HEIF"))
    at = data.find(b"ispe")
    assert at > 0
    while at > 0:
        data[at + 8:at + 12] = (16000).to_bytes(4, "big")
        data[at + 12:at + 16] = (11000).to_bytes(4, "big")
        at = data.find(b"ispe", at + 4)
    path = tmp_path / "huge.heic"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"a 16000x11000 HEIF file of .* would take about"):
        open_image_file(path)


def test_index_remembers_refused_files_until_they_change(library, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    data = camera_like_jpeg()
    (folder / "good.jpg").write_bytes(data)
    sparse(folder / "zeros.jpg", data[:2000], 2 * GB)
    cut = folder / "cut.jpg"
    cut.write_bytes(data[:len(data) // 2] + bytes(len(data) - len(data) // 2))

    first = run_job(ScanJob(library, [folder]))
    assert first.added == 1
    reasons = dict(first.skipped)
    assert "zero bytes" in reasons[str(folder / "zeros.jpg")]
    assert "cut short" in reasons[str(folder / "cut.jpg")]

    opened: list[str] = []
    real_open = scan_module.open_image_file

    def counting_open(path):
        opened.append(os.path.basename(path))
        return real_open(path)

    monkeypatch.setattr(scan_module, "open_image_file", counting_open)
    again = run_job(ScanJob(library, [folder]))
    assert dict(again.skipped) == reasons  # the same reasons, each said again
    assert opened == []  # without reading the files

    os.utime(cut, ns=(1_000_000_000, 1_000_000_000))  # changed: read again
    cut.write_bytes(data)  # now whole
    third = run_job(ScanJob(library, [folder]))
    assert opened == ["cut.jpg"]
    assert third.added == 1 and list(dict(third.skipped)) == [str(folder / "zeros.jpg")]


def test_a_file_far_larger_than_its_pixels_is_refused_before_it_is_hashed(library, tmp_path,
                                                                          monkeypatch):
    """2 GB after a 640x480 JPEG (not zeros: the zero check is let through here) is no image
    data: refused from the header, never hashed."""
    monkeypatch.setattr(imaging, "zero_run_problem", lambda *args: None)
    folder = tmp_path / "photos"
    folder.mkdir()
    path = sparse(folder / "padded.jpg", camera_like_jpeg(), 2 * GB)
    with pytest.raises(ImageError, match=r"a 640x480 image takes at most 69\.6 MB, but this JPEG "
                       r"file is 2\.00 GB: the rest is not image data"):
        open_image_file(path)

    def no_hashing(*args):
        raise AssertionError("hashed")

    monkeypatch.setattr(scan_module, "hash_file", no_hashing)
    result = run_job(ScanJob(library, [folder]))
    assert "the rest is not image data" in dict(result.skipped)[str(path)]
