"""Library rows and real photos for the export, check and crash tests."""
from __future__ import annotations

import hashlib
from pathlib import Path

from helpers import write_photo as draw_photo  # noqa: F401 - the name the export tests use
from photoclust.core.library.models import Assignment, Cluster, Photo


def add_photo(library, path: Path, status: str = "present") -> int:
    """A row as ``index`` writes it (size and time of the file, so ``check`` finds it unchanged)."""
    data = path.read_bytes() if path.exists() else path.name.encode()
    mtime_ns = path.stat().st_mtime_ns if path.exists() else 0
    with library.session() as s:
        photo = Photo(path=str(path), content_hash=hashlib.sha256(data).hexdigest(),
                      file_size=len(data), mtime_ns=mtime_ns, status=status)
        s.add(photo)
        s.flush()
        return photo.id


def add_cluster(library, name: str, name_source: str = "auto", active: bool = True) -> int:
    with library.session() as s:
        cluster = Cluster(name=name, name_source=name_source, active=active)
        s.add(cluster)
        s.flush()
        return cluster.id


def assign(library, photo_id: int, cluster_id: int, source: str = "auto") -> None:
    with library.session() as s:
        s.merge(Assignment(photo_id=photo_id, cluster_id=cluster_id, source=source))


def fingerprint(folder: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, mtime_ns and mode of every file under ``folder``: proof nothing was written."""
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns,
                     p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() or p.is_symlink())
