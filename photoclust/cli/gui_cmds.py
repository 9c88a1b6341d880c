"""The ``gui`` command: the desktop application (also what ``photoclust`` alone runs)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from photoclust.cli.common import CommandError, add_library_option, printable
from photoclust.core.library import open_library
from photoclust.core.library.db import LibraryError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop application",
                       description="Open the desktop application on a library.")
    add_library_option(p)
    p.add_argument("--screenshot", metavar="FILE.png", type=Path, default=None,
                   help="open the window offscreen, wait until clusters and thumbnails are "
                        "drawn, save a PNG screenshot and exit")
    p.set_defaults(func=cmd_gui)


def cmd_gui(args: argparse.Namespace) -> int:
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        raise CommandError(f"{args.screenshot}: the screenshot must be a .png file")
    if args.screenshot is None and not _has_display():
        raise CommandError("there is no display to open the window on (DISPLAY is not set); "
                           "use `photoclust gui --screenshot FILE.png` for an offscreen picture, "
                           "or the commands listed by `photoclust --help`")
    try:
        from photoclust.gui import app
        from photoclust.gui.settings import remembered_library_path
    except ImportError as exc:
        raise CommandError(f"the desktop application needs PySide6 ({exc})") from exc
    path = args.library
    if path is None and args.screenshot is None:
        path = remembered_library_path()
    try:
        library = open_library(path)
    except LibraryError as exc:
        if args.screenshot is None:
            app.show_startup_error(str(exc))  # started from a desktop entry: no terminal
        raise
    with library:
        if args.screenshot is not None:
            status = app.take_screenshot(library, args.screenshot)
            if status == 0:
                print(printable(args.screenshot))
            return status
        return app.run_gui(library)


def _has_display() -> bool:
    """Qt aborts the process when it finds no display: check first (Linux and BSDs only)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
