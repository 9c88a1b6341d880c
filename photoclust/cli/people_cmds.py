"""People: ``people`` (list, name, merge, split, find, setting) and ``faces`` (list, move,
dismiss, remove). Every correction is recorded in the library at once and ``photoclust undo``
takes it back (docs/people.md)."""
from __future__ import annotations

import argparse
from typing import Callable

from photoclust.cli.common import (
    CommandError,
    command_options,
    job_context,
    json_or_empty,
    no_edit_json,
    open_from_args,
    photo_ids_by_paths,
    print_json,
    print_skipped,
    printable,
    run_edit,
)
from photoclust.core.edits.history import EditResult, history
from photoclust.core.library import Library


def register(sub: argparse._SubParsersAction) -> None:
    people = sub.add_parser(
        "people", help="list the people found in your photos; name, merge or split them",
        description="Faces found by Organize, grouped into people. Without an action: one line "
        "per person (id, name, faces, photos; named people first). Every change can be undone "
        "with `photoclust undo`.")
    command_options(people, cmd_people)
    actions = people.add_subparsers(dest="people_action", metavar="ACTION")

    name = actions.add_parser("name", help="name a person (a name another person has merges "
                              "them)")
    name.add_argument("person_id", type=int, metavar="PERSON")
    name.add_argument("name", nargs="+", metavar="NAME")
    command_options(name, cmd_name, inner=True)

    merge = actions.add_parser("merge", help="merge people into the first one")
    merge.add_argument("person_ids", nargs="+", type=int, metavar="PERSON")
    command_options(merge, cmd_merge, inner=True)

    not_same = actions.add_parser(
        "not-same", help="answer no to “are these the same person?” (remembered: not asked "
        "again, and no face of one goes to the other)")
    not_same.add_argument("person_id", type=int, metavar="PERSON")
    not_same.add_argument("other_id", type=int, metavar="OTHER")
    command_options(not_same, cmd_not_same, inner=True)

    one = actions.add_parser(
        "one", help="answer yes to “are these one person?” (remembered: not asked again "
        "unless undone)")
    one.add_argument("person_id", type=int, metavar="PERSON")
    command_options(one, cmd_one, inner=True)

    split = actions.add_parser(
        "split", help="split a person in two or more",
        description="With --faces, those faces become a new person; without, the person's faces "
        "are grouped again more strictly and each further group becomes a new person.")
    split.add_argument("person_id", type=int, metavar="PERSON")
    split.add_argument("--faces", nargs="+", type=int, default=None, metavar="FACE")
    command_options(split, cmd_split, inner=True)

    find = actions.add_parser(
        "find", help="find faces in the photos not searched yet and group them (what Organize "
        "does after clustering)")
    command_options(find, cmd_find, inner=True)

    learn = actions.add_parser(
        "learn", help="re-sort the faces you did not place, after your corrections",
        description="Each face you did not place goes to the person most of its near faces are "
        "in, unless you said it is not that person. Faces you placed stay; no people are "
        "merged. Undo with `photoclust undo`.")
    command_options(learn, cmd_learn, inner=True)

    setting = actions.add_parser(
        "setting", help="whether Organize finds faces in this library (on or off)")
    setting.add_argument("value", nargs="?", choices=("on", "off"), default=None)
    command_options(setting, cmd_setting, inner=True)

    faces = sub.add_parser(
        "faces", help="list faces (of a person, without a name, or in a photo); move, dismiss "
        "or remove faces",
        description="One line per face: id, photo, box (left, top, width, height in the upright "
        "photo's pixels) and person.")
    which = faces.add_mutually_exclusive_group()
    which.add_argument("--person", type=int, default=None, metavar="ID",
                       help="only the faces of person ID")
    which.add_argument("--unnamed", action="store_true",
                       help="only faces in no person or in an unnamed one")
    which.add_argument("--photo", default=None, metavar="PHOTO",
                       help="only the faces in PHOTO (its id or path)")
    command_options(faces, cmd_faces)
    face_actions = faces.add_subparsers(dest="faces_action", metavar="ACTION")

    move = face_actions.add_parser(
        "move", help="put faces in a person (they stay there; never back where they were)")
    move.add_argument("face_ids", nargs="+", type=int, metavar="FACE")
    move.add_argument("--to", required=True, metavar="PERSON|new",
                      help="a person id, or `new` for a new person")
    move.add_argument("--name", default="", metavar="NAME", help="the new person's name")
    command_options(move, cmd_move, inner=True)

    dismiss = face_actions.add_parser(
        "dismiss", help="not this person: the faces leave their person and never return to it")
    dismiss.add_argument("face_ids", nargs="+", type=int, metavar="FACE")
    dismiss.add_argument("--person", type=int, default=None, metavar="ID",
                         help="the person they are not (default: the one each is in)")
    command_options(dismiss, cmd_dismiss, inner=True)

    remove = face_actions.add_parser("remove", help="not a face: hide it for good")
    remove.add_argument("face_ids", nargs="+", type=int, metavar="FACE")
    command_options(remove, cmd_remove, inner=True)


# -- reading ------------------------------------------------------------------------------------

def cmd_people(args: argparse.Namespace) -> int:
    from photoclust.core.faces import read

    with open_from_args(args) as library:
        people = read.list_people(library)
        counts = read.face_counts(library)
    if json_or_empty(args, people, "No people yet: `photoclust organize` finds faces "
                       "(or `photoclust people find`)."):
        return 0
    for p in people:
        who = printable(p.label) + ("" if p.source == "user" else " (unnamed)")
        print(f"{p.id:>6}  {who}  {p.faces} face{'s' * (p.faces != 1)} in {p.photos} "
              f"photo{'s' * (p.photos != 1)}")
    alone = counts["faces"] - counts["in_people"]
    if alone:
        print(f"{alone} face(s) in no person yet ({counts['unsure']} too small or blurred to "
              "judge): `photoclust faces --unnamed`.")
    return 0


def cmd_faces(args: argparse.Namespace) -> int:
    from photoclust.core.faces import read

    with open_from_args(args) as library:
        photo_id = None
        if args.photo is not None:
            photo_id = (int(args.photo) if args.photo.isdigit()
                        else photo_ids_by_paths(library, [args.photo], "nothing listed")[0])
        if args.person is not None and read.get_person(library, args.person) is None:
            raise CommandError(f"no person with id {args.person}")
        faces = read.list_faces(library, person_id=args.person, unnamed=args.unnamed,
                                photo_id=photo_id)
    if json_or_empty(args, faces):
        return 0
    for f in faces:
        who = "no person" if f.person_id is None else (
            f"{f.person_id} ({printable(read.display_name(f.person_id, f.person_name or ''))})")
        how = "placed by you" if f.source == "user" else (
            f"{f.confidence:.0%} sure" if f.confidence is not None else "")
        flag = "  unsure" if f.unsure else ""
        box = ",".join(map(str, f.box))
        print(f"{f.id:>7}  {printable(f.path)}  [{box}]  {who}  {how}{flag}".rstrip())
    return 0


# -- editing ------------------------------------------------------------------------------------

def _person_ids(params: dict) -> list[int]:
    ids: list[int] = []
    for key in ("person_id", "target_id", "merged_into", "other_id"):
        if isinstance(params.get(key), int):
            ids.append(params[key])
    ids.extend(i for i in params.get("source_ids", []) if isinstance(i, int))
    ids.extend(part[0] for part in params.get("parts", []) if part)
    return list(dict.fromkeys(ids))


def _edit(args: argparse.Namespace, operation: Callable[[Library], EditResult]) -> int:
    return run_edit(args, operation, _people_touched)


def _people_touched(library: Library, result: EditResult) -> dict:
    """The people an edit named (from its recorded ``params``), as they are now."""
    from photoclust.core.faces import read

    entry = history(library, limit=1)
    params = entry[0].params if entry and entry[0].event_id == result.event_id else {}
    people = []
    for pid in _person_ids(params):
        row = read.get_person(library, pid)
        people.append(row.to_json() if row is not None else {"id": pid, "active": False})
    return {"people": people}


def cmd_name(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import name_person

    name = " ".join(args.name)
    return _edit(args, lambda lib: name_person(lib, args.person_id, name))


def cmd_merge(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import merge_people

    if len(args.person_ids) < 2:
        raise CommandError("merge needs at least two person ids: the one to keep first")
    target, *sources = args.person_ids
    return _edit(args, lambda lib: merge_people(lib, target, sources))


def cmd_split(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import split_person

    return _edit(args, lambda lib: split_person(lib, args.person_id, face_ids=args.faces))


def cmd_move(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import move_faces

    if args.to == "new":
        person: int | None = None
    elif args.to.isdigit():
        person = int(args.to)
    else:
        raise CommandError("--to takes a person id or `new`")
    return _edit(args, lambda lib: move_faces(lib, args.face_ids, person, name=args.name))


def cmd_dismiss(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import faces_not_this_person

    return _edit(args, lambda lib: faces_not_this_person(lib, args.face_ids, args.person))


def cmd_not_same(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import people_not_same

    return _edit(args, lambda lib: people_not_same(lib, args.person_id, args.other_id))


def cmd_one(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import confirm_person

    return _edit(args, lambda lib: confirm_person(lib, args.person_id))


def cmd_remove(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import remove_faces

    return _edit(args, lambda lib: remove_faces(lib, args.face_ids))


def cmd_learn(args: argparse.Namespace) -> int:
    from photoclust.core.faces.editing import learn_people

    with open_from_args(args) as library:
        result = learn_people(library)
        if result is None:
            if args.json:
                print_json(no_edit_json("nothing to re-sort", people=[]))
            else:
                print("Nothing to re-sort: every face is with the person most like it.")
            return 0
    return _edit(args, lambda lib: result)


# -- finding faces and the setting --------------------------------------------------------------

def cmd_find(args: argparse.Namespace) -> int:
    from photoclust.core.faces.job import FacesJob
    from photoclust.core.jobs import run_job

    with open_from_args(args) as library:
        with job_context(args, "Finding faces") as ctx:
            result = run_job(FacesJob(library), ctx)
    if args.json:
        print_json(result.to_json())
        return 0
    print_faces_summary(result)
    return 0


def print_faces_summary(result) -> None:
    """The faces stage in words (``organize`` prints it too)."""
    if result.error:
        print(f"Faces: not searched: {printable(result.error)}")
        return
    g = result.grouping
    print(f"Faces: {result.faces} found in {result.with_faces} of {result.photos} photo(s) "
          f"searched ({result.unsure} unsure); {g.joined} joined their person, "
          f"{g.in_new_people} made {g.new_people} new people, {g.alone} alone so far.")
    for cluster_id, name in sorted(result.clusters_named.items()):
        print(f"  cluster {cluster_id} is mostly photos of people: named “{printable(name)}”")
    print_skipped(result.skipped, "photo")


def cmd_setting(args: argparse.Namespace) -> int:
    from photoclust.core.organize.settings import load_settings, save_settings

    with open_from_args(args) as library:
        if args.value is not None:
            settings = save_settings(library, faces=args.value == "on")
        else:
            settings = load_settings(library)
    if args.json:
        print_json({"faces": settings.faces})
    else:
        print(f"Organize {'finds' if settings.faces else 'does not find'} faces in this library.")
    return 0
