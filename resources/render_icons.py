"""Render the PNG sizes of the application icon from its SVG (run after editing the SVG).

The assets themselves live in ``photoclust/resources`` so that they ship inside the package
(see ``photoclust/gui/resources.py``); this script is the only tool that writes them.

    QT_QPA_PLATFORM=offscreen python resources/render_icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from photoclust.gui.resources import APP_ICON_SIZES, resource_dir  # noqa: E402


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)  # noqa: F841 - needed to paint
    renderer = QSvgRenderer(str(resource_dir() / "app-icon.svg"))
    if not renderer.isValid():
        print("app-icon.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in APP_ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = resource_dir() / f"app-icon-{size}.png"
        image.save(str(out))
        print(out.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
