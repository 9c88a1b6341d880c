"""The read side of people, for the CLI and the app: plain frozen rows, no ORM objects.

``list_people`` (each active person with a face: name, counts, cover), ``list_faces`` (a
person's faces, the faces without a name, or a photo's), ``people_in_photo``, ``person_names``
(type-ahead), ``find_people`` (by name), ``photos_of_people`` and ``typical_faces`` (the faces
that stand best for a person, for the review page).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from photoclust.core.library import Library
from photoclust.core.library.chunks import chunks
from photoclust.core.library.models import Face, FaceScan, Person, Photo, PhotoStatus


def display_name(person_id: int, name: str) -> str:
    """A person's name, or ``Person 12`` for an unnamed one."""
    return name or f"Person {person_id}"


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str  # "" while unnamed
    source: str  # "user": named by the user; "auto": found by the grouping
    faces: int
    photos: int
    cover_face_id: int | None

    @property
    def label(self) -> str:
        return display_name(self.id, self.name)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "faces": self.faces, "photos": self.photos,
                "source": self.source, "cover_face_id": self.cover_face_id}


@dataclass(frozen=True)
class FaceRow:
    id: int
    photo_id: int
    path: str
    box: tuple[int, int, int, int]  # left, top, width, height in the upright photo's pixels
    person_id: int | None
    person_name: str | None  # None: in no person; "" for an unnamed person
    source: str
    confidence: float | None
    unsure: bool

    def to_json(self) -> dict:
        return {"id": self.id, "photo_id": self.photo_id, "path": self.path,
                "box": list(self.box), "person_id": self.person_id,
                "person_name": self.person_name, "source": self.source,
                "confidence": self.confidence, "unsure": self.unsure}


def _people_query(person_ids: list[int] | None = None):
    faces = func.count(Face.id)
    photos = func.count(func.distinct(Face.photo_id))
    query = (select(Person.id, Person.name, Person.name_source, faces, photos,
                    Person.cover_face_id)
             .join(Face, Face.person_id == Person.id)
             .join(Photo, Photo.id == Face.photo_id)
             .where(Person.active.is_(True), Face.removed.is_(False),
                    Photo.status == PhotoStatus.PRESENT)
             .group_by(Person.id))
    if person_ids is not None:
        query = query.where(Person.id.in_(person_ids))
    return query


def _sort_key(row: PersonRow) -> tuple:
    # Named people by name, then the unnamed, most faces first.
    return (row.source != "user", row.name.casefold(), -row.faces, row.id)


def list_people(library: Library, named_only: bool = False) -> list[PersonRow]:
    """Every active person with at least one face in a present photo: named first (by name),
    then unnamed, most faces first."""
    with library.session() as s:
        rows = [PersonRow(*r) for r in s.execute(_people_query())]
    if named_only:
        rows = [r for r in rows if r.source == "user"]
    return sorted(rows, key=_sort_key)


def get_person(library: Library, person_id: int) -> PersonRow | None:
    with library.session() as s:
        row = s.execute(_people_query([int(person_id)])).first()
    return None if row is None else PersonRow(*row)


def list_faces(library: Library, person_id: int | None = None, unnamed: bool = False,
               photo_id: int | None = None, include_unsure: bool = True) -> list[FaceRow]:
    """Faces (not removed, in present photos) of ``person_id``, or with ``unnamed`` those in
    no person or an unnamed one, or of ``photo_id``; all faces with none of these. By photo
    path, then left to right."""
    query = (select(Face.id, Face.photo_id, Photo.path, Face.left, Face.top, Face.width,
                    Face.height, Face.person_id, Person.name, Face.source, Face.confidence,
                    Face.unsure)
             .join(Photo, Photo.id == Face.photo_id)
             .outerjoin(Person, Person.id == Face.person_id)
             .where(Face.removed.is_(False), Photo.status == PhotoStatus.PRESENT))
    if person_id is not None:
        query = query.where(Face.person_id == int(person_id))
    if unnamed:
        query = query.where((Face.person_id.is_(None)) | (Person.name_source != "user"))
    if photo_id is not None:
        query = query.where(Face.photo_id == int(photo_id))
    if not include_unsure:
        query = query.where(Face.unsure.is_(False))
    query = query.order_by(Photo.path, Face.left, Face.id)
    with library.session() as s:
        return [FaceRow(fid, pid, path, (left, top, w, h), person, name, source,
                        None if conf is None else round(conf, 4), bool(unsure))
                for fid, pid, path, left, top, w, h, person, name, source, conf, unsure
                in s.execute(query)]


def people_in_photo(library: Library, photo_id: int) -> list[PersonRow]:
    """The people whose faces are in ``photo_id``, left to right."""
    faces = list_faces(library, photo_id=photo_id)
    ids = list(dict.fromkeys(f.person_id for f in faces if f.person_id is not None))
    with library.session() as s:
        rows = {r[0]: PersonRow(*r) for r in s.execute(_people_query(ids))} if ids else {}
    return [rows[i] for i in ids if i in rows]


def person_names(library: Library, prefix: str = "") -> list[str]:
    """The names given to people, for type-ahead: those starting with ``prefix`` (any case)."""
    with library.session() as s:
        names = s.scalars(select(Person.name).distinct()
                          .where(Person.active.is_(True), Person.name_source == "user")).all()
    folded = prefix.casefold()
    return sorted((n for n in names if n.casefold().startswith(folded)), key=str.casefold)


def find_people(library: Library, name: str) -> list[PersonRow]:
    """The people named ``name`` (any case), or ``Person 12`` for an unnamed one."""
    wanted = " ".join(name.split()).casefold()
    return [p for p in list_people(library) if p.label.casefold() == wanted]


def photos_of_people(library: Library, person_ids: list[int]) -> list[int]:
    """Ids of the present photos in which every one of ``person_ids`` has a face."""
    if not person_ids:
        return []
    found: set[int] | None = None
    with library.session() as s:
        for pid in person_ids:
            photos = set(s.scalars(select(Face.photo_id).distinct()
                                   .join(Photo, Photo.id == Face.photo_id)
                                   .where(Face.person_id == int(pid), Face.removed.is_(False),
                                          Photo.status == PhotoStatus.PRESENT)))
            found = photos if found is None else found & photos
    return sorted(found or ())


def face_counts(library: Library) -> dict:
    """``{"photos_searched", "faces", "in_people", "unsure", "people", "named"}``."""
    with library.session() as s:
        searched = s.scalar(select(func.count(FaceScan.photo_id))) or 0
        faces = s.scalar(select(func.count(Face.id)).where(Face.removed.is_(False))) or 0
        placed = s.scalar(select(func.count(Face.id)).where(Face.removed.is_(False),
                                                            Face.person_id.is_not(None))) or 0
        unsure = s.scalar(select(func.count(Face.id)).where(Face.removed.is_(False),
                                                            Face.unsure.is_(True))) or 0
    people = list_people(library)
    return {"photos_searched": int(searched), "faces": int(faces), "in_people": int(placed),
            "unsure": int(unsure), "people": len(people),
            "named": sum(p.source == "user" for p in people)}


def face_ids_of_photos(library: Library, photo_ids: list[int]) -> dict[int, list[int]]:
    """``{photo_id: [face ids]}`` (not removed)."""
    out: dict[int, list[int]] = {}
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            for fid, pid in s.execute(select(Face.id, Face.photo_id)
                                      .where(Face.photo_id.in_(part), Face.removed.is_(False))
                                      .order_by(Face.id)):
                out.setdefault(pid, []).append(fid)
    return out


def people_in_text(library: Library, text: str) -> tuple[list[tuple[int, str]], str]:
    """The people named in ``text`` as ``(id, label)`` (a name the user gave, any case, several
    words allowed, or ``Person 12``), longest names first, and the rest of the text. One light
    query (a search without names costs next to nothing more)."""
    words = text.split()
    if not words:
        return [], text
    with library.session() as s:
        rows = s.execute(select(Person.id, Person.name, Person.name_source)
                         .where(Person.active.is_(True))).all()
    by_name: dict[str, tuple[int, str]] = {}
    for pid, name, source in rows:
        if source == "user" and name:
            by_name.setdefault(name.casefold(), (pid, name))
        by_name.setdefault(f"person {pid}", (pid, display_name(pid, "")))
    longest = max((len(name.split()) for name in by_name), default=0)
    found: list[tuple[int, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + longest), i, -1):
            person = by_name.get(" ".join(words[i:j]).casefold())
            if person is not None:
                if person not in found:
                    found.append(person)
                i = j
                break
        else:
            rest.append(words[i])
            i += 1
    return found, " ".join(rest)


def photo_rows(library: Library, photo_ids: list[int]) -> list[tuple[int, str, int | None]]:
    """``(id, path, cluster_id or None)`` of ``photo_ids``, by id."""
    from photoclust.core.library.models import Assignment

    out: list[tuple[int, str, int | None]] = []
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            out.extend((pid, path, cid) for pid, path, cid in s.execute(
                select(Photo.id, Photo.path, Assignment.cluster_id)
                .outerjoin(Assignment, Assignment.photo_id == Photo.id)
                .where(Photo.id.in_(part))))
    return sorted(out)


@dataclass(frozen=True)
class PhotoPeople:
    """The named people in a photo, for XMP sidecars: the photo's upright size (0 when unknown)
    and each named face as ``(name, (left, top, width, height))``."""

    width: int
    height: int
    faces: tuple[tuple[str, tuple[int, int, int, int]], ...]


def named_faces_of_photos(library: Library, photo_ids: list[int]) -> dict[int, PhotoPeople]:
    """``{photo_id: PhotoPeople}`` for the photos among ``photo_ids`` with a named person's face
    (left to right)."""
    found: dict[int, list[tuple[str, tuple[int, int, int, int]]]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    with library.session() as s:
        for part in chunks(sorted(set(photo_ids))):
            for pid, name, left, top, w, h, pw, ph in s.execute(
                    select(Face.photo_id, Person.name, Face.left, Face.top, Face.width,
                           Face.height, Photo.width, Photo.height)
                    .join(Person, Person.id == Face.person_id)
                    .join(Photo, Photo.id == Face.photo_id)
                    .where(Face.photo_id.in_(part), Face.removed.is_(False),
                           Person.active.is_(True), Person.name_source == "user")
                    .order_by(Face.photo_id, Face.left, Face.id)):
                found.setdefault(pid, []).append((name, (left, top, w, h)))
                sizes[pid] = (pw or 0, ph or 0)  # 0: unknown (no face regions then)
    return {pid: PhotoPeople(*sizes[pid], tuple(faces)) for pid, faces in found.items()}


def person_albums(library: Library, person_ids: Iterable[int]) -> list[tuple]:
    """For an export per person: the present photos with a face (not removed) of each of
    ``person_ids``, as ``(photo_id, path, person_id, source, content_hash, file_size,
    mtime_ns)`` (``source``: who put the face with the person; a photo with two faces of one
    person comes once per face, the user's first), by person and path."""
    ids = sorted({int(p) for p in person_ids})
    rows: list[tuple] = []
    with library.session() as s:
        for part in chunks(ids):
            rows.extend(tuple(r) for r in s.execute(
                select(Photo.id, Photo.path, Face.person_id, Face.source, Photo.content_hash,
                       Photo.file_size, Photo.mtime_ns)
                .join(Face, Face.photo_id == Photo.id)
                .where(Face.person_id.in_(part), Face.removed.is_(False),
                       Photo.status == PhotoStatus.PRESENT)
                .order_by(Face.person_id, Photo.path, (Face.source == "user").desc(),
                          Face.left, Face.id)))
    return sorted(rows, key=lambda r: r[2])  # by person (stable: each person's order kept)


# --- for the app's People page ----------------------------------------------------------------


def faces_to_check(library: Library) -> list[FaceRow]:
    """Faces (not removed, in present photos) the grouping was unsure of or put in no person,
    by photo path: the app lists them after the people."""
    query = (select(Face.id, Face.photo_id, Photo.path, Face.left, Face.top, Face.width,
                    Face.height, Face.person_id, Person.name, Face.source, Face.confidence,
                    Face.unsure)
             .join(Photo, Photo.id == Face.photo_id)
             .outerjoin(Person, Person.id == Face.person_id)
             .where(Face.removed.is_(False), Photo.status == PhotoStatus.PRESENT,
                    Face.unsure.is_(True) | Face.person_id.is_(None))
             .order_by(Photo.path, Face.left, Face.id))
    with library.session() as s:
        return [FaceRow(fid, pid, path, (left, top, w, h), person, name, source,
                        None if conf is None else round(conf, 4), bool(unsure))
                for fid, pid, path, left, top, w, h, person, name, source, conf, unsure
                in s.execute(query)]


@dataclass(frozen=True)
class FaceCrop:
    """Where to cut a face from: its photo's thumbnail key and file, the photo's upright size
    and the face's box in it."""

    face_id: int
    photo_id: int
    content_hash: str
    path: str
    photo_width: int | None
    photo_height: int | None
    box: tuple[int, int, int, int]


def typical_faces(library: Library, person_id: int, exclude: Collection[int] = (),
                  n: int = 6) -> tuple[list[int], int]:
    """The ``n`` faces that stand best for a person (those the user placed, then the surest;
    unsure ones last; none in ``exclude``), and how many faces the person has besides
    ``exclude`` (not removed, in present photos): what a review question shows beside a face."""
    where = [Face.person_id == int(person_id), Face.removed.is_(False),
             Photo.status == PhotoStatus.PRESENT]
    if exclude:
        where.append(Face.id.not_in([int(f) for f in exclude]))
    with library.session() as s:
        total = s.scalar(select(func.count()).select_from(Face)
                         .join(Photo, Photo.id == Face.photo_id).where(*where)) or 0
        ids = list(s.scalars(select(Face.id).join(Photo, Photo.id == Face.photo_id)
                             .where(*where)
                             .order_by((Face.source == "user").desc(), Face.unsure,
                                       Face.confidence.desc().nulls_last(), Face.id)
                             .limit(n)))
    return [int(f) for f in ids], int(total)


def face_crops(library: Library, face_ids: list[int]) -> dict[int, FaceCrop]:
    """``{face_id: FaceCrop}`` of the given faces (a person's cover, a page of faces)."""
    out: dict[int, FaceCrop] = {}
    with library.session() as s:
        for part in chunks(sorted({int(f) for f in face_ids})):
            for row in s.execute(select(Face.id, Face.photo_id, Photo.content_hash, Photo.path,
                                        Photo.width, Photo.height, Face.left, Face.top,
                                        Face.width, Face.height)
                                 .join(Photo, Photo.id == Face.photo_id)
                                 .where(Face.id.in_(part))):
                fid, pid, content_hash, path, pw, ph, left, top, w, h = row
                out[fid] = FaceCrop(fid, pid, content_hash, path, pw, ph, (left, top, w, h))
    return out
