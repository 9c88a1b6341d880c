"""Shared command-line plumbing: library opening, --json output, progress bars, Ctrl-C."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from photoclust.core.jobs import JobContext
from photoclust.core.library import Library, open_library

SKIPPED_SHOWN = 20


def print_skipped(skipped: list[tuple[str, str]], noun: str = "file") -> None:
    """The files a job skipped, each with its reason (the first ``SKIPPED_SHOWN``)."""
    if not skipped:
        return
    print(f"Skipped {len(skipped)} {noun}(s):")
    for path, reason in skipped[:SKIPPED_SHOWN]:
        print(f"  {path}: {reason}")
    if len(skipped) > SKIPPED_SHOWN:
        print(f"  ... and {len(skipped) - SKIPPED_SHOWN} more (--json lists all)")


class CommandError(Exception):
    """Stops a command with a one-line message for the user and exit status 2."""


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--library", metavar="FILE", type=Path, default=None,
        help="library file (default: photoclust's library in your user data folder)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


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
    """argparse type of ``--k``: ``auto`` or a number of clusters of at least 1."""
    if text == "auto":
        return text
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of clusters or 'auto'") from None
    if k < 1:
        raise argparse.ArgumentTypeError("the number of clusters must be at least 1")
    return k


def open_from_args(args: argparse.Namespace) -> Library:
    return open_library(getattr(args, "library", None))


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


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

    def on_progress(done: int, total: int, message: str) -> None:
        if bar is None:
            return
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
        yield JobContext(on_progress, cancel)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
