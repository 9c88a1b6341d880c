"""One photo, large: its details in words, a decode at screen size and the photos to step through
(Qt-free; the app's viewer runs ``decode_to_fit`` and ``cluster_photo_ids`` on worker threads; the
details themselves come from ``queries.photo_details``).

``decode_to_fit`` reads the header first, then lets JPEG decode in the DCT domain at the smallest
scale that still covers the box (``imaging.load_rgb(min_side=...)``): a 24 MP photo shown on a
1600 x 1000 screen is decoded at 1/2 or 1/4 scale, not in full. ``full=True`` is the 100 % view.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image

from photoclust.core.imaging import load_rgb, read_metadata
from photoclust.core.library import Library
from photoclust.core.library.models import PhotoStatus, Source
from photoclust.core.library.queries import PhotoDetails, photos_in_cluster, unassigned_photos


def cluster_photo_ids(library: Library, cluster_id: int | None,
                      order: str = "path") -> list[int]:
    """The ids of a cluster's present photos (``None`` or a negative id: the photos in no
    cluster) in the grid's ``order`` (``queries.PHOTO_ORDERS``): what the viewer steps through.
    For 50,000 photos this takes a tenth of a second or more: call it off the GUI thread."""
    if cluster_id is None or cluster_id < 0:
        return [p.id for p in unassigned_photos(library)]
    return [p.id for p in photos_in_cluster(library, cluster_id, order=order)]


def file_size_text(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} KB"


def details_rows(d: PhotoDetails) -> list[tuple[str, str]]:
    """A photo's details (``queries.photo_details``) as (label, text) rows in words, in the
    order the preview and the viewer show them."""
    rows = [("File", Path(d.path).name), ("Folder", str(Path(d.path).parent))]
    if d.width and d.height:
        rows.append(("Size", f"{d.width} × {d.height} px, {file_size_text(d.file_size)}"))
    if d.taken_at:
        rows.append(("Taken", d.taken_at.strftime("%Y-%m-%d %H:%M")))
    if d.camera:
        rows.append(("Camera", d.camera))
    if d.cluster_name is not None:
        how = "placed by you" if d.source == Source.USER else (
            f"{d.confidence:.0%} sure" if d.confidence is not None else "automatic")
        rows.append(("Cluster", f"{d.cluster_name} ({how})"))
    else:
        rows.append(("Cluster", "none"))
    if d.status == PhotoStatus.UNREADABLE:  # (no reason is stored: the decode error shows it)
        rows.append(("Status", "can't be read (damaged, or no longer a photo file)"))
    elif d.status != PhotoStatus.PRESENT:
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
