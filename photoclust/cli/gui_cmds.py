"""The ``gui`` command: the desktop application (also what ``photoclust`` alone runs), or one
screenshot of a page of it."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from photoclust.cli.common import CommandError, add_library_option, printable
from photoclust.core.library import open_library
from photoclust.core.library.db import LibraryError

PAGES = ("photos", "viewer", "map", "review", "duplicates", "search",
         "people", "timeline")


def window_size(text: str) -> tuple[int, int]:
    """argparse type of ``--size``: ``WIDTHxHEIGHT`` in pixels."""
    match = re.fullmatch(r"\s*(\d{3,5})\s*[xX×]\s*(\d{3,5})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a window size such as 1024x700")
    return int(match.group(1)), int(match.group(2))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop application",
                       description="Open the desktop application on a library.")
    add_library_option(p)
    p.add_argument("--screenshot", metavar="FILE.png", type=Path, default=None,
                   help="draw the window offscreen, wait until the page's work is done and its "
                        "thumbnails are drawn, save a PNG screenshot and exit")
    p.add_argument("--size", metavar="WxH", type=window_size, default=(1320, 820),
                   help="window size for --screenshot (default 1320x820)")
    p.add_argument("--page", choices=PAGES, default="photos",
                   help="page to draw for --screenshot (default photos)")
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
    if args.screenshot is None:
        # Before anything is created (the library file included): Qt aborts the process when
        # its display plugin cannot load.
        problem = app.qt_startup_problem()
        if problem:
            raise CommandError(problem)
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
            status = app.take_screenshot(library, args.screenshot, size=args.size, page=args.page)
            if status == 0:
                print(printable(args.screenshot))
            return status
        return app.run_gui(library)


def _has_display() -> bool:
    """Qt aborts the process when it finds no display: check first (Linux and BSDs only)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
