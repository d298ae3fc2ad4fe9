"""What a tray menu click does: engine commands, the login entry, the recordings folder.

Thread rule: ``perform`` runs on the tray (main) thread. Engine commands are queued and return
at once; the login entry and the folder are small, quick operations. Failures are reported
through ``notify`` (never raised into the tray's event loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from faceblur_cam.autostart import Autostart
from faceblur_cam.engine import Engine
from faceblur_cam.errors import UserError
from faceblur_cam.tray.menu import Action, MenuItem
from faceblur_cam.tray.vcam_setup import VcamSetup

log = logging.getLogger(__name__)


class TrayActions:
    """Maps each ``Action`` to what it does. ``on_quit`` stops the tray loop."""

    def __init__(
        self,
        engine: Engine,
        *,
        autostart: Autostart | None,
        folder: Path,
        open_folder: Callable[[Path], None],
        notify: Callable[[str], None],
        on_quit: Callable[[], None],
        vcam_setup: VcamSetup | None = None,
    ):
        self._engine = engine
        self._autostart = autostart
        self._folder = folder
        self._open_folder = open_folder
        self._notify = notify
        self._on_quit = on_quit
        self._vcam_setup = vcam_setup

    @property
    def can_record(self) -> bool:
        return self._engine.can_record

    @property
    def can_preview(self) -> bool:
        return self._engine.can_preview

    def autostart_enabled(self) -> bool | None:
        """The login entry's real state; None when autostart is unavailable here."""
        if self._autostart is None:
            return None
        try:
            return self._autostart.status().enabled
        except (UserError, OSError) as exc:  # unreadable entry: show the box unticked, log why
            log.warning("cannot read the login entry: %s", exc)
            return False

    def vcam_missing(self) -> str | None:
        """Why calls cannot see us while the virtual camera is not set up; None once it is there.
        Any thread; cheap."""
        setup = self._vcam_setup
        return setup.explanation if setup is not None and setup.needed() else None

    def perform(self, item: MenuItem) -> None:
        action, arg = item.action, item.arg
        log.info("tray: %s%s", action.value if action else "-", f" {arg}" if arg is not None else "")
        engine = self._engine
        if action is Action.PAUSE:
            engine.pause()
        elif action is Action.RESUME:
            engine.resume()
        elif action is Action.START_RECORDING:
            engine.start_recording()
        elif action is Action.STOP_RECORDING:
            engine.stop_recording()
        elif action is Action.STYLE:
            engine.set_style(str(arg))
        elif action is Action.PREVIEW:
            engine.set_preview(bool(arg))
        elif action is Action.AUTOSTART:
            self._set_autostart(bool(arg))
        elif action is Action.OPEN_RECORDINGS:
            self._open_recordings()
        elif action is Action.SETUP_VCAM and self._vcam_setup is not None:
            self._vcam_setup.start(self._notify)
        elif action is Action.QUIT:
            engine.quit()
            self._on_quit()

    def _set_autostart(self, on: bool) -> None:
        if self._autostart is None:
            return
        try:
            status = self._autostart.enable() if on else self._autostart.disable()
        except UserError as exc:
            self._notify(str(exc))
            return
        log.info("start at login: %s (%s)", status.state.value, status.location)

    def _open_recordings(self) -> None:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._open_folder(self._folder)
        except (OSError, UserError) as exc:
            self._notify(f"Cannot open {self._folder}: {exc}")
