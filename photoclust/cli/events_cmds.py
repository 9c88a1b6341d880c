"""Time and place: ``events``, ``places``, ``event rename|merge|split|move`` and ``shift-time``.
Every edit is recorded at once and can be undone with ``photoclust undo``."""
from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import Callable

from photoclust.cli.common import (
    CommandError,
    add_command,
    command_options,
    edit_of_photos,
    json_or_empty,
    open_from_args,
    printable,
    run_edit,
)
from photoclust.core.edits.history import EditResult, history
from photoclust.core.events import editing, queries
from photoclust.core.library import Library


def register(sub: argparse._SubParsersAction) -> None:
    events = sub.add_parser(
        "events", help="list the events (photos grouped by time and place), oldest first",
        description="Events are found by Organize: photos taken close together in time, a trip "
        "away from home kept whole. Rename, merge, split and move with `photoclust event`.")
    command_options(events, cmd_events)

    places = sub.add_parser("places", help="list the places photos were taken, most photos "
                            "first", description="Places are named offline from the photos' "
                            "GPS positions (GeoNames). Photos without GPS have no place.")
    command_options(places, cmd_places)

    event = sub.add_parser("event", help="correct events: rename, merge, split, move photos",
                           description="Each correction is kept across Organize and can be "
                           "undone with `photoclust undo`.")
    actions = event.add_subparsers(dest="event_action", metavar="ACTION", required=True)

    rename = add_command(actions, "rename", cmd_event_rename, help="give event ID your NAME")
    rename.add_argument("event_id", type=int, metavar="ID")
    rename.add_argument("name", nargs="+", metavar="NAME")
    merge = add_command(actions, "merge", cmd_event_merge, help="merge events into the first one")
    merge.add_argument("event_ids", nargs="+", type=int, metavar="ID")
    split = add_command(actions, "split", cmd_event_split, help="split event ID at a time",
                        description="The photos of event ID taken at or after TIME "
                        "(2023-07-17 or 2023-07-17T12:00, local time) go to a new event.")
    split.add_argument("event_id", type=int, metavar="ID")
    split.add_argument("--at", required=True, type=_time, metavar="TIME")
    move = add_command(actions, "move", cmd_event_move, help="move photos (by path) to event ID")
    move.add_argument("paths", nargs="+", metavar="PHOTO_PATH")
    move.add_argument("--to", dest="event_id", type=int, required=True, metavar="ID")

    shift = sub.add_parser(
        "shift-time", help="correct the time of photos whose camera clock was wrong",
        description="Move the photos' times by DURATION ([-]DAYSd HH:MM[:SS], e.g. +1:00, "
        "3652d 02:00; a negative one as --by=-1:00 or --by=-365d). The files are not changed; "
        "`photoclust undo` takes it back.")
    shift.add_argument("paths", nargs="+", metavar="PHOTO_PATH")
    shift.add_argument("--by", required=True, type=_duration, metavar="DURATION")
    command_options(shift, cmd_shift_time)


def _time(text: str) -> datetime:
    try:
        # The photos' local time, as typed: an offset given with it is not used.
        return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: write 2023-07-17 or 2023-07-17T12:00") from None


_DURATION = re.compile(r"^\s*([+-])?\s*(?:(\d+)\s*d)?\s*(?:(\d+):(\d{1,2})(?::(\d{1,2}))?)?\s*$")


def _duration(text: str) -> int:
    """``[-]DAYSd HH:MM[:SS]`` as seconds."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()[1:]):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write +1:00, -0:30, 365d or 3652d 02:00")
    sign, days, hours, minutes, secs = match.groups()
    total = (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
             + int(secs or 0))
    return -total if sign == "-" else total


def cmd_events(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        events = queries.list_events(library)
    if json_or_empty(args, events, "No events yet: run `photoclust organize FOLDER`."):
        return 0
    width = max(len(str(e.id)) for e in events)
    print(f"{'ID':>{width}}  {'PHOTOS':>6}  {'FROM':<10}  {'TO':<10}  NAME")
    for e in events:
        start = f"{e.start:%Y-%m-%d}" if e.start else "-"
        end = f"{e.end:%Y-%m-%d}" if e.end else "-"
        print(f"{e.id:>{width}}  {e.photos:>6}  {start:<10}  {end:<10}  {printable(e.name)}")
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    with open_from_args(args) as library:
        places = queries.list_places(library)
        waiting = 0 if args.json else queries.photos_awaiting_places(library)
    if json_or_empty(args, places):
        return 0
    if not places and not waiting:
        print("No places: no photo has a GPS position.")
    for p in places:
        print(f"{p.photos:>6}  {printable(p.name)}, {printable(p.country or '')}")
    if waiting:
        print(f"{waiting} photo{'s' if waiting != 1 else ''} with a GPS position "
              f"{'have' if waiting != 1 else 'has'} no place yet: run `photoclust organize "
              "FOLDER` (indexing alone names no places).")
    return 0


def _edit(args: argparse.Namespace, operation: Callable[[Library], EditResult]) -> int:
    return run_edit(args, operation, lambda library, result: {"events": [
        e.to_json() for e in queries.list_events(library, _events_of(library, result))]})


def _events_of(library: Library, result: EditResult) -> list[int]:
    """The events an edit named (from its recorded ``params``)."""
    entry = next((e for e in history(library, limit=5) if e.event_id == result.event_id), None)
    params = entry.params if entry is not None else {}
    ids = [params[k] for k in ("event_id", "target_id", "new_event_id") if k in params]
    return [int(i) for i in [*ids, *params.get("source_ids", [])]]


def cmd_event_rename(args: argparse.Namespace) -> int:
    name = " ".join(args.name)
    return _edit(args, lambda lib: editing.rename_event(lib, args.event_id, name))


def cmd_event_merge(args: argparse.Namespace) -> int:
    if len(args.event_ids) < 2:
        raise CommandError("merge needs at least two event ids: the target first")
    target, *sources = args.event_ids
    return _edit(args, lambda lib: editing.merge_events(lib, target, sources))


def cmd_event_split(args: argparse.Namespace) -> int:
    return _edit(args, lambda lib: editing.split_event(lib, args.event_id, args.at))


def cmd_event_move(args: argparse.Namespace) -> int:
    return _edit(args, edit_of_photos(args.paths, "nothing was moved", lambda lib, ids:
                                      editing.move_photos_to_event(lib, ids, args.event_id)))


def cmd_shift_time(args: argparse.Namespace) -> int:
    return _edit(args, edit_of_photos(args.paths, "no time was changed", lambda lib, ids:
                                      editing.shift_times(lib, ids, args.by)))
