"""Safe, fast image decoding, photo metadata and the thumbnail cache.

Every photo passes through here, so this module is where bad input stops: empty files, text
named ``.jpg``, truncated JPEGs, decompression bombs and unreadable files all raise ``ImageError``
with a reason meant for the user, never a crash further down.

Speed comes from JPEG DCT-domain downscaling (``Image.draft``): a 12 MP photo needed at 256 px is
decoded at 1/8 scale, several times faster than a full decode. One decode serves both the
thumbnail and, through the thumbnail (shorter side 256), the model input.
"""
from __future__ import annotations

import logging
import os
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from photoclust.core.files import replaced_atomically

log = logging.getLogger(__name__)

try:  # HEIC/HEIF (iPhone photos) only when the optional extra `photoclust[heif]` is installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:
    HEIF_SUPPORTED = False

#: File name extensions (lower case) that ``index`` picks up.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
    | ({".heic", ".heif"} if HEIF_SUPPORTED else set())
)

#: Images with more pixels than this are refused as possible decompression bombs. The default is
#: Pillow's hard limit (about 179 MP): large enough for 100+ MP medium-format cameras and
#: panoramas, small enough that one decode cannot exhaust memory.
MAX_PIXELS = 2 * 89_478_485

# We enforce MAX_PIXELS ourselves and raise ImageError; Pillow's softer warning (at half the
# limit) would only be noise for large but legitimate photos.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

THUMBNAIL_SHORT_SIDE = 256
THUMBNAIL_MAX_LONG_SIDE = 1024
THUMBNAIL_QUALITY = 90

_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
# Pillow raises many kinds of exceptions on corrupt data, depending on the format plugin.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError,
                  TypeError, KeyError, ZeroDivisionError, MemoryError)


class ImageError(Exception):
    """A file cannot be used as a photo; the message is the reason, meant for the user."""


@dataclass(frozen=True)
class ImageMetadata:
    """What the library stores about a photo besides its file facts.

    ``width`` and ``height`` are after EXIF orientation (as the photo is shown).
    """

    width: int
    height: int
    format: str | None
    taken_at: datetime | None = None
    camera: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None


def _open(path: str | os.PathLike) -> Image.Image:
    """Open ``path`` lazily (header only), turning every failure into ``ImageError``."""
    try:
        if os.stat(path).st_size == 0:
            raise ImageError("empty file (0 bytes)")
        image = Image.open(path)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not a file") from None
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised or corrupt header)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused as a possible decompression bomb: {exc}") from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"cannot read image: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageError(f"invalid image size {width}x{height}")
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageError(
            f"refused as a possible decompression bomb: {width}x{height} pixels "
            f"exceeds the limit of {MAX_PIXELS} pixels"
        )
    return image


def _exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception as exc:  # noqa: BLE001 - a broken EXIF block must not cost the photo
        log.debug("unreadable EXIF in %s: %s", getattr(image, "filename", "?"), exc)
        return None


def _orientation(exif: Image.Exif | None) -> int:
    if exif is None:
        return 1
    value = exif.get(_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _exif_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", " ").strip()
    return text or None


def _parse_exif_datetime(value: Any) -> datetime | None:
    text = _exif_text(value)
    if not text:
        return None
    # Sub-seconds or a time zone may follow the 19 characters of "YYYY:MM:DD HH:MM:SS".
    for fmt, length in (("%Y:%m:%d %H:%M:%S", 19), ("%Y-%m-%d %H:%M:%S", 19), ("%Y:%m:%d", 10)):
        try:
            return datetime.strptime(text[:length], fmt)
        except ValueError:
            continue
    return None


def _gps_degrees(dms: Any, ref: Any, limit: float) -> float | None:
    try:
        degrees, minutes, seconds = (float(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60.0 + seconds / 3600.0
    if _exif_text(ref) in ("S", "W"):
        value = -value
    if not (-limit <= value <= limit) or value != value:  # out of range or NaN
        return None
    return round(value, 7)


def _metadata(image: Image.Image, exif: Image.Exif | None) -> ImageMetadata:
    width, height = image.size
    if _orientation(exif) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    taken_at = camera = lat = lon = None
    if exif is not None:
        try:
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            taken_at = _parse_exif_datetime(
                exif_ifd.get(ExifTags.Base.DateTimeOriginal)
            ) or _parse_exif_datetime(exif.get(ExifTags.Base.DateTime))
            make = _exif_text(exif.get(ExifTags.Base.Make))
            model = _exif_text(exif.get(ExifTags.Base.Model))
            if make and model and model.lower().startswith(make.lower()):
                make = None  # "Canon" + "Canon EOS 5D" -> "Canon EOS 5D"
            camera = " ".join(p for p in (make, model) if p)[:128] or None
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            if gps:
                lat = _gps_degrees(gps.get(ExifTags.GPS.GPSLatitude),
                                   gps.get(ExifTags.GPS.GPSLatitudeRef), 90.0)
                lon = _gps_degrees(gps.get(ExifTags.GPS.GPSLongitude),
                                   gps.get(ExifTags.GPS.GPSLongitudeRef), 180.0)
                if lat is None or lon is None:
                    lat = lon = None
        except Exception as exc:  # noqa: BLE001 - odd EXIF only costs the metadata
            log.debug("unusable EXIF in %s: %s", getattr(image, "filename", "?"), exc)
    return ImageMetadata(width, height, image.format, taken_at, camera, lat, lon)


def read_metadata(path: str | os.PathLike) -> ImageMetadata:
    """Pixel size (after EXIF orientation), format, date taken, camera and GPS, read from the
    header without decoding the pixels."""
    with _open(path) as image:
        return _metadata(image, _exif(image))


def _scale_16_bit(image: Image.Image) -> Image.Image:
    """16/32-bit grey (``I;16``, ``I``, ``F``) to 8-bit ``L`` by scaling, not clipping."""
    array = np.asarray(image, dtype=np.float64)
    peak = float(array.max()) if array.size else 0.0
    if peak > 255.0:
        array = array * (255.0 / (65535.0 if peak <= 65535.0 else peak))
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="L")


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB: transparency over white, 16-bit grey scaled, CMYK converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
        if mode == "RGB":
            return image
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        return _scale_16_bit(image).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _decode(image: Image.Image, min_side: int | None) -> Image.Image:
    """Decode an opened image to RGB with EXIF orientation, JPEG-downscaled to ``min_side``."""
    exif = _exif(image)
    if min_side and image.format in ("JPEG", "MPO"):
        # DCT scaling keeps both sides >= min_side, hence the shorter one too, whatever the
        # orientation turns out to be.
        image.draft(image.mode, (min_side, min_side))
    try:
        image.load()
        # Only the first frame of an animated GIF/WebP is the photo.
        decoded = to_rgb(image)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused as a possible decompression bomb: {exc}") from None
    except _DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        if reason.startswith("image file is truncated"):
            detail = reason.removeprefix("image file is truncated").strip()
            raise ImageError(f"truncated file {detail}".strip()) from None
        if "truncated" in reason:
            raise ImageError(f"truncated file ({reason})") from None
        raise ImageError(f"corrupt image data ({reason})") from None
    orientation = _orientation(exif)
    if orientation != 1:
        method = {
            2: Image.Transpose.FLIP_LEFT_RIGHT,
            3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90,
        }[orientation]
        decoded = decoded.transpose(method)
    return decoded


def load_rgb(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB image as it should be shown (EXIF orientation applied).

    With ``min_side``, JPEGs are decoded in the DCT domain at the smallest scale (1/2, 1/4, 1/8)
    whose shorter side is still >= ``min_side``; other formats and ``None`` give full resolution.
    Raises ``ImageError`` for anything that is not a usable image.
    """
    return load_rgb_with_metadata(path, min_side)[0]


def load_rgb_with_metadata(path: str | os.PathLike,
                           min_side: int | None = None) -> tuple[Image.Image, ImageMetadata]:
    """``load_rgb`` and ``read_metadata`` from one open of the file (what indexing needs)."""
    with _open(path) as image:
        metadata = _metadata(image, _exif(image))
        decoded = _decode(image, min_side)
    if decoded is image:  # to_rgb returned the file-backed image itself; detach it from the file
        decoded = decoded.copy()
    return decoded, metadata


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """Shorter side 256 px, longer side at most 1024; never upscaled."""
    short, long_ = min(width, height), max(width, height)
    scale = min(1.0, THUMBNAIL_SHORT_SIDE / short, THUMBNAIL_MAX_LONG_SIDE / long_)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_thumbnail(image: Image.Image) -> Image.Image:
    """The thumbnail of a decoded RGB image (see ``thumbnail_size``)."""
    size = thumbnail_size(*image.size)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def thumbnail_path(library: Any, content_hash: str) -> Path:
    """Where the thumbnail of a content lives: ``<library>.thumbnails/ab/abcdef....jpg``.

    Keyed by content, so duplicates share one and a moved photo keeps its thumbnail. ``library``
    is a ``Library`` (anything with ``thumbnail_dir``).
    """
    if not content_hash or not content_hash.isalnum():
        raise ValueError(f"invalid content hash {content_hash!r}")
    return Path(library.thumbnail_dir) / content_hash[:2] / f"{content_hash}.jpg"


def write_thumbnail(image: Image.Image, dest: Path) -> Path:
    """Save ``make_thumbnail(image)`` as JPEG at ``dest`` atomically (temp file + rename), so a
    crash never leaves a half-written thumbnail behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    thumb = to_rgb(make_thumbnail(image))
    with replaced_atomically(dest, suffix=".jpg") as tmp:
        thumb.save(tmp, "JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
    return dest


def create_thumbnail(library: Any, path: str | os.PathLike,
                     content_hash: str) -> tuple[Path, ImageMetadata]:
    """Decode ``path`` once (draft to the thumbnail size), write its thumbnail and return its
    location with the photo's metadata. Raises ``ImageError`` for unusable files."""
    image, metadata = load_rgb_with_metadata(path, min_side=THUMBNAIL_SHORT_SIDE)
    return write_thumbnail(image, thumbnail_path(library, content_hash)), metadata


def load_thumbnail(library: Any, content_hash: str) -> Image.Image:
    """The cached thumbnail as RGB; raises ``ImageError`` when it is absent or damaged."""
    return load_rgb(thumbnail_path(library, content_hash))
