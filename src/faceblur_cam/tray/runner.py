"""``run_tray``: the tray owns the main thread while the engine protects on its worker.

Started at login (``--at-login``) the panel may not be up yet: the tray waits for it for a
while, then falls back to headless protection and says so in a desktop notification.
"""

from __future__ import annotations

import functools
import logging
import signal
import time
from collections.abc import Callable

from faceblur_cam.autostart import Autostart, get_autostart
from faceblur_cam.config import Config
from faceblur_cam.engine import Engine
from faceblur_cam.errors import UserError
from faceblur_cam.recording_choice import RecordingChoice
from faceblur_cam.sources.camera_choice import CameraChoice
from faceblur_cam.tray.actions import TrayActions
from faceblur_cam.tray.backend import (
    TrayBackend,
    TrayUnavailable,
    load_backend,
    notify_without_tray,
    tray_host_available,
)
from faceblur_cam.tray.vcam_setup import VcamSetup

log = logging.getLogger(__name__)

AT_LOGIN_WAIT_S = 120.0  # how long a login start waits for the panel before going headless
AT_LOGIN_POLL_S = 3.0


def run_tray(engine: Engine, config: Config, *, at_login: bool = False,
             headless: Callable[[Engine], int], vcam_ready: Callable[[], bool] | None = None,
             recording: RecordingChoice | None = None, camera: CameraChoice | None = None,
             output_notice: str | None = None) -> int:
    """Show the tray icon until Quit; returns the exit code. ``engine`` is already started.

    ``vcam_ready``: given when the virtual camera was not set up at start; until it returns True
    (the engine publishes to the device), the icon shows its error state and the menu offers to
    set it up.
    ``recording``: what the engine's recordings start with; the menu changes its microphone and
    voice (absent: no sound menu). ``camera``: the camera the engine opens; the Camera menu
    changes it (absent: no Camera menu).

    Without a menu-capable tray: at login, protect headless (``headless(engine)``) after a
    notification; otherwise quit the engine and raise ``TrayUnavailable`` (the message says
    what to install, or to use ``--no-tray``).
    """
    try:
        backend = wait_for_tray(AT_LOGIN_WAIT_S if at_login else 0.0, AT_LOGIN_POLL_S)
    except TrayUnavailable as exc:
        if not at_login:
            engine.quit()
            engine.wait(10)
            raise
        log.warning("no tray icon (%s): protecting headless", str(exc).splitlines()[0])
        notify_without_tray("FaceBlur Cam is protecting without a tray icon",
                            f"{exc}\nFaceBlur Cam keeps protecting your camera; "
                            "log out and in again to get the tray icon.")
        return headless(engine)
    return _run_icon(backend, engine, config, vcam_ready, recording, camera, output_notice)


def wait_for_tray(timeout: float, poll: float, load: Callable[[], TrayBackend] = load_backend,
                  host: Callable[[TrayBackend], bool] = tray_host_available,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> TrayBackend:
    """A backend with a panel to dock in, trying until ``timeout`` (0 = once).

    With ``timeout`` 0 a missing panel is only logged: the icon docks when one appears.
    Raises the last ``TrayUnavailable`` when time runs out.
    """
    deadline = clock() + timeout
    while True:
        try:
            backend = load()
            if host(backend):
                return backend
            if timeout <= 0:
                log.warning("no system tray found yet; the icon will appear when one starts")
                return backend
            problem = TrayUnavailable("no system tray (panel) is running")
        except TrayUnavailable as exc:
            problem = exc
        if clock() + poll > deadline:
            raise problem
        log.info("waiting for the tray: %s", str(problem).splitlines()[0])
        sleep(poll)


def _run_icon(backend: TrayBackend, engine: Engine, config: Config, vcam_ready: Callable[[], bool] | None,
              recording: RecordingChoice | None, camera: CameraChoice | None = None,
              output_notice: str | None = None) -> int:
    from faceblur_cam import platform
    from faceblur_cam.recording.files import recordings_folder
    from faceblur_cam.sources.microphone import SOUND_SUPPORTED, list_microphones
    from faceblur_cam.tray.adapter import TrayIcon

    icon: TrayIcon | None = None

    def stop() -> None:
        if icon is not None:
            icon.stop()

    def notify(message: str) -> None:  # any thread (a setup reports from its own)
        if icon is not None:
            backend.call_on_main(functools.partial(icon.notify, message))

    setup = None if vcam_ready is None else VcamSetup(vcam_ready, config.output.label)
    actions = TrayActions(engine, autostart=_autostart_or_none(),
                          folder=recordings_folder(config.recording.folder),
                          open_folder=platform.open_folder, notify=notify, on_quit=stop, vcam_setup=setup,
                          recording=recording, list_microphones=list_microphones if SOUND_SUPPORTED else None,
                          camera=camera, list_cameras=platform.list_cameras if camera is not None else None,
                          output_notice=output_notice)
    icon = TrayIcon(backend, engine.status(), actions)
    engine.subscribe(icon.on_status)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: quitting", signum)
        engine.quit()
        stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    icon.run()
    engine.quit()
    if not engine.wait(10):
        log.error("the engine did not stop within 10 s")
        return 1
    return engine.exit_code


def _autostart_or_none() -> Autostart | None:
    """The login entry, or None where autostart is unavailable (the menu item is absent)."""
    try:
        return get_autostart()
    except (UserError, OSError) as exc:
        log.warning("start at login is unavailable: %s", exc)
        return None
