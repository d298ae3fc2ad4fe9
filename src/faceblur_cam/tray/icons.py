"""Tray icons from package data (``faceblur_cam/data/icons/<name>-<size>.png``).

The PNGs are drawn by ``icons/make_icons.py`` in the repository; this module only loads them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from faceblur_cam.tray.menu import IconName

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; only the annotation needs it
    from importlib.resources.abc import Traversable

TRAY_SIZE = 64  # panels scale it down; every size is drawn crisp, 64 is the largest tray size


def _icon_resource(name: str, size: int) -> Traversable:
    return resources.files("faceblur_cam") / "data" / "icons" / f"{name}-{size}.png"


@cache
def load_icon(name: str, size: int = TRAY_SIZE) -> Image.Image:
    """The RGBA icon ``name`` ("active", "paused", "recording", "error", "app") at ``size`` px."""
    with _icon_resource(name, size).open("rb") as f:
        image = Image.open(f)
        image.load()
    return image.convert("RGBA")


def app_icon_path() -> str:
    """The app icon's file, for a desktop notification; "" when the package is not on disk."""
    path = _icon_resource("app", TRAY_SIZE)
    return str(path) if isinstance(path, Path) and path.is_file() else ""


def tray_icon(name: IconName) -> Image.Image:
    return load_icon(name.value)
