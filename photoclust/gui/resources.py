"""Icons and the stylesheet, loaded from ``photoclust/resources`` with ``importlib.resources``.

The assets live inside the package (``pyproject.toml`` ships ``resources/**/*`` as package data), so
the same lookup works from a source checkout, an installed wheel and a PyInstaller bundle that
collects the package data. ``resources/render_icons.py`` at the repository root renders the PNG
sizes of the application icon from its SVG.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from PySide6 import QtSvg  # noqa: F401 - the icons are SVG: makes bundlers ship Qt's SVG plugins
from PySide6.QtGui import QIcon

APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resource_dir() -> Path:
    return Path(str(files("photoclust").joinpath("resources")))


@cache
def icon(name: str) -> QIcon:
    """A toolbar icon by name (``icons/<name>.svg``); an empty icon when the file is missing."""
    path = resource_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


@cache
def app_icon() -> QIcon:
    """The application icon: the rendered PNG sizes (crisp in docks and task bars) plus the SVG."""
    base = resource_dir()
    result = QIcon()
    for size in APP_ICON_SIZES:
        png = base / f"app-icon-{size}.png"
        if png.is_file():
            result.addFile(str(png))
    svg = base / "app-icon.svg"
    if svg.is_file():
        result.addFile(str(svg))
    return result


def stylesheet() -> str:
    path = resource_dir() / "style.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
