"""Ordered schema migrations.

``MIGRATIONS[n]`` upgrades a library from version ``n`` to ``n + 1``. A fresh library is created
from the ORM models at ``SCHEMA_VERSION`` directly. Before any migration the file is copied
beside itself (``library.sqlite.v1.bak``), so a failed upgrade never costs the user their library.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection

SCHEMA_VERSION = 2

Migration = Callable[[Connection], None]


def _add_people(conn: Connection) -> None:
    """Version 2: faces found in photos and the people they are grouped into
    (``people``, ``faces``, ``face_cannot_links``, ``face_scans``)."""
    from photoclust.core.library.models import Base, Face, FaceCannotLink, FaceScan, Person

    Base.metadata.create_all(conn, tables=[Person.__table__, Face.__table__,
                                           FaceCannotLink.__table__, FaceScan.__table__])


# version -> function that upgrades from that version to the next one.
MIGRATIONS: dict[int, Migration] = {1: _add_people}
