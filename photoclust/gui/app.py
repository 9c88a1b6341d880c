"""Starting the desktop application: QApplication set-up (name, icon, style) and the main loop,
or one offscreen screenshot for docs and checks."""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QStyleFactory

from photoclust import __version__
from photoclust.core.library import Library
from photoclust.gui.resources import app_icon, stylesheet

SCREENSHOT_TIMEOUT_MS = 30_000


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt), styled and named."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("photoclust")
    app.setOrganizationName("photoclust")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    if "Fusion" in QStyleFactory.keys():
        app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
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
    return app.exec()


def freeze_startup_objects() -> None:
    """Move everything allocated so far (Qt wrappers, SQLAlchemy, numpy) out of the garbage
    collector's scans: full collections then stay short enough not to stall the GUI."""
    gc.collect()
    gc.freeze()


def take_screenshot(library: Library, output: Path, size: tuple[int, int] = (1320, 820)) -> int:
    """Open the window offscreen, wait until clusters and thumbnails are drawn, save a PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from photoclust.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(library)
    window.resize(*size)
    QCursor.setPos(window.mapToGlobal(QPoint(size[0] // 2, size[1] - 5)))  # hover nothing
    window.show()
    if window.photo_model.rowCount():
        # Show the first photo in the preview pane too: the screenshot shows every pane at work.
        window.grid.setCurrentIndex(window.photo_model.index(0))
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
    return 0 if outcome["saved"] else 1
