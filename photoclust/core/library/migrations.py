"""Ordered schema migrations.

``MIGRATIONS[n]`` upgrades a library from version ``n`` to ``n + 1``. A fresh library is created
from the ORM models at ``SCHEMA_VERSION`` directly. Before any migration the file is copied
beside itself (``library.sqlite.v1.bak``), so a failed upgrade never costs the user their library.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection

SCHEMA_VERSION = 1

Migration = Callable[[Connection], None]

# version -> function that upgrades from that version to the next one.
MIGRATIONS: dict[int, Migration] = {}
