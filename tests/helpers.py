"""Test images drawn with Pillow, for every test module (``from helpers import write_jpeg``).

``tests/`` is on ``sys.path`` during the test run (pytest's rootdir conftest), so test modules in
any sub-folder can import this module directly.
"""
from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Mapping

from PIL import ExifTags, Image, ImageDraw

RGB = tuple[int, int, int]


def make_exif(*, taken_at: datetime | None = None, make: str | None = None,
              model: str | None = None, gps: tuple[float, float] | None = None,
              orientation: int | None = None) -> Image.Exif:
    """An EXIF block with the fields photoclust reads (date taken, camera, GPS, orientation)."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if make is not None:
        exif[ExifTags.Base.Make] = make
    if model is not None:
        exif[ExifTags.Base.Model] = model
    if taken_at is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken_at.strftime(
            "%Y:%m:%d %H:%M:%S")
    if gps is not None:
        lat, lon = gps

        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round((value - degrees - minutes / 60) * 3600, 4)
            return float(degrees), float(minutes), seconds

        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps_ifd[ExifTags.GPS.GPSLatitude] = dms(lat)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps_ifd[ExifTags.GPS.GPSLongitude] = dms(lon)
    return exif


def solid_image(size: tuple[int, int] = (64, 48), color: RGB = (200, 30, 30),
                mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", size, color)
    return image if mode == "RGB" else image.convert(mode)


def write_jpeg(path: str | Path, size: tuple[int, int] = (64, 48), color: RGB = (200, 30, 30),
               exif: Image.Exif | None = None, quality: int = 90,
               image: Image.Image | None = None) -> Path:
    """Write a JPEG (a solid ``color`` unless ``image`` is given), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = image if image is not None else solid_image(size, color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(path, "JPEG", quality=quality, **kwargs)
    return path


def write_image(path: str | Path, size: tuple[int, int] = (64, 48), color: RGB = (30, 30, 200),
                mode: str = "RGB", format: str | None = None) -> Path:
    """Write a solid image in any Pillow mode and format (format from the suffix by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    solid_image(size, color, mode).save(path, format)
    return path


def two_tone_image(size: tuple[int, int], top: RGB = (255, 0, 0),
                   bottom: RGB = (0, 0, 255)) -> Image.Image:
    """Upper half ``top``, lower half ``bottom``: shows which way an image was rotated."""
    image = Image.new("RGB", size, bottom)
    ImageDraw.Draw(image).rectangle((0, 0, size[0], size[1] // 2 - 1), fill=top)
    return image


#: Distinguishable classes for clustering tests: shape and colour differ per class.
DEFAULT_CLASSES: dict[str, tuple[str, RGB]] = {
    "red_circles": ("circle", (220, 40, 40)),
    "green_squares": ("square", (40, 180, 60)),
    "blue_triangles": ("triangle", (40, 70, 220)),
    "yellow_stripes": ("stripes", (230, 210, 40)),
}


def draw_shape(shape: str, color: RGB, size: tuple[int, int] = (128, 96),
               rng: random.Random | None = None) -> Image.Image:
    """One example of a class: ``shape`` in ``color`` at a jittered place and size on a noisy
    light background, so examples of a class differ but classes stay apart."""
    rng = rng or random.Random(0)
    w, h = size
    base = rng.randint(200, 245)
    image = Image.new("RGB", size, (base, base, base))
    draw = ImageDraw.Draw(image)
    for _ in range(12):  # faint clutter
        x, y = rng.randrange(w), rng.randrange(h)
        grey = rng.randint(170, 235)
        draw.point((x, y), fill=(grey, grey, grey))
    jitter = lambda c: max(0, min(255, c + rng.randint(-20, 20)))  # noqa: E731
    fill = tuple(jitter(c) for c in color)
    extent = rng.uniform(0.45, 0.7) * min(w, h)
    cx = rng.uniform(extent / 2, w - extent / 2)
    cy = rng.uniform(extent / 2, h - extent / 2)
    box = (cx - extent / 2, cy - extent / 2, cx + extent / 2, cy + extent / 2)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, box[1]), (box[2], box[3]), (box[0], box[3])], fill=fill)
    elif shape == "stripes":
        step = max(4, int(extent / 6))
        for x in range(0, w, 2 * step):
            draw.rectangle((x, 0, x + step - 1, h), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return image


def make_labeled_folder(root: str | Path, per_class: int = 5,
                        classes: Mapping[str, tuple[str, RGB]] | None = None,
                        size: tuple[int, int] = (128, 96), seed: int = 0,
                        suffix: str = ".jpg") -> dict[str, list[Path]]:
    """``root/<class>/<class>_<i>.jpg`` for each class; returns ``{class: [paths]}``."""
    root = Path(root)
    rng = random.Random(seed)
    written: dict[str, list[Path]] = {}
    for name, (shape, color) in (classes or DEFAULT_CLASSES).items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        written[name] = []
        for i in range(per_class):
            path = folder / f"{name}_{i:03d}{suffix}"
            draw_shape(shape, color, size, rng).save(path, quality=92)
            written[name].append(path)
    return written


def write_photo(path: str | Path, seed: int, size: tuple[int, int] = (96, 72),
                quality: int = 90) -> Path:
    """A distinct JPEG per ``seed``: the shape of class ``seed % 4`` of ``DEFAULT_CLASSES``,
    jittered by the seed, so photos of one class look alike and different seeds never share
    bytes."""
    shape, color = list(DEFAULT_CLASSES.values())[seed % len(DEFAULT_CLASSES)]
    return write_jpeg(path, image=draw_shape(shape, color, size, random.Random(seed)),
                      quality=quality)


def write_photos(folder: str | Path, count: int, first: int = 0,
                 size: tuple[int, int] = (96, 72), name: str = "img_{:03d}.jpg") -> Path:
    """``count`` photos ``folder/<name.format(i)>`` for i from ``first``, photo i drawn by
    ``write_photo(seed=i)``; returns the folder."""
    folder = Path(folder)
    for i in range(first, first + count):
        write_photo(folder / name.format(i), i, size)
    return folder


def write_truncated_jpeg(path: str | Path, size: tuple[int, int] = (256, 192),
                         keep: float = 0.5) -> Path:
    """A real JPEG cut to ``keep`` of its bytes (as after an interrupted copy)."""
    path = Path(path)
    rng = random.Random(1)
    image = Image.new("RGB", size)
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256))
                   for _ in range(size[0] * size[1])])
    write_jpeg(path, image=image)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_png_header_bomb(path: str | Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels: a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    payload = zlib.compress(b"\x00" * 64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", payload)
                     + chunk(b"IEND", b""))
    return path
