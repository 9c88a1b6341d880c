"""Starting the desktop application: a check that Qt can open a window, QApplication set-up
(name, icon, style) and the main loop, or one offscreen screenshot of a page for docs and checks.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QStyleFactory

from photoclust import __version__
from photoclust.core.library import Library
from photoclust.gui.gc_freeze import freeze_startup_objects
from photoclust.gui.resources import app_icon, stylesheet

SCREENSHOT_TIMEOUT_MS = 60_000
SCREENSHOT_PAGES = ("photos", "viewer", "map", "review", "duplicates", "search",
                    "people", "timeline")


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that usually ships a library: ``libxcb-cursor.so.0`` ->
    ``libxcb-cursor0``, ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``."""
    match = re.match(r"(lib[\w+.-]+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, version = match.groups()
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as "not found"."""
    return sorted({line.split("=>")[0].strip() for line in ldd_output.splitlines()
                   if "not found" in line})


def qt_startup_problem(platform: str | None = None) -> str | None:
    """One sentence naming what Qt lacks to open a window, or None when nothing is known to be
    missing. Checked before QApplication exists: when its display plugin cannot load, Qt aborts
    the process with a generic message. Linux only (the xcb plugin needs system libraries that
    minimal installs lack); elsewhere the wheels carry what they need."""
    platform = platform or os.environ.get("QT_QPA_PLATFORM", "") or "xcb"
    if not sys.platform.startswith("linux") or not platform.startswith("xcb"):
        return None
    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return None
    try:
        output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                                timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # no ldd: nothing known; Qt will say what it lacks
    missing = missing_libraries(output)
    if not missing:
        return None
    packages = " ".join(debian_package(m) for m in missing)
    return (f"photoclust cannot open its window: Qt's display plugin needs system libraries that "
            f"are not installed ({', '.join(missing)}); on Debian or Ubuntu install them with "
            f"`sudo apt install {packages}`.")


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt), styled and named."""
    existing = QApplication.instance()
    app = cast(QApplication, existing) if existing is not None else \
        QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("photoclust")
    app.setOrganizationName("photoclust")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if "Fusion" in QStyleFactory.keys():
        app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
    if app.findChild(QTimer, "refcountTimer") is None:
        from photoclust.gui._refcount_guard import top_up

        timer = QTimer(app)  # see gui/_refcount_guard.py
        timer.setObjectName("refcountTimer")
        timer.timeout.connect(top_up)
        timer.start(1000)
    return app


def show_startup_error(message: str) -> None:
    """Tell the user why the window cannot open (the library is damaged or newer)."""
    from PySide6.QtWidgets import QMessageBox

    create_application()
    QMessageBox.critical(None, "photoclust", message)


def run_gui(library: Library) -> int:
    from photoclust.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(library)
    window.restore_state()
    window.show()
    freeze_startup_objects()
    status = app.exec()
    # The window is gone already; give cancelled jobs a moment to reach their next cancel point
    # (each commits batch by batch, so stopping later loses nothing finished).
    window.queue.wait_for_done(3000)
    return status


def take_screenshot(library: Library, output: Path, size: tuple[int, int] = (1320, 820),
                    page: str = "photos") -> int:
    """Open the window offscreen at ``size`` on ``page``, wait until its jobs are done and its
    thumbnails drawn, save a PNG. The Photos page and the viewer show the first photo."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from photoclust.gui.main_window import MainWindow
    from photoclust.gui.models.photo_model import PhotoRole

    app = create_application()
    window = MainWindow(library)
    window.resize(*size)
    QCursor.setPos(window.mapToGlobal(QPoint(size[0] // 2, size[1] - 5)))  # hover nothing
    window.show()
    from photoclust.gui.pages.photos import PhotosPage

    shown = window.page("photos")
    photos = shown if isinstance(shown, PhotosPage) else None
    first_photo = None
    if photos is not None and photos.photo_model.rowCount():
        photos.grid.setCurrentIndex(photos.photo_model.index(0))
        first_photo = photos.photo_model.index(0).data(PhotoRole.PhotoId)
    if page != "photos":
        kwargs = ({"photo_id": first_photo, "cluster_id": photos.photo_model.cluster_id}
                  if page == "viewer" and first_photo and photos is not None else {})
        if not window.show_page(page, **kwargs):
            print(f"there is no {page} page in this version", file=sys.stderr)
            window.close()
            return 1
    outcome = {"saved": False}

    def save() -> None:
        if not outcome["saved"]:
            window.statusBar().clearMessage()  # no hover tip from wherever the pointer is
            outcome["saved"] = window.grab().save(str(output))
            app.quit()

    window.when_drawn(save)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, save)  # save whatever is drawn by then
    app.exec()
    window.close()
    window.queue.wait_for_done(5000)
    return 0 if outcome["saved"] else 1
