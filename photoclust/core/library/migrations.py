"""Ordered schema migrations.

``MIGRATIONS[n]`` upgrades a library from version ``n`` to ``n + 1``. A fresh library is created
from the ORM models at ``SCHEMA_VERSION`` directly. Before any migration the file is copied
beside itself (``library.sqlite.v1.bak``), so a failed upgrade never costs the user their library.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 4

Migration = Callable[[Connection], None]


# -- corrections: refused review suggestions become undoable edits (data only, no new table) ----

#: The settings key where schema 1 kept the review suggestions answered no, as a JSON list of
#: ``[kind, cluster_id, other_cluster_id]`` (``other_cluster_id`` -1 for a split).
LEGACY_REFUSED_SETTING = "learning.refused_suggestions"


def _refusals_as_edits(con: Connection) -> None:
    """Each refusal kept in the settings key becomes a ``refuse_suggestion`` edit event (the
    shape of ``photoclust.core.edits.corrections.RefuseSuggestion``), in the order they were made,
    and the key is deleted: a refusal is now in the history, undoable like any other answer."""
    row = con.execute(text("SELECT value FROM settings WHERE key = :key"),
                      {"key": LEGACY_REFUSED_SETTING}).first()
    if row is None:
        return
    try:
        entries = json.loads(row[0])
    except (TypeError, ValueError):
        entries = []
    names: dict[int, str] = {int(cid): str(name) for cid, name in
                             con.execute(text("SELECT id, name FROM clusters"))}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    seen = set()
    for entry in entries if isinstance(entries, list) else []:
        if not (isinstance(entry, list) and len(entry) == 3 and entry[0] in ("merge", "split")
                and all(isinstance(v, int) for v in entry[1:])):
            continue
        kind, cluster, other = entry[0], int(entry[1]), int(entry[2])
        key = (kind, cluster, other if kind == "merge" else None)
        if key in seen or (kind == "merge" and other < 0):
            continue
        seen.add(key)
        if kind == "merge":
            description = (f"Not merging {names.get(other, f'cluster {other}')} into "
                           f"{names.get(cluster, f'cluster {cluster}')}")
        else:
            description = f"Not splitting {names.get(cluster, f'cluster {cluster}')}"
        payload = {"version": 1, "description": description,
                   "params": {"suggestion": kind, "cluster_id": cluster,
                              "other_cluster_id": key[2]},
                   "assignments": [], "clusters": [], "cannot_links_added": [],
                   "cannot_links_removed": []}
        con.execute(text("INSERT INTO edit_events (kind, payload, undone, superseded, created_at)"
                         " VALUES ('refuse_suggestion', :payload, 0, 0, :now)"),
                    {"payload": json.dumps(payload, separators=(",", ":")), "now": now})
    con.execute(text("DELETE FROM settings WHERE key = :key"), {"key": LEGACY_REFUSED_SETTING})


def _add_people(conn: Connection) -> None:
    """Version 3: faces found in photos and the people they are grouped into
    (``people``, ``faces``, ``face_cannot_links``, ``face_scans``)."""
    from photoclust.core.library.models import Base

    Base.metadata.create_all(conn, tables=[Base.metadata.tables[name] for name in (
        "people", "faces", "face_cannot_links", "face_scans")])


def _add_when_and_where(conn: Connection) -> None:
    """Version 4: capture time details, places and events (issue #23): three new tables.
    Photos indexed before have no ``photo_when_where`` row; the next Organize reads their times and
    places."""
    from photoclust.core.library.models import Base, Event, EventPhoto, PhotoWhenWhere

    tables = [Base.metadata.tables[model.__tablename__]
              for model in (PhotoWhenWhere, Event, EventPhoto)]
    Base.metadata.create_all(conn, tables=tables)


# version -> function that upgrades from that version to the next one.
MIGRATIONS: dict[int, Migration] = {1: _refusals_as_edits, 2: _add_people,
                                     3: _add_when_and_where}
