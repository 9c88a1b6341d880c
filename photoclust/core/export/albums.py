"""Exporting clusters as albums: one folder per cluster, a manifest, optional XMP sidecars.

Originals are only ever read: a copy goes through a temporary file in the album folder and is
renamed into place, a hard link or symbolic link points at the original, and nothing that already
exists in the output folder is overwritten. An interrupted export (disk full, permission refused,
Ctrl-C, a crash) leaves no half-written file, and running it again finishes it: files already
exported identically are recognised and skipped, so a rerun is cheap and creates no duplicates.
Copies are checked against the indexed hash; see docs/reliability.md, "Export".
"""
from __future__ import annotations

import csv
import errno
import filecmp
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

from sqlalchemy import select

from photoclust import __version__
from photoclust.core.events.queries import event_albums, places_and_events
from photoclust.core.export.duplicates_choice import left_out_of_albums
from photoclust.core.faces.read import PhotoPeople, named_faces_of_photos
from photoclust.core.files import EXPORT_TEMP_PREFIX, remove_quietly, replaced_atomically
from photoclust.core.jobs import Job, JobContext, JobError
from photoclust.core.library.db import Library
from photoclust.core.library.exports import (
    register_export,
    remove_export_temp_files,
    sweep_killed_exports,
    unregister_export,
)
from photoclust.core.library.folders import indexed_folders
from photoclust.core.library.models import Assignment, Cluster, Photo, PhotoStatus, Source

log = logging.getLogger(__name__)

EXPORT_MODES = ("copy", "hardlink", "symlink")
MANIFEST_CSV = "manifest.csv"
MANIFEST_JSON = "manifest.json"
MANIFEST_FIELDS = ("photo_id", "exported_path", "original_path", "cluster_id", "cluster_name",
                   "label_source", "xmp_path")
#: Prefix of the temporary files a copy goes through; a leftover one is never a finished photo.
TEMP_PREFIX = EXPORT_TEMP_PREFIX
#: Space held in OUTDIR while the photos are written, freed to write the manifest even when the
#: disk fills up (a leftover one, after a kill, is swept with the other temporary files).
MANIFEST_RESERVE = TEMP_PREFIX + "manifest-reserve"
_COPY_CHUNK = 1 << 20

# Windows refuses these as file names, with or without an extension, in any letter case.
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
    | {f"COM{c}" for c in "\u00b9\u00b2\u00b3"} | {f"LPT{c}" for c in "\u00b9\u00b2\u00b3"}
)
# Separators, characters Windows forbids, and control characters (C0, DEL, C1).
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f-\x9f\u2028\u2029]')
#: Characters that change how a name is displayed without being seen: bidirectional overrides,
#: embeddings, isolates and marks (U+202E shows "photo\u202egpj.exe" as "photoexe.jpg"), and
#: zero-width spaces and the BOM. Stripped from folder and file names.
_INVISIBLE_CHARS = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069"
                              "\ufeff]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Longest folder or file name in UTF-8 bytes: well under the 255 of common file systems, so the
#: " (2)" suffix and the ".xmp" sidecar name still fit, and paths stay short enough for Windows.
MAX_NAME_BYTES = 120
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def safe_name(name: str, fallback: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` as one path component that is valid and harmless on Linux, macOS and Windows.

    Separators and forbidden characters become ``_``; bidirectional controls and other invisible
    characters are removed (``_INVISIBLE_CHARS``); leading dots and spaces (hidden files,
    ``..``) and trailing dots and spaces (which Windows drops) are stripped; Windows device names
    (``CON``, ``com1.txt``) get a ``_`` appended to their stem; overlong names are cut at
    ``max_bytes`` of UTF-8, keeping the extension. An empty result becomes ``fallback``.
    """
    text = unicodedata.normalize("NFC", name)
    text = _INVISIBLE_CHARS.sub("", text)
    text = _UNSAFE_CHARS.sub("_", text)
    text = text.strip(" .")
    if not text:
        text = fallback
    stem, dot, ext = text.partition(".")
    if stem.rstrip(" ").upper() in _WINDOWS_RESERVED:
        text = f"{stem}_{dot}{ext}"
    if len(text.encode("utf-8")) > max_bytes:
        root, suffix = os.path.splitext(text)
        if len(suffix.encode("utf-8")) > 16:
            root, suffix = text, ""
        text = _truncate_utf8(root, max_bytes - len(suffix.encode("utf-8"))).rstrip(" .") + suffix
    return text or fallback


def _with_counter(name: str, counter: int, keep_extension: bool) -> str:
    """``name (counter)``, before the extension for files, within ``MAX_NAME_BYTES``."""
    root, ext = os.path.splitext(name) if keep_extension else (name, "")
    tail = f" ({counter}){ext}"
    return _truncate_utf8(root, MAX_NAME_BYTES - len(tail.encode("utf-8"))).rstrip(" .") + tail


def _fold(name: str) -> str:
    """Key under which two names clash on a case-insensitive file system (Windows, macOS)."""
    return unicodedata.normalize("NFC", name).casefold()


def album_folder_names(clusters: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Folder name per cluster id: safe, and unique even where letter case is ignored.

    Clusters are taken in id order so that the same library always gives the same names (a rerun
    finds its earlier export); a clash gets `` (2)``, `` (3)``, ... appended.
    """
    names: dict[int, str] = {}
    taken: set[str] = set()
    for cluster_id, cluster_name in sorted(clusters):
        base = safe_name(cluster_name or "", fallback=f"cluster-{cluster_id}")
        candidate, counter = base, 1
        while _fold(candidate) in taken or _fold(candidate) in (_fold(MANIFEST_CSV),
                                                                _fold(MANIFEST_JSON)):
            counter += 1
            candidate = _with_counter(base, counter, keep_extension=False)
        taken.add(_fold(candidate))
        names[cluster_id] = candidate
    return names


#: Tag trees separate levels with ``|`` (``lr:hierarchicalSubject``: Lightroom, darktable) or
#: ``/`` (``digiKam:TagsList``; some readers split hierarchicalSubject on it too) and have no
#: escape for them: inside a name they become look-alikes, so each name stays one tag.
_TREE_SEPARATORS = str.maketrans({"|": "\u2223", "/": "\u2215"})


def xmp_sidecar(keyword: str, people: PhotoPeople | None = None, city: str | None = None,
                country: str | None = None, event: str | None = None) -> str:
    """An XMP sidecar that tags a photo with ``keyword``.

    ``dc:subject`` is the flat keyword list every XMP reader knows (digiKam, darktable, Lightroom,
    exiftool) and holds the name exactly (control characters, which XML cannot hold, become
    spaces). ``lr:hierarchicalSubject`` (``photoclust|<name>``) and ``digiKam:TagsList``
    (``photoclust/<name>``) put it under a ``photoclust`` parent tag so the albums stay grouped
    in tag trees; there ``|`` and ``/`` inside the name show as the look-alikes ``\u2223`` and
    ``\u2215`` (no reader has an escape for its separator), so a name is never split into levels.

    With ``people`` (the named people in the photo, docs/people.md), their names are keywords too
    (``People|<name>``, digiKam's ``People/<name>``) and their faces MWG face regions
    (``mwg-rs:Regions``, read by digiKam, Lightroom and exiftool), in the upright photo.
    ``city`` and ``country`` (the photo's place) go in ``photoshop:City`` and
    ``photoshop:Country``; ``event`` (its event's name) is one more keyword (docs/places.md).
    """
    keyword = _CONTROL_CHARS.sub(" ", keyword)
    if not keyword.strip():
        keyword = "photoclust"
    subject = escape(keyword)
    leaf = escape(keyword.translate(_TREE_SEPARATORS))
    person_names = list(dict.fromkeys(_CONTROL_CHARS.sub(" ", n) for n, _ in people.faces)) \
        if people else []
    names = "".join(f"<rdf:li>{escape(n)}</rdf:li>" for n in person_names if n != keyword)
    lr_people = "".join(f"<rdf:li>People|{escape(n.translate(_TREE_SEPARATORS))}</rdf:li>"
                        for n in person_names)
    dk_people = "".join(f"<rdf:li>People/{escape(n.translate(_TREE_SEPARATORS))}</rdf:li>"
                        for n in person_names)
    event = _CONTROL_CHARS.sub(" ", event or "").strip()
    if event and event != keyword:
        subject += f"</rdf:li><rdf:li>{escape(event)}"
    place = "".join(
        f"   <photoshop:{tag}>{escape(_CONTROL_CHARS.sub(' ', value))}</photoshop:{tag}>\n"
        for tag, value in (("City", city), ("Country", country)) if value)
    photoshop = '\n    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"' if place else ""
    regions = people is not None and people.width > 0 and people.height > 0
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="photoclust {escape(__version__)}">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"\n'
        f'    xmlns:digiKam="http://www.digikam.org/ns/1.0/"{_MWG_NAMESPACES if regions else ""}'
        f'{photoshop}>\n'
        f'   <dc:subject><rdf:Bag><rdf:li>{subject}</rdf:li>{names}</rdf:Bag></dc:subject>\n'
        '   <lr:hierarchicalSubject><rdf:Bag>'
        f'<rdf:li>photoclust|{leaf}</rdf:li>{lr_people}</rdf:Bag></lr:hierarchicalSubject>\n'
        '   <digiKam:TagsList><rdf:Seq>'
        f'<rdf:li>photoclust/{leaf}</rdf:li>{dk_people}</rdf:Seq></digiKam:TagsList>\n'
        f'{_mwg_regions(people) if people and regions else ""}'
        f'{place}'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="w"?>\n'
    )


_MWG_NAMESPACES = ('\n    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"'
                   '\n    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"'
                   '\n    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"')


def _mwg_regions(people: PhotoPeople) -> str:
    """MWG face regions: centre and size as fractions of the upright photo."""
    items = []
    for name, (left, top, w, h) in people.faces:
        x = (left + w / 2) / people.width
        y = (top + h / 2) / people.height
        items.append(
            '      <rdf:li rdf:parseType="Resource">'
            f'<mwg-rs:Name>{escape(_CONTROL_CHARS.sub(" ", name))}</mwg-rs:Name>'
            '<mwg-rs:Type>Face</mwg-rs:Type>'
            f'<mwg-rs:Area stArea:x="{x:.6f}" stArea:y="{y:.6f}" '
            f'stArea:w="{w / people.width:.6f}" stArea:h="{h / people.height:.6f}" '
            'stArea:unit="normalized"/></rdf:li>\n')
    return ('   <mwg-rs:Regions rdf:parseType="Resource">\n'
            f'    <mwg-rs:AppliedToDimensions stDim:w="{people.width}" '
            f'stDim:h="{people.height}" stDim:unit="pixel"/>\n'
            '    <mwg-rs:RegionList><rdf:Bag>\n'
            f'{"".join(items)}'
            '    </rdf:Bag></mwg-rs:RegionList>\n'
            '   </mwg-rs:Regions>\n')


@dataclass(frozen=True)
class ExportItem:
    """One photo of one album, as read from the library."""

    photo_id: int
    original_path: str
    cluster_id: int
    cluster_name: str
    label_source: str
    content_hash: str = ""
    file_size: int = -1
    mtime_ns: int = -1
    #: The photo's place and event, for the XMP sidecar (docs/places.md).
    city: str | None = None
    country: str | None = None
    event_name: str | None = None


@dataclass
class ExportResult:
    """What an export did. ``exported`` counts files written now, ``unchanged`` files an
    earlier run had already exported identically; ``failed`` lists ``(original path, reason)``
    for photos that were skipped (missing or unreadable originals)."""

    outdir: Path
    mode: str
    albums: dict[int, str] = field(default_factory=dict)
    exported: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)

    @property
    def manifest_csv(self) -> Path:
        return self.outdir / MANIFEST_CSV

    @property
    def manifest_json(self) -> Path:
        return self.outdir / MANIFEST_JSON

    def to_json(self) -> dict:
        return {
            "outdir": str(self.outdir),
            "mode": self.mode,
            "albums": [{"cluster_id": cid, "folder": name} for cid, name in self.albums.items()],
            "exported": self.exported,
            "unchanged": self.unchanged,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "notes": self.notes,
            "manifest_csv": str(self.manifest_csv),
            "manifest_json": str(self.manifest_json),
        }


class ExportInterrupted(JobError):
    """The output folder refused a write (disk full, permission); the message says what to do."""


class _Stop(Exception):
    """A write into OUTDIR failed: ``what`` went wrong (the export stops there)."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _Skip(Exception):
    """This photo is skipped, for the reason given (its original changed, or cannot be read);
    the export goes on."""


SOURCE_CHANGED = ("changed since it was indexed, not exported (run `photoclust index` to "
                  "update the library)")
#: A file whose bytes changed with its size and time kept (found by hashing it): `index` goes by
#: size and time, so only `check --read-files --repair` reads it again.
SOURCE_CHANGED_IN_PLACE = ("its bytes changed since it was indexed although its size and time "
                           "did not, not exported (run `photoclust check --read-files --repair` "
                           "to read such photos again)")


def _changed_reason(original: Path, indexed: tuple[int, int] | None) -> str:
    """Why a photo whose bytes are not the indexed ones is skipped, with the command that
    reads it again: ``index`` where its size or time changed, ``check --read-files --repair``
    where they did not (``index`` would not look at it)."""
    try:
        st = original.stat()
    except OSError:
        return SOURCE_CHANGED
    return SOURCE_CHANGED_IN_PLACE if indexed == (st.st_size, st.st_mtime_ns) \
        else SOURCE_CHANGED


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def output_folder_problem(library: Library, outdir: str | os.PathLike) -> str | None:
    """Why ``outdir`` must not receive an export of ``library``, or ``None``: it is inside or
    contains a folder the library indexes (the next index would take the copies in as new
    photos, every photo twice). Compared through resolved paths, so a link or ``..`` is no way
    round it. Used by ``ExportJob.prepare`` and the export dialog."""
    outdir = Path(outdir).expanduser().absolute()
    resolved = Path(os.path.realpath(outdir))
    folders = indexed_folders(library)
    if not folders:  # indexed before the folders were kept: the photos' own folders
        with library.session() as s:
            folders = sorted({os.path.dirname(p) for (p,) in s.execute(select(Photo.path))})
    for folder in folders:
        real = Path(os.path.realpath(folder))
        if _is_within(resolved, real) or _is_within(real, resolved):
            return (f"{outdir} is inside or contains a folder of your photos ({folder}); "
                    "exported copies there would be indexed again as new photos. "
                    "Choose an output folder outside your photo folders.")
    return None


def _read_chunks(fh) -> Iterator[bytes]:
    """The chunks of an original open for reading; a read error skips the photo."""
    while True:
        try:
            chunk = fh.read(_COPY_CHUNK)
        except OSError as exc:
            raise _Skip(f"cannot read it ({exc.strerror or exc})") from exc
        if not chunk:
            return
        yield chunk


def _open_original(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise _Skip(f"cannot read it ({exc.strerror or exc})") from exc


def _copy_verified(original: Path, dest: str, expected_hash: str) -> None:
    """Copy ``original``'s bytes and modification time into ``dest`` (which keeps its own,
    umask-given permissions), hashing what is copied: ``_Skip`` when the bytes are not the ones
    indexed (a file overwritten, truncated or replaced since). Errors writing ``dest`` are
    ``OSError``."""
    digest = hashlib.sha256()
    with _open_original(original) as src, open(dest, "wb") as out:
        for chunk in _read_chunks(src):
            digest.update(chunk)
            out.write(chunk)
        st = os.fstat(src.fileno())
    if expected_hash and digest.hexdigest() != expected_hash:
        raise _Skip(SOURCE_CHANGED)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))


def _matches_index(original: Path, item: ExportItem) -> None:
    """``_Skip`` unless ``original`` still holds the bytes indexed: the size and time recorded
    at indexing vouch for it; otherwise its bytes are hashed."""
    if not item.content_hash:
        return
    try:
        st = original.stat()
    except OSError as exc:
        raise _Skip(f"cannot read it ({exc.strerror or exc})") from exc
    if st.st_size != item.file_size:
        raise _Skip(SOURCE_CHANGED)
    if st.st_mtime_ns == item.mtime_ns:
        return
    digest = hashlib.sha256()
    with _open_original(original) as fh:
        for chunk in _read_chunks(fh):
            digest.update(chunk)
    if digest.hexdigest() != item.content_hash:
        raise _Skip(SOURCE_CHANGED)


def _same_export(target: Path, original: Path, mode: str) -> bool:
    """Whether ``target`` is already this photo exported in ``mode`` (so a rerun skips it)."""
    try:
        if mode == "symlink":
            return target.is_symlink() and Path(os.readlink(target)) == original
        if target.is_symlink() or not target.is_file():
            return False
        if os.path.samefile(target, original):
            return mode == "hardlink"  # a copy must not share the original's data
        # A copy (also what "hardlink" falls back to across devices): same bytes. Our copies
        # keep the original's modification time, so equal size and time need no reading (a
        # rerun over a large export is quick); a coarser clock (FAT) falls back to the bytes.
        target_stat, original_stat = target.stat(), original.stat()
        if target_stat.st_size != original_stat.st_size:
            return False
        if target_stat.st_mtime_ns == original_stat.st_mtime_ns:
            return True
        return filecmp.cmp(target, original, shallow=False)
    except OSError:
        return False


class _AlbumNames:
    """The names in one album folder, compared as a case-insensitive file system would (an
    export copied to Windows or macOS must not lose a photo to a clash of letter case)."""

    def __init__(self, existing: Iterable[str]):
        self._on_disk: dict[str, set[str]] = {}
        for name in existing:
            self._on_disk.setdefault(_fold(name), set()).add(name)
        self._claimed: set[str] = set()

    def status(self, name: str, with_sidecar: bool) -> str:
        """``free`` (nothing there), ``ours`` (exactly this name exists and no other photo of
        this run took it: maybe an earlier export of this photo) or ``taken``."""
        names = [name, name + ".xmp"] if with_sidecar else [name]
        folded = [_fold(n) for n in names]
        if any(f in self._claimed for f in folded):
            return "taken"
        if not any(f in self._on_disk for f in folded):
            return "free"
        if self._on_disk.get(folded[0]) == {name}:
            return "ours"
        return "taken"

    def claim(self, name: str, with_sidecar: bool) -> None:
        for n in [name, name + ".xmp"] if with_sidecar else [name]:
            self._claimed.add(_fold(n))
            self._on_disk.setdefault(_fold(n), set()).add(n)


# -- duplicates: the copy the user chose stands for its group (core/export/duplicates_choice.py) -

def _duplicates_note(n: int) -> str:
    return (f"left out {n} duplicate cop{'y' if n == 1 else 'ies'}: the copy you chose on the "
            f"Duplicates page stands for {'it' if n == 1 else 'them'} (no file was deleted)")


class ExportJob(Job[ExportResult]):
    """Export clusters of ``library`` into ``outdir`` as one folder per cluster.

    ``mode``: ``copy`` (independent copies, timestamps kept), ``hardlink`` (no extra space; falls
    back to a copy where the output is on another device) or ``symlink`` (absolute links).
    ``cluster_ids``: the clusters to export (default: every active cluster). ``xmp``: write a
    ``<photo name>.xmp`` sidecar with the cluster name as keyword next to each exported photo.
    """

    title = "Exporting albums"

    def __init__(self, library: Library, outdir: str | os.PathLike, mode: str = "copy",
                 cluster_ids: Iterable[int] | None = None, xmp: bool = False,
                 events: bool = False):
        self.library = library
        #: Albums per event (docs/places.md) instead of per cluster: ``cluster_ids`` are then
        #: event ids, and the manifest's ``cluster_id``/``cluster_name`` the event's.
        self.events = events
        self.outdir = Path(outdir).expanduser().absolute()
        self.mode = mode
        self.cluster_ids = None if cluster_ids is None else sorted(set(cluster_ids))
        self.xmp = xmp
        self._items: list[ExportItem] | None = None
        self._albums: dict[int, str] = {}
        self._selected: set[int] = set()
        self._copied_instead_of_linking = False
        self._duplicates_left_out = 0
        self._people: dict[int, PhotoPeople] = {}  # named people per photo, for --xmp

    # -- prepare -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Refuse before anything is written: an unknown mode or cluster, an output folder that
        cannot be written, or one inside or containing an indexed folder (its copies would be
        indexed again as new photos, or mixed with the originals)."""
        if self.mode not in EXPORT_MODES:
            raise JobError(f"unknown export mode {self.mode!r} (choose one of "
                           f"{', '.join(EXPORT_MODES)})")
        self._load()
        self._check_not_among_sources()
        self._check_same_kind_of_albums()
        self._check_writable()

    @property
    def albums_kind(self) -> str:
        """What an album stands for: ``clusters``, ``events`` or ``people`` (the manifest's
        ``albums``, left out for clusters)."""
        return "events" if self.events else "clusters"

    def _check_same_kind_of_albums(self) -> None:
        """Cluster, event and person albums do not share an output folder (their manifests
        would mix kinds of ids)."""
        try:
            previous = json.loads((self.outdir / MANIFEST_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        kind = previous.get("albums", "clusters") if isinstance(previous, dict) else "clusters"
        wanted = self.albums_kind
        if kind != wanted:
            one = {"clusters": "cluster", "events": "event", "people": "person"}
            raise JobError(f"{self.outdir} holds albums per {one.get(kind, kind)}; export "
                           f"albums per {one[wanted]} into another folder")

    def _load(self) -> None:
        if self.events:
            self._load_events()
            return
        with self.library.session() as s:
            names = {cid: name for cid, name in
                     s.execute(select(Cluster.id, Cluster.name).where(Cluster.active.is_(True)))}
            if self.cluster_ids is None:
                selected = sorted(names)
            else:
                requested = {cid: name for cid, name in s.execute(
                    select(Cluster.id, Cluster.name).where(Cluster.id.in_(self.cluster_ids)))}
                unknown = [c for c in self.cluster_ids if c not in requested]
                if unknown:
                    raise JobError("no such cluster: " + ", ".join(map(str, unknown)))
                names.update(requested)
                selected = self.cluster_ids
            rows = s.execute(
                select(Photo.id, Photo.path, Assignment.cluster_id, Assignment.source,
                       Photo.content_hash, Photo.file_size, Photo.mtime_ns)
                .join(Assignment, Assignment.photo_id == Photo.id)
                .where(Photo.status == PhotoStatus.PRESENT,
                       Assignment.cluster_id.in_(selected))
                .order_by(Assignment.cluster_id, Photo.id)
            ).all()
        # Folder names come from all active clusters, not only the selected ones, so exporting
        # a few clusters names their folders exactly as a full export into the same place does.
        self._use_rows(names, selected, rows)

    def _use_rows(self, names: dict[int, str], selected: Iterable[int], rows: Sequence) -> None:
        """The albums (one per id of ``names``, ``selected`` exported) and their items from
        ``rows`` of ``(photo id, path, album id, source, content hash, size, mtime_ns)``: each
        photo once per album, copies the user left out of albums counted, the place, event and
        people of each photo read for ``--xmp``."""
        self._albums = album_folder_names(names.items())
        self._selected = set(selected)
        seen: set[tuple[int, int]] = set()
        self._items = []
        left_out = left_out_of_albums(self.library)
        self._duplicates_left_out = 0
        places = places_and_events(self.library, [row[0] for row in rows]) if self.xmp else {}
        for photo_id, path, album_id, source, content_hash, size, mtime_ns in rows:
            if (photo_id, album_id) in seen:
                continue  # a second face of one person in a photo
            seen.add((photo_id, album_id))
            if photo_id in left_out:
                self._duplicates_left_out += 1
                continue
            keyword = names[album_id] or self._albums[album_id]
            self._items.append(ExportItem(photo_id, path, album_id, keyword,
                                          source or Source.AUTO, content_hash, size, mtime_ns,
                                          *places.get(photo_id, (None, None, None))))
        if self.xmp:
            self._people = named_faces_of_photos(self.library,
                                                 [item.photo_id for item in self._items])

    def _load_events(self) -> None:
        names, rows = event_albums(self.library, self.cluster_ids)
        if self.cluster_ids is not None:
            unknown = [e for e in self.cluster_ids if e not in names]
            if unknown:
                raise JobError("no such event: " + ", ".join(map(str, unknown)))
        self._use_rows(names, self.cluster_ids if self.cluster_ids is not None else names, rows)

    def _check_not_among_sources(self) -> None:
        problem = output_folder_problem(self.library, self.outdir)
        if problem is not None:
            raise JobError(problem)

    def _check_writable(self) -> None:
        if self.outdir.exists() and not self.outdir.is_dir():
            raise JobError(f"{self.outdir} exists and is not a folder")
        created = not self.outdir.exists()
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, dir=self.outdir):
                pass
        except OSError as exc:
            if created:
                try:
                    self.outdir.rmdir()
                except OSError:
                    pass
            raise JobError(f"cannot write to {self.outdir}: {exc.strerror or exc}") from exc

    # -- run -----------------------------------------------------------------------------------
    def run(self, ctx: JobContext) -> ExportResult:
        if self._items is None:
            self._load()
        items = self._items
        assert items is not None  # _load sets them
        result = ExportResult(self.outdir, self.mode,
                              albums={cid: self._albums[cid] for cid in sorted(self._selected)})
        if self._duplicates_left_out:
            result.notes.append(_duplicates_note(self._duplicates_left_out))
        sweep_killed_exports(self.library)
        self._remove_leftover_temp_files()
        running = register_export(self.library, self.outdir)
        try:
            return self._run(ctx, items, result)
        finally:
            if running:
                unregister_export(self.library, self.outdir)

    def _run(self, ctx: JobContext, items: list[ExportItem],
             result: ExportResult) -> ExportResult:
        albums_state: dict[Path, _AlbumNames] = {}
        total = len(items)
        ctx.report(0, total, "")
        try:
            self._reserve_manifest_space(items)
            for done, item in enumerate(items, 1):
                ctx.raise_if_cancelled()
                album = self.outdir / self._albums[item.cluster_id]
                self._export_one(item, album, albums_state, result)
                ctx.report(done, total, item.original_path)
        except _Stop as stop:
            manifest_error = self._write_manifest(result, best_effort=True)
            raise ExportInterrupted(self._stopped_message(stop.what, manifest_error)) from stop
        except BaseException:
            # Cancelled, or an error: the manifest still lists what was done.
            self._write_manifest(result, best_effort=True)
            raise
        self._write_manifest(result)
        return result

    def _stopped_message(self, what: str, manifest_error: str | None) -> str:
        if manifest_error is None:
            listed = "what was exported so far is listed in the manifest"
        else:
            listed = f"the manifest could not be written ({manifest_error}); the rerun writes it"
        return (f"export stopped: {what}. Your originals were not touched and no half-written "
                f"file was left; {listed}. Fix the problem and run the same export again: it "
                "continues where it stopped.")

    @staticmethod
    def _flush_to_disk() -> None:
        """One flush for the whole export instead of one per file (an fsync per photo makes a
        USB drive crawl): what the manifest lists has reached the disk, even after a power cut."""
        if hasattr(os, "sync"):
            os.sync()

    def _remove_leftover_temp_files(self) -> None:
        """Temporary files of an export that was killed mid-copy (a clean failure removes its
        own); only names with our prefix, in OUTDIR and its album folders."""
        remove_export_temp_files(self.outdir)

    def _reserve_manifest_space(self, items: list[ExportItem]) -> None:
        """Hold as much space in OUTDIR as the final manifest needs (the manifest of every item
        exported, with room for renamed files), so that a disk filled by the photos still takes
        the manifest: ``_write_manifest`` frees it first."""
        planned = [self._entry(item, self.outdir / self._albums[item.cluster_id]
                               / _with_counter(Path(item.original_path).name, 99, True), None)
                   for item in items]
        csv_text, json_text = self._manifest_texts(self._previous_entries(self._selected)
                                                   + planned)
        size = len(csv_text.encode("utf-8")) + len(json_text.encode("utf-8")) + 2 * 65536
        reserve = self.outdir / MANIFEST_RESERVE
        try:
            with open(reserve, "wb") as fh:
                zeros = bytes(min(size, _COPY_CHUNK))
                while size > 0:
                    size -= fh.write(zeros[:size])
        except OSError as exc:
            remove_quietly(reserve)
            raise self._interrupted(exc, reserve) from exc

    def _export_one(self, item: ExportItem, album: Path,
                    albums_state: dict[Path, _AlbumNames], result: ExportResult) -> None:
        original = Path(item.original_path).absolute()
        try:
            with open(original, "rb"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if isinstance(exc, FileNotFoundError):
                reason = "file not found (run `photoclust index` to update the library)"
            result.failed.append((item.original_path, reason))
            return
        album_state = self._album_state(album, albums_state)
        base = safe_name(original.name, fallback=f"photo-{item.photo_id}")
        name, counter = base, 1
        try:
            while True:
                target = album / name
                status = album_state.status(name, self.xmp)
                if status == "ours" and _same_export(target, original, self.mode):
                    _matches_index(original, item)
                    result.unchanged += 1
                    break
                if status == "free":
                    self._write(original, target, item, result)
                    result.exported += 1
                    break
                counter += 1
                name = _with_counter(base, counter, keep_extension=True)
        except _Skip as skip:
            result.failed.append((item.original_path, str(skip)))
            return
        album_state.claim(name, self.xmp)
        xmp_path = (self._write_sidecar(target, item, result, self._people.get(item.photo_id))
                    if self.xmp else None)
        result.entries.append(self._entry(item, target, xmp_path))

    def _entry(self, item: ExportItem, target: Path, xmp_path: Path | None) -> dict:
        return {
            "photo_id": item.photo_id,
            "exported_path": target.relative_to(self.outdir).as_posix(),
            "original_path": item.original_path,
            "cluster_id": item.cluster_id,
            "cluster_name": item.cluster_name,
            "label_source": item.label_source,
            "xmp_path": xmp_path.relative_to(self.outdir).as_posix() if xmp_path else "",
        }

    def _album_state(self, album: Path, albums_state: dict[Path, _AlbumNames]) -> _AlbumNames:
        if album not in albums_state:
            if album.is_symlink() or (album.exists() and not album.is_dir()):
                # A link would send the album somewhere outside OUTDIR.
                raise JobError(f"{album} is in the way (a file or a link, not a folder); "
                               "move it away and export again")
            try:
                album.mkdir(exist_ok=True)
                albums_state[album] = _AlbumNames(os.listdir(album))
            except OSError as exc:
                raise self._interrupted(exc, album) from exc
        return albums_state[album]

    def _write(self, original: Path, target: Path, item: ExportItem,
               result: ExportResult) -> None:
        """Link or copy ``original`` to ``target``; a link is made only to an original that
        still holds the indexed bytes, and a copy checks the bytes it copies."""
        if self.mode in ("symlink", "hardlink"):
            _matches_index(original, item)
        if self.mode == "symlink":
            try:
                os.symlink(original, target)
            except OSError as exc:
                raise self._interrupted(exc, target) from exc
            return
        if self.mode == "hardlink":
            try:
                os.link(original, target)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                                     errno.EOPNOTSUPP):
                    raise self._interrupted(exc, target) from exc
                if not self._copied_instead_of_linking:
                    result.notes.append(
                        f"hard links are not possible from {original.parent} into "
                        f"{self.outdir} ({exc.strerror}): such photos were copied instead")
                self._copied_instead_of_linking = True
        self._copy(original, target, item.content_hash, (item.file_size, item.mtime_ns))

    def _copy(self, original: Path, target: Path, content_hash: str,
              indexed: tuple[int, int] | None = None) -> None:
        """Copy into a temporary name in the album, then rename: no half-written photo ever
        carries the final name, and a failed copy (or a changed original) leaves nothing."""
        try:
            with replaced_atomically(target, TEMP_PREFIX) as tmp:
                try:
                    _copy_verified(original, tmp, content_hash)
                except _Skip as skip:
                    raise _Skip(_changed_reason(original, indexed)) from skip
        except OSError as exc:
            raise self._interrupted(exc, target) from exc

    def _write_sidecar(self, target: Path, item: ExportItem, result: ExportResult,
                       people: PhotoPeople | None = None) -> Path:
        sidecar = target.with_name(target.name + ".xmp")
        content = xmp_sidecar(item.cluster_name, people, item.city, item.country,
                              item.event_name).encode("utf-8")
        if os.path.lexists(sidecar):
            try:
                if sidecar.read_bytes() != content:
                    result.notes.append(f"kept the existing {sidecar} (it differs from ours)")
            except OSError as exc:
                result.notes.append(f"cannot read the existing {sidecar}: {exc.strerror}")
            return sidecar
        self._write_atomically(sidecar, content)
        return sidecar

    def _write_atomically(self, dest: Path, content: bytes) -> None:
        try:
            with replaced_atomically(dest, TEMP_PREFIX) as tmp:
                Path(tmp).write_bytes(content)
        except OSError as exc:
            raise self._interrupted(exc, dest) from exc

    def _interrupted(self, exc: OSError, path: Path) -> _Stop:
        if exc.errno in _DISK_FULL_ERRNOS:
            what = f"the disk holding {self.outdir} is full"
        elif exc.errno in _PERMISSION_ERRNOS:
            what = f"permission to write {path} was refused ({exc.strerror})"
        else:
            what = f"cannot write {path} ({exc.strerror or exc})"
        return _Stop(what)

    # -- manifest ------------------------------------------------------------------------------
    def _previous_entries(self, exported_clusters: set[int]) -> list[dict]:
        """Rows of an earlier manifest for albums this run did not touch (an export of a few
        clusters into the same folder keeps the others listed) whose files still exist."""
        try:
            previous = json.loads((self.outdir / MANIFEST_JSON).read_text(encoding="utf-8"))
            rows = previous["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            return []
        kept = []
        for row in rows:
            if not isinstance(row, dict) or set(MANIFEST_FIELDS) - set(row):
                continue
            if row["cluster_id"] in exported_clusters:
                continue
            if os.path.lexists(self.outdir / row["exported_path"]):
                kept.append(row)
        return kept

    def _manifest_texts(self, rows: list[dict]) -> tuple[str, str]:
        rows = sorted(rows, key=lambda r: (r["cluster_id"], r["exported_path"]))
        document = {
            "photoclust_version": __version__,
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "library": str(self.library.path),
            "mode": self.mode,
            **({"albums": self.albums_kind} if self.albums_kind != "clusters" else {}),
            "entries": rows,
        }
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return text.getvalue(), json.dumps(document, indent=2, ensure_ascii=False)

    def _write_manifest(self, result: ExportResult, best_effort: bool = False) -> str | None:
        """Write manifest.csv and manifest.json atomically, in the space reserved for them.
        ``best_effort`` while the export is already failing: then a failure to write them is
        returned (and logged) instead of raised (the rerun rewrites them)."""
        remove_quietly(self.outdir / MANIFEST_RESERVE)
        self._flush_to_disk()
        csv_text, json_text = self._manifest_texts(self._previous_entries(self._selected)
                                                   + result.entries)
        try:
            self._write_atomically(self.outdir / MANIFEST_CSV, csv_text.encode("utf-8"))
            self._write_atomically(self.outdir / MANIFEST_JSON, json_text.encode("utf-8"))
            self._flush_to_disk()
        except _Stop as stop:
            if not best_effort:
                raise ExportInterrupted(self._stopped_message(stop.what, stop.what)) from stop
            log.warning("manifest not written: %s", stop.what)
            return stop.what
        return None


# -- People: one album per named person (docs/people.md) ------------------------------------------

class PeopleExportJob(ExportJob):
    """Export the named people as albums: one folder per person, holding every photo with their
    face. The manifest's ``cluster_id`` and ``cluster_name`` are then the person's id and name,
    and ``label_source`` says who put the face with the person; the manifest says ``"albums":
    "people"``. Export people into a folder of their own: a folder of cluster or event albums
    is refused (the manifests would mix). Like cluster and event albums (``_use_rows``), the
    copies the user left out of albums are left out, and ``--xmp`` sidecars carry the place and
    event besides the people."""

    title = "Exporting people"

    def __init__(self, library: Library, outdir: str | os.PathLike, mode: str = "copy",
                 person_ids: Iterable[int] | None = None, xmp: bool = False):
        super().__init__(library, outdir, mode=mode, xmp=xmp)
        self.person_ids = None if person_ids is None else sorted(set(person_ids))

    @property
    def albums_kind(self) -> str:
        return "people"

    def _load(self) -> None:
        from photoclust.core.faces.read import list_people, person_albums

        people = {p.id: p.name for p in list_people(self.library, named_only=True)}
        if self.person_ids is not None:
            unknown = [p for p in self.person_ids if p not in people]
            if unknown:
                raise JobError("no named person with id " + ", ".join(map(str, unknown)))
            selected = list(self.person_ids)
        else:
            selected = sorted(people)
        # As cluster and event albums: each photo once per album, the copies the user left
        # out of albums left out, the place, event and people of each photo for --xmp.
        self._use_rows(people, selected, person_albums(self.library, selected))
