"""Linux and other freedesktop.org desktops: an XDG autostart ``.desktop`` file.

The entry is ``$XDG_CONFIG_HOME/autostart/faceblur-cam.desktop`` (default ``~/.config``).
Disabling removes the file: systemd's xdg-autostart generator ignores
``X-GNOME-Autostart-enabled=false``, so only a missing file is off everywhere. When a desktop's
own settings switched our entry off (``Hidden=true`` or ``X-GNOME-Autostart-enabled=false``),
status reports DISABLED with that reason and ``enable`` rewrites the entry.

Icon: the entry says ``Icon=faceblur-cam``, and ``enable`` copies the packaged PNG to
``$XDG_DATA_HOME/icons/hicolor/64x64/apps/faceblur-cam.png`` (default ``~/.local/share``), so the
entry never points into a source checkout or a site-packages folder that may move; ``disable``
removes that copy again.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

from faceblur_cam import APP_NAME
from faceblur_cam.autostart import desktop_entry
from faceblur_cam.autostart.files import FileStore, LocalFiles
from faceblur_cam.autostart.model import (
    AutostartError,
    AutostartState,
    AutostartStatus,
    judge,
    launch_command,
)

log = logging.getLogger(__name__)

ENTRY_NAME = "faceblur-cam.desktop"
ICON_NAME = "faceblur-cam"
ICON_RESOURCE = "faceblur-cam.png"
COMMENT = "Obscures every face in your webcam picture before any call sees it"


def xdg_dir(variable: str, default: str, environ: dict[str, str] | None = None) -> Path:
    """``$variable`` when set to an absolute path (the spec ignores relative ones), else
    ``~/default``."""
    value = (os.environ if environ is None else environ).get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / default


class XdgAutostart:
    """The XDG autostart entry of one user.

    ``config_home`` / ``data_home`` are the XDG base folders; ``executable`` the Python to store
    (default ``sys.executable``); ``files`` the filesystem (a fake in tests).
    """

    def __init__(
        self,
        config_home: Path,
        data_home: Path,
        executable: str | None = None,
        files: FileStore | None = None,
    ) -> None:
        self.entry_path = config_home / "autostart" / ENTRY_NAME
        self.icon_path = data_home / "icons" / "hicolor" / "64x64" / "apps" / f"{ICON_NAME}.png"
        self._executable = executable
        self._files = files or LocalFiles()

    @property
    def location(self) -> str:
        return str(self.entry_path)

    def entry_text(self) -> str:
        """The complete ``.desktop`` file that ``enable`` writes."""
        argv = launch_command(self._executable)
        return desktop_entry.render(
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

    def status(self) -> AutostartStatus:
        try:
            data = self._files.read_bytes(self.entry_path)
        except OSError as exc:
            reason = f"the entry cannot be read ({exc.strerror or exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if data is None:
            return AutostartStatus(AutostartState.DISABLED, self.location)
        try:
            entry = desktop_entry.parse(data.decode("utf-8"))
            stored = desktop_entry.parse_exec(entry.get("Exec", ""))
        except (UnicodeDecodeError, ValueError) as exc:
            reason = f"the entry is damaged ({exc})"
            return AutostartStatus(AutostartState.STALE, self.location, (), reason)
        if entry.get("Hidden", "").lower() == "true" or (
            entry.get("X-GNOME-Autostart-enabled", "").lower() == "false"
        ):
            reason = "it was switched off in the desktop's startup settings"
            return AutostartStatus(AutostartState.DISABLED, self.location, tuple(stored), reason)
        return judge(self.location, stored, launch_command(self._executable))

    def enable(self) -> AutostartStatus:
        text = self.entry_text()  # raises AutostartError before anything is written
        try:
            self._write_icon()
            self._files.write_bytes(self.entry_path, text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise AutostartError(
                f"cannot write {self.entry_path}: the Python path is not valid UTF-8 ({exc})"
            ) from exc
        except OSError as exc:
            raise AutostartError(
                f"cannot write {exc.filename or self.entry_path}: {exc.strerror or exc}. "
                "Check that the folder is yours and writable, then try again."
            ) from exc
        log.info("autostart enabled: %s", self.entry_path)
        if "%" in launch_command(self._executable)[0]:
            # GLib looks the program up before expanding %%, so GNOME skips such an entry
            log.warning(
                "the Python path contains '%%'; GNOME and other GLib-based desktops will not "
                "start it at login. Install FaceBlur Cam in a folder without '%%' in its path."
            )
        return self.status()

    def disable(self) -> AutostartStatus:
        try:
            self._files.remove(self.entry_path)
            self._files.remove(self.icon_path)
        except OSError as exc:
            raise AutostartError(
                f"cannot remove {exc.filename or self.entry_path}: {exc.strerror or exc}. "
                "Delete that file by hand to stop FaceBlur Cam starting at login."
            ) from exc
        log.info("autostart disabled: removed %s", self.entry_path)
        return self.status()

    def _write_icon(self) -> None:
        png = resources.files("faceblur_cam").joinpath("data", ICON_RESOURCE).read_bytes()
        if self._files.read_bytes(self.icon_path) != png:
            self._files.write_bytes(self.icon_path, png)


def from_environment(executable: str | None = None) -> XdgAutostart:
    """The current user's entry, with the XDG folders read from the environment now."""
    return XdgAutostart(
        xdg_dir("XDG_CONFIG_HOME", ".config"),
        xdg_dir("XDG_DATA_HOME", ".local/share"),
        executable,
    )
