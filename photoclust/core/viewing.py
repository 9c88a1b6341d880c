"""One photo, large: its details in words and a decode at screen size (Qt-free; the app's viewer
runs ``decode_to_fit`` on a worker thread).

``decode_to_fit`` reads the header first, then lets JPEG decode in the DCT domain at the smallest
scale that still covers the box (``imaging.load_rgb(min_side=...)``): a 24 MP photo shown on a
1600 x 1000 screen is decoded at 1/2 or 1/4 scale, not in full. ``full=True`` is the 100 % view.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from photoclust.core.imaging import load_rgb, read_metadata
from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Assignment, Cluster, Photo


@dataclass(frozen=True)
class PhotoDetails:
    id: int
    path: str
    width: int | None
    height: int | None
    file_size: int
    taken_at: datetime | None
    camera: str | None
    gps: tuple[float, float] | None
    status: str
    cluster_id: int | None
    cluster_name: str | None
    source: str | None
    confidence: float | None


def photo_details(library: Library, photo_id: int) -> PhotoDetails | None:
    """What the viewer shows beside a photo (one primary-key lookup); None if unknown."""
    with library.session() as s:
        row = s.execute(
            select(Photo, Assignment, Cluster)
            .outerjoin(Assignment, Assignment.photo_id == Photo.id)
            .outerjoin(Cluster, Cluster.id == Assignment.cluster_id)
            .where(Photo.id == int(photo_id))).first()
        if row is None:
            return None
        p, a, c = row
        gps = (p.gps_lat, p.gps_lon) if p.gps_lat is not None and p.gps_lon is not None else None
        return PhotoDetails(p.id, p.path, p.width, p.height, p.file_size, p.taken_at, p.camera,
                            gps, p.status, c.id if c is not None else None,
                            c.name if c is not None else None,
                            a.source if a is not None else None,
                            a.confidence if a is not None else None)


def cluster_photo_ids(library: Library, cluster_id: int | None,
                      order: str = "path") -> list[int]:
    """The ids of a cluster's present photos (``None`` or a negative id: the photos in no
    cluster) in the grid's ``order`` (``queries.PHOTO_ORDERS``): what the viewer steps through.
    One query of ids only: a 50,000-photo cluster in tens of milliseconds."""
    sort = {"path": (Photo.path,),
            "taken_at": (Photo.taken_at.is_(None), Photo.taken_at, Photo.path),
            "confidence": (func.coalesce(Assignment.confidence, 0.0), Photo.path)}
    query = select(Photo.id).where(Photo.status == "present")
    if cluster_id is None or cluster_id < 0:
        query = query.outerjoin(Assignment, Assignment.photo_id == Photo.id) \
            .where(Assignment.photo_id.is_(None))
    else:
        query = query.join(Assignment, Assignment.photo_id == Photo.id) \
            .where(Assignment.cluster_id == cluster_id)
    with library.session() as s:
        return list(s.scalars(query.order_by(*sort.get(order, sort["path"]))))


def content_hashes(library: Library, photo_ids: list[int]) -> dict[int, str]:
    """``{photo id: content hash}`` (the thumbnail key) of the photos a view is about to draw."""
    found: dict[int, str] = {}
    with library.session() as s:
        for part in chunks(photo_ids):
            for pid, content_hash in s.execute(select(Photo.id, Photo.content_hash)
                                               .where(Photo.id.in_(part))):
                found[pid] = content_hash
    return found


def file_size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} KB"


def details_rows(d: PhotoDetails) -> list[tuple[str, str]]:
    """The details as (label, text) rows in words, in the order shown."""
    rows = [("File", Path(d.path).name), ("Folder", str(Path(d.path).parent))]
    if d.width and d.height:
        rows.append(("Size", f"{d.width} × {d.height} px, {file_size_text(d.file_size)}"))
    if d.taken_at:
        rows.append(("Taken", d.taken_at.strftime("%Y-%m-%d %H:%M")))
    if d.camera:
        rows.append(("Camera", d.camera))
    if d.gps:
        rows.append(("Place", f"{d.gps[0]:.5f}, {d.gps[1]:.5f}"))
    if d.cluster_name is not None:
        how = "placed by you" if d.source == "user" else (
            f"{d.confidence:.0%} sure" if d.confidence is not None else "automatic")
        rows.append(("Cluster", f"{d.cluster_name} ({how})"))
    else:
        rows.append(("Cluster", "none"))
    if d.status != "present":
        rows.append(("Status", "file missing"))
    return rows


def decode_to_fit(path: str | os.PathLike, max_width: int, max_height: int,
                  full: bool = False) -> Image.Image:
    """The photo upright in RGB, no larger than ``max_width`` x ``max_height`` (never enlarged);
    ``full``: at its own size. Raises ``imaging.ImageError`` with the reason for the user."""
    if full:
        return load_rgb(path)
    meta = read_metadata(path)
    scale = min(1.0, max_width / meta.width, max_height / meta.height)
    min_side = max(1, math.ceil(min(meta.width, meta.height) * scale))
    image = load_rgb(path, min_side=min_side)
    if image.width > max_width or image.height > max_height:
        image.thumbnail((max_width, max_height), Image.Resampling.LANCZOS)
    return image
