import os
from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from helpers import (
    make_exif,
    two_tone_image,
    write_image,
    write_jpeg,
    write_png_header_bomb,
    write_truncated_jpeg,
)
from photoclust.core import imaging
from photoclust.core.imaging import (
    ImageError,
    create_thumbnail,
    load_model_input,
    load_rgb,
    load_rgb_with_metadata,
    load_thumbnail,
    read_metadata,
    thumbnail_path,
    thumbnail_size,
)


def test_load_rgb_zero_byte_file_raises_image_error(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        load_rgb(path)


def test_load_rgb_text_named_jpg_raises_image_error(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n" * 20)
    with pytest.raises(ImageError, match="not an image"):
        load_rgb(path)


def test_load_rgb_truncated_jpeg_raises_image_error(tmp_path):
    path = write_truncated_jpeg(tmp_path / "cut.jpg")
    with pytest.raises(ImageError, match="truncated"):
        load_rgb(path)


def test_load_rgb_missing_file_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_rgb(tmp_path / "nope.jpg")


def test_load_rgb_permission_error_becomes_image_error(tmp_path, monkeypatch):
    path = write_jpeg(tmp_path / "a.jpg")

    real_open = os.open

    def denied(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(imaging.os, "open", denied)
    with pytest.raises(ImageError, match="permission denied"):
        load_rgb(path)


def test_load_rgb_header_bomb_is_refused_without_decoding(tmp_path):
    path = write_png_header_bomb(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(ImageError, match="decompression bomb"):
        load_rgb(path)


def test_load_rgb_respects_lowered_pixel_limit(tmp_path, monkeypatch):
    path = write_image(tmp_path / "big.png", size=(200, 100))
    monkeypatch.setattr(imaging, "MAX_PIXELS", 200 * 100 - 1)
    with pytest.raises(ImageError, match="200x100 pixels exceeds the limit"):
        load_rgb(path)
    monkeypatch.setattr(imaging, "MAX_PIXELS", 200 * 100)
    assert load_rgb(path).size == (200, 100)


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("P", ".gif"), ("RGBA", ".png"), ("L", ".png"), ("CMYK", ".jpg"), ("CMYK", ".tif"),
     ("LA", ".png"), ("1", ".bmp"), ("RGB", ".webp"), ("RGB", ".tiff")],
)
def test_load_rgb_converts_every_mode_to_rgb(tmp_path, mode, suffix):
    path = write_image(tmp_path / f"img{suffix}", size=(40, 30), color=(250, 250, 250), mode=mode)
    image = load_rgb(path)
    assert image.mode == "RGB"
    assert image.size == (40, 30)
    assert min(image.getpixel((20, 15))) > 200  # a light image stays light


def test_load_rgb_composites_transparency_on_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(path)
    assert load_rgb(path).getpixel((5, 5)) == (255, 255, 255)


def test_load_rgb_scales_16_bit_grey_instead_of_clipping(tmp_path):
    path = tmp_path / "deep.png"
    array = np.full((8, 8), 32768, dtype=np.uint16)  # mid-grey in 16 bits
    Image.fromarray(array).save(path)
    r, g, b = load_rgb(path).getpixel((4, 4))
    assert r == g == b
    assert 120 <= r <= 135


def test_load_rgb_first_frame_of_animated_gif(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    r, g, b = load_rgb(path).getpixel((10, 10))
    assert r > 200 and b < 50


def test_load_rgb_applies_exif_orientation(tmp_path):
    # Stored landscape 80x40, red on top; orientation 6 means "rotate 90 degrees clockwise".
    path = write_jpeg(tmp_path / "rot.jpg", image=two_tone_image((80, 40)),
                      exif=make_exif(orientation=6))
    image = load_rgb(path)
    assert image.size == (40, 80)
    left, right = image.getpixel((5, 40)), image.getpixel((35, 40))
    assert right[0] > 200 and right[2] < 60  # the red top ended on the right side
    assert left[2] > 200 and left[0] < 60
    meta = read_metadata(path)
    assert (meta.width, meta.height) == (40, 80)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_load_rgb_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.png"
    two_tone_image((30, 20), top=(255, 0, 0), bottom=(0, 0, 255)).save(
        path, exif=make_exif(orientation=orientation))
    with Image.open(path) as original:
        expected = ImageOps.exif_transpose(original).convert("RGB")
    assert load_rgb(path).tobytes() == expected.tobytes()
    assert load_rgb(path).size == expected.size


def test_load_rgb_draft_decodes_big_jpeg_smaller_but_not_below_min_side(tmp_path):
    path = write_jpeg(tmp_path / "big.jpg", size=(4000, 3000), color=(10, 120, 10))
    assert load_rgb(path).size == (4000, 3000)
    small = load_rgb(path, min_side=256)
    assert small.size == (500, 375)  # 1/8 scale: the DCT decoder did the downscaling
    assert load_rgb(path, min_side=400).size == (1000, 750)  # 1/8 would give 375 < 400
    assert min(load_rgb(path, min_side=1000).size) >= 1000


def test_load_rgb_draft_respects_min_side_for_rotated_photo(tmp_path):
    path = write_jpeg(tmp_path / "tall.jpg", size=(3000, 1000), exif=make_exif(orientation=8))
    image = load_rgb(path, min_side=256)
    assert image.size[0] < image.size[1]
    assert min(image.size) >= 256


def test_read_metadata_date_camera_gps_and_format(tmp_path):
    exif = make_exif(taken_at=datetime(2021, 7, 14, 9, 30, 5), make="Canon",
                     model="Canon EOS 5D", gps=(48.8583701, -2.2944813))
    path = write_jpeg(tmp_path / "meta.jpg", size=(60, 40), exif=exif)
    meta = read_metadata(path)
    assert (meta.width, meta.height, meta.format) == (60, 40, "JPEG")
    assert meta.taken_at == datetime(2021, 7, 14, 9, 30, 5)
    assert meta.camera == "Canon EOS 5D"
    assert meta.gps_lat == pytest.approx(48.8583701, abs=1e-5)
    assert meta.gps_lon == pytest.approx(-2.2944813, abs=1e-5)


def test_read_metadata_joins_make_and_model(tmp_path):
    path = write_jpeg(tmp_path / "m.jpg", exif=make_exif(make="FUJIFILM", model="X-T3"))
    assert read_metadata(path).camera == "FUJIFILM X-T3"


def test_read_metadata_without_exif_has_no_optional_fields(tmp_path):
    meta = read_metadata(write_image(tmp_path / "plain.png", size=(9, 7)))
    assert (meta.width, meta.height, meta.format) == (9, 7, "PNG")
    assert meta.taken_at is meta.camera is meta.gps_lat is meta.gps_lon is None


def test_read_metadata_ignores_garbage_date(tmp_path):
    exif = make_exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    meta = read_metadata(write_jpeg(tmp_path / "d.jpg", exif=exif))
    assert meta.taken_at is None


def test_thumbnail_size_short_side_256_long_side_capped_never_upscaled():
    assert thumbnail_size(4000, 3000) == (341, 256)
    assert thumbnail_size(3000, 4000) == (256, 341)
    assert thumbnail_size(8000, 1000) == (1024, 128)
    assert thumbnail_size(100, 50) == (100, 50)


def test_thumbnail_path_is_sharded_under_library_thumbnail_dir(tmp_path):
    lib = SimpleNamespace(thumbnail_dir=tmp_path / "lib.thumbnails")
    assert thumbnail_path(lib, "abcdef") == tmp_path / "lib.thumbnails" / "ab" / "abcdef.jpg"
    with pytest.raises(ValueError):
        thumbnail_path(lib, "../etc")


def test_create_thumbnail_writes_jpeg_and_returns_metadata(tmp_path, library):
    path = write_jpeg(tmp_path / "p.jpg", size=(1600, 1200), color=(0, 0, 255),
                      exif=make_exif(orientation=6, make="Nikon", model="D750"))
    dest, meta = create_thumbnail(library, path, "ff00aa")
    assert dest == thumbnail_path(library, "ff00aa")
    with Image.open(dest) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (256, 341)  # oriented: portrait
        assert thumb.convert("RGB").getpixel((128, 170))[2] > 200
    assert (meta.width, meta.height, meta.camera) == (1200, 1600, "Nikon D750")
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".tmp-")]


def test_create_thumbnail_failure_leaves_no_file(tmp_path, library):
    path = write_truncated_jpeg(tmp_path / "cut.jpg")
    with pytest.raises(ImageError):
        create_thumbnail(library, path, "abab")
    assert not thumbnail_path(library, "abab").exists()


def test_load_rgb_with_metadata_returns_detached_image(tmp_path):
    path = write_image(tmp_path / "x.png", size=(12, 10), color=(1, 2, 3))
    image, meta = load_rgb_with_metadata(path)
    path.unlink()
    assert image.getpixel((0, 0)) == (1, 2, 3)
    assert (meta.width, meta.height) == (12, 10)


def test_load_thumbnail_reads_back_created_thumbnail(tmp_path, library):
    path = write_jpeg(tmp_path / "p.jpg", size=(600, 400), color=(0, 200, 0))
    create_thumbnail(library, path, "c0ffee")
    thumb = load_thumbnail(library, "c0ffee")
    assert thumb.size == (384, 256)
    assert thumb.getpixel((10, 10))[1] > 180
    with pytest.raises(ImageError, match="not found"):
        load_thumbnail(library, "beef")


def test_heic_is_read_with_orientation_and_metadata_when_pillow_heif_is_installed(tmp_path):
    pytest.importorskip("pillow_heif")
    assert imaging.HEIF_SUPPORTED and ".heic" in imaging.IMAGE_EXTENSIONS
    path = tmp_path / "IMG_0001.HEIC"
    exif = make_exif(orientation=6, make="Apple", model="iPhone 13",
                     taken_at=datetime(2022, 1, 2, 3, 4, 5))
    two_tone_image((64, 48)).save(path, "HEIF", exif=exif.tobytes())
    meta = read_metadata(path)
    assert (meta.width, meta.height, meta.format) == (48, 64, "HEIF")
    assert meta.camera == "Apple iPhone 13"
    assert meta.taken_at == datetime(2022, 1, 2, 3, 4, 5)
    image = load_rgb(path)
    assert image.size == (48, 64)
    assert image.getpixel((40, 32))[0] > 200  # red top rotated to the right, exactly once
    small = load_rgb(path, min_side=16)
    assert small.size == (16, 22)  # shrunk by 3 right after decoding, shorter side kept >= 16
    assert small.getpixel((13, 11))[0] > 200


# -- damaged data, special files, memory --------------------------------------------------------

def _noise_image(size=(96, 64), seed=3):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _png_chunks(data: bytes):
    """(offset, kind, payload) of each chunk of a PNG file."""
    import struct

    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((pos, data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def _damaged_png(path, fix_checksum: bool):
    """A real PNG with 64 bytes of its image data zeroed (as in the bug report), its chunk
    checksum left wrong or recomputed to match the damaged bytes."""
    import struct
    import zlib

    _noise_image().save(path)
    data = bytearray(path.read_bytes())
    offset, _kind, payload = next(c for c in _png_chunks(bytes(data)) if c[1] == b"IDAT")
    start = offset + 8 + len(payload) // 3
    data[start:start + 64] = bytes(64)
    if fix_checksum:
        end = offset + 8 + len(payload)
        data[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(data[offset + 4:end])))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("fix_checksum", [False, True])
def test_load_rgb_refuses_png_with_damaged_image_data(tmp_path, fix_checksum):
    # With the checksum recomputed only decoding can tell: PNG's getexif() decodes, and its
    # error used to be swallowed, leaving a photo with black rows.
    path = _damaged_png(tmp_path / "damaged.png", fix_checksum)
    with pytest.raises(ImageError, match="corrupt image data"):
        load_rgb(path, min_side=32)
    with pytest.raises(ImageError, match="corrupt image data"):
        create_thumbnail(SimpleNamespace(thumbnail_dir=tmp_path / "t"), path, "abcd")
    assert not thumbnail_path(SimpleNamespace(thumbnail_dir=tmp_path / "t"), "abcd").exists()


def _zero_after(data: bytes, marker: bytes, skip: int, count: int = 16) -> bytes:
    start = data.index(marker) + len(marker) + skip
    return data[:start] + bytes(count) + data[start + count:]


@pytest.mark.parametrize(("name", "save", "damage"), [
    # WebP: the lossless bitstream's header (transforms, Huffman codes) after the VP8L tag.
    ("damaged.webp", {"format": "WEBP", "lossless": True},
     lambda d: _zero_after(d, b"VP8L", 9, 8)),
    # TIFF: deflate-compressed strips, 64 bytes zeroed in the middle of the file.
    ("damaged.tif", {"format": "TIFF", "compression": "tiff_deflate"},
     lambda d: d[:len(d) // 2] + bytes(64) + d[len(d) // 2 + 64:]),
    # GIF: LZW codes beyond the code table in the middle of the image data.
    ("damaged.gif", {"format": "GIF"},
     lambda d: d[:len(d) // 2] + b"\xff" * 64 + d[len(d) // 2 + 64:]),
    # JPEG: a Huffman table zeroed.
    ("damaged.jpg", {"format": "JPEG", "quality": 90},
     lambda d: _zero_after(d, b"\xff\xc4", 4, 16)),
])
def test_load_rgb_refuses_damaged_data_in_every_format(tmp_path, name, save, damage):
    path = tmp_path / name
    _noise_image().save(path, **save)
    assert load_rgb(path).size == (96, 64)  # the undamaged file is fine
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ImageError, match="corrupt|truncated"):
        load_rgb(path, min_side=16)


@pytest.mark.parametrize(("suffix", "head"), [
    (".jpg", b"\x00" * 16), (".png", b"GIF89a"), (".jpg", b"<html><body>"), (".tif", b"%PDF-1.7")])
def test_open_image_file_refuses_what_has_no_image_header(tmp_path, suffix, head):
    path = tmp_path / f"x{suffix}"
    path.write_bytes(head + b"\x00" * 100)
    if head == b"GIF89a":  # a known header in the wrong file is still opened: Pillow decides
        imaging.open_image_file(path).close()
        return
    with pytest.raises(ImageError, match="not an image"):
        imaging.open_image_file(path)


def test_open_image_file_reads_only_the_header_of_a_huge_sparse_file(tmp_path, monkeypatch):
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)  # 2 GB of zeros without using the disk
    reads = []
    real_fdopen = os.fdopen

    def counting_fdopen(*args, **kwargs):
        fh = real_fdopen(*args, **kwargs)
        real_read = fh.read
        fh.read = lambda n=-1: reads.append(n) or real_read(n)
        return fh

    monkeypatch.setattr(imaging.os, "fdopen", counting_fdopen)
    with pytest.raises(ImageError, match="not an image"):
        load_rgb(path)
    assert reads == [16]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_called_jpg_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="named pipe"):
        load_rgb(fifo)  # opening it for reading would wait for a writer forever


def test_open_image_file_never_blocks_on_a_pipe_that_replaced_the_file(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    # The stat said "regular file" (the photo was still there); the open finds the pipe.
    monkeypatch.setattr(imaging, "special_file_reason",
                        _after_first_call(imaging.special_file_reason))
    with pytest.raises(ImageError, match="named pipe"):
        imaging.open_image_file(fifo)


def _after_first_call(real):
    calls = []

    def wrapped(mode):
        calls.append(mode)
        return None if len(calls) == 1 else real(mode)

    return wrapped


def test_device_file_and_folder_are_refused_without_reading(tmp_path):
    with pytest.raises(ImageError, match="device file"):
        load_rgb("/dev/zero")
    folder = tmp_path / "a.jpg"
    folder.mkdir()
    with pytest.raises(ImageError, match="is a folder"):
        load_rgb(folder)


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "RGBA", "LA", "CMYK", "F"])
def test_load_rgb_min_side_shrinks_every_mode_like_a_full_decode(tmp_path, mode):
    image = two_tone_image((300, 200), top=(250, 250, 250), bottom=(10, 10, 10)).convert(
        "L" if mode in ("I;16", "F") else "RGB").convert(mode, dither=Image.Dither.NONE)
    path = tmp_path / ("x.tif" if mode in ("CMYK", "F") else "x.png")
    image.save(path)
    full = load_rgb(path)
    small = load_rgb(path, min_side=64)
    assert small.mode == "RGB" and small.size == (100, 67)  # factor 3: 200 // 64
    for y, expected in ((20, full.getpixel((60, 60))), (60, full.getpixel((60, 180)))):
        assert abs(small.getpixel((20, y))[0] - expected[0]) <= 8


def test_memory_budget_lets_small_decodes_share_and_a_huge_one_run_alone():
    import threading
    import time

    budget = imaging._MemoryBudget(100)
    active, peaks, lock = [], [], threading.Lock()

    def decode(name, size):
        with budget.reserve(size):
            with lock:
                active.append(name)
                peaks.append(sorted(active))
            time.sleep(0.05)
            with lock:
                active.remove(name)

    threads = [threading.Thread(target=decode, args=args)
               for args in (("small1", 30), ("small2", 30), ("huge", 500), ("small3", 30))]
    for thread in threads:
        thread.start()
        time.sleep(0.005)
    for thread in threads:
        thread.join()
    assert ["small1", "small2"] in peaks  # small decodes ran side by side
    assert all(names == ["huge"] for names in peaks if "huge" in names)


def test_load_model_input_prefers_thumbnail_then_first_readable_original(tmp_path, library):
    original = write_jpeg(tmp_path / "o.jpg", size=(1600, 1200), color=(200, 0, 0))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    # No thumbnail yet: the first readable path, shrunk by draft scaling to min_side.
    image = load_model_input(library, "cafe", [broken, original], min_side=256)
    assert min(image.size) >= 256 and max(image.size) < 1600
    assert image.getpixel((5, 5))[0] > 180
    # A thumbnail (here drawn green from another file) wins over the original.
    create_thumbnail(library, write_jpeg(tmp_path / "g.jpg", size=(600, 400), color=(0, 200, 0)),
                     "cafe")
    assert load_model_input(library, "cafe", [original], min_side=256).getpixel((5, 5))[1] > 180
    # Nothing readable: one ImageError with the last reason.
    with pytest.raises(ImageError):
        load_model_input(library, "beef", [broken, tmp_path / "missing.jpg"], min_side=256)
