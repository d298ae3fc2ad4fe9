"""Tray icons from package data (``faceblur_cam/data/icons/<name>-<size>.png``).

The PNGs are drawn by ``icons/make_icons.py`` in the repository; this module only loads them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from PIL import Image

from faceblur_cam.tray.menu import IconName

TRAY_SIZE = 64  # panels scale it down; every size is drawn crisp, 64 is the largest tray size


@cache
def load_icon(name: str, size: int = TRAY_SIZE) -> Image.Image:
    """The RGBA icon ``name`` ("active", "paused", "recording", "error", "app") at ``size`` px."""
    path = resources.files("faceblur_cam") / "data" / "icons" / f"{name}-{size}.png"
    with path.open("rb") as f:
        image = Image.open(f)
        image.load()
    return image.convert("RGBA")


def app_icon_path() -> str:
    """The app icon's file, for a desktop notification; "" when the package is not on disk."""
    path = resources.files("faceblur_cam") / "data" / "icons" / f"app-{TRAY_SIZE}.png"
    return str(path) if isinstance(path, Path) and path.is_file() else ""


def tray_icon(name: IconName) -> Image.Image:
    return load_icon(name.value)
