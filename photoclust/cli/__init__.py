"""The ``photoclust`` command line.

Each module in ``COMMAND_MODULES`` has ``register(subparsers)`` adding its subcommands, each with
``set_defaults(func=handler)``; a handler takes the parsed args and returns an exit status.
Command names and ``--json`` keys are a contract for scripts: extend them, never rename them.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
from pathlib import Path

import appdirs
from sqlalchemy.exc import OperationalError

from photoclust import __version__
from photoclust.cli.common import CommandError, printable
from photoclust.core.jobs import Cancelled, JobError
from photoclust.core.library.db import APP_NAME, LibraryError

COMMAND_MODULES = [
    "photoclust.cli.library_cmds",
    "photoclust.cli.gui_cmds",
    "photoclust.cli.export_cmds",
    "photoclust.cli.check_cmds",
    "photoclust.cli.edit_cmds",
    "photoclust.cli.embed_cmds",
    "photoclust.cli.organize_cmds",
    "photoclust.cli.cluster_cmds",
    "photoclust.cli.learn_cmds",
    "photoclust.cli.evaluate_cmds",
    "photoclust.cli.search_cmds",
    "photoclust.cli.people_cmds",
    "photoclust.cli.events_cmds",
]

log = logging.getLogger("photoclust")


def build_parser() -> argparse.ArgumentParser:
    return _parser_and_commands()[0]


def _parser_and_commands() -> tuple[argparse.ArgumentParser, frozenset[str]]:
    """The parser and the names of its commands (argparse has no public way to list them)."""
    parser = argparse.ArgumentParser(
        prog="photoclust",
        description="Organise photo folders into clusters by content. "
        "Without a command, opens the desktop application.",
    )
    parser.add_argument("--version", action="version", version=f"photoclust {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log to stderr too (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command_parser in sub.choices.values():  # -v works after the command too
        command_parser.add_argument("-v", "--verbose", action="count", default=0,
                                    dest="command_verbose", help="log to stderr too")
    return parser, frozenset(sub.choices)


_installed_handlers: list[logging.Handler] = []
_WARNINGS_LOG = logging.getLogger("py.warnings")


def setup_logging(verbosity: int) -> None:
    """Log to the user log file, and to stderr with -v; idempotent across main() calls."""
    root = logging.getLogger()
    for handler in _installed_handlers:
        root.removeHandler(handler)
        handler.close()
    _installed_handlers.clear()
    root.setLevel(logging.DEBUG)
    # Warnings of the libraries (Pillow's "Corrupt EXIF data", with site-packages paths) go to
    # the log like everything else, not raw to the terminal; the file's reason is said anyway.
    logging.captureWarnings(True)
    if not any(isinstance(h, logging.NullHandler) for h in _WARNINGS_LOG.handlers):
        _WARNINGS_LOG.addHandler(logging.NullHandler())  # not Python's last-resort stderr
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        log_dir = Path(appdirs.user_log_dir(APP_NAME, appauthor=False))
        log_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_dir / "photoclust.log", encoding="utf-8")
        fh.setLevel(logging.INFO)
        fh.setFormatter(fmt)
        root.addHandler(fh)
        _installed_handlers.append(fh)
    except OSError:
        pass  # a read-only home must not stop the program; stderr logging still works with -v
    if verbosity:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
        sh.setFormatter(fmt)
        root.addHandler(sh)
        _installed_handlers.append(sh)


def _is_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or getattr(exc, "errno", None) == 28


def _is_read_only(exc: BaseException) -> bool:
    """SQLite refused a write to a library opened read-only (or made read-only meanwhile)."""
    return "readonly database" in str(exc).lower() or getattr(exc, "errno", None) == 30


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, commands = _parser_and_commands()
    if not any(a in commands or a in ("-h", "--help", "--version") for a in argv):
        # No command: the desktop application, keeping global flags before it.
        global_flags = [a for a in argv if a in ("-v", "-vv", "--verbose")]
        argv = [*global_flags, "gui", *[a for a in argv if a not in global_flags]]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.verbose += args.command_verbose
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("Stopped. Everything finished so far is saved; run the command again to continue.",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("Aborted. Everything finished so far is saved.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`photoclust clusters | head`): not an error worth a message.
        # Python would complain once more while flushing stdout at exit; point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CommandError, LibraryError, JobError) as exc:
        print(f"photoclust: {printable(exc)}", file=sys.stderr)
        return 2 if not isinstance(exc, JobError) else 1
    except (OperationalError, sqlite3.OperationalError, OSError) as exc:
        if _is_disk_full(exc):
            print("photoclust: the disk is full. Nothing was lost; free some space and run the "
                  "command again to continue.", file=sys.stderr)
            return 1
        if _is_read_only(exc):
            print(f"photoclust: cannot write: the library or a folder it writes to is read-only "
                  f"({printable(exc)}). Everything finished so far is saved; reading commands "
                  "(status, clusters, photos, export, search) work on a read-only library.",
                  file=sys.stderr)
            return 1
        log.exception("unexpected error")
        print(f"photoclust: {printable(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
