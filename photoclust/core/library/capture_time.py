"""When a photo was taken: its capture time, read from the photo, its file name or its file.

Sources, best first:

1. EXIF ``DateTimeOriginal`` with ``OffsetTimeOriginal`` (the time zone, EXIF 2.31) and
   ``SubSecTimeOriginal``; then ``DateTimeDigitized`` (and its offset and sub-seconds); then the
   XMP packet's ``exif:DateTimeOriginal``, ``photoshop:DateCreated`` or ``xmp:CreateDate``; then
   IFD0's ``DateTime`` (when the file was last written by the camera or an editor).
2. A time in the file name, as phones and cameras write it (``FILE_NAME_PATTERNS``):
   ``IMG_20230714_181502.jpg``, ``PXL_20230714_181502123.jpg``, ``Screenshot_2023-07-14-18-15-02``,
   ``2023-07-14 18.15.02.jpg``, WhatsApp's ``IMG-20230714-WA0001.jpg`` (a date only).
3. The file's modification time, marked ``"file time"``: a guess (copies and downloads reset it).

The time is kept as the photo says it: a local wall-clock time, with its UTC offset when the
photo gives one. A time without an offset is never shifted into another zone. Times before 1900
or in the future, and text that is not a time, are refused with a sentence (``CaptureTime.note``)
and the next source is tried: never an exception.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: Values of ``Photo.taken_source``.
EXIF = "exif"
FILE_NAME = "file name"
FILE_TIME = "file time"

EARLIEST_YEAR = 1900
#: A capture time later than now by more than this is refused (clock or parsing garbage); the
#: margin allows for a camera whose zone is ahead of this computer's.
FUTURE_MARGIN = timedelta(days=1)
#: Largest UTC offset in use (+14:00, Kiribati); -12:00 is the smallest.
_MAX_OFFSET_MIN = 14 * 60


@dataclass(frozen=True)
class CaptureTime:
    """``taken``: local wall-clock time as the photo says it (naive); ``offset_minutes``: its UTC
    offset when known; ``source``: ``"exif"``, ``"file name"`` or ``"file time"`` (``None`` with
    ``taken`` when nothing gave a time); ``note``: a sentence when a source was refused or gave
    only a date."""

    taken: datetime | None
    offset_minutes: int | None = None
    source: str | None = None
    note: str | None = None
    #: The source gave a date without a time of day (``taken`` is at midnight).
    date_only: bool = False

    def iso(self) -> str | None:
        """ISO 8601, with the offset when known: ``2023-07-14T18:15:02+02:00``."""
        return iso_time(self.taken, self.offset_minutes)


def iso_time(taken: datetime | None, offset_minutes: int | None) -> str | None:
    if taken is None:
        return None
    if offset_minutes is None:
        return taken.isoformat()
    return taken.replace(tzinfo=timezone(timedelta(minutes=offset_minutes))).isoformat()


class _Refused(ValueError):
    """A time that is there but cannot be used; the message says why."""


def _checked(value: datetime, what: str, now: datetime | None = None) -> datetime:
    now = now or datetime.now()
    if value.year < EARLIEST_YEAR:
        raise _Refused(f"{what} says {value:%Y-%m-%d}, before {EARLIEST_YEAR}: not used")
    if value > now + FUTURE_MARGIN:
        raise _Refused(f"{what} says {value:%Y-%m-%d}, in the future: not used")
    return value


_EXIF_TIME = re.compile(
    r"^\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?\s*$")


def _parse_offset(text: str | None) -> int | None:
    """``"+02:00"``, ``"-0530"``, ``"Z"`` to minutes; ``None`` for anything else."""
    if not text:
        return None
    text = text.strip()
    if text == "Z":
        return 0
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if int(match.group(3)) >= 60 or minutes > _MAX_OFFSET_MIN:
        return None
    return -minutes if match.group(1) == "-" else minutes


def _microseconds(digits: str | None) -> int:
    digits = re.sub(r"\D", "", digits or "")
    return int((digits + "000000")[:6]) if digits else 0


def parse_time_text(text: str, what: str, subsec: str | None = None,
                    offset: str | None = None) -> tuple[datetime, int | None, bool]:
    """An EXIF or XMP time (``2023:07:14 18:15:02``, ``2023-07-14T18:15:02.5+02:00``) as
    ``(local time, offset minutes or None, date_only)``; raises ``_Refused`` with the reason."""
    # Cameras without a set clock write the time fields blank: "2023:07:14   :  :  ".
    match = _EXIF_TIME.match(re.sub(r"[\s:]+$", "", text))
    if not match:
        raise _Refused(f"{what} is not a time ({text[:40]!r}): not used")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    date_only = hour is None
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                         int(second or 0), _microseconds(fraction or subsec))
    except ValueError:
        raise _Refused(f"{what} is not a valid time ({text[:40]!r}): not used") from None
    zone_minutes = _parse_offset(zone) if zone else _parse_offset(offset)
    return _checked(value, what), None if date_only else zone_minutes, date_only


_XMP_TIME_NAMES = ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate")


def _xmp_times(xmp: str) -> list[tuple[str, str]]:
    found = []
    for name in _XMP_TIME_NAMES:
        escaped = re.escape(name)
        match = (re.search(escaped + r"""\s*=\s*["']([^"']*)["']""", xmp)
                 or re.search(r"<" + escaped + r">\s*([^<]*?)\s*</" + escaped + ">", xmp))
        if match:
            found.append((f"XMP {name}", match.group(1)))
    return found


def exif_capture_time(tags: dict[str, str] | None) -> CaptureTime:
    """The capture time from the tags ``imaging.time_tags`` read (EXIF and XMP), or a
    ``CaptureTime`` without a time whose ``note`` says why none was usable."""
    if not tags:
        return CaptureTime(None)
    candidates: list[tuple[str, str, str | None, str | None]] = []
    for suffix in ("Original", "Digitized"):
        text = tags.get(f"DateTime{suffix}")
        if text:
            candidates.append((f"EXIF DateTime{suffix}", text, tags.get(f"SubSecTime{suffix}"),
                               tags.get(f"OffsetTime{suffix}")))
    for what, text in _xmp_times(tags.get("xmp", "")):
        candidates.append((what, text, None, None))
    if tags.get("DateTime"):
        candidates.append(("EXIF DateTime", tags["DateTime"], tags.get("SubSecTime"),
                           tags.get("OffsetTime")))
    notes: list[str] = []
    date_only: CaptureTime | None = None
    for what, text, subsec, offset in candidates:
        try:
            value, minutes, only_date = parse_time_text(text, what, subsec, offset)
        except _Refused as exc:
            notes.append(str(exc))
            continue
        if only_date:
            if date_only is None:
                date_only = CaptureTime(value, None, EXIF, f"{what} gives only a date",
                                        date_only=True)
            continue
        return CaptureTime(value, minutes, EXIF, "; ".join(notes) or None)
    if date_only is not None:
        return CaptureTime(date_only.taken, None, EXIF,
                           "; ".join([*notes, date_only.note or ""]).strip("; "), True)
    return CaptureTime(None, note="; ".join(notes) or None)


#: File name patterns with a capture time, as ``(example, regex)``; the groups are year, month,
#: day and optionally hour, minute, second and milliseconds. Tried in order.
FILE_NAME_PATTERNS: list[tuple[str, re.Pattern]] = [
    # Android, Pixel, Samsung, many cameras: IMG_20230714_181502, PXL_20230714_181502123,
    # VID_20230714_181502, 20230714_181502, Screenshot_20230714-181502
    ("PXL_20230714_181502123.jpg", re.compile(
        r"(?<!\d)(\d{4})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})(\d{3})?(?!\d)")),
    # Screenshot_2023-07-14-18-15-02, 2023-07-14 18.15.02, Screenshot 2023-07-14 at 18.15.02,
    # signal-2023-07-14-181502, 2023-07-14_18-15-02
    ("Screenshot 2023-07-14 at 18.15.02.png", re.compile(
        r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[ _T-]|\sat\s)(\d{2})[.:_-]?(\d{2})[.:_-]?(\d{2})"
        r"(?:[.,](\d{3}))?(?!\d)")),
    # WhatsApp: IMG-20230714-WA0001 (a date only)
    ("IMG-20230714-WA0001.jpg", re.compile(
        r"(?:IMG|VID|PTT|AUD|STK|DOC)-(\d{4})(\d{2})(\d{2})-WA\d+", re.IGNORECASE)),
]


def file_name_time(path: str, now: datetime | None = None) -> CaptureTime:
    """The time in the file name (``FILE_NAME_PATTERNS``), or a ``CaptureTime`` without one."""
    name = os.path.basename(path)
    notes = []
    for _example, pattern in FILE_NAME_PATTERNS:
        match = pattern.search(name)
        if not match:
            continue
        numbers = [int(g) if g else None for g in match.groups()]
        year, month, day = numbers[:3]
        hour, minute, second, millis = (numbers[3:] + [None] * 4)[:4]
        try:
            value = datetime(year or 0, month or 0, day or 0, hour or 0, minute or 0,
                             second or 0, (millis or 0) * 1000)
            value = _checked(value, "the file name", now)
        except _Refused as exc:
            notes.append(str(exc))
            continue
        except ValueError:
            continue  # digits that only look like a date
        if hour is None:
            return CaptureTime(value, None, FILE_NAME, "the file name gives only a date", True)
        return CaptureTime(value, None, FILE_NAME)
    return CaptureTime(None, note="; ".join(notes) or None)


def file_time(mtime_ns: int) -> CaptureTime:
    """The file's modification time in this computer's zone (with that zone's offset then):
    a guess, marked ``"file time"``."""
    moment = datetime.fromtimestamp(mtime_ns / 1e9).astimezone()
    offset = moment.utcoffset()
    minutes = None if offset is None else int(offset.total_seconds() // 60)
    return CaptureTime(moment.replace(tzinfo=None, microsecond=0), minutes, FILE_TIME,
                       "no time in the photo or its name: the file's modification time is "
                       "a guess")


def capture_time(tags: dict[str, str] | None, path: str, mtime_ns: int | None) -> CaptureTime:
    """The best capture time for a photo (module docstring), never raising."""
    found = exif_capture_time(tags)
    notes = [found.note] if found.note else []
    if found.taken is not None and not found.date_only:
        return found
    from_name = file_name_time(path)
    if found.taken is not None:  # EXIF gave only a date: a name with that date and a time wins
        if (from_name.taken is not None and not from_name.date_only
                and from_name.taken.date() == found.taken.date()):
            return CaptureTime(from_name.taken, None, FILE_NAME, found.note)
        return found
    if from_name.taken is not None:
        return CaptureTime(from_name.taken, None, FILE_NAME,
                           "; ".join([*notes, *([from_name.note] if from_name.note else [])])
                           or None, from_name.date_only)
    if from_name.note:
        notes.append(from_name.note)
    if mtime_ns is None or mtime_ns <= 0:
        return CaptureTime(None, note="; ".join(notes) or None)
    guess = file_time(mtime_ns)
    try:
        _checked(guess.taken or datetime.now(), "the file's modification time")
    except _Refused as exc:
        notes.append(str(exc))
        return CaptureTime(None, note="; ".join(notes))
    return CaptureTime(guess.taken, guess.offset_minutes, FILE_TIME,
                       "; ".join([*notes, guess.note or ""]).strip("; "))
