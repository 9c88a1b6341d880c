"""ORM tables of a photoclust library.

The library is the single source of truth. Photos keep their identity (``Photo.id``) when a file
is moved or renamed; everything the user did is attached to that id or recorded as an ``EditEvent``.
Embeddings are keyed by *content*, not by path, so duplicates and moved files are embedded once.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class SchemaInfo(Base):
    """One row: the schema version this file was last migrated to."""

    __tablename__ = "schema_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    app_version: Mapped[str] = mapped_column(String(32), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PhotoStatus:
    """Values of ``Photo.status``."""

    PRESENT = "present"
    #: The file vanished: the row keeps its id, clusters and labels until the file is found again.
    MISSING = "missing"
    #: The file is there but no longer reads as a photo (damaged, overwritten, now a folder, a
    #: broken link or a pipe): kept like a missing photo until the file reads again.
    UNREADABLE = "unreadable"


class Source:
    """Who decided: values of ``Assignment.source`` and ``Cluster.name_source``."""

    #: The algorithm (a clustering run, learning); a later run may change it.
    AUTO = "auto"
    #: The user (moved, confirmed, renamed); no algorithm overrides it.
    USER = "user"


class Photo(Base):
    """A photo file on disk. ``status`` is a ``PhotoStatus``: a vanished file keeps its row (and
    its labels) so that it can come back or be found again by its content hash."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    file_size: Mapped[int] = mapped_column(Integer, nullable=False)
    mtime_ns: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    image_format: Mapped[str | None] = mapped_column(String(16))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    camera: Mapped[str | None] = mapped_column(String(128))
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PhotoStatus.PRESENT,
                                        index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Embedding(Base):
    """A photo content's embedding under one model and preprocessing version.

    ``vector`` is little-endian float16 (``numpy.float16.tobytes()``), ``dim`` values long.
    ``top_classes`` is JSON: ``[[class_name, probability], ...]`` from the ImageNet head, used to
    suggest cluster names.
    """

    __tablename__ = "embeddings"
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    preprocess_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    vector: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    top_classes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class ClusteringRun(Base):
    """One run of the clustering algorithm; its parameters and quality figures as JSON."""

    __tablename__ = "clustering_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(64), nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    k: Mapped[int] = mapped_column(Integer, nullable=False)
    params: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Cluster(Base):
    """A cluster with a stable identity across clustering runs.

    ``name_source`` is ``auto`` (suggested from ImageNet classes) or ``user`` (renamed by the user,
    never overwritten by a re-clustering). ``active`` is false once a cluster was merged away or
    emptied, so that undo can bring it back with its id.
    """

    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    name_source: Mapped[str] = mapped_column(String(16), nullable=False,
                                             default=Source.AUTO)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    created_run_id: Mapped[int | None] = mapped_column(ForeignKey("clustering_runs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Assignment(Base):
    """The current cluster of a photo: at most one per photo.

    ``source`` is ``auto`` (the algorithm put it there) or ``user`` (the user moved or confirmed it:
    a label that re-clustering must not override). ``confidence`` is in [0, 1].
    """

    __tablename__ = "assignments"
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default=Source.AUTO)
    confidence: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("clustering_runs.id"))


class EditEvent(Base):
    """A user correction, written in its own committed transaction the moment it happens.

    ``kind`` names the operation (rename, move, merge, split, new_cluster, remove, confirm, ...);
    ``payload`` is JSON with everything needed to replay, undo and learn from it.
    ``undone`` marks events reverted by undo (kept: an undone correction is still a signal).
    ``superseded`` marks undone events that can no longer be redone (a later edit or clustering
    run replaced the redo branch); see ``photoclust.core.edits.history``.
    """

    __tablename__ = "edit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    undone: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    superseded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class CannotLink(Base):
    """The user said this photo does not belong in this cluster (removed it, or moved it out)."""

    __tablename__ = "cannot_links"
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("edit_events.id"))


class Setting(Base):
    """Per-library settings (model, k, ...) as JSON values."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


Index("ix_photos_status_id", Photo.status, Photo.id)


# -- People: faces found in photos, grouped into people (photoclust.core.faces) -------------------

class FaceSource:
    """Who put a face with its person: values of ``Face.source`` (as ``Source``)."""

    AUTO = "auto"
    USER = "user"


class Person(Base):
    """A person: the faces grouped as one. ``name_source`` is ``auto`` (unnamed, found by the
    grouping) or ``user`` (named by the user: never merged with another person automatically).
    ``active`` is false once merged away or emptied by an edit, so undo can bring it back.
    ``cover_face_id`` is the face shown for the person (the grouping's best face; a face that
    left the person is replaced when read)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    name_source: Mapped[str] = mapped_column(String(16), nullable=False, default="auto")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    cover_face_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class Face(Base):
    """A face found in a photo. The box is in the upright photo's pixels (EXIF orientation
    applied, full size). ``descriptor`` is 128 little-endian float32 (dlib's ResNet).
    ``person_id`` is ``None`` for a face in no person (unsure, removed, or alone so far);
    ``source`` ``user`` means the user put it there (no grouping moves it). ``unsure``: too small
    or too blurry to judge, never grouped automatically. ``removed``: the user said it is no face
    (kept, so it never comes back and undo can restore it)."""

    __tablename__ = "faces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    left: Mapped[int] = mapped_column(Integer, nullable=False)
    top: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    descriptor: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    detector_score: Mapped[float | None] = mapped_column(Float)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="auto")
    confidence: Mapped[float | None] = mapped_column(Float)
    unsure: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class FaceCannotLink(Base):
    """The user said this face is not this person ("not this person", or moved it away)."""

    __tablename__ = "face_cannot_links"
    face_id: Mapped[int] = mapped_column(ForeignKey("faces.id", ondelete="CASCADE"),
                                         primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("edit_events.id"))


class FaceScan(Base):
    """A photo's content was searched for faces (``faces`` found, or ``error`` why not) with
    detector version ``version``; a photo whose content changed is searched again."""

    __tablename__ = "face_scans"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"),
                                          primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    faces: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
# --- When and where: capture times, places and events (issue #23; docs/places.md) -------------


class PhotoWhenWhere(Base):
    """A photo's capture time details and place, beside its ``Photo`` row (which keeps
    ``taken_at``, ``gps_lat``, ``gps_lon``).

    ``taken_offset_min``: the UTC offset of ``Photo.taken_at`` when the photo says it;
    ``taken_source``: ``exif``, ``file name`` or ``file time`` (a guess); ``taken_note``: why a
    source was refused, for the user. ``time_shift_s``: the user's correction of a wrong camera
    clock (an undoable edit; the file is never rewritten): the photo's time is ``taken_at +
    time_shift_s``. ``place_*``: the named place of the GPS position ``place_lat``/``place_lon``
    it was computed for (``None`` when not computed yet or the photo has no GPS).
    """

    __tablename__ = "photo_when_where"
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    taken_offset_min: Mapped[int | None] = mapped_column(Integer)
    taken_source: Mapped[str | None] = mapped_column(String(16))
    taken_note: Mapped[str | None] = mapped_column(Text)
    time_shift_s: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    place_lat: Mapped[float | None] = mapped_column(Float)
    place_lon: Mapped[float | None] = mapped_column(Float)
    place_city: Mapped[str | None] = mapped_column(String(200))
    place_region: Mapped[str | None] = mapped_column(String(200))
    place_country_code: Mapped[str | None] = mapped_column(String(2))
    place_country: Mapped[str | None] = mapped_column(String(100))


class Event(Base):
    """Photos taken together (a day out, a trip): grouped by time and place, named from them
    ("Lisbon, 14–21 July 2023"). ``name_source`` is ``auto`` or ``user`` (kept); ``active`` is
    false once merged away, so undo can bring it back with its id."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False, default="")
    name_source: Mapped[str] = mapped_column(String(16), nullable=False, default="auto")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class EventPhoto(Base):
    """The event of a photo: at most one. ``source`` ``auto`` (grouped by time and place) or
    ``user`` (moved, merged, split by the user); grouping never moves a photo already in an
    event."""

    __tablename__ = "event_photos"
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="auto")


# The places named (search, the places list) from the index alone.
Index("ix_photo_when_where_place", PhotoWhenWhere.place_city, PhotoWhenWhere.place_region,
      PhotoWhenWhere.place_country)
