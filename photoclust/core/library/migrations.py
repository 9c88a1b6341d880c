"""Ordered schema migrations.

``MIGRATIONS[n]`` upgrades a library from version ``n`` to ``n + 1``. A fresh library is created
from the ORM models at ``SCHEMA_VERSION`` directly. Before any migration the file is copied
beside itself (``library.sqlite.v1.bak``), so a failed upgrade never costs the user their library.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection

SCHEMA_VERSION = 3

Migration = Callable[[Connection], None]


def _add_people(conn: Connection) -> None:
    """Version 2: faces found in photos and the people they are grouped into
    (``people``, ``faces``, ``face_cannot_links``, ``face_scans``)."""
    from photoclust.core.library.models import Base

    Base.metadata.create_all(conn, tables=[Base.metadata.tables[name] for name in (
        "people", "faces", "face_cannot_links", "face_scans")])


def _add_when_and_where(conn: Connection) -> None:
    """Version 3: capture time details, places and events (issue #23): three new tables.
    Photos indexed before have no ``photo_when_where`` row; the next Organize reads their times and
    places."""
    from photoclust.core.library.models import Base, Event, EventPhoto, PhotoWhenWhere

    tables = [Base.metadata.tables[model.__tablename__]
              for model in (PhotoWhenWhere, Event, EventPhoto)]
    Base.metadata.create_all(conn, tables=tables)


# version -> function that upgrades from that version to the next one.
MIGRATIONS: dict[int, Migration] = {1: _add_people, 2: _add_when_and_where}
