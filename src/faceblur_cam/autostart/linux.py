"""Linux and other freedesktop.org desktops: an XDG autostart ``.desktop`` file.

The entry is ``$XDG_CONFIG_HOME/autostart/faceblur-cam.desktop`` (default ``~/.config``).
Disabling removes the file: systemd's xdg-autostart generator ignores
``X-GNOME-Autostart-enabled=false``, so only a missing file is off everywhere. When a desktop's
own settings switched our entry off (``Hidden=true`` or ``X-GNOME-Autostart-enabled=false``),
status reports DISABLED with that reason and ``enable`` rewrites the entry.

Icon: the entry says ``Icon=faceblur-cam`` and ``enable`` copies the app icon the tray draws
(package data ``data/icons/app-<size>.png``) into the user's icon theme folder
``$XDG_DATA_HOME/icons/hicolor/<size>x<size>/apps/faceblur-cam.png`` (default
``~/.local/share``), so the entry never points into a source checkout or a site-packages folder
that may move; ``disable`` removes those copies again.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

from faceblur_cam import APP_NAME
from faceblur_cam.autostart import desktop_entry
from faceblur_cam.autostart.file_entry import FileEntry
from faceblur_cam.autostart.files import FileStore
from faceblur_cam.autostart.model import AutostartError

log = logging.getLogger(__name__)

ENTRY_NAME = "faceblur-cam.desktop"
ICON_NAME = "faceblur-cam"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)  # the hicolor theme's standard app sizes
COMMENT = "Obscures every face in your webcam picture before any call sees it"


def xdg_dir(variable: str, default: str, environ: dict[str, str] | None = None) -> Path:
    """``$variable`` when set to an absolute path (the spec ignores relative ones), else
    ``~/default``."""
    value = (os.environ if environ is None else environ).get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / default


class XdgAutostart(FileEntry):
    """The XDG autostart entry of one user; ``config_home`` / ``data_home`` are the XDG base
    folders, the rest as :class:`FileEntry`."""

    def __init__(
        self,
        config_home: Path,
        data_home: Path,
        executable: str | None = None,
        files: FileStore | None = None,
    ) -> None:
        super().__init__(config_home / "autostart" / ENTRY_NAME, executable, files)
        self.icon_paths = {
            size: data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
            for size in ICON_SIZES
        }

    def render(self, argv: list[str]) -> bytes:
        if "%" in argv[0]:
            # GLib looks the program up before expanding %%, so GNOME skips such an entry
            log.warning(
                "the Python path contains '%%'; GNOME and other GLib-based desktops will not "
                "start it at login. Install FaceBlur Cam in a folder without '%%' in its path."
            )
        text = desktop_entry.render(
            [
                ("Type", "Application"),
                ("Version", "1.0"),  # every key used here is in 1.0
                ("Name", APP_NAME),
                ("GenericName", "Face-blurring virtual camera"),
                ("Comment", COMMENT),
                ("Exec", desktop_entry.format_exec(argv)),
                ("TryExec", argv[0]),
                ("Icon", ICON_NAME),
                ("Terminal", "false"),
                ("Categories", "AudioVideo;Video;"),
                ("X-GNOME-Autostart-enabled", "true"),
            ]
        )
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AutostartError(
                f"cannot write {self.path}: the Python path {argv[0]!r} is not valid UTF-8"
            ) from exc

    def read(self, data: bytes) -> tuple[list[str], str]:
        entry = desktop_entry.parse(data.decode("utf-8"))
        stored = desktop_entry.parse_exec(entry.get("Exec", ""))
        off = entry.get("Hidden", "").lower() == "true" or (
            entry.get("X-GNOME-Autostart-enabled", "").lower() == "false"
        )
        return stored, "it was switched off in the desktop's startup settings" if off else ""

    def companions(self) -> dict[Path, bytes]:
        """The packaged app icon in each theme size; a missing icon is cosmetic (a warning)."""
        folder = resources.files("faceblur_cam") / "data" / "icons"
        sources = {path: folder / f"app-{size}.png" for size, path in self.icon_paths.items()}
        icons = {path: src.read_bytes() for path, src in sources.items() if src.is_file()}
        if not icons:
            log.warning("no app icon in the package (data/icons/app-*.png); entry has no icon")
        return icons


def from_environment(executable: str | None = None) -> XdgAutostart:
    """The current user's entry, with the XDG folders read from the environment now."""
    return XdgAutostart(
        xdg_dir("XDG_CONFIG_HOME", ".config"),
        xdg_dir("XDG_DATA_HOME", ".local/share"),
        executable,
    )
