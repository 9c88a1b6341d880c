"""Safe, fast image decoding, photo metadata and the thumbnail cache.

Every photo passes through here, so this module is where bad input stops: empty files, text
named ``.jpg``, truncated or damaged data, decompression bombs, pipes and devices, and unreadable
files all raise ``ImageError`` with a reason meant for the user, never a crash or a hang further
down. A file is opened only if it is a regular file (``open_image_file``), read only if it starts
with an image header, and accepted only if it decodes completely (PNG checksums included).

Speed comes from JPEG DCT-domain downscaling (``Image.draft``): a 12 MP photo needed at 256 px is
decoded at 1/8 scale, several times faster than a full decode; other formats are shrunk in place
right after decoding, so memory stays near one decoded copy (see docs/reliability.md). One decode
serves both the thumbnail and, through the thumbnail (shorter side 256), the model input.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import stat
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

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
    #: The raw capture-time tags (``time_tags``), read into a time by
    #: ``photoclust.core.library.capture_time``.
    time_tags: dict[str, str] | None = None


#: Image files are opened without ever blocking: a named pipe that replaced ``photo.jpg`` after
#: its ``stat`` would otherwise wait for a writer forever.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)

_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a device file"),
               (stat.S_ISBLK, "a device file"), (stat.S_ISSOCK, "a socket"))


def special_file_reason(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read at all (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    kind = next((kind for test, kind in _FILE_KINDS if test(mode)), "a special file")
    return f"{kind}, not a photo file: left unread"


def image_signature(head: bytes) -> str | None:
    """The image format a file's first 16 bytes announce (``"JPEG"``, ``"PNG"``...), or ``None``.

    Cheap and checked before a file is hashed or decoded, so a 2 GB file of zeros named
    ``.jpg`` is refused after reading 16 bytes instead of all of them."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM":
        return "BMP"
    if HEIF_SUPPORTED and head[4:8] == b"ftyp":
        return "HEIF"
    return None


def _os_error_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "cannot read file: permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENXIO:
        return "a special file with nothing behind it: left unread"
    return f"cannot read file: {exc.strerror or exc}"


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file; raises ``ImageError`` with the
    reason otherwise. Folders, named pipes and device files are refused from their ``stat``,
    and the open never blocks, in case one replaced the file meanwhile (checked again with
    ``fstat``)."""
    try:
        reason = special_file_reason(os.stat(path).st_mode)
        if reason is not None:
            raise ImageError(reason)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ImageError(_os_error_reason(exc)) from None
    try:
        reason = special_file_reason(os.fstat(fd).st_mode)
        if reason is not None:
            raise ImageError(reason)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except ImageError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise ImageError(_os_error_reason(exc)) from None


def open_image_file(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading if it can be an image: a regular (``open_regular_file``),
    non-empty file that starts with a known image header; anything else raises ``ImageError``
    after at most its first 16 bytes were read."""
    fh = open_regular_file(path)
    try:
        if os.fstat(fh.fileno()).st_size == 0:
            raise ImageError("empty file (0 bytes)")
        head = fh.read(16)
        fh.seek(0)
        image_format = image_signature(head)
        if image_format is None:
            raise ImageError("not an image (unrecognised or corrupt header)")
        screen_image_file(fh, os.fstat(fh.fileno()).st_size, image_format)
    except OSError as exc:
        fh.close()
        raise ImageError(_os_error_reason(exc)) from None
    except ImageError:
        fh.close()
        raise
    return fh


# -- Bounded work per file (issue #25) ---------------------------------------------------------
# A file may claim to be a photo and still be mostly nothing: a JPEG header followed by
# gigabytes of zeros (Pillow skips junk one byte at a time: minutes of CPU), a photo cut short and
# zero-filled back to its size (decoders turn zeros into pixels without an error), a WebP or HEIC
# that its plugin reads whole into memory. These checks read a bounded number of bytes, whatever
# the size of the file, before it is hashed or decoded.

#: The longest run of zero bytes a photo file may hold, by format. Compressed data (JPEG, PNG,
#: WebP, HEIF, GIF) never holds long runs of zeros; uncompressed TIFF and BMP hold zeros for black
#: pixels, so their limit is far larger (a fully black 16 MB stretch of a photo is not a photo).
ZERO_RUN_LIMITS = {"TIFF": 16 << 20, "BMP": 16 << 20}
ZERO_RUN_LIMIT = 1 << 20
#: Zero bytes at the very end of a JPEG after its data (without the end-of-image marker that a
#: complete JPEG has) are a file cut short and filled with zeros, whatever their number.
_SAMPLE = 4096
_SCAN_CHUNK = 1 << 20
#: Reads that opening an image (its header) may take: Pillow reads junk before a JPEG marker one
#: byte per read, so this bounds the time a header costs (normal headers take a few dozen).
HEADER_READ_CALLS = 100_000
#: Memory that decoding a WebP or HEIF file may take: their plugins hold the whole file (twice,
#: for WebP) besides the decoded pixels (4 bytes each), and cannot decode a reduced size. The
#: same bound as the largest PNGs (144 MP PNGs are indexed under 640 MB).
HELD_DECODE_LIMIT = 640 << 20


def _is_zeros(data: bytes) -> bool:
    return not data.strip(b"\0")


def _read_at(fh: BinaryIO, offset: int, size: int) -> bytes:
    fh.seek(offset)
    return fh.read(size)


def trailing_zeros(fh: BinaryIO, size: int, limit: int) -> int:
    """How many zero bytes end the file (counted up to ``limit`` + 1 MiB: reads are bounded)."""
    count, end = 0, size
    chunk_size = _SAMPLE  # most files end in data: one small read says so
    while end > 0 and count <= limit:
        start = max(0, end - chunk_size)
        chunk_size = _SCAN_CHUNK
        chunk = _read_at(fh, start, end - start)
        stripped = len(chunk.rstrip(b"\0"))
        count += len(chunk) - stripped
        if stripped:
            break
        end = start
    return count


def _zero_run_at(fh: BinaryIO, offset: int, size: int, limit: int) -> tuple[int, int]:
    """The run of zeros around ``offset`` (known to be zero), as (start, length), followed at
    most ``limit`` bytes each way."""
    start = end = offset
    while end < size and end - start <= limit:
        chunk = _read_at(fh, end, min(_SCAN_CHUNK, size - end))
        kept = len(chunk) - len(chunk.lstrip(b"\0"))
        end += kept
        if kept < len(chunk):
            break
    while start > 0 and end - start <= limit:
        begin = max(0, start - _SCAN_CHUNK)
        chunk = _read_at(fh, begin, start - begin)
        kept = len(chunk) - len(chunk.rstrip(b"\0"))
        start -= kept
        if kept < len(chunk):
            break
    return start, end - start


def zero_run_problem(fh: BinaryIO, size: int, image_format: str) -> str | None:
    """A run of zero bytes longer than the format allows (``ZERO_RUN_LIMITS``) where the image's
    data should be: the reason, or ``None``. Reads the end of the file and one small sample every
    half limit (a run of the limit's length cannot fall between two samples), so a 2 GB file
    costs a few MB of reads, not 2 GB."""
    limit = ZERO_RUN_LIMITS.get(image_format, ZERO_RUN_LIMIT)
    tail = trailing_zeros(fh, size, limit)
    if tail > limit:
        start = size - tail
        return _zero_reason(image_format, start, tail, size)
    step = limit // 2
    for offset in range(step, size - tail, step):
        if not _is_zeros(_read_at(fh, offset, min(_SAMPLE, size - offset))):
            continue
        start, length = _zero_run_at(fh, offset, size, limit)
        if length > limit:
            return _zero_reason(image_format, start, length, size)
    return None


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 10**9 else f"{n / 1e9:,.2f} GB"


def _zero_reason(image_format: str, start: int, length: int, size: int) -> str:
    if start + length >= size:
        return (f"damaged {image_format} file: it ends in {_megabytes(length)} or more of zero "
                "bytes, where a photo has image data (cut short and filled with zeros, or never "
                "written)")
    return (f"damaged {image_format} file: {_megabytes(length)} or more of zero bytes from byte "
            f"{start:,} where its image data should be")


def _webp_size(head: bytes) -> tuple[int, int] | None:
    """Canvas size from a WebP file's first 30 bytes (VP8X, VP8L or VP8 chunk)."""
    chunk = head[12:16]
    try:
        if chunk == b"VP8X":
            return (1 + int.from_bytes(head[24:27], "little"),
                    1 + int.from_bytes(head[27:30], "little"))
        if chunk == b"VP8L" and head[20:21] == b"\x2f":
            bits = int.from_bytes(head[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            return (int.from_bytes(head[26:28], "little") & 0x3FFF,
                    int.from_bytes(head[28:30], "little") & 0x3FFF)
    except (IndexError, ValueError):
        return None
    return None


def _heif_size(fh: BinaryIO) -> tuple[int, int] | None:
    """The largest image size (``ispe`` property) a HEIF file's header names, from its first
    MiB (where the ``meta`` box is), or ``None`` when none is found there."""
    head = _read_at(fh, 0, 1 << 20)
    best: tuple[int, int] | None = None
    at = head.find(b"ispe")
    while at >= 4 and at + 16 <= len(head):
        width = int.from_bytes(head[at + 8:at + 12], "big")
        height = int.from_bytes(head[at + 12:at + 16], "big")
        if best is None or width * height > best[0] * best[1]:
            best = (width, height)
        at = head.find(b"ispe", at + 4)
    return best


def held_memory_problem(fh: BinaryIO, size: int, image_format: str) -> str | None:
    """For WebP and HEIF, whose plugins read the whole file into memory and decode at full size:
    the reason when that would take more than ``HELD_DECODE_LIMIT``, found from the header
    without reading the file."""
    if image_format == "WEBP":
        dims = _webp_size(_read_at(fh, 0, 30))
        held = 2 * size  # Pillow reads the file and joins it to its first bytes: two copies
    elif image_format == "HEIF":
        dims = _heif_size(fh)
        held = 2 * size  # the file, and libheif's copy of it
    else:
        return None
    pixels = dims[0] * dims[1] if dims else 0
    need = held + 4 * pixels
    if need <= HELD_DECODE_LIMIT:
        return None
    what = f"a {dims[0]}x{dims[1]} " if dims else "a "
    return (f"{what}{image_format} file of {_megabytes(size)} would take about "
            f"{_megabytes(need)} of memory to decode (more than the "
            f"{_megabytes(HELD_DECODE_LIMIT)} any photo is allowed): not read")


#: Bytes a photo file may hold beyond what its pixels take uncompressed (8 bytes each, 16-bit
#: RGBA): previews, metadata, the video of a motion photo.
SIZE_SLACK = 64 << 20


def _header_size(fh: BinaryIO, image_format: str) -> tuple[int, int] | None:
    """The image size a file's header names, read with a bounded number of reads (``None``
    when the header does not say: decoding will tell why)."""
    if image_format == "WEBP":
        return _webp_size(_read_at(fh, 0, 30))
    if image_format == "HEIF":
        return _heif_size(fh)  # its plugin would read the whole file to open it
    fh.seek(0)
    try:
        with Image.open(_BoundedHeader(fh)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - any failure is decoding's to report, with its reason
        return None


def size_problem(fh: BinaryIO, size: int, image_format: str) -> str | None:
    """A file far larger than its pixels can take even uncompressed (plus ``SIZE_SLACK``): the
    rest is not image data, and is not hashed or decoded."""
    if size <= SIZE_SLACK:
        return None
    dims = _header_size(fh, image_format)
    if not dims:
        return None
    most = dims[0] * dims[1] * 8 + SIZE_SLACK
    if size <= most:
        return None
    return (f"a {dims[0]}x{dims[1]} image takes at most {_megabytes(most)}, but this "
            f"{image_format} file is {_megabytes(size)}: the rest is not image data (damaged or "
            "padded); not read")


def screen_image_file(fh: BinaryIO, size: int, image_format: str) -> None:
    """Bounded checks before a file is hashed or decoded (see above): raises ``ImageError``."""
    problem = zero_run_problem(fh, size, image_format) or held_memory_problem(
        fh, size, image_format) or size_problem(fh, size, image_format)
    fh.seek(0)
    if problem is not None:
        raise ImageError(problem)


class _BoundedHeader:
    """A file object that lets ``Image.open`` make at most ``HEADER_READ_CALLS`` reads: a
    header with megabytes of junk in it is refused instead of being skipped byte by byte.
    ``unbound()`` lifts the limit once the header is read (decoding reads in large blocks)."""

    def __init__(self, fh: BinaryIO):
        self._fh = fh
        self._calls = 0
        self._bounded = True

    def unbound(self) -> None:
        self._bounded = False

    def read(self, size: int = -1) -> bytes:
        if self._bounded:
            self._calls += 1
            if self._calls > HEADER_READ_CALLS:
                raise ImageError(f"damaged image header (more than {HEADER_READ_CALLS:,} reads "
                                 "without finding the image: junk or zeros where it should be)")
        return self._fh.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


_EOI = b"\xff\xd9"


class _Spliced:
    """The first ``length`` bytes of ``fh`` followed by ``suffix``, as a read-only file."""

    def __init__(self, fh: BinaryIO, length: int, suffix: bytes):
        self._fh, self._length, self._suffix = fh, length, suffix
        self._pos = 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        end = self._length + len(self._suffix)
        self._pos = max(0, {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: end}[whence]
                        + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        end = self._length + len(self._suffix)
        if size is None or size < 0:
            size = end - self._pos
        size = max(0, min(size, end - self._pos))
        out = b""
        if self._pos < self._length and size:
            self._fh.seek(self._pos)
            out = self._fh.read(min(size, self._length - self._pos))
        rest = size - len(out)
        if rest > 0:
            at = self._pos + len(out) - self._length
            out += self._suffix[at:at + rest]
        self._pos += len(out)
        return out


def _file_size(fh: BinaryIO) -> int:
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is an OSError
        return fh.seek(0, os.SEEK_END)


def _jpeg_pixels(source: Any) -> bytes | None:
    """The pixels of a JPEG decoded at half size, or ``None`` when it does not decode."""
    try:
        with Image.open(source, formats=["JPEG", "MPO"]) as image:
            image.draft(image.mode, (max(1, image.size[0] // 2), max(1, image.size[1] // 2)))
            with _decoding_memory(image):
                image.load()
                return image.tobytes()
    except _DECODE_ERRORS:
        return None
    except Image.DecompressionBombError:
        return None


def _jpeg_data_complete(fh: BinaryIO, length: int) -> bool:
    """Whether the first ``length`` bytes of a JPEG hold all of its image data (only its
    end-of-image marker, or nothing, is missing after them). Decoded once with an end marker
    added (the decoder fills missing data with zero bits, without an error) and once with other
    bytes before that marker: complete data skips them while looking for the marker, data cut
    short decodes them as pixels."""
    ended = _jpeg_pixels(_Spliced(fh, length, _EOI))
    if ended is None:
        return False
    padded = _jpeg_pixels(_Spliced(fh, length, b"\x55" * _SAMPLE + _EOI))
    return padded == ended


def jpeg_zero_fill_problem(fh: BinaryIO, size: int) -> str | None:
    """A JPEG that ends in zero bytes without its end-of-image marker before them, and whose data
    before the zeros is not complete: cut short and zero-filled back to its size."""
    zeros = trailing_zeros(fh, size, ZERO_RUN_LIMIT)
    if zeros == 0:
        return None
    end = size - zeros
    if end >= 1 and _read_at(fh, end - 1, 1) == b"\xff":
        end, zeros = end + 1, zeros - 1  # 0xFF 0x00 is a 0xFF byte of image data
        if zeros == 0:
            return None
    if end >= 2 and _read_at(fh, end - 2, 2) == _EOI:
        return None  # the whole image, then padding
    try:
        if _jpeg_data_complete(fh, end):
            return None
    finally:
        fh.seek(0)
    return (f"damaged JPEG file: cut short after {end:,} bytes and filled with zeros to its full "
            f"size ({zeros:,} zero bytes where image data should be)")


@contextmanager
def _opened(source: str | os.PathLike | BinaryIO) -> Iterator[Image.Image]:
    """``source`` (a path, or a file from ``open_image_file``) opened lazily (header only), every
    failure turned into ``ImageError``. A path is opened through ``open_image_file`` and closed
    at the end; a file object is left open (rewound, for the caller's next use)."""
    fh = open_image_file(source) if isinstance(source, (str, os.PathLike)) else source
    bounded = _BoundedHeader(fh)
    try:
        fh.seek(0)
        try:
            image = Image.open(bounded)
            bounded.unbound()
        except UnidentifiedImageError:
            raise ImageError("not an image (unrecognised or corrupt header)") from None
        except Image.DecompressionBombError as exc:
            raise ImageError(_bomb_reason(exc)) from None
        except _DECODE_ERRORS as exc:
            raise ImageError(_decode_error_reason(exc, "header")) from None
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageError(f"invalid image size {width}x{height}")
        if width * height > MAX_PIXELS:
            raise ImageError(
                f"refused as a possible decompression bomb: {width}x{height} pixels "
                f"exceeds the limit of {MAX_PIXELS} pixels"
            )
        yield image
    finally:
        if fh is not source:
            fh.close()
        elif not fh.closed:
            fh.seek(0)


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


#: EXIF tags of the capture time (Exif IFD, then IFD0), kept as text for ``capture_time``.
_TIME_TAGS = {"DateTimeOriginal": 0x9003, "OffsetTimeOriginal": 0x9011,
              "SubSecTimeOriginal": 0x9291, "DateTimeDigitized": 0x9004,
              "OffsetTimeDigitized": 0x9012, "SubSecTimeDigitized": 0x9292}
_IFD0_TIME_TAGS = {"DateTime": 0x0132, "OffsetTime": 0x9010, "SubSecTime": 0x9290}


def time_tags(image: Image.Image, exif: Image.Exif | None) -> dict[str, str] | None:
    """The photo's capture-time tags as text (EXIF, and its XMP packet as ``"xmp"``), or
    ``None`` when it has none; never raises on odd EXIF."""
    tags: dict[str, str] = {}
    try:
        if exif is not None:
            exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
            for name, tag in _TIME_TAGS.items():
                text = _exif_text(exif_ifd.get(tag))
                if text:
                    tags[name] = text
            for name, tag in _IFD0_TIME_TAGS.items():
                text = _exif_text(exif.get(tag)) or _exif_text(exif_ifd.get(tag))
                if text:
                    tags[name] = text
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
        text = _exif_text(xmp[:65536] if isinstance(xmp, (bytes, str)) else None)
        if text:
            tags["xmp"] = text
    except Exception as exc:  # noqa: BLE001 - odd EXIF only costs the capture time
        log.debug("unusable time tags: %s", exc)
    return tags or None


def _metadata(image: Image.Image, exif: Image.Exif | None,
              size: tuple[int, int] | None = None) -> ImageMetadata:
    """``size`` is the size in the file's header when ``image`` was decoded smaller."""
    width, height = size or image.size
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
            log.debug("unusable EXIF: %s", exc)
    return ImageMetadata(width, height, image.format, taken_at, camera, lat, lon,
                         time_tags(image, exif))


def read_metadata(path: str | os.PathLike | BinaryIO) -> ImageMetadata:
    """Pixel size (after EXIF orientation), format, date taken, camera and GPS, read from the
    header without decoding the pixels (a PNG whose EXIF follows its pixels is decoded)."""
    with _opened(path) as image:
        with _decoding_memory(image):
            exif = _exif(image)
        return _metadata(image, exif)


class _MemoryBudget:
    """Bytes of decoded pixels that the decoding threads may hold at once. A decode larger than
    the whole budget waits until it is alone, so two huge photos are never decoded together
    while small ones still decode side by side."""

    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        nbytes = max(0, min(nbytes, self.limit))
        with self._changed:
            self._changed.wait_for(lambda: self._used + nbytes <= self.limit)
            self._used += nbytes
        try:
            yield
        finally:
            with self._changed:
                self._used -= nbytes
                self._changed.notify_all()


#: See ``_MemoryBudget``; with it, indexing stays under ~800 MB whatever the photos (the largest
#: photo under MAX_PIXELS takes about 700 MB decoded, at 4 bytes per pixel).
DECODE_MEMORY = _MemoryBudget(512 * 2**20)


def _decoding_memory(image: Image.Image) -> contextlib.AbstractContextManager[None]:
    # Pillow holds 1 to 4 bytes per pixel (RGB is stored as 4); count 4.
    return DECODE_MEMORY.reserve(image.size[0] * image.size[1] * 4)


def _scale_16_bit(image: Image.Image) -> Image.Image:
    """16/32-bit grey (``I;16``, ``I``, ``F``) to 8-bit ``L`` by scaling, not clipping. Works in
    place on one copy of the pixels (4 bytes each at most), never in float64."""
    array = np.array(image, dtype=np.float32 if image.mode == "F" else None)
    peak = float(array.max()) if array.size else 0.0
    if peak > 255.0:
        scale = 255.0 / max(65535.0, peak)
        if array.dtype.kind == "f":
            array *= np.float32(scale)
        else:  # integer pixels: divide in place (uint16 stays uint16, int32 stays int32)
            np.floor_divide(array, max(1, round(1 / scale)), out=array)
    np.clip(array, 0, 255, out=array)
    return Image.fromarray(array.astype(np.uint8), mode="L")


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
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


#: Modes that ``Image.reduce`` shrinks without a full-size copy (it refuses palette, 1-bit and
#: 16-bit grey, and copies images with alpha to premultiply them).
_REDUCE_IN_PLACE = frozenset({"L", "RGB", "RGBX", "I", "F", "CMYK", "YCbCr", "LAB", "HSV"})
_STRIP_PIXELS = 1 << 20


def _reduce(image: Image.Image, min_side: int) -> Image.Image:
    """``image`` shrunk by the largest whole factor that keeps its shorter side >= ``min_side``
    (box filter, like JPEG draft decoding), without another full-size copy: other modes are
    converted (``to_rgb``; 16-bit grey to 32-bit, scaled later as a whole) and shrunk one strip
    of rows at a time."""
    factor = min(image.size) // min_side
    if factor < 2:
        return image
    if image.mode in _REDUCE_IN_PLACE:
        return image.reduce(factor)
    widen = (lambda part: part.convert("I")) if image.mode.startswith("I;16") else to_rgb
    width, height = image.size
    step = factor * max(1, _STRIP_PIXELS // (width * factor))
    out: Image.Image | None = None
    for top in range(0, height, step):
        part = widen(image.crop((0, top, width, min(height, top + step)))).reduce(factor)
        if out is None:
            out = Image.new(part.mode, ((width + factor - 1) // factor,
                                        (height + factor - 1) // factor))
        out.paste(part, (0, top // factor))
    assert out is not None
    return out


def _decode(image: Image.Image, min_side: int | None) -> tuple[Image.Image, Image.Exif | None]:
    """Decode an opened image once, check that it decodes completely, shrink it in place to
    ``min_side`` (JPEG in the DCT domain, other formats right after decoding) and return it as
    RGB with EXIF orientation applied, together with its EXIF."""
    if min_side and image.format in ("JPEG", "MPO"):
        # DCT scaling keeps both sides >= min_side, hence the shorter one too, whatever the
        # orientation turns out to be.
        image.draft(image.mode, (min_side, min_side))
    try:
        with _decoding_memory(image):
            # Decode first, then read EXIF: for PNG, getexif() may decode, and its errors must
            # not be lost (a damaged PNG was once accepted that way, with black rows).
            image.load()
            exif = _exif(image)
            # Only the first frame of an animated GIF/WebP is the photo.
            decoded = to_rgb(_reduce(image, min_side) if min_side else image)
    except Image.DecompressionBombError as exc:
        raise ImageError(_bomb_reason(exc)) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(_decode_error_reason(exc)) from None
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
    return decoded, exif


def _bomb_reason(exc: BaseException) -> str:
    """Pillow's decompression-bomb error in the words of our own check."""
    found = re.search(r"\((\d+) pixels\) exceeds limit of (\d+)", str(exc))
    if not found:
        return f"refused as a possible decompression bomb: {exc}"
    return (f"refused as a possible decompression bomb: {found[1]} pixels exceeds the limit of "
            f"{found[2]} pixels")


def _decode_error_reason(exc: BaseException, part: str = "data") -> str:
    """One reason for the user from Pillow's many ways of saying a file is cut or damaged."""
    reason = str(exc) or type(exc).__name__
    if reason.startswith("image file is truncated"):
        detail = reason.removeprefix("image file is truncated").strip()
        return f"truncated file {detail}".strip()
    if reason.lower() == "truncated file read":
        return "truncated file"
    if "truncated" in reason.lower():
        return f"truncated file ({reason})"
    checksum = re.search(r"checksum in b'(\w+)'", reason)
    if checksum:  # Pillow: "broken PNG file (bad header checksum in b'IDAT')"
        return f"corrupt image {part} (checksum error in its {checksum[1]} chunk)"
    return f"corrupt image {part} ({reason})"


def _check_png_checksums(fh: BinaryIO) -> None:
    """Every PNG chunk carries a CRC; a damaged one is refused even where the pixels would
    still decode (Pillow does not check the image data's checksums while decoding)."""
    fh.seek(0)
    try:
        with Image.open(fh, formats=["PNG"]) as probe:
            probe.verify()
    except _DECODE_ERRORS as exc:
        raise ImageError(_decode_error_reason(exc)) from None
    finally:
        fh.seek(0)


def load_rgb(path: str | os.PathLike | BinaryIO, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB image as it should be shown (EXIF orientation applied).

    With ``min_side``, the image is shrunk to the smallest size whose shorter side is still
    >= ``min_side``: JPEGs in the DCT domain (1/2, 1/4, 1/8), other formats by a whole factor
    right after decoding; ``None`` gives full resolution.
    Raises ``ImageError`` for anything that is not a usable image.
    """
    return load_rgb_with_metadata(path, min_side)[0]


def load_rgb_with_metadata(path: str | os.PathLike | BinaryIO,
                           min_side: int | None = None) -> tuple[Image.Image, ImageMetadata]:
    """``load_rgb`` and ``read_metadata`` from one open of the file (what indexing needs).
    ``path`` may be a file from ``open_image_file`` (indexing hashes and decodes one open file).
    The whole image is decoded and checked (PNG checksums too): damaged data raises
    ``ImageError``, never a photo with grey or black rows."""
    with _opened(path) as image:
        fp = getattr(image, "fp")  # noqa: B009 - only ImageFile has fp
        raw = cast(BinaryIO, getattr(fp, "_fh", fp))
        if image.format == "PNG":
            _check_png_checksums(raw)
        is_jpeg = image.format in ("JPEG", "MPO")
        size = _file_size(raw) if is_jpeg else 0
        if is_jpeg:
            problem = jpeg_zero_fill_problem(raw, size)
            if problem is not None:
                raise ImageError(problem)
        header_size = image.size
        try:
            decoded, exif = _decode(image, min_side)
        except ImageError as exc:
            # A JPEG whose data is all there but whose end marker is missing decodes whole: a
            # photo (a camera left 33 bytes after its last row instead of the marker).
            if not (is_jpeg and str(exc).startswith("truncated")
                    and _jpeg_data_complete(raw, size)):
                raise
            with Image.open(_Spliced(raw, size, _EOI)) as whole:  # type: ignore[arg-type]
                decoded, exif = _decode(whole, min_side)
        metadata = _metadata(image, exif, header_size)
    # Even when no conversion made a new image, ``decoded`` holds its pixels itself: Pillow
    # memory-maps only files it opened by name, and ``_opened`` gives it a file object.
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


def create_thumbnail(library: Any, path: str | os.PathLike | BinaryIO,
                     content_hash: str) -> tuple[Path, ImageMetadata]:
    """Decode ``path`` once (draft to the thumbnail size), write its thumbnail and return its
    location with the photo's metadata. Raises ``ImageError`` for unusable files."""
    image, metadata = load_rgb_with_metadata(path, min_side=THUMBNAIL_SHORT_SIDE)
    return write_thumbnail(image, thumbnail_path(library, content_hash)), metadata


def load_thumbnail(library: Any, content_hash: str) -> Image.Image:
    """The cached thumbnail as RGB; raises ``ImageError`` when it is absent or damaged."""
    return load_rgb(thumbnail_path(library, content_hash))


def load_model_input(library: Any, content_hash: str, paths: Iterable[str | os.PathLike],
                     min_side: int | None) -> Image.Image:
    """What a model sees of one content: its cached thumbnail (shorter side 256, written by
    indexing) when readable, else the first readable of ``paths`` decoded with ``min_side``
    (JPEG draft scaling), so one full-size decode serves both the thumbnail and the model.
    Raises ``ImageError`` with the last reason when nothing can be read."""
    try:
        return load_thumbnail(library, content_hash)
    except ImageError as exc:
        reason = str(exc)
    except OSError as exc:  # e.g. a thumbnail removed while it was read
        reason = f"cannot read file: {exc.strerror or exc}"
    for path in paths:
        try:
            return load_rgb(path, min_side=min_side)
        except ImageError as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"cannot read file: {exc.strerror or exc}"
    raise ImageError(reason)
