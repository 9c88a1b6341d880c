"""Shared command-line plumbing: library opening, --json output, progress bars, Ctrl-C."""
from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from photoclust.core.edits.history import EditError, EditResult
from photoclust.core.jobs import JobContext, JobError, Progress
from photoclust.core.library import Library, open_library

SKIPPED_SHOWN = 20

#: Characters that must not reach a terminal raw: C0 and C1 controls (ESC starts the terminal's
#: escape sequences, 0x9b is CSI on its own), DEL, and the bidirectional overrides and isolates
#: that make text display in another order than it is stored.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SURROGATES = re.compile("[\ud800-\udfff]")


def _escape(char: str) -> str:
    code = ord(char)
    return _NAMED_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(value: object) -> str:
    """``value`` as text that is safe to print: control characters shown as escapes (``\\x1b``,
    ``\\n``), bytes of a file name that are not UTF-8 as ``\\xff``. Every piece of data the
    CLI prints as text (names, paths, reasons, messages) goes through it; ``print_json`` escapes
    the same characters the JSON way."""
    text = str(value)
    if _SURROGATES.search(text):
        try:  # surrogates that stand for the undecodable bytes of a file name
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNPRINTABLE.sub(lambda m: _escape(m.group()), text)


def print_skipped(skipped: list[tuple[str, str]], noun: str = "file") -> None:
    """The files a job skipped, each with its reason (the first ``SKIPPED_SHOWN``)."""
    if not skipped:
        return
    print(f"Skipped {len(skipped)} {noun}(s):")
    for path, reason in skipped[:SKIPPED_SHOWN]:
        print(f"  {printable(path)}: {printable(reason)}")
    if len(skipped) > SKIPPED_SHOWN:
        print(f"  ... and {len(skipped) - SKIPPED_SHOWN} more (--json lists all)")


class CommandError(Exception):
    """Stops a command with a one-line message for the user and exit status 2."""


def add_library_option(parser: argparse.ArgumentParser, inner: bool = False) -> None:
    """``--library FILE``; on an ``inner`` command (an action under a command that has it too)
    it does not reset what was given before the action (``people --library L name ...``)."""
    parser.add_argument(
        "--library", metavar="FILE", type=Path, default=argparse.SUPPRESS if inner else None,
        help="library file (default: photoclust's library in your user data folder)",
    )


def add_json_option(parser: argparse.ArgumentParser, inner: bool = False) -> None:
    """``--json``; ``inner`` as for ``add_library_option``."""
    parser.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if inner else False,
                        help="print machine-readable JSON")


def command_options(parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int],
                    inner: bool = False) -> argparse.ArgumentParser:
    """What every library command has: ``--library`` and ``--json`` (added where the call
    stands among the command's own options, so in that place in its help), and ``handler`` to
    run it. ``inner``: see ``add_library_option``. Returns ``parser``."""
    add_library_option(parser, inner)
    add_json_option(parser, inner)
    parser.set_defaults(func=handler)
    return parser


def add_command(sub: argparse._SubParsersAction, name: str,
                handler: Callable[[argparse.Namespace], int],
                **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand ``name`` (``kwargs`` as for ``add_parser``: help, description) with
    ``command_options`` first; the caller adds its own arguments after them."""
    return command_options(sub.add_parser(name, **kwargs), handler)


def add_model_option(parser: argparse.ArgumentParser, what: str = "image model") -> None:
    from photoclust.core.embedding.backbones import DEFAULT_MODEL, REGISTRY

    models = ", ".join(REGISTRY)
    parser.add_argument("--model", default=None, metavar="NAME",
                        help=f"{what} (default: the library's own, the one it was organised with; "
                        f"{DEFAULT_MODEL} for a new library; available: {models})")


def model_of(args: argparse.Namespace, library: Library | None) -> str:
    """The model named on the command line, else the library's (``store.library_model``), else
    the default (no library yet)."""
    from photoclust.core.embedding.backbones import DEFAULT_MODEL
    from photoclust.core.embedding.store import library_model

    if args.model:
        return args.model
    return library_model(library) if library is not None else DEFAULT_MODEL


def cluster_count(text: str) -> int | str:
    """argparse type of ``--k``: the core's one check (``clustering.check_k``)."""
    from photoclust.core.clustering import check_k

    try:
        return check_k(text)
    except JobError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: Commands that only read the library: they work on a read-only library (or one on a full
#: disk), which is then opened read-only. ``check`` reads too, unless it is asked to repair.
READING_COMMANDS = frozenset({"status", "clusters", "photos", "export", "search", "similar",
                              "check", "events", "places"})


def open_from_args(args: argparse.Namespace) -> Library:
    """The library of ``--library``. A reading command (and ``check``, which has nothing to
    check or repair in a new library) never creates one: a mistyped path is refused with a
    sentence instead of reading a new, empty library."""
    command = getattr(args, "command", None)
    reading = command in READING_COMMANDS and not getattr(args, "repair", False)
    return open_library(getattr(args, "library", None), read_only_ok=reading,
                        create=command not in READING_COMMANDS)


# What JSON leaves raw but a terminal must not get: DEL, C1 controls, bidi overrides, surrogates.
_JSON_UNPRINTABLE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def photo_ids_by_paths(library: Library, paths: list[str], nothing_done: str) -> list[int]:
    """The ids of the photos at ``paths``, in that order; a ``CommandError`` naming the paths the
    library does not hold (``nothing_done`` says what was therefore not done)."""
    from photoclust.core.library import queries

    found = queries.photos_by_paths(library, paths)
    unknown = [p for p in paths if p not in found]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CommandError(f"not in the library: {shown} (run `photoclust index` first); "
                           f"{nothing_done}")
    return [found[p].id for p in paths]


def edit_of_photos(paths: list[str], nothing_done: str,
                   operation: Callable[[Library, list[int]], EditResult]
                   ) -> Callable[[Library], EditResult]:
    """The edit (for ``run_edit``) ``operation(library, ids)`` of the photos at ``paths``; a
    path the library does not hold stops it first (``photo_ids_by_paths``, ``nothing_done``)."""
    return lambda library: operation(library, photo_ids_by_paths(library, paths, nothing_done))


def print_json(obj: Any) -> None:
    """``obj`` as JSON on stdout; every control character is a JSON escape (``\\u001b``), so
    the text is exact JSON and safe on a terminal."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_JSON_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    sys.stdout.write("\n")
    sys.stdout.flush()


def json_or_empty(args: argparse.Namespace, items: Sequence[Any], empty: str | None = None) -> bool:
    """The start of a listing command: with ``--json`` the items as a JSON list (each its
    ``to_json()``); without, ``empty`` when there are no items. ``True`` when that is all the
    command prints."""
    if args.json:
        print_json([item.to_json() for item in items])
        return True
    if not items and empty is not None:
        print(empty)
        return True
    return False


@contextmanager
def job_context(args: argparse.Namespace, description: str) -> Iterator[JobContext]:
    """A ``JobContext`` rendered as a tqdm bar on stderr (none with --json or when not a tty
    unless -v), whose cancel flag is set by the first Ctrl-C; a second Ctrl-C aborts at once."""
    cancel = threading.Event()
    show_bar = not getattr(args, "json", False) and (sys.stderr.isatty() or args.verbose)
    bar = None
    if show_bar:
        from tqdm import tqdm

        bar = tqdm(total=0, desc=description, unit="photo", dynamic_ncols=True, leave=True)

    def on_progress(progress: Progress) -> None:
        if bar is None:
            return
        done, total, message = progress.done, progress.total, progress.text
        unit = "step" if progress.stage == "cluster" else "photo"
        if unit != bar.unit:
            # Clustering counts its own steps: its rate and time left start afresh (after 12 s
            # of photos it showed "1/3, 12.62s/photo"). Indexing and embedding, which alternate
            # in organize, share one count of photos.
            bar.reset(total=total)
            bar.unit = unit
        if bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message[-60:], refresh=False)
        bar.refresh()

    previous = None
    in_main_thread = threading.current_thread() is threading.main_thread()

    def on_sigint(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nStopping after the current batch (Ctrl-C again to abort)...", file=sys.stderr)

    if in_main_thread:
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield JobContext(cancel_event=cancel, on_update=on_progress)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()


def run_edit(args: argparse.Namespace, operation: Callable[[Library], EditResult],
             changed: Callable[[Library, EditResult], dict], *, nothing: str = "Nothing changed.",
             said: Callable[[EditResult], str] | None = None) -> int:
    """Run one undoable edit of the library named by ``args`` and report it: ``--json`` prints
    the edit with ``changed(library, result)`` (what it touched, read after the edit), else
    ``said(result)`` (by default its description and that undo takes it back), or ``nothing``
    when it recorded no edit. An ``EditError`` is the command's error."""
    with open_from_args(args) as library:
        try:
            result = operation(library)
        except EditError as exc:
            raise CommandError(str(exc)) from exc
        if args.json:
            print_json({**result.to_json(), **changed(library, result)})
        elif result.event_id is None:
            print(nothing)
        elif said is not None:
            print(said(result))
        else:
            print(f"{printable(result.description)}. (`photoclust undo` takes it back.)")
    return 0


def no_edit_json(description: str, **touched: list) -> dict:
    """What ``--json`` prints for an edit command that found nothing to do: the keys of
    ``EditResult.to_json`` (``event_id`` and ``kind`` null), then ``touched`` (empty lists)."""
    return {"event_id": None, "kind": None, "description": description, "photo_ids": [],
            "cluster_ids": [], "created_cluster_ids": [], **touched}
